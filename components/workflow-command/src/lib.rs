//! The generic workflow command: every catalog command whose job is "submit WorkflowTemplate
//! T with these options as parameters". Several `[component.*]` entries share this `.wasm`;
//! each names its command with the `command` variable.
//!
//! Within Discord's 3 seconds it checks the request again, the member's permission and the
//! options, and answers: a precise ephemeral refusal, or a deferred response. After the
//! response it submits to Argo and edits the deferred message with the outcome.

use facteur::argo;
use facteur::audit;
use facteur::catalog::{Catalog, Command};
use facteur::config::DiscordSettings;
use facteur::discord::{Choice, Interaction, InteractionResponse, InteractionType};
use facteur::policy::{Caller, Policy};
use facteur::spin::dispatch::{self, DispatchSettings};
use facteur::spin::{discord, misconfigured, now, receive, reply, respond, variables};
use serde_json::json;
use spin_sdk::http::{IncomingRequest, ResponseOutparam};
use spin_sdk::http_component;

struct Settings {
    policy: Policy,
    dispatch: DispatchSettings,
    discord: DiscordSettings,
}

#[http_component]
async fn handle(req: IncomingRequest, out: ResponseOutparam) {
    let vars = variables();
    let config = (|| {
        let settings = Settings {
            policy: vars.policy()?,
            dispatch: DispatchSettings { argo: vars.argo()?, history_ttl: vars.run_history_ttl_secs()? },
            discord: vars.discord()?,
        };
        Ok::<_, facteur::config::ConfigError>((vars.verifier()?, vars.command()?, settings))
    })();
    let (verifier, name, settings) = match config {
        Ok(config) => config,
        Err(e) => return respond(out, misconfigured("workflow-command", &e)).await,
    };
    let catalog = Catalog::embedded();
    let Some(command) = catalog.command(&name).filter(|c| c.workflow.is_some()) else {
        let error = format!("variable `command`: `{name}` is not a workflow command of the catalog");
        return respond(out, misconfigured("workflow-command", &error)).await;
    };
    let (_, interaction) = match receive(req, &verifier).await {
        Ok(received) => received,
        Err(refusal) => return respond(out, refusal).await,
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
    let message = dispatch::submit(command, &interaction, &submission, &settings.dispatch, now()).await;
    if let Err(e) =
        discord::edit_original(&settings.discord, &interaction.application_id, &interaction.token, &message).await
    {
        eprintln!("{}: could not edit the reply to interaction {}: {e}", command.name, interaction.id);
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
    let namespace = workflow.namespace.as_deref().unwrap_or(&settings.dispatch.argo.namespace);
    let listed = facteur::spin::argo::send_with_deadline(
        &settings.dispatch.argo,
        &argo::templates(namespace, &typed),
        facteur::spin::argo::INLINE_DEADLINE,
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
