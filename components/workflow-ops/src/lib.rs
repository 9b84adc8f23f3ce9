//! `/workflow`: follow and control runs without leaving Discord.
//!
//! - `status [name]`, `logs <name> [tail]`, `retry <name>`, `list [command]`: deferred, then
//!   the reply is edited with what Argo says.
//! - `cancel <name>`: an ephemeral confirmation; only the confirming click (Stop or Terminate)
//!   calls Argo.
//! - Autocomplete of run names: the member's recent runs first, then Argo's.
//! - Buttons on facteur's messages (`workflow:<action>:<namespace>:<name>`): Refresh updates the
//!   message in place; Cancel asks for confirmation; Stop, Terminate, Keep running act on it.
//!
//! Every action passes the role map (`workflow:<action>`, else `workflow`); cancelling and
//! retrying also need to own the run (facteur's records) or hold a `workflow:admin` role.

use std::time::Duration;

use facteur::argo::{self, ArgoError, Workflow};
use facteur::audit;
use facteur::catalog::Catalog;
use facteur::config::{ArgoSettings, DiscordSettings};
use facteur::discord::{Choice, Interaction, InteractionResponse, InteractionType, Message};
use facteur::policy::{Caller, Policy};
use facteur::replies::{self, RunLine};
use facteur::session::Run;
use facteur::spin::argo::INLINE_DEADLINE;
use facteur::spin::{discord, misconfigured, now, receive, reply, respond, store, variables};
use serde_json::json;
use spin_sdk::http::{IncomingRequest, ResponseOutparam};
use spin_sdk::http_component;

const COMMAND: &str = "workflow";
const DEFAULT_TAIL: u32 = 50;
const MAX_LISTED: usize = 10;

struct Settings {
    policy: Policy,
    argo: ArgoSettings,
    discord: DiscordSettings,
    owner_only: bool,
}

#[http_component]
async fn handle(req: IncomingRequest, out: ResponseOutparam) {
    let vars = variables();
    let config = (|| {
        let settings = Settings {
            policy: vars.policy()?,
            argo: vars.argo()?,
            discord: vars.discord()?,
            owner_only: vars.owner_only_actions()?,
        };
        Ok::<_, facteur::config::ConfigError>((vars.verifier()?, settings))
    })();
    let (verifier, settings) = match config {
        Ok(config) => config,
        Err(e) => return respond(out, misconfigured("workflow", &e)).await,
    };
    let (_, interaction) = match receive(req, &verifier).await {
        Ok(received) => received,
        Err(refusal) => return respond(out, refusal).await,
    };
    match interaction.kind {
        InteractionType::Autocomplete => {
            let choices = suggest(&interaction, &settings).await;
            respond(out, reply(&InteractionResponse::autocomplete(choices))).await
        }
        InteractionType::ApplicationCommand => slash(out, &interaction, &settings).await,
        InteractionType::MessageComponent => button(out, &interaction, &settings).await,
        _ => {
            let answer = InteractionResponse::ephemeral("facteur does not handle this kind of interaction here.");
            respond(out, reply(&answer)).await
        }
    }
}

