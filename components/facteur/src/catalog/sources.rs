//! A producer's option names → the command's (the catalog's `sources`). The producer that
//! publishes `/plan` to `discord.commands.incoming` from its modal sends `content` and a JSON
//! `payload`; the catalog says which of those names fill which option and which carry nothing
//! facteur uses. Everything else must be an option of the command, and every value is then
//! checked like a slash command's (`Command::submission`): the mapping never admits a value.

use std::collections::BTreeMap;

use super::{Command, SourceMapping, is_parameter_key};

impl Command {
    /// The catalog's mapping of `source`'s names, if it has one.
    pub fn source(&self, source: &str) -> Option<&SourceMapping> {
        self.sources.iter().find(|(s, _)| s == source).map(|(_, m)| m)
    }

    /// `options` as `source` names them, under the command's names: renamed, JSON objects
    /// opened, ignored names dropped. Without a mapping for `source`, as they are. The reason
    /// otherwise (a name that is not an option, a name given twice, a JSON option that is not
    /// an object of strings, numbers and booleans), naming where it came from (`payload.x`).
    pub fn map_source(
        &self,
        source: &str,
        options: &BTreeMap<String, String>,
    ) -> Result<BTreeMap<String, String>, String> {
        let Some(mapping) = self.source(source) else { return Ok(options.clone()) };
        let mut mapped = Mapped { command: self, mapping, options: BTreeMap::new(), from: BTreeMap::new() };
        for (name, value) in options {
            if !mapping.json.contains(name) {
                mapped.put(name, name, value.clone())?;
                continue;
            }
            let object = match serde_json::from_str::<serde_json::Value>(value) {
                Ok(serde_json::Value::Object(object)) => object,
                _ => return Err(format!("`{name}` is not a JSON object")),
            };
            for (member, value) in object {
                let at = format!("{name}.{member}");
                let value = match value {
                    _ if mapping.ignore.contains(&member) => continue,
                    serde_json::Value::Null => continue,
                    serde_json::Value::String(s) => s,
                    serde_json::Value::Bool(b) => b.to_string(),
                    serde_json::Value::Number(n) => n.to_string(),
                    _ => return Err(format!("`{at}` is not a string, number or boolean")),
                };
                mapped.put(&at, &member, value)?;
            }
        }
        Ok(mapped.options)
    }
}

/// Options being mapped, and where each came from (for "given twice").
struct Mapped<'a> {
    command: &'a Command,
    mapping: &'a SourceMapping,
    options: BTreeMap<String, String>,
    from: BTreeMap<String, String>,
}

impl Mapped<'_> {
    /// `name` (sent at `at`) with `value`, under the command's name for it.
    fn put(&mut self, at: &str, name: &str, value: String) -> Result<(), String> {
        // Names reach log lines and answers: only plain ones are shown.
        if name.len() > 64 || !is_parameter_key(name) {
            return Err("an option name is not 1 to 64 letters, digits, `_`, `-` or `.`".to_owned());
        }
        if self.mapping.ignore.iter().any(|i| i == name) {
            return Ok(());
        }
        let option = self.mapping.rename.iter().find(|(from, _)| from == name).map_or(name, |(_, to)| to);
        if !self.command.options.iter().any(|o| o.name == option) {
            return Err(format!("`{at}` is not an option of `/{}`", self.command.name));
        }
        if let Some(first) = self.from.insert(option.to_owned(), at.to_owned()) {
            return Err(format!("`{option}` is given twice: as `{first}` and as `{at}`"));
        }
        self.options.insert(option.to_owned(), value);
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use crate::catalog::Catalog;

    fn plan(options: &[(&str, &str)]) -> Result<BTreeMap<String, String>, String> {
        let options = options.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect();
        Catalog::embedded().command("plan").unwrap().map_source("kafka", &options)
    }

    fn map(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
        pairs.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect()
    }

    /// What the producer's modal flow publishes (froussard's `toPlanModalEvent`, then its payload).
    const PAYLOAD: &str = r#"{"stage":"implementation","prompt":"Ship the bot","title":"Ship the bot",
        "repository":"","issueNumber":"","postToGithub":false,"runId":"1190000000000000001",
        "issuedAt":"2026-11-27T08:15:30Z","guildId":"1100000000000000000","channelId":"1110000000000000000",
        "user":{"id":"1200000000000000000","username":"ada","globalName":"Ada"}}"#;

    #[test]
    fn the_producer_s_plan_maps_onto_plan_s_options() {
        // An empty `repository` stays empty: the submission drops empty optional values.
        assert_eq!(
            plan(&[("content", "Ship the bot"), ("payload", PAYLOAD)]).unwrap(),
            map(&[("objective", "Ship the bot"), ("project", "")])
        );
        let with_project = PAYLOAD.replace(r#""repository":"""#, r#""repository":"lab/facteur""#);
        assert_eq!(
            plan(&[("content", "Ship"), ("payload", &with_project)]).unwrap(),
            map(&[("objective", "Ship"), ("project", "lab/facteur")])
        );
        // The command's own names still work; scalars become strings.
        assert_eq!(
            plan(&[("objective", "Ship"), ("payload", r#"{"dry_run":true}"#)]).unwrap(),
            map(&[("objective", "Ship"), ("dry_run", "true")])
        );
        // A command without a mapping for the source: as sent.
        let review = Catalog::embedded().command("review").unwrap().map_source("kafka", &map(&[("content", "x")]));
        assert_eq!(review.unwrap(), map(&[("content", "x")]));
    }

    #[test]
    fn what_does_not_map_is_refused_with_where_it_came_from() {
        let refused = |options: &[(&str, &str)]| plan(options).unwrap_err();
        assert_eq!(refused(&[("payload", "[1]")]), "`payload` is not a JSON object");
        assert_eq!(refused(&[("payload", "{nope")]), "`payload` is not a JSON object");
        assert_eq!(refused(&[("payload", r#"{"action":"delete"}"#)]), "`payload.action` is not an option of `/plan`");
        assert_eq!(refused(&[("colour", "red")]), "`colour` is not an option of `/plan`");
        assert_eq!(
            refused(&[("content", "a"), ("payload", r#"{"objective":"b"}"#)]),
            "`objective` is given twice: as `content` and as `payload.objective`"
        );
        assert_eq!(
            refused(&[("payload", r#"{"project":["a"]}"#)]),
            "`payload.project` is not a string, number or boolean"
        );
        assert_eq!(
            refused(&[("payload", r#"{"x\n{\"forged\":1}":"v"}"#)]),
            "an option name is not 1 to 64 letters, digits, `_`, `-` or `.`"
        );
        // One level of JSON: a JSON option inside the object is not opened again.
        assert_eq!(refused(&[("payload", r#"{"payload":"{}"}"#)]), "`payload.payload` is not an option of `/plan`");
    }
}
