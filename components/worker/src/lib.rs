//! `worker`: the Redis trigger on the channel the bridge publishes Kafka records to.
//!
//! - A `facteur.v1.CommandEvent` (protobuf or JSON) runs through the same catalog, policy and
//!   submission code as a slash command, with the event's member roles; the reply edits the
//!   interaction's message while its token is valid, else goes to the channel (bot token).
//! - A workflow lifecycle event updates the run's message the same way, once per phase.
//! - Anything undecodable is logged with the reason and dropped; the next message is handled.

use facteur::catalog::Catalog;
use facteur::config::DiscordSettings;
use facteur::discord::Message;
use facteur::events::{self, CommandEvent, Event, LifecycleEvent};
use facteur::policy::{Caller, Policy};
use facteur::session::TOKEN_TTL_SECS;
use facteur::spin::dispatch::{self, DispatchSettings};
use facteur::spin::{discord, now, store, variables};
use facteur::{audit, replies};
use serde_json::json;
use spin_sdk::redis_component;

struct Settings {
    policy: Policy,
    dispatch: DispatchSettings,
    discord: DiscordSettings,
}

#[redis_component]
async fn on_message(payload: Vec<u8>) -> Result<(), String> {
    let vars = variables();
    let settings = (|| {
        Ok::<_, facteur::config::ConfigError>(Settings {
            policy: vars.policy()?,
            dispatch: DispatchSettings { argo: vars.argo()?, history_ttl: vars.run_history_ttl_secs()? },
            discord: vars.discord()?,
        })
    })()
    .map_err(|e| format!("worker: configuration error: {e}"))?;
    match events::decode(&payload) {
        Ok(Event::Command(event)) => command(&event, &settings).await,
        Ok(Event::Lifecycle(event)) => lifecycle(&event, &settings).await,
        Err(reason) => {
            eprintln!("worker: dropped a message of {} bytes: {reason}", payload.len());
            Ok(())
        }
    }
}

/// A slash command that arrived as an event: the same checks and submission as over HTTP.
async fn command(event: &CommandEvent, settings: &Settings) -> Result<(), String> {
    let catalog = Catalog::embedded();
    let interaction = event.to_interaction(&catalog);
    let issued_at = event.received_at().unwrap_or_else(now);
    let message = match catalog.command(&event.command).filter(|c| c.workflow.is_some()) {
        None => {
            println!(
                "{}",
                audit::line(
                    "invalid",
                    &event.command,
                    &interaction,
                    json!({ "error": "not a workflow command", "via": "event" })
                )
            );
            Message::new(format!("`/{}` cannot be run through the event pipeline.", event.command))
        }
        Some(command) => {
            let decision = settings.policy.decide(&command.name, &Caller::of(&interaction));
            if !decision.allowed {
                println!("{}", audit::line("denied", &command.name, &interaction, &decision));
                Message::new(decision.reason.denial_message(&command.name))
            } else {
                match command.submission(&interaction) {
                    Err(invalid) => {
                        println!(
                            "{}",
                            audit::line("invalid", &command.name, &interaction, json!({ "error": invalid.0 }))
                        );
                        Message::new(format!("`/{}`: {}", command.name, invalid.0))
                    }
                    Ok(submission) => {
                        println!("{}", audit::line("allowed", &command.name, &interaction, &decision));
                        dispatch::submit(command, &interaction, &submission, &settings.dispatch, issued_at).await
                    }
                }
            }
        }
    };
    let to = Recipient {
        interaction_id: &interaction.id,
        application_id: &interaction.application_id,
        token: &interaction.token,
        token_expires_at: issued_at + TOKEN_TTL_SECS,
        channel_id: interaction.channel_id.as_deref(),
    };
    tell(settings, &to, &message).await
}

/// A run changed phase: update its message, once per phase.
async fn lifecycle(event: &LifecycleEvent, settings: &Settings) -> Result<(), String> {
    let (namespace, workflow, phase) = (&event.namespace, &event.workflow, &event.phase);
    let Some(record) = store::run_record(namespace, workflow, now())? else {
        eprintln!(
            "worker: lifecycle event for {namespace}/{workflow} ({phase}): not a run facteur remembers; nothing to update"
        );
        return Ok(());
    };
    if store::was_notified(namespace, workflow, phase)? {
        eprintln!("worker: {namespace}/{workflow} was already announced as {phase}; skipped");
        return Ok(());
    }
    let message = replies::lifecycle(event, &record.command, &settings.dispatch.argo.ui_url);
    let to = Recipient {
        interaction_id: &record.interaction_id,
        application_id: &record.application_id,
        token: &record.token,
        token_expires_at: record.token_expires_at,
        channel_id: record.channel_id.as_deref(),
    };
    tell(settings, &to, &message).await?;
    store::mark_notified(namespace, workflow, phase)
}

/// Where a reply about an interaction goes.
struct Recipient<'a> {
    interaction_id: &'a str,
    application_id: &'a str,
    token: &'a str,
    token_expires_at: u64,
    channel_id: Option<&'a str>,
}

/// Edits the interaction's message while its token is valid, else posts in its channel.
async fn tell(settings: &Settings, to: &Recipient<'_>, message: &Message) -> Result<(), String> {
    let result = if now() < to.token_expires_at && !to.token.is_empty() {
        discord::edit_original(&settings.discord, to.application_id, to.token, message).await
    } else if let Some(channel) = to.channel_id {
        discord::post_to_channel(&settings.discord, channel, message).await
    } else {
        Err("the interaction token expired and the event names no channel".to_owned())
    };
    result.map_err(|e| format!("worker: could not tell Discord about interaction {}: {e}", to.interaction_id))
}