/// `/workflow <action> …`
async fn slash(out: ResponseOutparam, interaction: &Interaction, settings: &Settings) {
    let catalog = Catalog::embedded();
    let command = catalog.command(COMMAND).expect("the catalog declares /workflow");
    let action = interaction.subcommand_path().first().copied().unwrap_or_default().to_owned();
    let label = format!("{COMMAND} {action}");
    if let Err(denial) = permit(interaction, settings, &action) {
        return deny(out, denial).await;
    }
    let values = match command.values(interaction).map_err(|e| e.0) {
        Ok(values) => values,
        Err(invalid) => {
            println!("{}", audit::line("invalid", COMMAND, interaction, json!({ "action": action, "error": invalid })));
            return respond(out, reply(&InteractionResponse::ephemeral(format!("`/{label}`: {invalid}")))).await;
        }
    };
    let runs = interaction.user_id().map(|user| store::runs(user, now())).unwrap_or_default();
    let target = values.get("name").map(|name| locate(name, &runs, &settings.argo.namespace));

    if matches!(action.as_str(), "cancel" | "retry") {
        let (namespace, name) = target.clone().expect("`name` is required for cancel and retry");
        if let Err(why) = may_change(interaction, settings, &runs, &namespace, &name, &action) {
            return deny(out, why).await;
        }
        if action == "cancel" {
            let answer = InteractionResponse::message(replies::cancel_confirmation(&namespace, &name));
            return respond(out, reply(&answer)).await;
        }
    }
    respond(out, reply(&InteractionResponse::deferred(true))).await;
    let message = match action.as_str() {
        "status" => match target.or_else(|| runs.first().map(|r| (r.namespace.clone(), r.workflow.clone()))) {
            Some((namespace, name)) => status(settings, &namespace, &name).await,
            None => Message::new("You have no recent runs. Name one: `/workflow status name:<workflow>`."),
        },
        "logs" => {
            let (namespace, name) = target.expect("`name` is required for logs");
            let tail = values.get("tail").and_then(|t| t.parse().ok()).unwrap_or(DEFAULT_TAIL);
            match send(settings, &argo::logs(&namespace, &name, tail), None)
                .await
                .and_then(|(s, b)| argo::parse_logs(s, &b))
            {
                Ok(lines) => replies::logs(&name, &lines),
                Err(e) => Message::new(e.explain_run(&name, &namespace)),
            }
        }
        "retry" => {
            let (namespace, name) = target.expect("`name` is required for retry");
            retry(interaction, settings, &namespace, &name).await
        }
        "list" => list(interaction, settings, &runs, values.get("command")).await,
        other => Message::new(format!("`/workflow {other}` is not something facteur knows how to do.")),
    };
    edit(settings, interaction, &message).await;
}

/// The role map's decision on `action`, audited; the denial text when it is refused.
fn permit(interaction: &Interaction, settings: &Settings, action: &str) -> Result<(), String> {
    let label = format!("{COMMAND} {action}");
    let decision = settings.policy.decide_action(COMMAND, action, &Caller::of(interaction));
    let event = if decision.allowed { "allowed" } else { "denied" };
    println!("{}", audit::line(event, &label, interaction, &decision));
    if decision.allowed { Ok(()) } else { Err(decision.reason.denial_message(&label)) }
}

/// Cancelling and retrying need the run to be the member's own, or a `workflow:admin` role.
/// Ownership comes from facteur's own records, so a refusal costs no call to Argo.
fn may_change(
    interaction: &Interaction,
    settings: &Settings,
    runs: &[Run],
    namespace: &str,
    name: &str,
    action: &str,
) -> Result<(), String> {
    let owns = runs.iter().any(|r| r.workflow == name && r.namespace == namespace);
    if !settings.owner_only || owns || settings.policy.grants("workflow:admin", &Caller::of(interaction)) {
        return Ok(());
    }
    println!(
        "{}",
        audit::line(
            "denied",
            &format!("{COMMAND} {action}"),
            interaction,
            json!({ "reason": "not_owner", "workflow": name })
        )
    );
    Err(format!("Only the member who started `{name}` (or a workflow admin) can {action} it."))
}

async fn deny(out: ResponseOutparam, message: String) {
    respond(out, reply(&InteractionResponse::ephemeral(message))).await
}

/// A run named by the member: its namespace from their records, else the default one.
fn locate(name: &str, runs: &[Run], default_namespace: &str) -> (String, String) {
    let namespace = runs.iter().find(|r| r.workflow == name).map_or(default_namespace, |r| r.namespace.as_str());
    (namespace.to_owned(), name.to_owned())
}

async fn send(
    settings: &Settings,
    request: &argo::ArgoRequest,
    deadline: Option<Duration>,
) -> Result<(u16, Vec<u8>), ArgoError> {
    match deadline {
        Some(deadline) => facteur::spin::argo::send_with_deadline(&settings.argo, request, deadline).await,
        None => facteur::spin::argo::send(&settings.argo, request).await,
    }
}

async fn get(
    settings: &Settings,
    namespace: &str,
    name: &str,
    deadline: Option<Duration>,
) -> Result<Workflow, ArgoError> {
    let (status, body) = send(settings, &argo::get(namespace, name), deadline).await?;
    argo::parse_workflow(status, &body)
}

