//! The command catalog (`config/commands.json`, schema `schemas/facteur-commands.schema.json`):
//! each slash command's Discord definition and what it does. The same file drives
//! registration with Discord, routing, `/help`, and the submission of workflows, so they
//! cannot drift apart. The build script validates it and compiles it into the library.

use std::collections::BTreeMap;

use thiserror::Error;

use crate::discord::{Interaction, OptionValue, option_type};

mod model;
pub use model::*;

/// The catalog shipped in `config/commands.json`, as text (the CLI and tests read it).
pub const EMBEDDED: &str = include_str!("../../../config/commands.json");

impl OptionKind {
    pub fn discord_type(self) -> u8 {
        match self {
            Self::String => option_type::STRING,
            Self::Integer => option_type::INTEGER,
            Self::Boolean => option_type::BOOLEAN,
            Self::Number => option_type::NUMBER,
        }
    }
}

impl Catalog {
    /// The catalog compiled into this build.
    pub fn embedded() -> Self {
        // Written by build.rs from config/commands.json, validated there.
        include!(concat!(env!("OUT_DIR"), "/catalog.rs"))
    }

    pub fn command(&self, name: &str) -> Option<&Command> {
        self.commands.iter().find(|c| c.name == name)
    }

    /// Discord's "bulk overwrite" body: every command's definition without facteur's fields.
    pub fn discord_definitions(&self) -> serde_json::Value {
        serde_json::Value::Array(self.commands.iter().map(Command::discord_definition).collect())
    }
}

fn option_definitions(options: &[OptionSpec]) -> Vec<serde_json::Value> {
    options
        .iter()
        .map(|o| {
            let mut def = serde_json::json!({
                "type": o.kind.discord_type(),
                "name": o.name,
                "description": o.description,
                "required": o.required,
            });
            let map = def.as_object_mut().expect("an object");
            if !o.choices.is_empty() {
                map.insert(
                    "choices".into(),
                    serde_json::to_value(
                        o.choices
                            .iter()
                            .map(|c| serde_json::json!({"name": c.name, "value": c.value}))
                            .collect::<Vec<_>>(),
                    )
                    .expect("json"),
                );
            }
            if o.autocomplete {
                map.insert("autocomplete".into(), true.into());
            }
            for (key, value) in [("min_length", o.min_length), ("max_length", o.max_length)] {
                if let Some(v) = value {
                    map.insert(key.into(), v.into());
                }
            }
            for (key, value) in [("min_value", o.min_value), ("max_value", o.max_value)] {
                if let Some(v) = value {
                    map.insert(key.into(), v.into());
                }
            }
            def
        })
        .collect()
}

impl Command {
    pub fn discord_definition(&self) -> serde_json::Value {
        let options = if self.subcommands.is_empty() {
            option_definitions(&self.options)
        } else {
            self.subcommands
                .iter()
                .map(|sub| {
                    serde_json::json!({
                        "type": option_type::SUB_COMMAND, "name": sub.name, "description": sub.description,
                        "options": option_definitions(&sub.options),
                    })
                })
                .collect()
        };
        serde_json::json!({"name": self.name, "type": 1, "description": self.description, "options": options})
    }

