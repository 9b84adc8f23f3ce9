//! A workflow command, after the checks: submit the WorkflowTemplate (or find the run an
//! earlier delivery started), remember it, and describe the outcome for the member. Shared by
//! the HTTP path (slash commands) and the worker (CommandEvents from Kafka), so both start
//! exactly one workflow per interaction and answer the same way.

use serde_json::json;

use super::{now, store};
use crate::argo::{self, ArgoError, SubmitSpec, Workflow};
use crate::catalog::{Command, Submission};
use crate::config::ArgoSettings;
use crate::discord::{Interaction, Message};
use crate::session::{InteractionSession, Run, RunRecord, TOKEN_TTL_SECS};
use crate::{audit, replies};

pub struct DispatchSettings {
    pub argo: ArgoSettings,
    /// How long the member's run history keeps this run.
    pub history_ttl: u64,
}

/// Submits and describes; every outcome is audited. `token_issued_at` is when the interaction
/// token was issued (now for a slash command; the event's timestamp for a CommandEvent).
pub async fn submit(
    command: &Command,
    interaction: &Interaction,
    submission: &Submission,
    settings: &DispatchSettings,
    token_issued_at: u64,
) -> Message {
    let argo_settings = &settings.argo;
    let namespace = submission.namespace.clone().unwrap_or_else(|| argo_settings.namespace.clone());
    let name = argo::workflow_name(&command.name, &interaction.id);
    let (labels, annotations) = argo::identity(&command.name, interaction);
    let spec = SubmitSpec {
        namespace: namespace.clone(),
        template: submission.template.clone(),
        name: name.clone(),
        parameters: submission.parameters.clone(),
        labels,
        annotations,
        service_account: argo_settings.service_account.clone(),
        server_dry_run: submission.dry_run,
    };
    let outcome = match call(argo_settings, &argo::submit(&spec)).await {
        Err(ArgoError::AlreadyExists) => call(argo_settings, &argo::get(&namespace, &name)).await.map(|wf| (wf, true)),
        other => other.map(|wf| (wf, false)),
    };
    let mut details = json!({
        "workflow": name, "namespace": namespace, "template": submission.template, "dry_run": submission.dry_run,
    });
    match outcome {
        Ok((workflow, existing)) => {
            details["existing"] = existing.into();
            println!("{}", audit::line("submitted", &command.name, interaction, &details));
            if !submission.dry_run {
                remember(command, interaction, &namespace, &name, settings, token_issued_at);
            }
            replies::started(&replies::Started {
                command: &command.name,
                template: &submission.template,
                workflow: &workflow,
                namespace: &namespace,
                name: &name,
                parameters: &submission.parameters,
                ui_base: &argo_settings.ui_url,
                dry_run: submission.dry_run,
                existing,
            })
        }
        Err(error) => {
            details["error"] = error.detail().into();
            println!("{}", audit::line("failed", &command.name, interaction, &details));
            replies::failed(&command.name, &error.explain(&submission.template, &namespace))
        }
    }
}

async fn call(settings: &ArgoSettings, request: &argo::ArgoRequest) -> Result<Workflow, ArgoError> {
    let (status, body) = super::argo::send(settings, request).await?;
    argo::parse_workflow(status, &body)
}

/// Sessions for follow-ups, `/workflow` and lifecycle events; a failure here is logged and
/// the reply still goes out.
fn remember(
    command: &Command,
    interaction: &Interaction,
    namespace: &str,
    name: &str,
    settings: &DispatchSettings,
    token_issued_at: u64,
) {
    let now = now();
    let token_expires_at = token_issued_at + TOKEN_TTL_SECS;
    let user_id = interaction.user_id().map(str::to_owned);
    let session = InteractionSession {
        workflow: name.to_owned(),
        namespace: namespace.to_owned(),
        command: command.name.clone(),
        application_id: interaction.application_id.clone(),
        token: interaction.token.clone(),
        channel_id: interaction.channel_id.clone(),
        user_id: user_id.clone(),
        expires_at: token_expires_at,
    };
    let record = RunRecord {
        command: command.name.clone(),
        interaction_id: interaction.id.clone(),
        application_id: interaction.application_id.clone(),
        token: interaction.token.clone(),
        token_expires_at,
        channel_id: interaction.channel_id.clone(),
        user_id,
        expires_at: now + settings.history_ttl,
    };
    let run = Run {
        workflow: name.to_owned(),
        namespace: namespace.to_owned(),
        command: command.name.clone(),
        submitted_at: now,
        expires_at: now + settings.history_ttl,
    };
    if let Err(e) = store::save_run(&interaction.id, &session, &record, run, now) {
        eprintln!("{}: could not record the session of interaction {}: {e}", command.name, interaction.id);
    }
}
