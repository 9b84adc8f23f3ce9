//! The catalog's shape and its validation. Self-contained (serde, regex-lite), because the
//! build script compiles it too: it validates `config/commands.json` (and the `command.json`
//! a dropped-in component carries) and turns it into Rust, so components carry the catalog as
//! code instead of a JSON parser for it.

use std::collections::BTreeMap;

use serde::Deserialize;
use thiserror::Error;

#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Catalog {
    #[serde(rename = "$schema", default)]
    pub schema: Option<String>,
    pub commands: Vec<Command>,
}

#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Command {
    pub name: String,
    pub description: String,
    /// The Spin component that serves it.
    pub component: String,
    #[serde(default)]
    pub options: Vec<OptionSpec>,
    /// Subcommands (`/workflow status`); a command has options or subcommands, not both.
    #[serde(default)]
    pub subcommands: Vec<Subcommand>,
    #[serde(default)]
    pub workflow: Option<WorkflowMapping>,
}

#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Subcommand {
    pub name: String,
    pub description: String,
    #[serde(default)]
    pub options: Vec<OptionSpec>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum OptionKind {
    String,
    Integer,
    Boolean,
    Number,
}

#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct OptionSpec {
    pub name: String,
    #[serde(rename = "type")]
    pub kind: OptionKind,
    pub description: String,
    #[serde(default)]
    pub required: bool,
    #[serde(default)]
    pub choices: Vec<ChoiceSpec>,
    #[serde(default)]
    pub autocomplete: bool,
    #[serde(default)]
    pub min_length: Option<usize>,
    #[serde(default)]
    pub max_length: Option<usize>,
    #[serde(default)]
    pub min_value: Option<f64>,
    #[serde(default)]
    pub max_value: Option<f64>,
    /// facteur-side check (not sent to Discord): the value must match this regular expression.
    #[serde(default)]
    pub pattern: Option<String>,
    /// The workflow parameter it fills (default: the option's name).
    #[serde(default)]
    pub parameter: Option<String>,
    /// Value used when the member leaves the option empty.
    #[serde(default)]
    pub default: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ChoiceSpec {
    pub name: String,
    pub value: serde_json::Value,
}

#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct WorkflowMapping {
    /// The WorkflowTemplate to submit, unless `template_option` names the option that picks it.
    pub template: Option<String>,
    pub template_option: Option<String>,
    /// With `template_option`: the templates members may pick (absent: any the token may run).
    pub allowed_templates: Option<Vec<String>>,
    /// Namespace (default: the `argo_namespace` variable).
    pub namespace: Option<String>,
    /// Static parameters, passed before the options' parameters.
    pub parameters: BTreeMap<String, String>,
    /// The option holding free-form `key=value` pairs.
    pub parameters_option: Option<String>,
    /// The boolean option that turns on Argo's server-side dry run.
    pub dry_run_option: Option<String>,
    /// Replies only the invoking member sees.
    pub ephemeral: bool,
}

#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum CatalogError {
    #[error("command catalog is not valid JSON for its schema: {0}")]
    Shape(String),
    #[error("command `{0}`: {1}")]
    Command(String, String),
}

impl Catalog {
    pub fn parse(json: &str) -> Result<Self, CatalogError> {
        Self::assemble(json, std::iter::empty::<(String, String)>())
    }

    /// `config/commands.json` with the commands that components dropped in beside it: each
    /// `(where, json)` is one command's entry (what `spin add -t facteur-command` writes to
    /// `components/<id>/command.json`). Validated together: a name declared twice is refused.
    pub fn assemble(json: &str, drop_ins: impl IntoIterator<Item = (String, String)>) -> Result<Self, CatalogError> {
        let mut catalog: Self = serde_json::from_str(json).map_err(|e| CatalogError::Shape(e.to_string()))?;
        for (place, json) in drop_ins {
            let command: Command =
                serde_json::from_str(&json).map_err(|e| CatalogError::Shape(format!("{place}: {e}")))?;
            catalog.commands.push(command);
        }
        catalog.validate()?;
        Ok(catalog)
    }

    /// The `command.json` of every folder in `components`, sorted by path: `(path, text)`.
    pub fn drop_ins(components: &std::path::Path) -> Vec<(String, String)> {
        let mut found: Vec<(String, String)> = std::fs::read_dir(components)
            .into_iter()
            .flatten()
            .flatten()
            .map(|entry| entry.path().join("command.json"))
            .filter_map(|path| Some((path.display().to_string(), std::fs::read_to_string(&path).ok()?)))
            .collect();
        found.sort();
        found
    }