    /// Role map keys of the command's actions: `workflow:status`, … (none without subcommands).
    pub fn action_keys(&self) -> impl Iterator<Item = String> + '_ {
        self.subcommands.iter().map(|sub| format!("{}:{}", self.name, sub.name))
    }

    /// The options of the invoked subcommand (or of the command), validated; empty optional
    /// values are dropped and defaults applied.
    pub fn values(&self, interaction: &Interaction) -> Result<BTreeMap<String, String>, InvalidInput> {
        let specs = if self.subcommands.is_empty() {
            &self.options
        } else {
            let path = interaction.subcommand_path();
            let name = path.first().ok_or_else(|| InvalidInput(format!("`/{}` needs a subcommand.", self.name)))?;
            &self
                .subcommands
                .iter()
                .find(|s| s.name == *name)
                .ok_or_else(|| InvalidInput(format!("`/{}` has no subcommand `{name}`.", self.name)))?
                .options
        };
        let given: Vec<(&str, &OptionValue)> =
            interaction.leaf_options().into_iter().filter_map(|o| o.value.map(|v| (o.name, v))).collect();
        if let Some((unknown, _)) = given.iter().find(|(name, _)| !specs.iter().any(|o| o.name == *name)) {
            return Err(InvalidInput(format!("`/{}` has no option `{unknown}`.", self.name)));
        }
        let mut values = BTreeMap::new();
        for option in specs {
            let value = match given.iter().find(|(name, _)| *name == option.name) {
                Some((_, value)) => Some(option.check(value)?),
                None => None,
            };
            match value.filter(|v| !v.is_empty()).or_else(|| option.default.clone()) {
                Some(v) => {
                    values.insert(option.name.clone(), v);
                }
                None if option.required => return Err(InvalidInput(format!("`{}` is required.", option.name))),
                None => {}
            }
        }
        Ok(values)
    }
}

/// A validated workflow submission: what to run, with which parameters, in order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Submission {
    pub template: String,
    pub namespace: Option<String>,
    pub parameters: Vec<(String, String)>,
    pub dry_run: bool,
    pub ephemeral: bool,
}

/// Why the member's input was refused; the message is shown to them as is.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
#[error("{0}")]
pub struct InvalidInput(pub String);

impl Command {
    /// Validates the interaction's options against the catalog (patterns included) and maps them to parameters:
    /// static parameters first, then options in catalog order, then `key=value` pairs.
    /// Empty optional values are dropped.
    pub fn submission(&self, interaction: &Interaction) -> Result<Submission, InvalidInput> {
        let workflow =
            self.workflow.as_ref().ok_or_else(|| InvalidInput(format!("`/{}` does not run a workflow.", self.name)))?;
        let values = self.values(interaction)?;
        for option in &self.options {
            if let Some(value) = values.get(&option.name) {
                option.check_pattern(value)?;
            }
        }
        let template = match (&workflow.template, &workflow.template_option) {
            (Some(t), _) => t.clone(),
            (None, Some(option)) => {
                let t = values
                    .get(option.as_str())
                    .cloned()
                    .ok_or_else(|| InvalidInput(format!("`{option}` is required.")))?;
                if !is_kubernetes_name(&t) {
                    return Err(InvalidInput(format!("`{t}` is not a valid WorkflowTemplate name.")));
                }
                if let Some(allowed) = &workflow.allowed_templates
                    && !allowed.contains(&t)
                {
                    return Err(InvalidInput(format!(
                        "`{t}` is not a template `/{}` may run. Allowed: {}.",
                        self.name,
                        list(allowed)
                    )));
                }
                t
            }
            (None, None) => unreachable!("validated with the catalog"),
        };
        let dry_run =
            workflow.dry_run_option.as_ref().is_some_and(|o| values.get(o.as_str()).is_some_and(|v| v == "true"));

        let mut parameters: Vec<(String, String)> =
            workflow.parameters.iter().map(|(k, v)| (k.clone(), v.clone())).collect();
        let special = [&workflow.template_option, &workflow.parameters_option, &workflow.dry_run_option];
        for option in &self.options {
            if special.iter().any(|s| s.as_deref() == Some(&option.name)) {
                continue;
            }
            if let Some(value) = values.get(&option.name) {
                parameters.push((option.parameter.clone().unwrap_or_else(|| option.name.clone()), value.clone()));
            }
        }
        if let Some(option) = &workflow.parameters_option
            && let Some(pairs) = values.get(option)
        {
            for (key, value) in parse_pairs(pairs)? {
                if parameters.iter().any(|(k, _)| *k == key) {
                    return Err(InvalidInput(format!("parameter `{key}` is set twice.")));
                }
                parameters.push((key, value));
            }
        }
        Ok(Submission {
            template,
            namespace: workflow.namespace.clone(),
            parameters,
            dry_run,
            ephemeral: workflow.ephemeral,
        })
    }
}

