//! Where a reply goes, and what happens when it cannot get there. Nothing ends silently:
//!
//! 1. the interaction's message is edited, and the Discord port keeps trying (backoff, 429s)
//!    until the interaction token expires, 15 minutes after the interaction was created;
//! 2. then a public reply is posted in its channel with the bot token (`discord_bot_token`);
//!    an ephemeral one never is, since everyone in the channel would read it;
//! 3. what still did not reach Discord is audited `undeliverable` with the interaction id and
//!    the reasons (never the token), for an operator's alert.

use serde_json::json;

use crate::audit::{AuditEvent, AuditRecord};
use crate::discord::snowflake;
use crate::discord::{Interaction, Message};
use crate::history::{Reply, RunRecord, TOKEN_TTL_SECS};
use crate::ports::{Discord, Ports};

/// Where a reply about an interaction goes.
#[derive(Clone, PartialEq, Eq)]
pub struct Recipient {
    pub interaction_id: String,
    /// The command (or button prefix) the reply is about, for the audit line.
    pub command: String,
    pub application_id: String,
    /// Empty: no token (it expired and was forgotten).
    pub token: String,
    /// Unix seconds after which the token is refused.
    pub token_expires_at: u64,
    pub channel_id: Option<String>,
    /// Whether the reply may be posted in the channel instead (it was not ephemeral).
    pub public: bool,
}

impl std::fmt::Debug for Recipient {
    // By hand: the token never reaches a log line.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Recipient")
            .field("interaction_id", &self.interaction_id)
            .field("command", &self.command)
            .field("has_token", &!self.token.is_empty())
            .finish_non_exhaustive()
    }
}

impl Recipient {
    /// The member who sent `interaction` over HTTP, `now`; `public` when its deferred answer
    /// was not ephemeral.
    pub fn of_interaction(interaction: &Interaction, public: bool, now: u64) -> Self {
        let command = interaction
            .command_name()
            .or_else(|| interaction.custom_id().and_then(|id| id.split(':').next()))
            .unwrap_or_default();
        Self {
            interaction_id: interaction.id.clone(),
            command: command.to_owned(),
            application_id: interaction.application_id.clone(),
            token: interaction.token.clone(),
            token_expires_at: issued_at(&interaction.id, now) + TOKEN_TTL_SECS,
            channel_id: interaction.channel_id.clone(),
            public,
        }
    }

    /// A run's recipient: its reply while the token is valid (`reply`), else its channel.
    pub fn of_record(record: &RunRecord, reply: Option<Reply>) -> Self {
        let (token, token_expires_at) = reply.map_or((String::new(), 0), |r| (r.token, r.expires_at));
        Self {
            interaction_id: record.interaction_id.clone(),
            command: record.command.clone(),
            application_id: record.application_id.clone(),
            token,
            token_expires_at,
            channel_id: record.channel_id.clone(),
            public: true,
        }
    }
}

/// When the token of interaction `id` was issued: the time in its snowflake (Discord's clock),
/// unless that is in the future or already a whole token lifetime ago, which Discord never
/// sends (it signs each request within seconds of the interaction): then the receipt time.
pub fn issued_at(id: &str, now: u64) -> u64 {
    snowflake::created_at(id).filter(|t| *t <= now && now - t < TOKEN_TTL_SECS).unwrap_or(now)
}

/// Delivers `message` to `to` (see the module's steps). `Err` once it is undeliverable, after
/// the audit line; each failed step is logged.
pub async fn deliver(ports: &impl Ports, to: &Recipient, message: &Message) -> Result<(), String> {
    let id = &to.interaction_id;
    let mut reasons = Vec::new();
    if !to.token.is_empty() && ports.now() < to.token_expires_at {
        match ports.discord().edit_original(&to.application_id, &to.token, message, to.token_expires_at).await {
            Ok(()) => return Ok(()),
            Err(e) => {
                ports.log(format!("could not edit the reply to interaction {id}: {e}"));
                reasons.push(format!("editing the reply: {e}"));
            }
        }
    } else {
        reasons.push("the interaction token expired".to_owned());
    }
    match (&to.channel_id, to.public) {
        (Some(channel), true) => match ports.discord().post_to_channel(channel, message).await {
            Ok(()) => return Ok(()),
            Err(e) => {
                ports.log(format!("could not post the reply to interaction {id} in channel {channel}: {e}"));
                reasons.push(format!("posting in the channel: {e}"));
            }
        },
        (Some(_), false) => reasons.push("the reply is ephemeral, so it is not posted in the channel".to_owned()),
        (None, _) => reasons.push("no channel to post in".to_owned()),
    }
    let reasons = reasons.join("; ");
    ports.audit(undeliverable(to, &reasons));
    Err(format!("could not tell Discord about interaction {id}: {reasons}"))
}

/// The audit line of a reply that never reached Discord: ids and reasons, never the token.
fn undeliverable(to: &Recipient, reasons: &str) -> String {
    let record = AuditRecord {
        audit: AuditEvent::Undeliverable,
        command: &to.command,
        interaction_id: &to.interaction_id,
        user_id: None,
        guild_id: None,
        channel_id: to.channel_id.as_deref(),
        details: json!({ "error": reasons }),
    };
    serde_json::to_string(&record).expect("audit records always serialise")
}

/// Replaces the deferred response to `interaction` with `message` (the HTTP path's follow-up).
/// `public`: the deferred response was not ephemeral.
pub async fn follow_up(ports: &impl Ports, interaction: &Interaction, public: bool, message: &Message) {
    // An undeliverable reply is audited and logged by `deliver`.
    let _ = deliver(ports, &Recipient::of_interaction(interaction, public, ports.now()), message).await;
}

#[cfg(test)]
mod tests;
