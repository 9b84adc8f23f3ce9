//! Checks requests against Discord's official OpenAPI 3.1 spec (pinned in
//! `tests/specs/discord-openapi.json`): the operation exists for the method and path (under
//! `/api/v10`), path and query parameters are declared and valid, and the JSON body matches the
//! operation's request schema (JSON Schema 2020-12, checked with the `jsonschema` crate).
//! Stricter than Discord where it helps find mistakes: a top-level body property the schema does
//! not declare is refused (Discord would silently drop it).
//!
//! The spec is about 1 MB: it is parsed once per process, and each operation's body validator is
//! compiled the first time it is needed.

use std::collections::HashMap;
use std::path::Path;
use std::sync::{Arc, Mutex, OnceLock};

use anyhow::{Context, Result};
use serde_json::{Map, Value, json};

use crate::multipart;

/// `tests/specs/discord-openapi.json`, Discord's official OpenAPI spec (MIT, see
/// `tests/specs/discord-openapi.LICENSE`).
pub const DISCORD_SPEC: &str = include_str!("../../tests/specs/discord-openapi.json");

/// The API version facteur speaks; requests under another prefix are refused.
pub const API_PREFIX: &str = "/api/v10";

pub struct DiscordOpenApi {
    doc: Value,
    validators: Mutex<HashMap<String, Arc<jsonschema::Validator>>>,
}

/// What a request matched: the operation's id and path template (without `/api/v10`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Operation {
    pub id: String,
    pub template: String,
}

impl DiscordOpenApi {
    /// Discord's official spec: the pinned copy, compiled in and parsed once;
    /// `FACTEUR_DISCORD_OPENAPI` names another file.
    pub fn official() -> Result<Arc<Self>> {
        static PINNED: OnceLock<Arc<DiscordOpenApi>> = OnceLock::new();
        if let Some(path) = std::env::var_os("FACTEUR_DISCORD_OPENAPI") {
            return Self::load(Path::new(&path)).map(Arc::new);
        }
        Ok(PINNED.get_or_init(|| Arc::new(Self::parse(DISCORD_SPEC).expect("the pinned Discord spec"))).clone())
    }

    pub fn load(path: &Path) -> Result<Self> {
        let text = std::fs::read_to_string(path)
            .with_context(|| format!("reading Discord's OpenAPI spec {}", path.display()))?;
        Self::parse(&text)
    }

    fn parse(text: &str) -> Result<Self> {
        let doc: Value = serde_json::from_str(text).context("Discord's OpenAPI spec is not JSON")?;
        anyhow::ensure!(doc["paths"].is_object(), "Discord's OpenAPI spec has no paths");
        Ok(Self { doc, validators: Mutex::new(HashMap::new()) })
    }

    /// The operation for `method` on `path` (with `/api/v10`), and the path template that
    /// matched; a literal segment wins over a parameter (`@original` over `{message_id}`).
    fn operation(&self, method: &str, path: &str) -> Option<(&str, &Value, &Value)> {
        let path = path.strip_prefix(API_PREFIX)?;
        let segments: Vec<&str> = path.split('/').collect();
        let method = method.to_ascii_lowercase();
        let paths = self.doc["paths"].as_object()?;
        paths
            .iter()
            .filter_map(|(template, item)| {
                let parts: Vec<&str> = template.split('/').collect();
                let matches = parts.len() == segments.len()
                    && parts.iter().zip(&segments).all(|(t, s)| (t.starts_with('{') && !s.is_empty()) || t == s);
                let literal = parts.iter().filter(|t| !t.starts_with('{')).count();
                let op = item.get(&method)?;
                matches.then_some((literal, (template.as_str(), item, op)))
            })
            .max_by_key(|(literal, _)| *literal)
            .map(|(_, found)| found)
    }