impl OptionSpec {
    /// Checks one value against its type, lengths, range and choices.
    fn check(&self, value: &OptionValue) -> Result<String, InvalidInput> {
        let name = &self.name;
        let text = match (self.kind, value) {
            (OptionKind::String, OptionValue::String(s)) => s.trim().to_owned(),
            (OptionKind::Integer, OptionValue::Integer(_))
            | (OptionKind::Number, OptionValue::Number(_) | OptionValue::Integer(_))
            | (OptionKind::Boolean, OptionValue::Boolean(_)) => value.to_string(),
            _ => return Err(InvalidInput(format!("`{name}` must be a {}.", kind_name(self.kind)))),
        };
        let length = text.chars().count();
        if let Some(min) = self.min_length
            && length < min
            && length > 0
        {
            return Err(InvalidInput(format!("`{name}` must be at least {min} characters.")));
        }
        if let Some(max) = self.max_length
            && length > max
        {
            return Err(InvalidInput(format!("`{name}` must be at most {max} characters (got {length}).")));
        }
        if let Some(number) = value_number(value)
            && (self.min_value.is_some_and(|min| number < min) || self.max_value.is_some_and(|max| number > max))
        {
            return Err(InvalidInput(format!("`{name}` is out of range.")));
        }
        if !self.choices.is_empty() && !self.choices.iter().any(|c| c.value.to_string().trim_matches('"') == text) {
            let names: Vec<String> = self.choices.iter().map(|c| c.name.clone()).collect();
            return Err(InvalidInput(format!("`{name}` must be one of: {}.", list(&names))));
        }
        Ok(text)
    }

    /// Checks a workflow parameter's value against the option's `pattern`.
    fn check_pattern(&self, value: &str) -> Result<(), InvalidInput> {
        let Some(pattern) = self.pattern.as_deref().filter(|_| !value.is_empty()) else { return Ok(()) };
        // Patterns are compiled when the catalog is validated; refuse safely all the same.
        if regex_lite::Regex::new(pattern).is_ok_and(|re| re.is_match(value)) {
            return Ok(());
        }
        Err(InvalidInput(format!("`{}` has an invalid format (expected `{pattern}`).", self.name)))
    }
}

fn value_number(value: &OptionValue) -> Option<f64> {
    match value {
        OptionValue::Integer(i) => Some(*i as f64),
        OptionValue::Number(n) => Some(*n),
        _ => None,
    }
}

fn kind_name(kind: OptionKind) -> &'static str {
    match kind {
        OptionKind::String => "text",
        OptionKind::Integer => "whole number",
        OptionKind::Boolean => "true or false",
        OptionKind::Number => "number",
    }
}

fn list(items: &[String]) -> String {
    items.iter().map(|i| format!("`{i}`")).collect::<Vec<_>>().join(", ")
}

/// Parses `key=value key2="value with spaces"` pairs.
pub fn parse_pairs(input: &str) -> Result<Vec<(String, String)>, InvalidInput> {
    let mut pairs = Vec::new();
    let mut chars = input.chars().peekable();
    loop {
        while chars.next_if(|c| c.is_whitespace()).is_some() {}
        if chars.peek().is_none() {
            return Ok(pairs);
        }
        let key: String = std::iter::from_fn(|| chars.next_if(|c| *c != '=' && !c.is_whitespace())).collect();
        if chars.next() != Some('=') {
            return Err(InvalidInput(format!("`{key}` is not a `key=value` pair.")));
        }
        if key.is_empty() || !key.chars().all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | '.')) {
            return Err(InvalidInput(format!("`{key}` is not a valid parameter name.")));
        }
        let value = if chars.next_if_eq(&'"').is_some() {
            let value: String = std::iter::from_fn(|| chars.next_if(|c| *c != '"')).collect();
            if chars.next() != Some('"') {
                return Err(InvalidInput(format!("the value of `{key}` has no closing quote.")));
            }
            value
        } else {
            std::iter::from_fn(|| chars.next_if(|c| !c.is_whitespace())).collect()
        };
        pairs.push((key, value));
    }
}

