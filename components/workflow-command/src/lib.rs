//! The generic workflow command: every catalog command whose job is "submit WorkflowTemplate
//! T with these options as parameters". Several `[component.*]` entries share this `.wasm`;
//! each names its command with the `command` variable.
//!
//! Within Discord's 3 seconds it checks the request again, the member's permission and the
//! options, and answers: a precise ephemeral refusal, or a deferred response. After the
//! response it submits to Argo and edits the deferred message with the outcome.

use facteur::argo::{self, ArgoError, SubmitSpec};
use facteur::catalog::{Catalog, Command, Submission};
use facteur::config::{ArgoSettings, DiscordSettings};
use facteur::discord::{Choice, Interaction, InteractionResponse, InteractionType, Message};
use facteur::endpoint::Rejection;
use facteur::policy::{Caller, Policy};
use facteur::session::{InteractionSession, Run, TOKEN_TTL_SECS};
use facteur::spin::{InteractionRequest, discord, now, reject, reply, respond, store, variables};
use facteur::{audit, replies};
use serde_json::json;
use spin_sdk::http::{IncomingRequest, ResponseOutparam};
use spin_sdk::http_component;

/// Autocomplete is answered inline, within Discord's 3 seconds.
const AUTOCOMPLETE_DEADLINE: std::time::Duration = std::time::Duration::from_millis(2000);

struct Settings {
    policy: Policy,
    argo: ArgoSettings,
    discord: DiscordSettings,
    history_ttl: u64,
}

#[http_component]
async fn handle(req: IncomingRequest, out: ResponseOutparam) {
    let vars = variables();
    let config = (|| {
        let settings = Settings {
            policy: vars.policy()?,
            argo: vars.argo()?,
            discord: vars.discord()?,
            history_ttl: vars.run_history_ttl_secs()?,
        };
        Ok::<_, facteur::config::ConfigError>((vars.verifier()?, vars.command()?, settings))
    })();
    let (verifier, name, settings) = match config {
        Ok(config) => config,
        Err(e) => return misconfigured(out, &e.to_string()).await,
    };
    let catalog = Catalog::embedded();
    let Some(command) = catalog.command(&name).filter(|c| c.workflow.is_some()) else {
        return misconfigured(out, &format!("variable `command`: `{name}` is not a workflow command of the catalog"))
            .await;
    };
    let request = match InteractionRequest::read(req).await {
        Ok(request) => request,
        Err(rejection) => return respond(out, reject(&rejection)).await,
    };
    let interaction = match request.admit(&verifier) {
        Ok(interaction) => interaction,
        Err(rejection) => return respond(out, reject(&rejection)).await,
    };
    if interaction.command_name() != Some(command.name.as_str()) {
        eprintln!("{name}: refusing interaction {} meant for another command", interaction.id);
        return respond(out, reply(&InteractionResponse::ephemeral("This component does not serve that command.")))
            .await;
    }
    match interaction.kind {
        InteractionType::ApplicationCommand => {}
        InteractionType::Autocomplete => {
            let choices = template_choices(command, &interaction, &settings).await;
            return respond(out, reply(&InteractionResponse::autocomplete(choices))).await;
        }
        _ => {
            let answer = InteractionResponse::ephemeral("facteur does not handle this kind of interaction here.");
            return respond(out, reply(&answer)).await;
        }
    }

    let decision = settings.policy.decide(&command.name, &Caller::of(&interaction));
    if !decision.allowed {
        println!("{}", audit::line("denied", &command.name, &interaction, &decision));
        let answer = InteractionResponse::ephemeral(decision.reason.denial_message(&command.name));
        return respond(out, reply(&answer)).await;
    }
    let submission = match command.submission(&interaction) {
        Ok(submission) => submission,
        Err(invalid) => {
            println!("{}", audit::line("invalid", &command.name, &interaction, json!({ "error": invalid.0 })));
            let answer = InteractionResponse::ephemeral(format!("`/{}`: {}", command.name, invalid.0));
            return respond(out, reply(&answer)).await;
        }
    };
    println!("{}", audit::line("allowed", &command.name, &interaction, &decision));

    // Acknowledge within Discord's 3 seconds; the rest happens after the response.
    respond(out, reply(&InteractionResponse::deferred(submission.ephemeral))).await;
    let message = submit_and_describe(command, &interaction, &submission, &settings).await;
    if let Err(e) =
        discord::edit_original(&settings.discord, &interaction.application_id, &interaction.token, &message).await
    {
        eprintln!("{}: could not edit the reply to interaction {}: {e}", command.name, interaction.id);
    }
}