    /// Checks a request; the error says what does not match, as Discord's 400 would.
    pub fn check_request(
        &self,
        method: &str,
        path_and_query: &str,
        content_type: Option<&str>,
        body: &[u8],
    ) -> Result<Operation, String> {
        let (path, query) = path_and_query.split_once('?').unwrap_or((path_and_query, ""));
        if !path.starts_with(&format!("{API_PREFIX}/")) {
            return Err(format!("{method} {path}: Discord's API is under {API_PREFIX}"));
        }
        let (template, item, op) =
            self.operation(method, path).ok_or_else(|| format!("no operation {method} {path} in Discord's API"))?;
        let operation =
            Operation { id: op["operationId"].as_str().unwrap_or("").to_owned(), template: template.to_owned() };
        let at = format!("{method} {template}");
        let parameters: Vec<&Value> =
            [&item["parameters"], &op["parameters"]].into_iter().filter_map(Value::as_array).flatten().collect();

        // Path parameters, by position in the template.
        let segments = path[API_PREFIX.len()..].split('/');
        for (part, segment) in template.split('/').zip(segments) {
            if let Some(name) = part.strip_prefix('{').and_then(|p| p.strip_suffix('}')) {
                let value = percent_decode(segment);
                let param = parameters.iter().find(|p| p["in"] == "path" && p["name"] == name);
                if let Some(param) = param {
                    self.check_parameter(&param["schema"], &value).map_err(|e| format!("{at}: path `{name}`: {e}"))?;
                }
            }
        }
        // Query parameters: declared, and valid.
        for (name, value) in form_urlencoded::parse(query.as_bytes()) {
            let param = parameters
                .iter()
                .find(|p| p["in"] == "query" && p["name"] == name.as_ref())
                .ok_or_else(|| format!("{at}: undeclared query parameter `{name}`"))?;
            self.check_parameter(&param["schema"], &value).map_err(|e| format!("{at}: query `{name}`: {e}"))?;
        }
        // The body.
        let Some(request_body) = op.get("requestBody") else {
            return if body.is_empty() { Ok(operation) } else { Err(format!("{at} takes no body")) };
        };
        if body.is_empty() {
            return if request_body["required"] == true {
                Err(format!("{at}: a body is required"))
            } else {
                Ok(operation)
            };
        }
        let media = multipart::media_type(content_type.unwrap_or(""));
        let Some(schema) = request_body["content"]["application/json"].get("schema") else {
            return Err(format!("{at} takes no JSON body"));
        };
        // A message with files: `payload_json` holds the JSON body's fields (Discord's
        // "Uploading Files"), so it is checked against the JSON schema, and its `attachments`
        // must name the `files[n]` parts.
        let value: Value = match media.as_str() {
            "application/json" => serde_json::from_slice(body).map_err(|e| format!("{at}: body is not JSON: {e}"))?,
            "multipart/form-data" if request_body["content"].get("multipart/form-data").is_some() => {
                let parts = multipart::parse(content_type.unwrap_or(""), body).map_err(|e| format!("{at}: {e}"))?;
                multipart::message(&parts).map_err(|e| format!("{at}: {e}"))?.0
            }
            _ => {
                return Err(format!(
                    "{at}: the playground reads JSON and multipart bodies only (content type `{media}`)"
                ));
            }
        };
        let validator = self.validator(&at, schema)?;
        let errors: Vec<String> = validator
            .iter_errors(&value)
            .take(3)
            .map(|e| {
                let where_ = e.instance_path().to_string();
                format!("body{where_}: {e}")
            })
            .collect();
        if !errors.is_empty() {
            return Err(format!("{at}: {}", errors.join("; ")));
        }
        if let (Some(object), Some(declared)) = (value.as_object(), self.declared_properties(schema))
            && let Some(key) = object.keys().find(|k| !declared.contains_key(*k))
        {
            return Err(format!("{at}: body: undeclared property `{key}` (Discord would ignore it)"));
        }
        Ok(operation)
    }

    /// A path or query value (always text) against its schema: as a string, or as the JSON
    /// value it spells (`true`, `42`) when the schema wants a boolean or a number.
    fn check_parameter(&self, schema: &Value, value: &str) -> Result<(), String> {
        let key = format!("parameter {schema}");
        let validator = self.validator(&key, schema)?;
        let as_string = Value::String(value.to_owned());
        if validator.is_valid(&as_string) {
            return Ok(());
        }
        match serde_json::from_str::<Value>(value) {
            Ok(typed) if !typed.is_string() && validator.is_valid(&typed) => Ok(()),
            _ => Err(validator.validate(&as_string).err().map(|e| e.to_string()).unwrap_or_default()),
        }
    }