/// DNS-1123 subdomain names, as Kubernetes requires for object names.
pub fn is_kubernetes_name(name: &str) -> bool {
    (1..=253).contains(&name.len())
        && name.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-' || b == b'.')
        && name.as_bytes()[0].is_ascii_alphanumeric()
        && name.as_bytes()[name.len() - 1].is_ascii_alphanumeric()
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn interaction(name: &str, options: serde_json::Value) -> Interaction {
        serde_json::from_value(json!({
            "id": "1", "application_id": "2", "type": 2, "token": "t",
            "member": {"user": {"id": "3", "username": "u"}, "roles": []},
            "data": {"name": name, "options": options}
        }))
        .unwrap()
    }

    fn string(name: &str, value: &str) -> serde_json::Value {
        json!({"name": name, "type": 3, "value": value})
    }

    #[test]
    fn component_ids() {
        assert!(is_component_id("workflow-plan"));
        assert!(
            !is_component_id("Plan") && !is_component_id("my_cmd") && !is_component_id("1abc") && !is_component_id("")
        );
    }

    #[test]
    fn the_compiled_catalog_is_the_file() {
        assert_eq!(Catalog::embedded(), Catalog::parse(EMBEDDED).unwrap());
    }

    #[test]
    fn embedded_catalog_is_valid_and_ships_the_documented_commands() {
        let catalog = Catalog::embedded();
        let names: Vec<&str> = catalog.commands.iter().map(|c| c.name.as_str()).collect();
        assert_eq!(names, ["help", "plan", "implement", "review", "dispatch", "workflow"]);
        let required = |c: &str| -> Vec<String> {
            catalog.command(c).unwrap().options.iter().filter(|o| o.required).map(|o| o.name.clone()).collect()
        };
        assert_eq!(required("plan"), ["objective"]);
        assert_eq!(required("implement"), ["project", "branch"]);
        assert_eq!(required("review"), ["project", "artifact"]);
    }

    #[test]
    fn plan_maps_options_to_parameters_with_action_first() {
        let catalog = Catalog::embedded();
        let plan = catalog.command("plan").unwrap();
        let s = plan
            .submission(&interaction("plan", json!([string("objective", "Ship the bot"), string("project", "lab")])))
            .unwrap();
        assert_eq!(s.template, "facteur-dispatch");
        assert_eq!(
            s.parameters,
            [
                ("action".into(), "plan".into()),
                ("objective".into(), "Ship the bot".into()),
                ("project".into(), "lab".into())
            ]
        );
        assert!(!s.dry_run);
    }

    #[test]
    fn empty_optional_values_are_dropped_and_dry_run_is_read() {
        let catalog = Catalog::embedded();
        let plan = catalog.command("plan").unwrap();
        let s = plan
            .submission(&interaction(
                "plan",
                json!([string("objective", "x y z"), string("project", "  "), {"name": "dry_run", "type": 5, "value": true}]),
            ))
            .unwrap();
        assert_eq!(s.parameters, [("action".into(), "plan".into()), ("objective".into(), "x y z".into())]);
        assert!(s.dry_run);
    }

    #[test]
    fn validation_errors_are_precise() {
        let catalog = Catalog::embedded();
        let check = |name: &str, options: serde_json::Value| {
            catalog.command(name).unwrap().submission(&interaction(name, options)).unwrap_err().0
        };
        assert_eq!(check("plan", json!([])), "`objective` is required.");
        assert_eq!(check("plan", json!([string("objective", "ab")])), "`objective` must be at least 3 characters.");
        assert_eq!(
            check("plan", json!([string("objective", &"x".repeat(1001))])),
            "`objective` must be at most 1000 characters (got 1001)."
        );
        assert_eq!(
            check("plan", json!([string("objective", "abc"), string("project", "a b")])),
            "`project` has an invalid format (expected `^[A-Za-z0-9._/-]+$`)."
        );
        assert_eq!(
            check("plan", json!([string("objective", "abc"), string("nope", "1")])),
            "`/plan` has no option `nope`."
        );
        assert_eq!(check("plan", json!([{"name": "objective", "type": 4, "value": 3}])), "`objective` must be a text.");
        assert_eq!(
            check("review", json!([string("project", "p"), string("artifact", "a"), string("deadline", "next week")])),
            "`deadline` has an invalid format (expected `^[0-9]{4}-[0-9]{2}-[0-9]{2}$`)."
        );
    }

    #[test]
    fn dispatch_picks_the_template_and_parses_pairs() {
        let catalog = Catalog::embedded();
        let dispatch = catalog.command("dispatch").unwrap();
        let s = dispatch
            .submission(&interaction(
                "dispatch",
                json!([
                    string("template", "facteur-dispatch"),
                    string("parameters", r#"env=staging note="two words""#)
                ]),
            ))
            .unwrap();
        assert_eq!(s.template, "facteur-dispatch");
        assert_eq!(
            s.parameters,
            [
                ("action".into(), "dispatch".into()),
                ("env".into(), "staging".into()),
                ("note".into(), "two words".into())
            ]
        );
        let denied =
            dispatch.submission(&interaction("dispatch", json!([string("template", "delete-prod")]))).unwrap_err();
        assert_eq!(denied.0, "`delete-prod` is not a template `/dispatch` may run. Allowed: `facteur-dispatch`.");
        let invalid =
            dispatch.submission(&interaction("dispatch", json!([string("template", "Bad_Name")]))).unwrap_err();
        assert_eq!(invalid.0, "`Bad_Name` is not a valid WorkflowTemplate name.");
        let twice = dispatch
            .submission(&interaction(
                "dispatch",
                json!([string("template", "facteur-dispatch"), string("parameters", "action=x")]),
            ))
            .unwrap_err();
        assert_eq!(twice.0, "parameter `action` is set twice.");
    }

    #[test]
    fn subcommand_values_and_definitions() {
        let catalog = Catalog::embedded();
        let workflow = catalog.command("workflow").unwrap();
        let logs = |options: serde_json::Value| {
            interaction("workflow", json!([{"name": "logs", "type": 1, "options": options}]))
        };
        let values = workflow
            .values(&logs(json!([string("name", "plan-1"), {"name": "tail", "type": 4, "value": 20}])))
            .unwrap();
        assert_eq!(
            values,
            BTreeMap::from([("name".to_owned(), "plan-1".to_owned()), ("tail".to_owned(), "20".to_owned())])
        );
        assert_eq!(workflow.values(&logs(json!([]))).unwrap_err().0, "`name` is required.");
        assert_eq!(
            workflow
                .values(&logs(json!([string("name", "x"), {"name": "tail", "type": 4, "value": 501}])))
                .unwrap_err()
                .0,
            "`tail` is out of range."
        );
        assert_eq!(
            workflow.values(&interaction("workflow", json!([]))).unwrap_err().0,
            "`/workflow` needs a subcommand."
        );
        let list =
            interaction("workflow", json!([{"name": "list", "type": 1, "options": [string("command", "nope")]}]));
        assert_eq!(
            workflow.values(&list).unwrap_err().0,
            "`command` must be one of: `plan`, `implement`, `review`, `dispatch`."
        );
        assert_eq!(
            workflow.action_keys().collect::<Vec<_>>(),
            ["workflow:status", "workflow:logs", "workflow:cancel", "workflow:retry", "workflow:list"]
        );

        let def = workflow.discord_definition();
        assert_eq!(def["options"][1]["type"], 1);
        assert_eq!(def["options"][1]["name"], "logs");
        assert_eq!(
            def["options"][1]["options"][1],
            json!({"type": 4, "name": "tail", "description": "How many lines (default 50)", "required": false, "min_value": 1.0, "max_value": 500.0})
        );
    }

    #[test]
    fn pairs() {
        assert_eq!(parse_pairs("  a=1   =2").unwrap_err().0, "`` is not a valid parameter name.");
        assert_eq!(parse_pairs("a=1 b=").unwrap(), [("a".into(), "1".into()), ("b".into(), "".into())]);
        assert_eq!(parse_pairs("a=\"x=y z\"").unwrap(), [("a".into(), "x=y z".into())]);
        assert_eq!(parse_pairs("novalue").unwrap_err().0, "`novalue` is not a `key=value` pair.");
        assert_eq!(parse_pairs("a=\"open").unwrap_err().0, "the value of `a` has no closing quote.");
        assert_eq!(parse_pairs("b@d=1").unwrap_err().0, "`b@d` is not a valid parameter name.");
        assert!(parse_pairs("").unwrap().is_empty());
    }

    #[test]
    fn catalog_errors_name_the_command() {
        let bad = |json: serde_json::Value| Catalog::parse(&json.to_string()).unwrap_err().to_string();
        let cmd = |extra: serde_json::Value| {
            let mut c = json!({"name": "x", "description": "d", "component": "x"});
            c.as_object_mut().unwrap().extend(extra.as_object().unwrap().clone());
            json!({"commands": [c]})
        };
        assert_eq!(bad(cmd(json!({"component": "X"}))), "command `x`: component `X` is not a Spin component id");
        assert_eq!(
            bad(cmd(
                json!({"options": [{"name": "a", "type": "string", "description": "d"}, {"name": "b", "type": "string", "description": "d", "required": true}]})
            )),
            "command `x`: option `b`: required options must come first"
        );
        assert_eq!(
            bad(cmd(json!({"workflow": {"template": "t", "template_option": "o"}}))),
            "command `x`: workflow needs exactly one of `template` and `template_option`"
        );
        assert_eq!(
            bad(cmd(json!({"workflow": {"template": "t", "dry_run_option": "dry"}}))),
            "command `x`: workflow `dry_run_option` names no option of the command"
        );
        assert!(bad(json!({"commands": [], "extra": 1})).starts_with("command catalog is not valid JSON"));
        let option = |pattern: &str| json!([{"name": "a", "type": "string", "description": "d", "pattern": pattern}]);
        let invalid = bad(cmd(json!({"options": option("^(x$"), "workflow": {"template": "t"}})));
        assert!(invalid.starts_with("command `x`: option `a`: invalid pattern"), "{invalid}");
        assert_eq!(
            bad(cmd(json!({"options": option("^x$")}))),
            "command `x`: option `a`: `pattern` needs a command that runs a workflow"
        );
    }

    #[test]
    fn discord_definitions_leave_out_facteur_fields() {
        let defs = Catalog::embedded().discord_definitions();
        let plan = &defs[1];
        assert_eq!(plan["name"], "plan");
        assert_eq!(plan["type"], 1);
        assert_eq!(
            plan["options"][0],
            json!({"type": 3, "name": "objective", "description": "What the plan should achieve", "required": true, "min_length": 3, "max_length": 1000})
        );
        assert_eq!(plan["options"][2]["type"], 5);
        assert!(plan.get("workflow").is_none() && plan.get("component").is_none());
        assert_eq!(defs[4]["options"][0]["autocomplete"], true);
    }
}