/// Submits the workflow (or finds the one an earlier delivery submitted) and describes the
/// outcome for the member. Every outcome is audited.
async fn submit_and_describe(
    command: &Command,
    interaction: &Interaction,
    submission: &Submission,
    settings: &Settings,
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
    let record = json!({
        "workflow": name, "namespace": namespace, "template": submission.template, "dry_run": submission.dry_run,
    });
    match outcome {
        Ok((workflow, existing)) => {
            let mut details = record;
            details["existing"] = existing.into();
            println!("{}", audit::line("submitted", &command.name, interaction, &details));
            if !submission.dry_run {
                remember(command, interaction, &namespace, &name, settings);
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
            let mut details = record;
            details["error"] = error.detail().into();
            println!("{}", audit::line("failed", &command.name, interaction, &details));
            replies::failed(&command.name, &error.explain(&submission.template, &namespace))
        }
    }
}

/// Templates for the option that picks one (`/dispatch template:`): Argo's WorkflowTemplates
/// containing what was typed, limited to `allowed_templates`; the allowed list alone when
/// Argo does not answer within the inline deadline. Nothing for members who may not run it.
async fn template_choices(command: &Command, interaction: &Interaction, settings: &Settings) -> Vec<Choice> {
    let Some(workflow) = &command.workflow else { return Vec::new() };
    let focused = interaction.focused_option();
    let (Some(option), Some(focused)) = (&workflow.template_option, focused) else { return Vec::new() };
    if focused.name != option || !settings.policy.decide(&command.name, &Caller::of(interaction)).allowed {
        return Vec::new();
    }
    let typed = focused.value.map(|v| v.to_string()).unwrap_or_default();
    let namespace = workflow.namespace.as_deref().unwrap_or(&settings.argo.namespace);
    let listed = facteur::spin::argo::send_with_deadline(
        &settings.argo,
        &argo::templates(namespace, &typed),
        AUTOCOMPLETE_DEADLINE,
    )
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

/// Sends one Argo request and parses the Workflow it answers with.
async fn call(settings: &ArgoSettings, request: &argo::ArgoRequest) -> Result<argo::Workflow, ArgoError> {
    let (status, body) = facteur::spin::argo::send(settings, request).await?;
    argo::parse_workflow(status, &body)
}

/// Sessions for follow-ups and `/workflow`; a failure here is logged, the reply still goes out.
fn remember(command: &Command, interaction: &Interaction, namespace: &str, name: &str, settings: &Settings) {
    let now = now();
    let session = InteractionSession {
        workflow: name.to_owned(),
        namespace: namespace.to_owned(),
        command: command.name.clone(),
        application_id: interaction.application_id.clone(),
        token: interaction.token.clone(),
        channel_id: interaction.channel_id.clone(),
        user_id: interaction.user_id().map(str::to_owned),
        expires_at: now + TOKEN_TTL_SECS,
    };
    let run = Run {
        workflow: name.to_owned(),
        namespace: namespace.to_owned(),
        command: command.name.clone(),
        submitted_at: now,
        expires_at: now + settings.history_ttl,
    };
    if let Err(e) = store::save_run(&interaction.id, &session, run, now) {
        eprintln!("{}: could not record the session of interaction {}: {e}", command.name, interaction.id);
    }
}

async fn misconfigured(out: ResponseOutparam, error: &str) {
    eprintln!("workflow-command: configuration error: {error}");
    respond(out, reject(&Rejection::new(500, "facteur is misconfigured; see its logs"))).await;
}
