//! Discord's API for follow-ups: editing an interaction's `@original` message with its token,
//! or posting in the channel with the bot token once that token has expired.

use std::time::Duration;

use spin_sdk::http::{Method, Request};

use super::outbound::{SendFailure, send_within, sleep};
use crate::config::DiscordSettings;
use crate::discord::Message;
use crate::discord::rate_limit::{MAX_ATTEMPTS, MAX_TOTAL_WAIT, MAX_WAIT, retry_after};
use crate::ports::Discord;

const USER_AGENT: &str =
    concat!("DiscordBot (https://github.com/facteur-bot/facteur, ", env!("CARGO_PKG_VERSION"), ")");
const TIMEOUT: Duration = Duration::from_secs(10);

pub struct SpinDiscord(pub DiscordSettings);

impl Discord for SpinDiscord {
    /// Replaces the interaction's original (deferred) response with `message`, honouring 429s.
    async fn edit_original(&self, application_id: &str, token: &str, message: &Message) -> Result<(), String> {
        let url = format!("{}/api/v10/webhooks/{application_id}/{token}/messages/@original", self.0.api_url);
        send(Method::Patch, &url, None, message).await
    }

    /// Posts `message` in a channel with the bot token, once the interaction token has expired.
    async fn post_to_channel(&self, channel_id: &str, message: &Message) -> Result<(), String> {
        let token = self.0.bot_token.as_deref().ok_or("no bot token is configured (`discord_bot_token`)")?;
        let url = format!("{}/api/v10/channels/{channel_id}/messages", self.0.api_url);
        let mut message = message.clone();
        message.flags = None; // channel messages cannot be ephemeral
        send(Method::Post, &url, Some(&format!("Bot {token}")), &message).await
    }
}

/// Sends a message body, retrying after 429s within bounds. Errors name neither URL nor token.
async fn send(method: Method, url: &str, authorization: Option<&str>, message: &Message) -> Result<(), String> {
    let body = serde_json::to_vec(message).expect("messages always serialise");
    let mut waited = Duration::ZERO;
    for attempt in 1..=MAX_ATTEMPTS {
        let mut request = Request::builder();
        request
            .method(method.clone())
            .uri(url)
            .header("content-type", "application/json")
            .header("user-agent", USER_AGENT);
        if let Some(authorization) = authorization {
            request.header("authorization", authorization);
        }
        let response = send_within(request.body(body.clone()).build(), TIMEOUT).await.map_err(|e| match e {
            SendFailure::Timeout => "Discord did not answer in time".to_owned(),
            SendFailure::Failed(e) => format!("Discord could not be reached: {e}"),
        })?;
        let status = *response.status();
        if (200..300).contains(&status) {
            return Ok(());
        }
        let header = response.header("retry-after").and_then(|v| v.as_str());
        match retry_after(status, header, response.body()) {
            Some(wait) if wait <= MAX_WAIT && waited + wait <= MAX_TOTAL_WAIT && attempt < MAX_ATTEMPTS => {
                waited += wait;
                sleep(wait).await;
            }
            Some(wait) => {
                return Err(format!(
                    "rate limited by Discord after {attempt} attempts (retry_after {} ms)",
                    wait.as_millis()
                ));
            }
            None => {
                let text = String::from_utf8_lossy(response.body());
                return Err(format!("Discord answered {status}: {}", crate::discord::truncate(&text, 200)));
            }
        }
    }
    unreachable!("the loop returns on its last attempt")
}
