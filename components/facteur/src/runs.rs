//! The use case of following and controlling runs: `/workflow status|logs|list`, the changes
//! `cancel|retry|suspend|resume|resubmit` (`control`), autocomplete of run names, the buttons on
//! facteur's messages, and lifecycle events.
//!
//! Every action passes the role map (`workflow:<action>`, else `workflow`); the changes also
//! need to own the run (facteur's records, so a refusal costs no call to Argo) or a
//! `workflow:admin` role, unless `owner_only` is off.

use serde_json::json;

use crate::answer::Answer;
use crate::argo::{self, ArgoError, Workflow};
use crate::audit::{self, AuditEvent};
use crate::catalog::Catalog;
use crate::config::ArgoSettings;
use crate::discord::{Choice, Interaction, InteractionResponse, InteractionType, Message};
use crate::events::LifecycleEvent;
use crate::history::{self, Run};
use crate::policy::{Caller, Policy};
use crate::ports::{ActingAs, Argo, Deadline, Ports};
use crate::replies::{self, RunLine};
use crate::run_button::{RunAction, RunButton};

mod control;
pub use control::Control;

const COMMAND: &str = "workflow";
const DEFAULT_TAIL: u32 = 50;
const MAX_LISTED: usize = 10;

pub struct RunSettings {
    pub policy: Policy,
    pub argo: ArgoSettings,
    /// Only a run's owner (or a `workflow:admin` role) may change it.
    pub owner_only: bool,
    /// How long a member's history keeps a run (a resubmitted run is a new one).
    pub history_ttl: u64,
}

/// What is done after a deferred response.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Work {
    Status {
        namespace: String,
        name: String,
    },
    /// `/workflow status` without a name, from a member with no recent runs.
    NoRecentRun,
    Logs {
        namespace: String,
        name: String,
        tail: u32,
    },
    /// Retry, suspend, resume or resubmit.
    Control {
        control: Control,
        namespace: String,
        name: String,
    },
    /// The member's recent runs, or the recent runs of `command`.
    List {
        command: Option<String>,
        runs: Vec<Run>,
    },
    /// Stop or Terminate, confirmed.
    Cancel {
        action: RunAction,
        namespace: String,
        name: String,
    },
    Unknown {
        action: String,
    },
}

/// `ports` acting with the member's identity for the interaction's action
/// (`crate::identities`; the configured `argo_token` when their roles name none).
fn as_member<'a, P: Ports>(ports: &'a P, settings: &RunSettings, interaction: &Interaction) -> ActingAs<'a, P> {
    let action = match interaction.kind {
        InteractionType::MessageComponent => {
            interaction.custom_id().and_then(RunButton::parse).map(|b| b.action.permission().to_owned())
        }
        _ => interaction.subcommand_path().first().map(|a| (*a).to_owned()),
    };
    let caller = Caller::of(interaction);
    let identity = settings.argo.identities.for_action(&settings.policy, COMMAND, &action.unwrap_or_default(), &caller);
    ActingAs::new(ports, identity.authorization)
}

/// Answers a `/workflow` interaction: autocomplete, a subcommand, or a button; Argo is called
/// with the member's identity.
pub async fn answer(ports: &impl Ports, settings: &RunSettings, interaction: &Interaction) -> Answer<Work> {
    let ports = &as_member(ports, settings, interaction);
    match interaction.kind {
        InteractionType::Autocomplete => {
            Answer::Now(InteractionResponse::autocomplete(suggest(ports, settings, interaction).await))
        }
        InteractionType::ApplicationCommand => slash(ports, settings, interaction),
        InteractionType::MessageComponent => button(ports, settings, interaction).await,
        _ => Answer::tell("facteur does not handle this kind of interaction here."),
    }
}

