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
use serde_json::{Value, json};

use super::discord_openapi::DiscordOpenApi;
use super::multipart::{self, File, MAX_FILE};
use super::{Activity, FakeServer, Recorded, Reply};

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

fn invalid(message: &str) -> Reply {
    Reply::json(400, json!({"code": 50035, "message": format!("Invalid Form Body: {message}")}))
}

fn not_found() -> Reply {
    Reply::json(404, json!({"code": 0, "message": "404: Not Found"}))
}

fn unknown_message() -> Reply {
    Reply::json(404, json!({"code": 10008, "message": "Unknown Message"}))
}

fn handle(spec: &DiscordOpenApi, state: &mut State, request: &Recorded) -> Reply {
    state.requests += 1;
    let periodic = state.rate_limit_every.filter(|(n, _)| state.requests.is_multiple_of(*n)).map(|(_, after)| after);
    if !state.rate_limits.is_empty() || periodic.is_some() {
        let retry_after = periodic.unwrap_or_else(|| state.rate_limits.remove(0));
        return Reply::json(
            429,
            json!({"message": "You are being rate limited.", "retry_after": retry_after, "global": false}),
        )
        .header("retry-after", &retry_after.ceil().to_string())
        .header("x-ratelimit-scope", "user");
    }
    if !request.header("user-agent").is_some_and(|ua| ua.starts_with("DiscordBot ")) {
        return Reply::json(403, json!({"code": 40333, "message": "internal network error"}));
    }
    let multipart = multipart::is_multipart(request.header("content-type"));
    if !request.body.is_empty() && request.header("content-type") != Some("application/json") && !multipart {
        return invalid("content type must be application/json or multipart/form-data");
    }
    if let Err(violation) =
        spec.check_request(&request.method, &request.path, request.header("content-type"), &request.body)
    {
        state.note(format!("discord: VIOLATION of Discord's OpenAPI spec: {violation}"));
        state.violations.push(violation.clone());
        return if violation.starts_with("no operation") || violation.contains("Discord's API is under") {
            not_found()
        } else {
            invalid(&format!("does not match Discord's OpenAPI spec: {violation}"))
        };
    }
    let bot = request.header("authorization").is_some_and(|a| a.starts_with("Bot "));
    let (mut message, files) = message_of(request);
    if let Some((_, file)) = files.iter().find(|(_, f)| f.content.len() > MAX_FILE) {
        return Reply::json(
            413,
            json!({"code": 40005, "message": format!("Request entity too large: {}", file.filename)}),
        );
    }
    // Discord keeps a new file as an attachment with an id, a size and a URL of its own.
    if multipart && let Some(attachments) = message["attachments"].as_array_mut() {
        for attachment in attachments.iter_mut() {
            let n = multipart::index(attachment);
            let Some((_, file)) = files.iter().find(|(i, _)| Some(*i) == n) else { continue };
            let id = state.snowflake();
            attachment["url"] = format!("https://cdn.discordapp.com/attachments/{id}/{}", file.filename).into();
            attachment["id"] = id.into();
            attachment["size"] = file.content.len().into();
        }
    }
    if matches!(request.method.as_str(), "POST" | "PATCH") && message.is_object() {
        if message["content"].as_str().is_some_and(|c| c.chars().count() > 2000) {
            return invalid("content: Must be 2000 or fewer in length.");
        }
        if message["embeds"].as_array().is_some_and(|e| e.len() > 10) {
            return invalid("embeds: Must be 10 or fewer in length.");
        }
    }
    let method = request.method.as_str();
    match (method, segments(&request.path).as_slice()) {
        (_, ["api", "v10", "webhooks", _, token, "messages", "@original"]) => match method {
            "PATCH" => {
                let id = match state.originals.get(*token) {
                    Some(existing) => existing["id"].as_str().unwrap_or_default().to_owned(),
                    None => state.snowflake(),
                };
                let entry = state.originals.entry(token.to_string()).or_insert_with(|| json!({}));
                merge(entry, &message, &id);
                let answer = entry.clone();
                state.note(format!("discord: edited the reply to interaction token {token}"));
                Reply::json(200, answer)
            }
            "GET" => state.originals.get(*token).map_or_else(unknown_message, |m| Reply::json(200, m.clone())),
            "DELETE" => match state.originals.remove(*token) {
                Some(_) => Reply::text(204, ""),
                None => unknown_message(),
            },
            _ => not_found(),
        },
        (_, ["api", "v10", "webhooks", _, token, "messages", id]) => {
            let Some(found) = state.followups.get_mut(*token).and_then(|f| f.iter_mut().find(|m| m["id"] == *id))
            else {
                return unknown_message();
            };
            match method {
                "PATCH" => {
                    merge(found, &message, id);
                    Reply::json(200, found.clone())
                }
                "GET" => Reply::json(200, found.clone()),
                "DELETE" => {
                    state.followups.get_mut(*token).unwrap().retain(|m| m["id"] != *id);
                    Reply::text(204, "")
                }
                _ => not_found(),
            }
        }
        ("POST", ["api", "v10", "webhooks", _, token]) => {
            let id = state.snowflake();
            let mut kept = json!({});
            merge(&mut kept, &message, &id);
            state.followups.entry(token.to_string()).or_default().push(kept.clone());
            state.note(format!("discord: follow-up to interaction token {token}"));
            Reply::json(200, kept)
        }
        ("POST", ["api", "v10", "channels", channel, "messages", on, "threads"])
        | ("POST", ["api", "v10", "channels", channel, on @ "threads"]) => {
            if !bot {
                return Reply::json(401, json!({"code": 0, "message": "401: Unauthorized"}));
            }
            // A thread started on a message takes the message's id; one per message.
            let id = if *on == "threads" { state.snowflake() } else { on.to_string() };
            if state.threads.contains_key(&id) {
                return Reply::json(
                    400,
                    json!({"code": 160004, "message": "A thread has already been created for this message"}),
                );
            }
            let thread = json!({"id": id, "type": 11, "parent_id": channel, "name": message["name"]});
            state.threads.insert(id.clone(), thread.clone());
            state.note(format!("discord: started thread {id} in channel {channel}"));
            Reply::json(201, thread)
        }
        ("POST", ["api", "v10", "channels", channel, "messages"]) => {
            if !bot {
                return Reply::json(401, json!({"code": 0, "message": "401: Unauthorized"}));
            }
            let id = state.snowflake();
            let mut kept = json!({"channel_id": channel});
            merge(&mut kept, &message, &id);
            state.channels.entry(channel.to_string()).or_default().push(kept.clone());
            state.note(format!("discord: posted in channel {channel} with the bot token"));
            Reply::json(200, kept)
        }
        (_, ["api", "v10", "applications", app, rest @ ..]) => {
            let scope = match rest {
                ["commands"] => "global".to_owned(),
                ["guilds", guild, "commands"] => guild.to_string(),
                _ => return Reply::json(501, json!({"code": 0, "message": "the playground does not keep this"})),
            };
            if !bot {
                return Reply::json(401, json!({"code": 0, "message": "401: Unauthorized"}));
            }
            match method {
                "GET" => Reply::json(200, Value::Array(state.commands.get(&scope).cloned().unwrap_or_default())),
                "PUT" | "POST" => {
                    let given =
                        if method == "PUT" { message.as_array().cloned().unwrap_or_default() } else { vec![message] };
                    let mut kept = if method == "PUT" {
                        Vec::new()
                    } else {
                        state.commands.get(&scope).cloned().unwrap_or_default()
                    };
                    for definition in given {
                        let id = state.snowflake();
                        let mut command = definition.clone();
                        command["id"] = id.into();
                        command["application_id"] = app.to_string().into();
                        command["version"] = "1".into();
                        if scope != "global" {
                            command["guild_id"] = scope.clone().into();
                        }
                        kept.retain(|c: &Value| c["name"] != command["name"]);
                        kept.push(command);
                    }
                    state.note(format!("discord: {} commands registered ({scope})", kept.len()));
                    state.commands.insert(scope, kept.clone());
                    Reply::json(200, if method == "PUT" { Value::Array(kept) } else { kept.last().cloned().unwrap() })
                }
                _ => Reply::json(501, json!({"code": 0, "message": "the playground does not keep this"})),
            }
        }
        _ => Reply::json(
            501,
            json!({"code": 0, "message": format!("the playground does not keep {method} {}", request.path)}),
        ),
    }
}

/// Applies a message body to a kept message, as Discord does: the fields given replace
/// the message's.
fn merge(kept: &mut Value, body: &Value, id: &str) {
    if let (Some(kept), Some(body)) = (kept.as_object_mut(), body.as_object()) {
        for (key, value) in body {
            kept.insert(key.clone(), value.clone());
        }
        kept.insert("id".into(), id.into());
    }
}