    /// The top-level properties of a request schema (after `$ref`s), when it lists them.
    fn declared_properties<'a>(&'a self, schema: &'a Value) -> Option<&'a Map<String, Value>> {
        let schema = self.resolve(schema);
        schema.get("properties").and_then(Value::as_object)
    }

    fn resolve<'a>(&'a self, schema: &'a Value) -> &'a Value {
        match schema.get("$ref").and_then(Value::as_str).and_then(|r| r.strip_prefix("#/")) {
            Some(pointer) => self.resolve(self.doc.pointer(&format!("/{pointer}")).unwrap_or(&Value::Null)),
            None => schema,
        }
    }

    /// A compiled validator for `schema`, whose `$ref`s resolve in the spec's `components`.
    fn validator(&self, key: &str, schema: &Value) -> Result<Arc<jsonschema::Validator>, String> {
        if let Some(validator) = self.validators.lock().unwrap().get(key) {
            return Ok(validator.clone());
        }
        let mut root = match schema {
            Value::Object(map) => map.clone(),
            other => return Err(format!("unexpected schema {other}")),
        };
        root.insert("$schema".into(), json!("https://json-schema.org/draft/2020-12/schema"));
        root.insert("components".into(), self.doc["components"].clone());
        let validator = jsonschema::options()
            .with_draft(jsonschema::Draft::Draft202012)
            .build(&Value::Object(root))
            .map_err(|e| format!("the spec's schema does not compile: {e}"))?;
        let validator = Arc::new(validator);
        self.validators.lock().unwrap().insert(key.to_owned(), validator.clone());
        Ok(validator)
    }
}