/// `/workflow <action> …`: refusals and the cancel question at once, the rest deferred.
fn slash(ports: &impl Ports, settings: &RunSettings, interaction: &Interaction) -> Answer<Work> {
    let catalog = Catalog::embedded();
    let command = catalog.command(COMMAND).expect("the catalog declares /workflow");
    let action = interaction.subcommand_path().first().copied().unwrap_or_default().to_owned();
    if let Err(denial) = permit(ports, settings, interaction, &action) {
        return Answer::tell(denial);
    }
    let values = match command.values(interaction) {
        Ok(values) => values,
        Err(invalid) => {
            let details = json!({ "action": action, "error": invalid.0 });
            ports.audit(audit::line(AuditEvent::Invalid, COMMAND, interaction, details));
            return Answer::tell(format!("`/{COMMAND} {action}`: {}", invalid.0));
        }
    };
    if let Some(name) = values.get("name").filter(|name| !argo::is_object_name(name)) {
        let details = json!({ "action": action, "error": "not a workflow name" });
        ports.audit(audit::line(AuditEvent::Invalid, COMMAND, interaction, details));
        return Answer::tell(format!("`{name}` is not a workflow name."));
    }
    let runs = recent_runs(ports, interaction);
    let target = values.get("name").map(|name| locate(name, &runs, &settings.argo.namespace));
    let work = match (action.as_str(), target) {
        ("status", Some((namespace, name))) => Work::Status { namespace, name },
        ("status", None) => match runs.first() {
            Some(run) => Work::Status { namespace: run.namespace.clone(), name: run.workflow.clone() },
            None => Work::NoRecentRun,
        },
        ("logs", Some((namespace, name))) => {
            let tail = values.get("tail").and_then(|t| t.parse().ok()).unwrap_or(DEFAULT_TAIL);
            Work::Logs { namespace, name, tail }
        }
        (verb @ ("cancel" | "retry" | "suspend" | "resume" | "resubmit"), Some((namespace, name))) => {
            if let Err(why) = may_change(ports, settings, interaction, &runs, &namespace, &name, verb) {
                return Answer::tell(why);
            }
            match Control::parse(verb) {
                Some(control) => Work::Control { control, namespace, name },
                None => {
                    return Answer::Now(InteractionResponse::message(replies::cancel_confirmation(&namespace, &name)));
                }
            }
        }
        ("list", _) => Work::List { command: values.get("command").cloned(), runs },
        // The catalog requires `name` for logs and the changes; anything else is not ours.
        (other, _) => Work::Unknown { action: other.to_owned() },
    };
    Answer::Later { response: InteractionResponse::deferred(true), work }
}

/// A click on one of facteur's buttons (see [`RunButton`]).
async fn button(ports: &impl Ports, settings: &RunSettings, interaction: &Interaction) -> Answer<Work> {
    let Some(button) = interaction.custom_id().and_then(RunButton::parse) else {
        return Answer::tell("This button is no longer supported.");
    };
    let namespace = if button.namespace.is_empty() { settings.argo.namespace.as_str() } else { &button.namespace };
    let name = button.name.as_str();
    if let Err(denial) = permit(ports, settings, interaction, button.action.permission()) {
        return Answer::tell(denial);
    }
    match button.action {
        RunAction::Refresh => Answer::Now(match facteurs(ports, namespace, name, Deadline::Inline).await {
            Ok(workflow) => {
                let status = replies::status(&workflow, &settings.argo.ui_url, ports.now());
                InteractionResponse::update(crate::completion::mention_requester(status, &workflow))
            }
            Err(e) => InteractionResponse::ephemeral(e.explain_run(name, namespace)),
        }),
        RunAction::Keep => Answer::Now(InteractionResponse::update(Message::new(format!("Left `{name}` running.")))),
        action @ (RunAction::Cancel | RunAction::Stop | RunAction::Terminate) => {
            let runs = recent_runs(ports, interaction);
            if let Err(why) = may_change(ports, settings, interaction, &runs, namespace, name, "cancel") {
                return Answer::tell(why);
            }
            if action == RunAction::Cancel {
                return Answer::Now(InteractionResponse::message(replies::cancel_confirmation(namespace, name)));
            }
            let work = Work::Cancel { action, namespace: namespace.to_owned(), name: name.to_owned() };
            Answer::Later { response: InteractionResponse::deferred_update(), work }
        }
    }
}

/// The work after the deferred response: what the reply becomes (Argo called with the
/// member's identity).
pub async fn perform(ports: &impl Ports, settings: &RunSettings, interaction: &Interaction, work: Work) -> Message {
    let ports = &as_member(ports, settings, interaction);
    let ui = settings.argo.ui_url.as_str();
    match work {
        Work::Status { namespace, name } => match facteurs(ports, &namespace, &name, Deadline::Configured).await {
            Ok(workflow) => replies::status(&workflow, ui, ports.now()),
            Err(e) => Message::new(e.explain_run(&name, &namespace)),
        },
        Work::NoRecentRun => Message::new("You have no recent runs. Name one: `/workflow status name:<workflow>`."),
        Work::Logs { namespace, name, tail } => logs(ports, settings, interaction, &namespace, &name, tail).await,
        Work::Control { control: change, namespace, name } => {
            control::control(ports, settings, interaction, change, &namespace, &name).await
        }
        Work::List { command: Some(command), .. } => list_command(ports, settings, &command).await,
        Work::List { command: None, runs } => list_own(ports, settings, interaction, &runs).await,
        Work::Cancel { action, namespace, name } => {
            control::cancel(ports, interaction, action, &namespace, &name).await
        }
        Work::Unknown { action } => {
            Message::new(format!("`/workflow {action}` is not something facteur knows how to do."))
        }
    }
}

