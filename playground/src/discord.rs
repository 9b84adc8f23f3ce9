//! A stand-in for Discord's API (v10): the calls facteur and its CLI make, checked against
//! Discord's official OpenAPI spec ([`DiscordOpenApi`]), with Discord's requirements (a
//! `DiscordBot` user agent, JSON bodies, message limits, a bot token where Discord wants one)
//! and scriptable rate limiting. It keeps the messages:
//!
//! - an interaction's original response: `PATCH`/`GET`/`DELETE …/webhooks/{application}/{token}/messages/@original`
//!   (`GET` answers 404 Unknown Message until the deferred reply was edited);
//! - follow-ups: `POST …/webhooks/{application}/{token}`, and `…/messages/{id}`;
//! - channel posts with the bot token: `POST …/channels/{channel}/messages`, and threads:
//!   `POST …/channels/{channel}/messages/{message}/threads` (the thread takes the message's id;
//!   a second one is 400 `160004`) and `POST …/channels/{channel}/threads`;
//! - messages with files: `multipart/form-data` with `payload_json` (checked as the JSON body
//!   would be) and `files[n]` parts that its `attachments` name, each within Discord's default
//!   10 MiB (413 beyond); [`Edit::files`] holds them;
//! - command registration: `GET`/`PUT`/`POST …/applications/{application}[/guilds/{guild}]/commands`.
//!
//! A request that does not match the spec gets Discord's 400 (`50035 Invalid Form Body`) with
//! the reason, or 404 for an unknown route, and is listed in [`FakeDiscord::violations`].

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};

use anyhow::Result;
use serde_json::Value;

use super::discord_openapi::DiscordOpenApi;
use super::multipart::{self, File};
use super::{Activity, FakeServer, Recorded};

mod routes;
use routes::handle;

#[derive(Default)]
struct State {
    /// Answer the next requests with 429 and this `retry_after` (seconds).
    rate_limits: Vec<f64>,
    /// Every n-th request is answered with 429 and this `retry_after`.
    rate_limit_every: Option<(u64, f64)>,
    requests: u64,
    violations: Vec<String>,
    /// Interaction token → its original response (once edited).
    originals: BTreeMap<String, Value>,
    /// Interaction token → follow-up messages, in order.
    followups: BTreeMap<String, Vec<Value>>,
    /// Channel id → messages posted with the bot token.
    channels: BTreeMap<String, Vec<Value>>,
    /// Thread id → the thread (a channel object), started with the bot token.
    threads: BTreeMap<String, Value>,
    /// `global` or the guild id → registered command definitions.
    commands: BTreeMap<String, Vec<Value>>,
    next_id: u64,
    activity: Option<Activity>,
}

impl State {
    fn snowflake(&mut self) -> String {
        self.next_id += 1;
        (1_300_000_000_000_000_076 + self.next_id).to_string()
    }

    fn note(&self, line: String) {
        if let Some(activity) = &self.activity {
            activity(&line);
        }
    }
}

pub struct FakeDiscord {
    pub server: FakeServer,
    state: Arc<Mutex<State>>,
}

/// An edit of an interaction's original response, as received.
#[derive(Debug, Clone)]
pub struct Edit {
    pub application_id: String,
    pub token: String,
    /// The JSON body, or a multipart body's `payload_json`.
    pub message: Value,
    /// The files of a multipart edit, in `files[n]` order.
    pub files: Vec<File>,
}

/// A request's message and files: a JSON body, or `payload_json` and the `files[n]` parts of
/// a multipart one (already checked when the request was received).
fn message_of(request: &Recorded) -> (Value, Vec<(u64, File)>) {
    let content_type = request.header("content-type").unwrap_or_default();
    if !multipart::is_multipart(Some(content_type)) {
        return (request.json(), Vec::new());
    }
    match multipart::parse(content_type, &request.body).and_then(|parts| multipart::message(&parts)) {
        Ok((message, mut files)) => {
            files.sort_by_key(|(n, _)| *n);
            (message, files)
        }
        Err(_) => (Value::Null, Vec::new()),
    }
}

impl FakeDiscord {
    pub async fn start() -> Result<Self> {
        Self::start_on(0).await
    }

