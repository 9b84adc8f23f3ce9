//! Discord's API for follow-ups: editing an interaction's `@original` message with its token
//! (and reading its id, posting follow-up messages), or, with the bot token, posting in the
//! channel once that token has expired and starting a run's thread.

use std::time::Duration;

use spin_sdk::http::Method;

use super::outbound::{Outgoing, SendFailure, send_capped, sleep};
use crate::config::DiscordSettings;
use crate::discord::Message;
use crate::discord::rate_limit::{MAX_ATTEMPTS, MAX_TOTAL_WAIT, MAX_WAIT, backoff, retry_after, retryable};
use crate::ports::Discord;

const USER_AGENT: &str =
    concat!("DiscordBot (https://github.com/facteur-bot/facteur, ", env!("CARGO_PKG_VERSION"), ")");
const TIMEOUT: Duration = Duration::from_secs(10);
/// Discord's answers to these calls are one message object; anything larger is not read.
const MAX_ANSWER: usize = 256 * 1024;

pub struct SpinDiscord(pub DiscordSettings);

impl Discord for SpinDiscord {
    /// Replaces the interaction's original (deferred) response with `message`, trying again
    /// until the token expires (`until`).
    async fn edit_original(
        &self,
        application_id: &str,
        token: &str,
        message: &Message,
        until: u64,
    ) -> Result<(), String> {
        let url = format!("{}/api/v10/webhooks/{application_id}/{token}/messages/@original", self.0.api_url);
        send(Method::Patch, &url, None, body(message), Budget::Until(until)).await.map(drop)
    }

    /// Posts `message` in a channel with the bot token, once the interaction token has expired.
    async fn post_to_channel(&self, channel_id: &str, message: &Message) -> Result<(), String> {
        let token = self.0.bot_token.as_deref().ok_or("no bot token is configured (`discord_bot_token`)")?;
        let url = format!("{}/api/v10/channels/{channel_id}/messages", self.0.api_url);
        let mut message = message.clone();
        message.flags = None; // channel messages cannot be ephemeral
        send(Method::Post, &url, Some(&format!("Bot {token}")), body(&message), Budget::Bounded).await.map(drop)
    }

    async fn follow_up(&self, application_id: &str, token: &str, message: &Message) -> Result<(), String> {
        let url = format!("{}/api/v10/webhooks/{application_id}/{token}", self.0.api_url);
        send(Method::Post, &url, None, body(message), Budget::Bounded).await.map(drop)
    }

    async fn original_message_id(&self, application_id: &str, token: &str) -> Result<String, String> {
        let url = format!("{}/api/v10/webhooks/{application_id}/{token}/messages/@original", self.0.api_url);
        id_in(&send(Method::Get, &url, None, (Vec::new(), String::new()), Budget::Bounded).await?)
    }

