//! The use case of a command: who may run it, whether its options are valid, and for a
//! workflow command (`/plan`, `/dispatch`, …, and their CommandEvents from Kafka) exactly one
//! workflow per interaction, remembered, and a reply that tells the member what happened.
//! The HTTP path and the worker go through the same functions.

use serde_json::json;

use crate::answer::Answer;
use crate::argo;
use crate::audit::{self, AuditEvent, Trace};
use crate::catalog::{Catalog, Command, Submission};
use crate::config::ArgoSettings;
pub use crate::delivery::{Recipient, deliver};
use crate::discord::{Choice, Interaction, InteractionResponse, InteractionType, Message};
use crate::events::CommandEvent;
use crate::history::TOKEN_TTL_SECS;
use crate::limits;
use crate::policy::{Caller, Policy};
use crate::ports::{Argo, Audit, Deadline, Ports};

pub struct CommandSettings {
    pub policy: Policy,
    pub argo: ArgoSettings,
    /// How long the member's run history keeps a run.
    pub history_ttl: u64,
    /// The trace the command belongs to (its request's `traceparent`, or a CommandEvent's
    /// `trace_id` and `correlation_id`): recorded on the workflow as annotations.
    pub trace: Trace,
}

/// The role map's decision on `command`, audited: `Err` holds the refusal the member reads.
/// For commands that validate nothing (`/help`, template components).
pub fn authorize(audit: &impl Audit, policy: &Policy, command: &str, interaction: &Interaction) -> Result<(), String> {
    let decision = policy.decide(command, &Caller::of(interaction));
    audit.audit(audit::line(AuditEvent::of(decision.allowed), command, interaction, &decision));
    if decision.allowed { Ok(()) } else { Err(decision.reason.denial_message(command)) }
}

/// The role map, then the options; every outcome audited. The submission, or the refusal the
/// member reads.
pub fn admit(
    ports: &impl Ports,
    policy: &Policy,
    command: &Command,
    interaction: &Interaction,
) -> Result<Submission, String> {
    let decision = policy.decide(&command.name, &Caller::of(interaction));
    if !decision.allowed {
        ports.audit(audit::line(AuditEvent::Denied, &command.name, interaction, &decision));
        return Err(decision.reason.denial_message(&command.name));
    }
    match command.submission(interaction) {
        Ok(submission) => {
            if let Err(refusal) = take_limits(ports, policy, command, interaction) {
                ports.audit(audit::line(AuditEvent::Limited, &command.name, interaction, refusal.details()));
                return Err(refusal.message(&command.name));
            }
            ports.audit(audit::line(AuditEvent::Allowed, &command.name, interaction, &decision));
            Ok(submission)
        }
        Err(invalid) => {
            ports.audit(audit::line(AuditEvent::Invalid, &command.name, interaction, json!({ "error": invalid.0 })));
            Err(format!("`/{}`: {}", command.name, invalid.0))
        }
    }
}

/// Counts the run against the command's rate limits (`crate::limits`; the catalog's, else
/// [`limits::DEFAULT`]) unless the member holds an exempt role.
fn take_limits(
    ports: &impl Ports,
    policy: &Policy,
    command: &Command,
    interaction: &Interaction,
) -> Result<(), limits::Refusal> {
    let Some(workflow) = &command.workflow else { return Ok(()) };
    if limits::exempt(policy, &command.name, &Caller::of(interaction)) {
        return Ok(());
    }
    let limits = workflow.limits.unwrap_or(limits::DEFAULT);
    let (user, guild) = (interaction.user_id(), interaction.guild_id.as_deref());
    limits::take(ports.store(), &command.name, &limits, user, guild, ports.now())
}

/// What a workflow command does after its deferred response ([`perform`]).
#[derive(Debug)]
pub enum Work {
    /// The member's own command.
    Submit(Submission),
    /// A request an approver approved ([`crate::approval`]).
    Approved(Box<crate::approval::Approved>),
}

/// A workflow command over HTTP: refusals and autocomplete at once; an admitted command is
/// deferred, and its submission is the work after the response ([`perform`]). A command that
/// needs approval is put up for it instead, and the clicks on its buttons decided here.
pub async fn answer(
    ports: &impl Ports,
    settings: &CommandSettings,
    command: &Command,
    interaction: &Interaction,
) -> Answer<Work> {
    if interaction.kind == InteractionType::MessageComponent {
        return crate::approval::decide(ports, settings, command, interaction);
    }
    if interaction.command_name() != Some(command.name.as_str()) {
        ports.log(format!("refusing interaction {} meant for another command", interaction.id));
        return Answer::tell("This component does not serve that command.");
    }
    match interaction.kind {
        InteractionType::ApplicationCommand => match admit(ports, &settings.policy, command, interaction) {
            // A dry run starts nothing: it needs no approval.
            Ok(submission) => match &command.approval {
                Some(approval) if !submission.dry_run => {
                    crate::approval::request(ports, settings, command, approval, interaction, &submission)
                }
                _ => Answer::Later {
                    response: InteractionResponse::deferred(submission.ephemeral),
                    work: Work::Submit(submission),
                },
            },
            Err(refusal) => Answer::tell(refusal),
        },
        InteractionType::Autocomplete => Answer::Now(InteractionResponse::autocomplete(
            template_choices(ports, settings, command, interaction).await,
        )),
        _ => Answer::tell("facteur does not handle this kind of interaction here."),
    }
}

