//! Submitting a workflow command: exactly one workflow per interaction (its name derived from
//! the interaction id), found again when a delivery or an answer was lost, remembered in the run
//! history, and described for the member; every outcome audited.

use serde_json::json;

use super::CommandSettings;
use crate::argo::{self, ArgoError, SubmitSpec, Workflow};
use crate::audit::{self, AuditEvent};
use crate::catalog::{Command, Submission};
use crate::discord::{Interaction, Message};
use crate::history::{self, Reply, Run, RunRecord, TOKEN_TTL_SECS};
use crate::limits::{self, in_flight, in_flight::Admission, in_flight::Held};
use crate::policy::Caller;
use crate::ports::{Argo, Deadline, Ports};
use crate::replies;

/// Submits `submission` (or finds the run an earlier delivery of the same interaction started),
/// remembers it, and describes the outcome; audited. `token_issued_at` is when the interaction
/// token was issued (now for a slash command; the event's timestamp for a CommandEvent).
pub async fn submit(
    ports: &impl Ports,
    settings: &CommandSettings,
    command: &Command,
    interaction: &Interaction,
    submission: &Submission,
    token_issued_at: u64,
) -> Message {
    submit_annotated(ports, settings, command, interaction, submission, token_issued_at, Vec::new()).await
}

/// [`submit`], with more annotations on the workflow (who approved it).
pub async fn submit_annotated(
    ports: &impl Ports,
    settings: &CommandSettings,
    command: &Command,
    interaction: &Interaction,
    submission: &Submission,
    token_issued_at: u64,
    extra: argo::Pairs,
) -> Message {
    let argo_settings = &settings.argo;
    let namespace = submission.namespace.clone().unwrap_or_else(|| argo_settings.namespace.clone());
    let name = argo::workflow_name(&command.name, &interaction.id);
    let (labels, mut annotations) = argo::identity(&command.name, interaction);
    annotations.extend(settings.trace.annotations());
    annotations.extend(extra);
    // Who it runs as, and whose token submits it: the granting role's, the command's, the defaults.
    let identity = argo_settings.identities.for_member(&settings.policy, &command.name, &Caller::of(interaction));
    let spec = SubmitSpec {
        namespace: namespace.clone(),
        template: submission.template.clone(),
        name: name.clone(),
        parameters: submission.parameters.clone(),
        labels,
        annotations,
        service_account: identity.service_account.or_else(|| argo_settings.service_account.clone()),
        server_dry_run: submission.dry_run,
    };
    let audit =
        |event, details: &serde_json::Value| ports.audit(audit::line(event, &command.name, interaction, details));
    let authorization = identity.authorization.as_deref();
    let held = match hold_place(ports, settings, command, interaction, &spec, authorization).await {
        Ok(held) => held,
        Err(refusal) => {
            let details = refusal.details();
            return match refusal {
                // Argo could not list the runs in flight: a failure to start, with Argo's reason.
                limits::Refusal::Uncounted(error) => {
                    audit(AuditEvent::Failed, &details);
                    replies::failed(&command.name, &error.explain_count(&namespace))
                }
                refusal => {
                    audit(AuditEvent::Limited, &details);
                    Message::new(refusal.message(&command.name))
                }
            };
        }
    };
    let outcome = submit_once(ports, &spec, authorization).await;
    // The run is in Argo now, or certainly not: Argo counts it from here.
    in_flight::release(ports.store(), held);
    let mut details = json!({
        "workflow": name, "namespace": namespace, "template": submission.template, "dry_run": submission.dry_run,
    });
    match outcome {
        // A run of that name that another member started: an interaction id reused on purpose
        // (a forged event) or by accident. Neither recorded as theirs nor shown as started.
        Ok((workflow, true)) if !started_by(&workflow, interaction) => {
            details["error"] = "exists, started by another member".into();
            audit(AuditEvent::Failed, &details);
            replies::failed(&command.name, &format!("A workflow named `{name}` already exists and is not yours."))
        }
        Ok((workflow, existing)) => {
            details["existing"] = existing.into();
            audit(AuditEvent::Submitted, &details);
            if !submission.dry_run {
                remember(ports, settings, command, interaction, &namespace, &name, token_issued_at);
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
            audit(AuditEvent::Failed, &details);
            let explanation = error.explain(&submission.template, &namespace);
            if matches!(error, ArgoError::Undetermined { .. }) {
                replies::undetermined(&command.name, &explanation)
            } else {
                replies::failed(&command.name, &explanation)
            }
        }
    }
}

/// A place within the command's caps on runs in flight (`crate::limits::in_flight`; the catalog's,
/// else [`limits::DEFAULT`]), unless the member is exempt or the run is a dry run, which starts
/// nothing.
async fn hold_place(
    ports: &impl Ports,
    settings: &CommandSettings,
    command: &Command,
    interaction: &Interaction,
    spec: &SubmitSpec,
    authorization: Option<&str>,
) -> Result<Held, limits::Refusal> {
    let caps = command.workflow.as_ref().and_then(|w| w.limits.unwrap_or(limits::DEFAULT).in_flight);
    let Some(caps) = caps.filter(|_| !spec.server_dry_run) else { return Ok(Held::default()) };
    if limits::exempt(&settings.policy, &command.name, &Caller::of(interaction)) {
        return Ok(Held::default());
    }
    let run = Admission {
        command: &command.name,
        namespace: &spec.namespace,
        workflow: &spec.name,
        user_id: interaction.user_id(),
        guild_id: interaction.guild_id.as_deref(),
        authorization,
    };
    in_flight::enter(ports, &run, &caps, ports.now()).await
}

/// Submits attempts before the outcome is given up as unknown.
const SUBMIT_ATTEMPTS: u32 = 3;

/// Submits `spec` so that it runs exactly once, and says whether it had been started before
/// (by an earlier delivery of the interaction). No answer is an unknown outcome, not a failure:
/// the submit may have reached Argo. facteur then looks the run up by its (deterministic) name,
/// reports it if it exists, and submits again only if it certainly does not; a second submit of
/// the same name cannot start a second run (Argo answers 409). Only a run that certainly does
/// not exist is reported as not started.
async fn submit_once(
    ports: &impl Ports,
    spec: &SubmitSpec,
    authorization: Option<&str>,
) -> Result<(Workflow, bool), ArgoError> {
    let (namespace, name) = (&spec.namespace, &spec.name);
    // Whether some submit got no answer and no look-up since showed the run absent.
    let mut unknown = false;
    let mut last = ArgoError::Timeout;
    for attempt in 1..=SUBMIT_ATTEMPTS {
        if attempt > 1 {
            ports.pause(std::time::Duration::from_secs(u64::from(attempt - 1))).await;
        }
        match call(ports, &argo::submit(spec), authorization).await {
            Ok(workflow) => return Ok((workflow, false)),
            // Ours if an earlier attempt of this delivery reached Argo; else an earlier delivery's.
            // It exists, so a look-up without an answer is no failure: whose run it is, and how
            // it stands, stays unknown.
            Err(ArgoError::AlreadyExists) => {
                return match call(ports, &argo::get(namespace, name), authorization).await {
                    Ok(workflow) => Ok((workflow, attempt == 1)),
                    Err(_) => Err(ArgoError::Undetermined { workflow: name.clone() }),
                };
            }
            // No connection was made: certainly not started; try again.
            Err(e @ ArgoError::NotSent(_)) => {
                last = e;
                continue;
            }
            Err(e @ (ArgoError::Timeout | ArgoError::Unreachable(_))) => last = e,
            Err(refused) => return Err(refused),
        }
        match call(ports, &argo::get(namespace, name), authorization).await {
            Ok(workflow) => {
                ports.log(format!(
                    "{namespace}/{name}: the submit got no answer ({}) but the run exists",
                    last.detail()
                ));
                return Ok((workflow, false));
            }
            Err(ArgoError::Rejected { status: 404, .. }) => unknown = false,
            Err(_) => unknown = true,
        }
    }
    if unknown {
        Err(ArgoError::Undetermined { workflow: name.clone() })
    } else {
        // Certainly not started: say why, without "may still start".
        Err(ArgoError::NotSent(last.detail()))
    }
}

/// Whether `workflow` carries the invoking member's id (facteur's `user-id` label).
fn started_by(workflow: &Workflow, interaction: &Interaction) -> bool {
    let user = interaction.user_id().map(argo::label_value);
    workflow.metadata.labels.user_id.is_some() && workflow.metadata.labels.user_id == user
}

/// One call with the member's identity's token (`None`: the configured one).
async fn call(
    ports: &impl Ports,
    request: &argo::ArgoRequest,
    authorization: Option<&str>,
) -> Result<Workflow, ArgoError> {
    let (status, body) = ports.argo().send_as(request, Deadline::Configured, authorization).await?;
    argo::parse_workflow(status, &body)
}

/// The run history for follow-ups, `/workflow` and lifecycle events; a failure here is logged
/// and the reply still goes out.
fn remember(
    ports: &impl Ports,
    settings: &CommandSettings,
    command: &Command,
    interaction: &Interaction,
    namespace: &str,
    name: &str,
    token_issued_at: u64,
) {
    let now = ports.now();
    let record = RunRecord {
        command: command.name.clone(),
        interaction_id: interaction.id.clone(),
        application_id: interaction.application_id.clone(),
        channel_id: interaction.channel_id.clone(),
        user_id: interaction.user_id().map(str::to_owned),
        expires_at: now + settings.history_ttl,
    };
    let run = Run {
        workflow: name.to_owned(),
        namespace: namespace.to_owned(),
        command: command.name.clone(),
        submitted_at: now,
        expires_at: now + settings.history_ttl,
    };
    let reply = Reply { token: interaction.token.clone(), expires_at: token_issued_at + TOKEN_TTL_SECS };
    if let Err(e) = history::save_run(ports.store(), &record, &reply, run, now) {
        ports.log(format!("could not record the run of interaction {}: {e}", interaction.id));
    }
}