async fn status(settings: &Settings, namespace: &str, name: &str) -> Message {
    match get(settings, namespace, name, None).await {
        Ok(workflow) => replies::status(&workflow, &settings.argo.ui_url, now()),
        Err(e) => Message::new(e.explain_run(name, namespace)),
    }
}

async fn retry(interaction: &Interaction, settings: &Settings, namespace: &str, name: &str) -> Message {
    let workflow = match get(settings, namespace, name, None).await {
        Ok(workflow) => workflow,
        Err(e) => return Message::new(e.explain_run(name, namespace)),
    };
    let phase = workflow.phase();
    if !matches!(phase, "Failed" | "Error") {
        return Message::new(format!("`{name}` is **{phase}**: only failed or errored runs can be retried."));
    }
    match send(settings, &argo::retry(namespace, name), None).await.and_then(|(s, b)| argo::parse_workflow(s, &b)) {
        Ok(retried) => {
            println!(
                "{}",
                audit::line("retried", COMMAND, interaction, json!({ "workflow": name, "namespace": namespace }))
            );
            let mut message = replies::status(&retried, &settings.argo.ui_url, now());
            message.content = Some(format!("Retrying `{name}`: its failed steps run again."));
            message
        }
        Err(e) => Message::new(e.explain_run(name, namespace)),
    }
}

/// The member's recent runs with their phases, or the recent runs of one command.
async fn list(interaction: &Interaction, settings: &Settings, runs: &[Run], command: Option<&String>) -> Message {
    let ui = &settings.argo.ui_url;
    if let Some(command) = command {
        let selector = format!("{}={command}", argo::label::COMMAND);
        let namespace = &settings.argo.namespace;
        return match send(settings, &argo::list(namespace, &selector, None, 50), None)
            .await
            .and_then(|(s, b)| argo::parse_list(s, &b))
        {
            Ok(mut items) => {
                items.sort_by(|a, b| b.metadata.created.cmp(&a.metadata.created));
                let lines: Vec<RunLine> = items.iter().take(MAX_LISTED).map(|w| line(w, command)).collect();
                replies::runs(&format!("Recent runs of `/{command}`"), &lines, ui)
            }
            Err(e) => Message::new(e.explain_run(&format!("/{command}"), namespace)),
        };
    }
    let runs: Vec<&Run> = runs.iter().take(MAX_LISTED).collect();
    // (namespace, name, phase) of the member's workflows Argo knows.
    let mut phases: Vec<(String, String, String)> = Vec::new();
    if let Some(user) = interaction.user_id() {
        let selector = format!("{}={}", argo::label::USER, argo::label_value(user));
        let mut namespaces: Vec<&str> = runs.iter().map(|r| r.namespace.as_str()).collect();
        namespaces.dedup();
        for namespace in namespaces {
            let listed = send(settings, &argo::list(namespace, &selector, None, 100), None)
                .await
                .and_then(|(s, b)| argo::parse_list(s, &b));
            for w in listed.unwrap_or_default() {
                let phase = w.phase().to_owned();
                phases.push((w.metadata.namespace, w.metadata.name, phase));
            }
        }
    }
    let lines: Vec<RunLine> = runs
        .iter()
        .map(|r| RunLine {
            name: r.workflow.clone(),
            namespace: r.namespace.clone(),
            command: r.command.clone(),
            phase: phases
                .iter()
                .find(|(namespace, name, _)| *namespace == r.namespace && *name == r.workflow)
                .map_or_else(|| "unknown".to_owned(), |(_, _, phase)| phase.clone()),
        })
        .collect();
    replies::runs("Your recent runs", &lines, ui)
}

fn line(workflow: &Workflow, command: &str) -> RunLine {
    RunLine {
        name: workflow.metadata.name.clone(),
        namespace: workflow.metadata.namespace.clone(),
        command: command.to_owned(),
        phase: workflow.phase().to_owned(),
    }
}