/// The work after the deferred response of [`answer`]: what the reply becomes.
pub async fn perform(
    ports: &impl Ports,
    settings: &CommandSettings,
    command: &Command,
    interaction: &Interaction,
    work: Work,
) -> Message {
    match work {
        Work::Submit(submission) => submit(ports, settings, command, interaction, &submission, ports.now()).await,
        Work::Approved(approved) => crate::approval::submit(ports, settings, command, interaction, approved).await,
    }
}

/// Templates for the option that picks one (`/dispatch template:`): Argo's WorkflowTemplates
/// containing what was typed, limited to `allowed_templates`; the allowed list alone when
/// Argo does not answer within the inline deadline. Nothing for members who may not run it.
async fn template_choices(
    ports: &impl Ports,
    settings: &CommandSettings,
    command: &Command,
    interaction: &Interaction,
) -> Vec<Choice> {
    let Some(workflow) = &command.workflow else { return Vec::new() };
    let (Some(option), Some(focused)) = (&workflow.template_option, interaction.focused_option()) else {
        return Vec::new();
    };
    if focused.name != option || !settings.policy.decide(&command.name, &Caller::of(interaction)).allowed {
        return Vec::new();
    }
    let typed = focused.value.map(|v| v.to_string()).unwrap_or_default();
    let namespace = workflow.namespace.as_deref().unwrap_or(&settings.argo.namespace);
    let listed = ports
        .argo()
        .send(&argo::templates(namespace, &typed), Deadline::Inline)
        .await
        .and_then(|(status, body)| argo::parse_template_names(status, &body));
    let names = match (listed, &workflow.allowed_templates) {
        (Ok(names), Some(allowed)) => names.into_iter().filter(|n| allowed.contains(n)).collect(),
        (Ok(names), None) => names,
        (Err(_), Some(allowed)) => allowed.clone(),
        (Err(_), None) => Vec::new(),
    };
    names.into_iter().filter(|n| n.contains(typed.as_str())).take(25).map(|n| Choice::string(n.clone(), n)).collect()
}

/// What became of a CommandEvent: the reply, where it goes, and why it was refused (the role
/// map, its options' values, a command the event pipeline does not run), for the dead letters.
pub struct EventOutcome {
    pub message: Message,
    pub to: Recipient,
    pub refused: Option<String>,
}

/// A command that arrived as a CommandEvent: the same checks and submission as over HTTP,
/// with the event's member roles. The reply names the producer's correlation and trace ids.
pub async fn run_event(
    ports: &impl Ports,
    settings: &CommandSettings,
    catalog: &Catalog,
    event: &CommandEvent,
) -> EventOutcome {
    let interaction = event.to_interaction(catalog);
    let issued_at = event.received_at().unwrap_or_else(|| ports.now());
    // A command that needs approval is asked for in Discord, where approvers see it.
    let runnable = |c: &&Command| c.workflow.is_some() && c.approval.is_none();
    let (message, refused) = match catalog.command(&event.command).filter(runnable) {
        None => {
            let details = json!({ "error": "not a workflow command, or one that needs approval", "via": "event" });
            ports.audit(audit::line(AuditEvent::Invalid, &event.command, &interaction, details));
            let refusal = format!("`/{}` cannot be run through the event pipeline.", event.command);
            (Message::new(refusal.clone()), Some(refusal))
        }
        Some(command) => match admit(ports, &settings.policy, command, &interaction) {
            Ok(submission) => (submit(ports, settings, command, &interaction, &submission, issued_at).await, None),
            Err(refusal) => (Message::new(refusal.clone()), Some(refusal)),
        },
    };
    let message = with_trace(message, &settings.trace);
    let to = Recipient {
        interaction_id: interaction.id,
        command: event.command.clone(),
        application_id: interaction.application_id,
        token: interaction.token,
        token_expires_at: issued_at + TOKEN_TTL_SECS,
        channel_id: interaction.channel_id,
        public: message.flags.is_none_or(|f| f & crate::discord::EPHEMERAL == 0),
    };
    EventOutcome { message, to, refused }
}

/// `message` with the trace's correlation and trace ids on a last, small line (Discord's `-#`),
/// so that the member can quote them and the producer's side find the run.
fn with_trace(mut message: Message, trace: &Trace) -> Message {
    let ids: Vec<String> = [("correlation", &trace.correlation_id), ("trace", &trace.trace_id)]
        .into_iter()
        .filter_map(|(name, id)| id.as_ref().map(|id| format!("{name} `{id}`")))
        .collect();
    if !ids.is_empty() {
        let content = format!("{}\n-# {}", message.content.unwrap_or_default(), ids.join(" · "));
        message.content = Some(crate::discord::truncate(&content, crate::discord::MAX_CONTENT));
    }
    message
}

mod submit;
pub use submit::{submit, submit_annotated};

#[cfg(test)]
mod tests;