    fn validate(&self) -> Result<(), CatalogError> {
        let mut seen = std::collections::BTreeSet::new();
        for command in &self.commands {
            let fail = |reason: String| Err(CatalogError::Command(command.name.clone(), reason));
            if !seen.insert(&command.name) {
                return fail("is declared twice".into());
            }
            if !is_name(&command.name) {
                return fail("names are 1 to 32 lowercase letters, digits, `-` or `_`".into());
            }
            if !(1..=100).contains(&command.description.chars().count()) {
                return fail("description must be 1 to 100 characters".into());
            }
            if !is_component_id(&command.component) {
                return fail(format!("component `{}` is not a Spin component id", command.component));
            }
            if let Err(reason) = validate_options(&command.options) {
                return fail(reason);
            }
            if !command.subcommands.is_empty() && (!command.options.is_empty() || command.workflow.is_some()) {
                return fail("a command with subcommands has no options or workflow of its own".into());
            }
            if command.subcommands.len() > 25 {
                return fail("has more than 25 subcommands".into());
            }
            for sub in &command.subcommands {
                if !is_name(&sub.name) || !(1..=100).contains(&sub.description.chars().count()) {
                    return fail(format!("subcommand `{}`: invalid name or description", sub.name));
                }
                if let Err(reason) = validate_options(&sub.options) {
                    return fail(format!("subcommand `{}`: {reason}", sub.name));
                }
            }
            // Patterns guard the values that become workflow parameters (checked with the
            // submission), so components that run no workflow need no regex engine.
            for option in command.options.iter().chain(command.subcommands.iter().flat_map(|s| &s.options)) {
                let Some(pattern) = &option.pattern else { continue };
                if command.workflow.is_none() {
                    return fail(format!("option `{}`: `pattern` needs a command that runs a workflow", option.name));
                }
                if let Err(e) = regex_lite::Regex::new(pattern) {
                    return fail(format!("option `{}`: invalid pattern: {e}", option.name));
                }
            }
            if let Some(workflow) = &command.workflow {
                let has_option =
                    |name: &Option<String>| name.as_ref().is_none_or(|n| command.options.iter().any(|o| &o.name == n));
                match (&workflow.template, &workflow.template_option) {
                    (Some(_), None) | (None, Some(_)) => {}
                    _ => return fail("workflow needs exactly one of `template` and `template_option`".into()),
                }
                for (what, option) in [
                    ("template_option", &workflow.template_option),
                    ("parameters_option", &workflow.parameters_option),
                    ("dry_run_option", &workflow.dry_run_option),
                ] {
                    if !has_option(option) {
                        return fail(format!("workflow `{what}` names no option of the command"));
                    }
                }
            }
        }
        Ok(())
    }
}

fn validate_options(options: &[OptionSpec]) -> Result<(), String> {
    if options.len() > 25 {
        return Err("has more than 25 options".into());
    }
    let mut optional_seen = false;
    for option in options {
        if !is_name(&option.name) {
            return Err(format!("option `{}`: invalid name", option.name));
        }
        if !(1..=100).contains(&option.description.chars().count()) {
            return Err(format!("option `{}`: description must be 1 to 100 characters", option.name));
        }
        if option.required && optional_seen {
            return Err(format!("option `{}`: required options must come first", option.name));
        }
        optional_seen |= !option.required;
        if option.autocomplete && !option.choices.is_empty() {
            return Err(format!("option `{}`: autocomplete and choices exclude each other", option.name));
        }
        if option.choices.len() > 25 {
            return Err(format!("option `{}`: more than 25 choices", option.name));
        }
    }
    Ok(())
}

fn is_name(name: &str) -> bool {
    (1..=32).contains(&name.len())
        && name.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-' || b == b'_')
}

/// Spin component ids: `^[a-z][a-z0-9]*(-[a-z][a-z0-9]*)*$` (kebab-case words; each starts with a letter).
pub fn is_component_id(id: &str) -> bool {
    !id.is_empty()
        && id.split('-').all(|word| {
            word.as_bytes().first().is_some_and(u8::is_ascii_lowercase)
                && word.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit())
        })
}
