//! Changing a run: `/workflow retry|suspend|resume|resubmit`, and Stop or Terminate once a
//! member confirmed Cancel. The role map and ownership were checked before (`runs::slash`,
//! `runs::button`); here the run must be facteur's and in a phase the change applies to, so a
//! refusal explains itself instead of passing on Argo's error.

use serde_json::json;

use super::{COMMAND, RunSettings, facteurs, send};
use crate::argo::{self, Phase, Workflow};
use crate::audit::{self, AuditEvent};
use crate::discord::{Interaction, Message};
use crate::history::{self, Reply, Run, RunRecord, TOKEN_TTL_SECS};
use crate::ports::{Deadline, Ports};
use crate::replies;
use crate::run_button::RunAction;

/// A change asked with a `/workflow` subcommand.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Control {
    /// Rerun the failed steps, in the same workflow.
    Retry,
    /// Pause: running steps finish, no new step starts.
    Suspend,
    /// Continue a suspended run (its `suspend` steps complete).
    Resume,
    /// A new run of the same spec (Argo names it `<name>-xxxxx`).
    Resubmit,
}

impl Control {
    /// The subcommand that asks for it.
    pub fn parse(verb: &str) -> Option<Self> {
        match verb {
            "retry" => Some(Self::Retry),
            "suspend" => Some(Self::Suspend),
            "resume" => Some(Self::Resume),
            "resubmit" => Some(Self::Resubmit),
            _ => None,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Retry => "retry",
            Self::Suspend => "suspend",
            Self::Resume => "resume",
            Self::Resubmit => "resubmit",
        }
    }

    /// Whether a run in `phase` can take the change; else why not, for the member.
    fn allows(self, name: &str, phase: &Phase) -> Result<(), String> {
        let (allowed, which) = match self {
            Self::Retry => (phase.failed(), "only failed or errored runs can be retried"),
            Self::Suspend => (!phase.is_finished(), "only a run that has not finished can be suspended"),
            Self::Resume => (!phase.is_finished(), "only a run that has not finished can be resumed"),
            // Resubmitting a live run would run it twice at once.
            Self::Resubmit => (phase.is_finished(), "only a finished run can be resubmitted (cancel it first)"),
        };
        if allowed { Ok(()) } else { Err(format!("`{name}` is **{phase}**: {which}.")) }
    }

    fn request(self, namespace: &str, name: &str) -> argo::ArgoRequest {
        match self {
            Self::Retry => argo::retry(namespace, name),
            Self::Suspend => argo::suspend(namespace, name),
            Self::Resume => argo::resume(namespace, name),
            Self::Resubmit => argo::resubmit(namespace, name),
        }
    }

    fn audit_event(self) -> AuditEvent {
        match self {
            Self::Retry => AuditEvent::Retried,
            Self::Suspend => AuditEvent::Suspended,
            Self::Resume => AuditEvent::Resumed,
            Self::Resubmit => AuditEvent::Resubmitted,
        }
    }

    fn done(self, name: &str, changed: &Workflow) -> String {
        match self {
            Self::Retry => format!("Retrying `{name}`: its failed steps run again."),
            Self::Suspend => {
                format!("Suspended `{name}`: running steps finish; nothing new starts until it is resumed.")
            }
            Self::Resume => format!("Resumed `{name}`."),
            Self::Resubmit => format!("Resubmitted `{name}` as `{}`.", changed.metadata.name),
        }
    }
}

/// Applies `control` to facteur's run `name`, when its phase allows; audited.
pub async fn control(
    ports: &impl Ports,
    settings: &RunSettings,
    interaction: &Interaction,
    control: Control,
    namespace: &str,
    name: &str,
) -> Message {
    let workflow = match facteurs(ports, namespace, name, Deadline::Configured).await {
        Ok(workflow) => workflow,
        Err(e) => return Message::new(e.explain_run(name, namespace)),
    };
    if let Err(why) = control.allows(name, &workflow.phase()) {
        return Message::new(why);
    }
    let request = control.request(namespace, name);
    match send(ports, &request).await.and_then(|(s, b)| argo::parse_workflow(s, &b)) {
        Ok(changed) => {
            let mut details = json!({ "workflow": name, "namespace": namespace });
            if control == Control::Resubmit {
                details["resubmitted_as"] = changed.metadata.name.clone().into();
                remember(ports, settings, interaction, &workflow, &changed);
            }
            ports.audit(audit::line(control.audit_event(), COMMAND, interaction, details));
            let mut message = replies::status(&changed, &settings.argo.ui_url, ports.now());
            message.content = Some(control.done(name, &changed));
            message
        }
        Err(e) => Message::new(e.explain_run(name, namespace)),
    }
}

/// A resubmitted run is a new run: the member who asked owns it in facteur's records (so they
/// may act on it), and its lifecycle is told in this interaction's reply, then its channel.
fn remember(ports: &impl Ports, settings: &RunSettings, interaction: &Interaction, old: &Workflow, new: &Workflow) {
    let now = ports.now();
    let (namespace, name) = (&new.metadata.namespace, &new.metadata.name);
    if !argo::is_object_name(name) || !argo::is_namespace(namespace) {
        return;
    }
    let command = old.metadata.labels.command.clone().unwrap_or_else(|| COMMAND.to_owned());
    let expires_at = now + settings.history_ttl;
    let record = RunRecord {
        command: command.clone(),
        interaction_id: interaction.id.clone(),
        application_id: interaction.application_id.clone(),
        channel_id: interaction.channel_id.clone(),
        user_id: interaction.user_id().map(str::to_owned),
        expires_at,
    };
    let reply = Reply { token: interaction.token.clone(), expires_at: now + TOKEN_TTL_SECS };
    let run = Run { workflow: name.clone(), namespace: namespace.clone(), command, submitted_at: now, expires_at };
    if let Err(e) = history::save_run(ports.store(), &record, &reply, run, now) {
        ports.log(format!("could not record the resubmitted run {namespace}/{name}: {e}"));
    }
}

/// Stop (exit handlers run) or Terminate (at once), confirmed by the member; audited.
pub async fn cancel(
    ports: &impl Ports,
    interaction: &Interaction,
    action: RunAction,
    namespace: &str,
    name: &str,
) -> Message {
    if let Err(e) = facteurs(ports, namespace, name, Deadline::Configured).await {
        return Message::new(e.explain_run(name, namespace));
    }
    let who = interaction.invoker().map_or("a Discord member", |u| u.username.as_str());
    let (request, event) = if action == RunAction::Stop {
        (argo::stop(namespace, name, &format!("stopped from Discord by {who}")), AuditEvent::Stopped)
    } else {
        (argo::terminate(namespace, name), AuditEvent::Terminated)
    };
    match send(ports, &request).await.and_then(|(s, b)| argo::parse_workflow(s, &b)) {
        Ok(_) => {
            let details = json!({ "workflow": name, "namespace": namespace });
            ports.audit(audit::line(event, COMMAND, interaction, details));
            Message::new(if action == RunAction::Stop {
                format!("Stop requested for `{name}`: its exit handlers run, then it ends.")
            } else {
                format!("Terminated `{name}`.")
            })
        }
        Err(e) => Message::new(e.explain_run(name, namespace)),
    }
}