    /// On `127.0.0.1:<port>` (0: any free port).
    pub async fn start_on(port: u16) -> Result<Self> {
        let spec = DiscordOpenApi::official()?;
        let state = Arc::new(Mutex::new(State::default()));
        let shared = state.clone();
        let server =
            FakeServer::start_on(port, move |request| handle(&spec, &mut shared.lock().unwrap(), request)).await?;
        Ok(Self { server, state })
    }

    pub fn origin(&self) -> String {
        self.server.origin()
    }

    /// Calls `activity` with a line for each message kept and each violation.
    pub fn on_activity(&self, activity: impl Fn(&str) + Send + Sync + 'static) {
        self.state.lock().unwrap().activity = Some(Arc::new(activity));
    }

    /// The next `count` requests get 429 with `retry_after` seconds.
    pub fn rate_limit_next(&self, count: usize, retry_after: f64) {
        self.state.lock().unwrap().rate_limits.extend(std::iter::repeat_n(retry_after, count));
    }

    /// Every `n`-th request gets 429 with `retry_after` seconds (fault injection under load).
    pub fn rate_limit_every(&self, n: u64, retry_after: f64) {
        self.state.lock().unwrap().rate_limit_every = Some((n, retry_after));
    }

    pub fn requests(&self) -> Vec<Recorded> {
        self.server.requests()
    }

    /// Requests that did not match Discord's OpenAPI spec (each was refused).
    pub fn violations(&self) -> Vec<String> {
        self.state.lock().unwrap().violations.clone()
    }

    /// The original response of the interaction with this token, as it stands.
    pub fn original(&self, token: &str) -> Option<Value> {
        self.state.lock().unwrap().originals.get(token).cloned()
    }

    /// Follow-up messages of the interaction with this token.
    pub fn followups(&self, token: &str) -> Vec<Value> {
        self.state.lock().unwrap().followups.get(token).cloned().unwrap_or_default()
    }

    /// Threads started with the bot token (channel objects: `id`, `parent_id`, `name`).
    pub fn threads(&self) -> Vec<Value> {
        self.state.lock().unwrap().threads.values().cloned().collect()
    }

    /// Follow-up messages of every interaction, in the order they were posted: (token, message).
    pub fn all_followups(&self) -> Vec<(String, Value)> {
        self.requests()
            .iter()
            .filter(|r| r.method == "POST" && (200..300).contains(&r.status))
            .filter_map(|r| match segments(&r.path).as_slice() {
                ["api", "v10", "webhooks", _, token] => Some((token.to_string(), message_of(r).0)),
                _ => None,
            })
            .collect()
    }

    /// Registered commands: `None` for the global ones, else the guild's.
    pub fn commands(&self, guild: Option<&str>) -> Vec<Value> {
        self.state.lock().unwrap().commands.get(guild.unwrap_or("global")).cloned().unwrap_or_default()
    }

    /// Messages posted in channels with the bot token: (channel id, message).
    pub fn channel_posts(&self) -> Vec<(String, Value)> {
        self.requests()
            .iter()
            .filter(|r| r.method == "POST" && (200..300).contains(&r.status))
            .filter_map(|r| match segments(&r.path).as_slice() {
                ["api", "v10", "channels", channel, "messages"] => Some((channel.to_string(), message_of(r).0)),
                _ => None,
            })
            .collect()
    }

    /// Edits of `@original` that Discord accepted.
    pub fn edits(&self) -> Vec<Edit> {
        self.requests()
            .iter()
            .filter(|r| r.method == "PATCH" && (200..300).contains(&r.status))
            .filter_map(|r| match segments(&r.path).as_slice() {
                ["api", "v10", "webhooks", app, token, "messages", "@original"] => {
                    let (message, files) = message_of(r);
                    let files = files.into_iter().map(|(_, file)| file).collect();
                    Some(Edit { application_id: app.to_string(), token: token.to_string(), message, files })
                }
                _ => None,
            })
            .collect()
    }
}

fn segments(path_and_query: &str) -> Vec<&str> {
    let path = path_and_query.split('?').next().unwrap_or("");
    path.trim_start_matches('/').split('/').collect()
}