fn percent_decode(segment: &str) -> String {
    form_urlencoded::parse(format!("x={}", segment.replace('+', "%2B")).as_bytes())
        .next()
        .map(|(_, v)| v.into_owned())
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn spec() -> Arc<DiscordOpenApi> {
        DiscordOpenApi::official().unwrap()
    }

    const ORIGINAL: &str = "/api/v10/webhooks/1170000000000000000/token-1/messages/@original";

    #[test]
    fn a_facteur_reply_matches_the_edit_of_the_original_response() {
        let body = json!({
            "content": "`/plan` started workflow `plan-1` in `argo`.",
            "embeds": [{"title": "plan-1", "url": "https://argo.example/workflows/argo/plan-1", "color": 3066993,
                        "fields": [{"name": "Phase", "value": "Pending", "inline": true}]}],
            "components": [{"type": 1, "components": [
                {"type": 2, "style": 5, "label": "Open in Argo", "url": "https://argo.example/workflows/argo/plan-1"},
                {"type": 2, "style": 2, "label": "Refresh", "custom_id": "workflow:refresh:argo:plan-1"}]}],
            "allowed_mentions": {"parse": []}
        });
        let op =
            spec().check_request("PATCH", ORIGINAL, Some("application/json"), body.to_string().as_bytes()).unwrap();
        assert_eq!(op.id, "update_original_webhook_message");
        assert_eq!(op.template, "/webhooks/{webhook_id}/{webhook_token}/messages/@original");
    }

    #[test]
    fn requests_that_do_not_match_are_refused_with_the_reason() {
        let spec = spec();
        let check = |method: &str, path: &str, body: Value| {
            let body = if body.is_null() { String::new() } else { body.to_string() };
            spec.check_request(method, path, Some("application/json"), body.as_bytes()).unwrap_err()
        };
        let long_id = "x".repeat(101);
        let button = json!({"components": [{"type": 1, "components": [{"type": 2, "style": 2, "label": "Go", "custom_id": long_id}]}]});
        assert!(check("PATCH", ORIGINAL, button).contains("body/components/0"), "custom_id over 100 characters");
        assert!(check("PATCH", ORIGINAL, json!({"content": 7})).contains("body/content"));
        assert!(
            check("PATCH", ORIGINAL, json!({"embeds": [{"title": "t"}], "embed": {}}))
                .contains("undeclared property `embed`")
        );
        assert!(check("PATCH", ORIGINAL, json!({"content": "x".repeat(2001)})).contains("body/content"));
        assert!(check("PUT", ORIGINAL, json!({})).contains("no operation PUT"));
        assert!(check("PATCH", "/api/v9/webhooks/1/t/messages/@original", json!({})).contains("/api/v10"));
        assert!(
            check("POST", "/api/v10/channels/general/messages", json!({"content": "hi"})).contains("path `channel_id`")
        );
        assert!(check("GET", &format!("{ORIGINAL}?with_embeds=true"), Value::Null).contains("undeclared query"));
        let commands = "/api/v10/applications/1170000000000000000/guilds/1100000000000000000/commands";
        assert!(check("PUT", commands, json!([{"name": "plan", "type": "slash"}])).contains("body/0"));
    }

    #[test]
    fn reads_follow_ups_channel_posts_and_registration_are_operations() {
        let spec = spec();
        let ok = |method: &str, path: &str, body: &str| {
            spec.check_request(method, path, Some("application/json"), body.as_bytes())
        };
        assert!(ok("GET", ORIGINAL, "").is_ok());
        assert!(ok("GET", &format!("{ORIGINAL}?with_components=true"), "").is_err(), "GET takes thread_id only");
        assert!(
            ok("POST", "/api/v10/webhooks/1170000000000000000/token-1?wait=true", r#"{"content": "more"}"#).is_ok()
        );
        assert!(ok("POST", "/api/v10/channels/1110000000000000000/messages", r#"{"content": "done"}"#).is_ok());
        let definitions = facteur_like_definitions();
        assert!(ok("PUT", "/api/v10/applications/1170000000000000000/commands", &definitions).is_ok());
    }

    #[test]
    fn an_edit_with_a_file_is_its_payload_json_checked_against_the_schema_and_its_named_files() {
        let spec = spec();
        let form = |payload: &str, name: &str| {
            format!(
                "--b\r\nContent-Disposition: form-data; name=\"payload_json\"\r\n\r\n{payload}\r\n\
                 --b\r\nContent-Disposition: form-data; name=\"{name}\"; filename=\"run.log\"\r\n\r\nlines\r\n--b--\r\n"
            )
        };
        let check = |body: String| {
            spec.check_request("PATCH", ORIGINAL, Some("multipart/form-data; boundary=b"), body.as_bytes())
        };
        // Attachment ids are snowflakes in the spec, so the index goes as a string.
        let payload = r#"{"content": "tail", "attachments": [{"id": "0", "filename": "run.log"}]}"#;
        assert_eq!(check(form(payload, "files[0]")).unwrap().id, "update_original_webhook_message");
        assert!(check(form(payload, "files[1]")).unwrap_err().contains("files[1] is named by no entry"));
        let long = format!(r#"{{"content": "{}", "attachments": [{{"id": "0"}}]}}"#, "x".repeat(2001));
        assert!(check(form(&long, "files[0]")).unwrap_err().contains("body/content"));
        let undeclared = r#"{"file": 1, "attachments": [{"id": "0"}]}"#;
        assert!(check(form(undeclared, "files[0]")).unwrap_err().contains("undeclared property `file`"));
        let commands = "/api/v10/applications/1170000000000000000/commands";
        let put = spec.check_request(
            "PUT",
            commands,
            Some("multipart/form-data; boundary=b"),
            form(payload, "files[0]").as_bytes(),
        );
        assert!(put.unwrap_err().contains("JSON and multipart bodies only"), "registration takes JSON only");
    }

    fn facteur_like_definitions() -> String {
        json!([{"name": "plan", "description": "Plan", "type": 1, "options": [
            {"type": 3, "name": "objective", "description": "What", "required": true, "max_length": 500}]}])
        .to_string()
    }

    /// The pinned spec is the project's shared one (like the Argo spec's check in the harness's
    /// `config.rs`): skipped loudly without `../shared`, except in CI.
    #[test]
    fn pinned_spec_matches_the_shared_spec() {
        let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
        let shared = root.join("../shared/specs");
        if !shared.is_dir() {
            assert!(std::env::var_os("CI").is_none(), "CI has {} and must compare the pinned specs", shared.display());
            eprintln!("skipping: {} is absent; the pinned Discord spec was not compared", shared.display());
            return;
        }
        for name in ["discord-openapi.json", "discord-openapi.LICENSE"] {
            let expected =
                std::fs::read(shared.join(name)).unwrap_or_else(|e| panic!("{}: {e}", shared.join(name).display()));
            let pinned = std::fs::read(root.join("tests/specs").join(name)).unwrap();
            assert!(pinned == expected, "tests/specs/{name} differs from {}: update both", shared.display());
        }
    }
}