/// The role map's decision on `action`, audited; the denial text when it is refused.
fn permit(ports: &impl Ports, settings: &RunSettings, interaction: &Interaction, action: &str) -> Result<(), String> {
    let label = format!("{COMMAND} {action}");
    let decision = settings.policy.decide_action(COMMAND, action, &Caller::of(interaction));
    ports.audit(audit::line(AuditEvent::of(decision.allowed), &label, interaction, &decision));
    if decision.allowed { Ok(()) } else { Err(decision.reason.denial_message(&label)) }
}

/// Changing a run needs it to be the member's own, or a `workflow:admin` role.
/// Ownership comes from facteur's own records, so a refusal costs no call to Argo.
pub fn may_change(
    ports: &impl Ports,
    settings: &RunSettings,
    interaction: &Interaction,
    runs: &[Run],
    namespace: &str,
    name: &str,
    action: &str,
) -> Result<(), String> {
    let owns = runs.iter().any(|r| r.workflow == name && r.namespace == namespace);
    if !settings.owner_only || owns || settings.policy.grants("workflow:admin", &Caller::of(interaction)) {
        return Ok(());
    }
    let details = json!({ "reason": "not_owner", "workflow": name });
    ports.audit(audit::line(AuditEvent::Denied, &format!("{COMMAND} {action}"), interaction, details));
    Err(format!("Only the member who started `{name}` (or a workflow admin) can {action} it."))
}

/// A run named by the member: its namespace from their records, else the default one.
pub fn locate(name: &str, runs: &[Run], default_namespace: &str) -> (String, String) {
    let namespace = runs.iter().find(|r| r.workflow == name).map_or(default_namespace, |r| r.namespace.as_str());
    (namespace.to_owned(), name.to_owned())
}

fn recent_runs(ports: &impl Ports, interaction: &Interaction) -> Vec<Run> {
    let Some(user) = interaction.user_id() else { return Vec::new() };
    history::runs(ports.store(), user, ports.now()).unwrap_or_else(|e| {
        ports.log(format!("could not read recent runs: {e}"));
        Vec::new()
    })
}

async fn send(ports: &impl Ports, request: &argo::ArgoRequest) -> Result<(u16, Vec<u8>), ArgoError> {
    ports.argo().send(request, Deadline::Configured).await
}

async fn get(ports: &impl Ports, namespace: &str, name: &str, deadline: Deadline) -> Result<Workflow, ArgoError> {
    let (status, body) = ports.argo().send(&argo::get(namespace, name), deadline).await?;
    argo::parse_workflow(status, &body)
}

/// The run, if facteur started it: anything else in the namespace is answered as not found
/// (reads are limited to facteur's runs).
async fn facteurs(ports: &impl Ports, namespace: &str, name: &str, deadline: Deadline) -> Result<Workflow, ArgoError> {
    let workflow = get(ports, namespace, name, deadline).await?;
    if workflow.is_facteurs() {
        Ok(workflow)
    } else {
        ports.log(format!("{namespace}/{name} is not a run facteur started; answered as not found"));
        Err(ArgoError::Rejected { status: 404, message: "not a run facteur started".to_owned() })
    }
}

/// The last lines of a run's main containers: facteur's runs only, and with `owner_only`
/// only the member who started it (its `user-id` label) or a workflow admin.
async fn logs(
    ports: &impl Ports,
    settings: &RunSettings,
    interaction: &Interaction,
    namespace: &str,
    name: &str,
    tail: u32,
) -> Message {
    let workflow = match facteurs(ports, namespace, name, Deadline::Configured).await {
        Ok(workflow) => workflow,
        Err(e) => return Message::new(e.explain_run(name, namespace)),
    };
    let owner = workflow.metadata.labels.user_id.as_deref();
    let member = interaction.user_id().map(argo::label_value);
    let admin = settings.policy.grants("workflow:admin", &Caller::of(interaction));
    if settings.owner_only && owner != member.as_deref() && !admin {
        let details = json!({ "reason": "not_owner", "workflow": name });
        ports.audit(audit::line(AuditEvent::Denied, &format!("{COMMAND} logs"), interaction, details));
        return Message::new(format!("Only the member who started `{name}` (or a workflow admin) can read its logs."));
    }
    match send(ports, &argo::logs(namespace, name, tail)).await.and_then(|(s, b)| argo::parse_logs(s, &b)) {
        Ok(lines) => replies::logs(name, &lines),
        Err(e) => Message::new(e.explain_run(name, namespace)),
    }
}

