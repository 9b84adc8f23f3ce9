//! Checks requests and responses against an OpenAPI 2.0 (Swagger) document: the operation
//! exists for the method and path, query parameters are declared, and JSON bodies match their
//! schemas. Stricter than the spec where it helps find mistakes: properties the schema does
//! not declare are refused.

use std::path::Path;
use std::sync::{Arc, OnceLock};

use anyhow::{Context, Result};
use serde_json::Value;

/// `tests/specs/argo-swagger.json`, the Argo Server's official OpenAPI (Swagger 2.0) spec.
pub const ARGO_SPEC: &str = include_str!("../../tests/specs/argo-swagger.json");

pub struct OpenApi {
    doc: Value,
}

impl OpenApi {
    pub fn load(path: &Path) -> Result<Self> {
        let text =
            std::fs::read_to_string(path).with_context(|| format!("reading the OpenAPI spec {}", path.display()))?;
        Ok(Self { doc: serde_json::from_str(&text)? })
    }

    /// The Argo Server's official spec: the copy pinned in `tests/specs/argo-swagger.json`,
    /// compiled in and parsed once; `FACTEUR_ARGO_OPENAPI` names another file.
    pub fn argo() -> Result<Arc<Self>> {
        static PINNED: OnceLock<Arc<OpenApi>> = OnceLock::new();
        if let Some(path) = std::env::var_os("FACTEUR_ARGO_OPENAPI") {
            return Ok(Arc::new(Self::load(Path::new(&path))?));
        }
        Ok(PINNED
            .get_or_init(|| {
                let doc = serde_json::from_str(ARGO_SPEC).expect("the pinned Argo spec is JSON");
                Arc::new(Self { doc })
            })
            .clone())
    }

    /// The operation for `method` on `path_and_query`, and the path template that matched.
    fn operation(&self, method: &str, path: &str) -> Option<(&str, &Value)> {
        let paths = self.doc["paths"].as_object()?;
        let segments: Vec<&str> = path.split('/').collect();
        paths.iter().find_map(|(template, item)| {
            let parts: Vec<&str> = template.split('/').collect();
            let matches = parts.len() == segments.len()
                && parts.iter().zip(&segments).all(|(t, s)| (t.starts_with('{') && !s.is_empty()) || t == s);
            let op = item.get(method.to_ascii_lowercase())?;
            matches.then_some((template.as_str(), op))
        })
    }

    /// Checks a request; the error says what does not match.
    pub fn check_request(&self, method: &str, path_and_query: &str, body: &[u8]) -> Result<(), String> {
        let (path, query) = path_and_query.split_once('?').unwrap_or((path_and_query, ""));
        let (template, op) = self.operation(method, path).ok_or_else(|| format!("no operation {method} {path}"))?;
        let params = op["parameters"].as_array().cloned().unwrap_or_default();
        for pair in query.split('&').filter(|p| !p.is_empty()) {
            let name = pair.split('=').next().unwrap_or("");
            if !params.iter().any(|p| p["in"] == "query" && p["name"] == name) {
                return Err(format!("{method} {template}: undeclared query parameter `{name}`"));
            }
        }
        match params.iter().find(|p| p["in"] == "body") {
            Some(param) => {
                let value: Value =
                    serde_json::from_slice(body).map_err(|e| format!("{method} {template}: body is not JSON: {e}"))?;
                self.check(&param["schema"], &value, "body")
            }
            None if body.is_empty() => Ok(()),
            None => Err(format!("{method} {template} takes no body")),
        }
    }

    /// Checks a successful response body against the operation's `200` schema.
    pub fn check_response(&self, method: &str, path: &str, body: &Value) -> Result<(), String> {
        let path = path.split('?').next().unwrap_or(path);
        let (_, op) = self.operation(method, path).ok_or_else(|| format!("no operation {method} {path}"))?;
        self.check(&op["responses"]["200"]["schema"], body, "response")
    }

    fn resolve<'a>(&'a self, schema: &'a Value) -> &'a Value {
        match schema.get("$ref").and_then(Value::as_str) {
            Some(reference) => {
                let name = reference.trim_start_matches("#/definitions/");
                self.resolve(&self.doc["definitions"][name])
            }
            None => schema,
        }
    }

    fn check(&self, schema: &Value, value: &Value, at: &str) -> Result<(), String> {
        let schema = self.resolve(schema);
        let kind = schema.get("type").and_then(Value::as_str);
        let ok = match kind {
            Some("object") => value.is_object(),
            Some("array") => value.is_array(),
            Some("string") => value.is_string() || (schema["format"] == "int64" && value.is_i64()),
            Some("integer") => {
                value.is_i64() || value.is_u64() || value.as_str().is_some_and(|s| s.parse::<i64>().is_ok())
            }
            Some("number") => value.is_number(),
            Some("boolean") => value.is_boolean(),
            _ => true,
        };
        if !ok {
            return Err(format!("{at}: expected {}, got {value}", kind.unwrap_or("?")));
        }
        if let Some(object) = value.as_object() {
            let properties = schema.get("properties").and_then(Value::as_object);
            let additional = schema.get("additionalProperties");
            for (key, item) in object {
                match (properties.and_then(|p| p.get(key)), additional) {
                    (Some(property), _) => self.check(property, item, &format!("{at}.{key}"))?,
                    (None, Some(extra)) if extra.is_object() => self.check(extra, item, &format!("{at}.{key}"))?,
                    (None, _) if properties.is_some() => return Err(format!("{at}: undeclared property `{key}`")),
                    _ => {}
                }
            }
            for required in schema.get("required").and_then(Value::as_array).into_iter().flatten() {
                let name = required.as_str().unwrap_or("");
                if !object.contains_key(name) {
                    return Err(format!("{at}: missing required property `{name}`"));
                }
            }
        }
        if let (Some(items), Some(array)) = (schema.get("items"), value.as_array()) {
            for (i, item) in array.iter().enumerate() {
                self.check(items, item, &format!("{at}[{i}]"))?;
            }
        }
        Ok(())
    }
}
