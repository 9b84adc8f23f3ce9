//! A fake Discord API for interaction follow-ups: `PATCH /api/v10/webhooks/{application}/
//! {token}/messages/@original`, with Discord's requirements (JSON content type, a `DiscordBot`
//! user agent, message limits) and scriptable rate limiting.

use std::sync::{Arc, Mutex};

use anyhow::Result;
use serde_json::{Value, json};

use super::{FakeServer, Recorded, Reply};

#[derive(Default)]
struct State {
    /// Answer the next requests with 429 and this `retry_after` (seconds).
    rate_limits: Vec<f64>,
    /// Every n-th request is answered with 429 and this `retry_after`.
    rate_limit_every: Option<(u64, f64)>,
    requests: u64,
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
    pub message: Value,
}

impl FakeDiscord {
    pub async fn start() -> Result<Self> {
        let state = Arc::new(Mutex::new(State::default()));
        let shared = state.clone();
        let server = FakeServer::start(move |request| handle(&mut shared.lock().unwrap(), request)).await?;
        Ok(Self { server, state })
    }

    pub fn origin(&self) -> String {
        self.server.origin()
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

    /// Messages posted in channels with the bot token: (channel id, message).
    pub fn channel_posts(&self) -> Vec<(String, Value)> {
        self.requests()
            .iter()
            .filter(|r| r.method == "POST" && (200..300).contains(&r.status))
            .filter_map(|r| {
                let parts: Vec<&str> = r.path.trim_start_matches('/').split('/').collect();
                match parts.as_slice() {
                    ["api", "v10", "channels", channel, "messages"] => Some((channel.to_string(), r.json())),
                    _ => None,
                }
            })
            .collect()
    }

    /// Edits of `@original` that Discord accepted.
    pub fn edits(&self) -> Vec<Edit> {
        self.requests()
            .iter()
            .filter(|r| r.method == "PATCH" && (200..300).contains(&r.status))
            .filter_map(|r| {
                let parts: Vec<&str> = r.path.trim_start_matches('/').split('/').collect();
                match parts.as_slice() {
                    ["api", "v10", "webhooks", app, token, "messages", "@original"] => {
                        Some(Edit { application_id: app.to_string(), token: token.to_string(), message: r.json() })
                    }
                    _ => None,
                }
            })
            .collect()
    }
}

fn invalid(message: &str) -> Reply {
    Reply::json(400, json!({"code": 50035, "message": format!("Invalid Form Body: {message}")}))
}

fn handle(state: &mut State, request: &Recorded) -> Reply {
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
    if request.header("content-type") != Some("application/json") {
        return invalid("content type must be application/json");
    }
    let parts: Vec<&str> = request.path.trim_start_matches('/').split('/').collect();
    let expected = match parts.as_slice() {
        ["api", "v10", "webhooks", _, _, "messages", "@original"] => "PATCH",
        ["api", "v10", "channels", _, "messages"] => {
            if !request.header("authorization").is_some_and(|a| a.starts_with("Bot ")) {
                return Reply::json(401, json!({"code": 0, "message": "401: Unauthorized"}));
            }
            "POST"
        }
        _ => return Reply::json(404, json!({"code": 0, "message": "404: Not Found"})),
    };
    if request.method != expected {
        return Reply::json(405, json!({"code": 0, "message": "405: Method Not Allowed"}));
    }
    let message = request.json();
    if message["content"].as_str().is_some_and(|c| c.chars().count() > 2000) {
        return invalid("content: Must be 2000 or fewer in length.");
    }
    if message["embeds"].as_array().is_some_and(|e| e.len() > 10) {
        return invalid("embeds: Must be 10 or fewer in length.");
    }
    let mut answer = message.clone();
    answer["id"] = "1300000000000000077".into();
    Reply::json(200, answer)
}
