//! The fake Discord's routes: rate limits, Discord's requirements, the OpenAPI check, then
//! each call answered from the [`State`] as Discord answers it.

use serde_json::{Value, json};

use super::{State, message_of, segments};
use crate::discord_openapi::DiscordOpenApi;
use crate::multipart::{self, MAX_FILE};
use crate::{Recorded, Reply};

fn invalid(message: &str) -> Reply {
    Reply::json(400, json!({"code": 50035, "message": format!("Invalid Form Body: {message}")}))
}

fn not_found() -> Reply {
    Reply::json(404, json!({"code": 0, "message": "404: Not Found"}))
}

fn unknown_message() -> Reply {
    Reply::json(404, json!({"code": 10008, "message": "Unknown Message"}))
}

pub(super) fn handle(spec: &DiscordOpenApi, state: &mut State, request: &Recorded) -> Reply {
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