    /// Discord: "Start Thread from Message" (`POST /channels/{c}/messages/{m}/threads`) or
    /// "Start Thread without Message" (`POST /channels/{c}/threads`, type 11: public). Both need
    /// the bot token: an interaction token can only edit its responses and post follow-ups.
    async fn start_thread(&self, channel_id: &str, message: Option<&str>, name: &str) -> Result<String, String> {
        let token = self.0.bot_token.as_deref().ok_or("no bot token is configured (`discord_bot_token`)")?;
        let api = &self.0.api_url;
        // Archived after a day without activity (1440 minutes, a value Discord accepts).
        let name = serde_json::to_string(name).expect("a string serialises");
        let (url, kind) = match message {
            Some(m) => (format!("{api}/api/v10/channels/{channel_id}/messages/{m}/threads"), ""),
            None => (format!("{api}/api/v10/channels/{channel_id}/threads"), r#","type":11"#),
        };
        let body = format!(r#"{{"name":{name},"auto_archive_duration":1440{kind}}}"#);
        let request = (body.into_bytes(), "application/json".to_owned());
        match send(Method::Post, &url, Some(&format!("Bot {token}")), request, Budget::Bounded).await {
            Ok(answer) => id_in(&answer),
            // 160004 "A thread has already been created for this message": it has the message's id.
            Err(e) if e.contains("160004") && message.is_some() => Ok(message.unwrap_or_default().to_owned()),
            Err(e) => Err(e),
        }
    }
}

/// A message's body: multipart when it carries files (Discord's "Uploading Files"), else JSON.
fn body(message: &Message) -> (Vec<u8>, String) {
    if message.attachments.is_empty() {
        (serde_json::to_vec(message).expect("messages always serialise"), "application/json".to_owned())
    } else {
        crate::discord::multipart::encode(message)
    }
}

/// The `id` of the object Discord answered with (a message, a thread). Read as a `Value`, whose
/// decoder the components have anyway (a derived one costs 1.4 KB).
fn id_in(answer: &[u8]) -> Result<String, String> {
    let object: serde_json::Value = serde_json::from_slice(answer).unwrap_or_default();
    object["id"].as_str().map(str::to_owned).ok_or_else(|| "Discord's answer has no id".to_owned())
}

/// How long a message may keep trying.
#[derive(Clone, Copy)]
enum Budget {
    /// An edit: as long as the token lives (Unix seconds), whatever the number of attempts.
    Until(u64),
    /// A post: [`MAX_ATTEMPTS`], each wait at most [`MAX_WAIT`], [`MAX_TOTAL_WAIT`] in all.
    Bounded,
}

impl Budget {
    /// Whether a `wait` before attempt `attempt + 1`, after `waited` so far, is allowed.
    fn allows(self, attempt: u32, wait: Duration, waited: Duration) -> bool {
        match self {
            Budget::Until(until) => super::now().saturating_add(wait.as_secs_f64().ceil() as u64) < until,
            Budget::Bounded => wait <= MAX_WAIT && waited + wait <= MAX_TOTAL_WAIT && attempt < MAX_ATTEMPTS,
        }
    }
}

/// Sends a body (none for a GET) and returns Discord's answer, trying again within `budget`:
/// after a 429 for as long as Discord asks, after a 5xx (any for an edit or a read, which are
/// idempotent; 502–504 for a post) or no answer in time (idempotent calls only: a post that
/// timed out may have been made) with an exponential backoff. Errors name neither URL nor token.
async fn send(
    method: Method,
    url: &str,
    authorization: Option<&str>,
    (body, content_type): (Vec<u8>, String),
    budget: Budget,
) -> Result<Vec<u8>, String> {
    let idempotent = matches!(method, Method::Patch | Method::Get);
    let mut waited = Duration::ZERO;
    for attempt in 1.. {
        let mut request = Outgoing::new(method.clone(), url);
        request.header("user-agent", USER_AGENT);
        if !body.is_empty() {
            request.header("content-type", content_type.as_str());
        }
        if let Some(authorization) = authorization {
            request.header("authorization", authorization);
        }
        request.body(body.clone());
        let (wait, failure) = match send_capped(request, TIMEOUT, MAX_ANSWER).await {
            Ok((status, answer)) if (200..300).contains(&status) => return Ok(answer),
            Ok((status, answer)) => {
                let text = String::from_utf8_lossy(&answer);
                let failure = format!("Discord answered {status}: {}", crate::discord::truncate(&text, 200));
                // Discord gives `retry_after` in the JSON body of a 429; no header needed.
                match retry_after(status, None, &answer) {
                    Some(wait) => (Some(wait), failure),
                    None if retryable(status, idempotent) => (Some(backoff(attempt)), failure),
                    None => (None, failure),
                }
            }
            Err(SendFailure::Timeout) => {
                (idempotent.then(|| backoff(attempt)), "Discord did not answer in time".to_owned())
            }
            Err(SendFailure::NotSent(e)) => (Some(backoff(attempt)), format!("Discord could not be reached: {e}")),
            // The request may have been made: an edit can be sent again, a post cannot.
            Err(SendFailure::Failed(e)) => {
                (idempotent.then(|| backoff(attempt)), format!("Discord's answer was lost: {e}"))
            }
        };
        match wait {
            Some(wait) if budget.allows(attempt, wait, waited) => {
                waited += wait;
                sleep(wait).await;
            }
            Some(_) => return Err(format!("{failure} (gave up after {attempt} attempts)")),
            None => return Err(failure),
        }
    }
    unreachable!("the loop returns once its budget is spent")
}