/// The recent runs of one command, by facteur's labels.
async fn list_command(ports: &impl Ports, settings: &RunSettings, command: &str) -> Message {
    let selector = format!("{}={command}", argo::label::COMMAND);
    let namespace = &settings.argo.namespace;
    match send(ports, &argo::list(namespace, &selector, None, 50)).await.and_then(|(s, b)| argo::parse_list(s, &b)) {
        Ok(mut items) => {
            items.sort_by(|a, b| b.metadata.created.cmp(&a.metadata.created));
            let lines: Vec<RunLine> = items.iter().take(MAX_LISTED).map(|w| line(w, command)).collect();
            replies::runs(&format!("Recent runs of `/{command}`"), &lines, &settings.argo.ui_url)
        }
        Err(e) => Message::new(e.explain_run(&format!("/{command}"), namespace)),
    }
}

/// The member's recent runs with the phases Argo reports for them.
async fn list_own(ports: &impl Ports, settings: &RunSettings, interaction: &Interaction, runs: &[Run]) -> Message {
    let runs = &runs[..runs.len().min(MAX_LISTED)];
    let mut known: Vec<Workflow> = Vec::new();
    if let Some(user) = interaction.user_id() {
        let selector = format!("{}={}", argo::label::USER, argo::label_value(user));
        let mut namespaces: Vec<&str> = runs.iter().map(|r| r.namespace.as_str()).collect();
        namespaces.sort_unstable();
        namespaces.dedup();
        for namespace in namespaces {
            let listed = send(ports, &argo::list(namespace, &selector, None, 100)).await;
            known.extend(listed.and_then(|(s, b)| argo::parse_list(s, &b)).unwrap_or_default());
        }
    }
    let lines: Vec<RunLine> = runs
        .iter()
        .map(|r| RunLine {
            name: r.workflow.clone(),
            namespace: r.namespace.clone(),
            command: r.command.clone(),
            phase: known
                .iter()
                .find(|w| w.metadata.namespace == r.namespace && w.metadata.name == r.workflow)
                .map_or_else(|| "unknown".to_owned(), |w| w.phase().to_string()),
        })
        .collect();
    replies::runs("Your recent runs", &lines, &settings.argo.ui_url)
}

fn line(workflow: &Workflow, command: &str) -> RunLine {
    RunLine {
        name: workflow.metadata.name.clone(),
        namespace: workflow.metadata.namespace.clone(),
        command: command.to_owned(),
        phase: workflow.phase().to_string(),
    }
}

/// Run names for the option being typed: the member's recent runs first, then the runs Argo
/// lists with facteur's labels; only the member's if Argo does not answer in time.
async fn suggest(ports: &impl Ports, settings: &RunSettings, interaction: &Interaction) -> Vec<Choice> {
    let action = interaction.subcommand_path().first().copied().unwrap_or_default();
    if !settings.policy.decide_action(COMMAND, action, &Caller::of(interaction)).allowed {
        return Vec::new();
    }
    let typed = interaction.focused_option().and_then(|o| o.value).map(|v| v.to_string()).unwrap_or_default();
    let mut names: Vec<String> =
        recent_runs(ports, interaction).into_iter().map(|r| r.workflow).filter(|n| n.starts_with(&typed)).collect();
    let request = argo::list(&settings.argo.namespace, argo::label::COMMAND, Some(&typed), 25);
    let listed = ports.argo().send(&request, Deadline::Inline).await.and_then(|(s, b)| argo::parse_list(s, &b));
    names.extend(listed.unwrap_or_default().into_iter().map(|w| w.metadata.name).filter(|n| n.starts_with(&typed)));
    let mut unique: Vec<String> = Vec::new();
    for name in names {
        if !unique.contains(&name) {
            unique.push(name);
        }
    }
    unique.into_iter().take(25).map(|n| Choice::string(n.clone(), n)).collect()
}

/// A run changed phase (a lifecycle event): update its message, once per phase.
pub async fn announce(ports: &impl Ports, ui_url: &str, event: &LifecycleEvent) -> Result<(), String> {
    let (namespace, workflow, phase) = (&event.namespace, &event.workflow, &event.phase);
    let Some(record) = history::run_record(ports.store(), namespace, workflow, ports.now())? else {
        ports.log(format!(
            "lifecycle event for {namespace}/{workflow} ({phase}): not a run facteur remembers; nothing to update"
        ));
        return Ok(());
    };
    let now = ports.now();
    if history::was_notified(ports.store(), namespace, workflow, phase, now)? {
        ports.log(format!("{namespace}/{workflow} was already announced as {phase}; skipped"));
        return Ok(());
    }
    let message = replies::lifecycle(event, &record.command, ui_url);
    let reply = history::reply(ports.store(), namespace, workflow, now)?;
    crate::completion::tell(ports, crate::completion::Run::of(&record, reply, workflow, phase), message).await?;
    history::mark_notified(ports.store(), namespace, workflow, phase, record.expires_at, now)
}

#[cfg(test)]
mod tests;