/// A click on one of facteur's buttons: `workflow:<action>:<namespace>:<name>`.
async fn button(out: ResponseOutparam, interaction: &Interaction, settings: &Settings) {
    let custom_id = interaction.custom_id().unwrap_or_default();
    let mut parts = custom_id.splitn(4, ':').skip(1);
    let (Some(action), Some(namespace), Some(name)) = (parts.next(), parts.next(), parts.next()) else {
        return respond(out, reply(&InteractionResponse::ephemeral("This button is no longer supported."))).await;
    };
    let namespace = if namespace.is_empty() { settings.argo.namespace.as_str() } else { namespace };
    // Stop, Terminate and Keep answer the Cancel question: they are part of cancelling.
    let key = match action {
        "stop" | "terminate" | "keep" => "cancel",
        other => other,
    };
    if let Err(denial) = permit(interaction, settings, key) {
        return deny(out, denial).await;
    }
    let runs = interaction.user_id().map(|user| store::runs(user, now())).unwrap_or_default();
    match action {
        "refresh" => {
            let answer = match get(settings, namespace, name, Some(INLINE_DEADLINE)).await {
                Ok(workflow) => InteractionResponse::update(replies::status(&workflow, &settings.argo.ui_url, now())),
                Err(e) => InteractionResponse::ephemeral(e.explain_run(name, namespace)),
            };
            respond(out, reply(&answer)).await
        }
        "keep" => {
            respond(out, reply(&InteractionResponse::update(Message::new(format!("Left `{name}` running."))))).await
        }
        "cancel" | "stop" | "terminate" => {
            if let Err(why) = may_change(interaction, settings, &runs, namespace, name, "cancel") {
                return deny(out, why).await;
            }
            if action == "cancel" {
                let answer = InteractionResponse::message(replies::cancel_confirmation(namespace, name));
                return respond(out, reply(&answer)).await;
            }
            respond(out, reply(&InteractionResponse::deferred_update())).await;
            let who = interaction.invoker().map_or("a Discord member", |u| u.username.as_str());
            let request = if action == "stop" {
                argo::stop(namespace, name, &format!("stopped from Discord by {who}"))
            } else {
                argo::terminate(namespace, name)
            };
            let message = match send(settings, &request, None).await.and_then(|(s, b)| argo::parse_workflow(s, &b)) {
                Ok(_) => {
                    println!(
                        "{}",
                        audit::line(action, COMMAND, interaction, json!({ "workflow": name, "namespace": namespace }))
                    );
                    Message::new(if action == "stop" {
                        format!("Stop requested for `{name}`: its exit handlers run, then it ends.")
                    } else {
                        format!("Terminated `{name}`.")
                    })
                }
                Err(e) => Message::new(e.explain_run(name, namespace)),
            };
            edit(settings, interaction, &message).await
        }
        _ => respond(out, reply(&InteractionResponse::ephemeral("This button is no longer supported."))).await,
    }
}

/// Run names for the option being typed: the member's recent runs first, then the runs Argo
/// lists with facteur's labels; only the member's if Argo does not answer in time.
async fn suggest(interaction: &Interaction, settings: &Settings) -> Vec<Choice> {
    let action = interaction.subcommand_path().first().copied().unwrap_or_default();
    if !settings.policy.decide_action(COMMAND, action, &Caller::of(interaction)).allowed {
        return Vec::new();
    }
    let typed = interaction.focused_option().and_then(|o| o.value).map(|v| v.to_string()).unwrap_or_default();
    let runs = interaction.user_id().map(|user| store::runs(user, now())).unwrap_or_default();
    let mut names: Vec<String> = runs.iter().map(|r| r.workflow.clone()).filter(|n| n.starts_with(&typed)).collect();
    let request = argo::list(&settings.argo.namespace, argo::label::COMMAND, Some(&typed), 25);
    if let Ok(items) = send(settings, &request, Some(INLINE_DEADLINE)).await.and_then(|(s, b)| argo::parse_list(s, &b))
    {
        names.extend(items.into_iter().map(|w| w.metadata.name).filter(|n| n.starts_with(&typed)));
    }
    let mut unique: Vec<String> = Vec::new();
    for name in names {
        if !unique.contains(&name) {
            unique.push(name);
        }
    }
    unique.into_iter().take(25).map(|n| Choice::string(n.clone(), n)).collect()
}

async fn edit(settings: &Settings, interaction: &Interaction, message: &Message) {
    if let Err(e) =
        discord::edit_original(&settings.discord, &interaction.application_id, &interaction.token, message).await
    {
        eprintln!("workflow: could not edit the reply to interaction {}: {e}", interaction.id);
    }
}
