//! From an interaction's options to a workflow submission: each option checked against the
//! catalog (types, lengths, ranges, choices, patterns), defaults applied, static parameters
//! first, `key=value` pairs parsed.

use std::collections::BTreeMap;

use thiserror::Error;

use super::pattern::Pattern;
use super::{Command, OptionKind, OptionSpec, is_kubernetes_name};
use crate::discord::{Interaction, OptionValue};

impl Command {
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
        for (option, parameter) in self.option_parameters() {
            if let Some(value) = values.get(&option.name) {
                parameters.push((parameter.to_owned(), value.clone()));
            }
        }
        if let Some(option) = &workflow.parameters_option
            && let Some(pairs) = values.get(option)
        {
            for (key, value) in parse_pairs(pairs)? {
                self.check_pair(&template, &key, &value)?;
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

impl Command {
    /// A member-supplied pair for `template`: never a static or an option's parameter, only a
    /// key of the template's allowlist, with a value its pattern matches entirely.
    pub fn check_pair(&self, template: &str, key: &str, value: &str) -> Result<(), InvalidInput> {
        let workflow = self.workflow.as_ref();
        let why = if workflow.is_some_and(|w| w.parameters.contains_key(key))
            || self.option_parameters().any(|(_, p)| p == key)
        {
            format!("parameter `{key}` is set by `/{}` and cannot be overridden.", self.name)
        } else {
            let allowlist = workflow.and_then(|w| w.allowlist(template)).map_or(&[][..], Vec::as_slice);
            match allowlist.iter().find(|(k, _)| k == key) {
                // Patterns are compiled when the catalog is validated; refuse safely all the same.
                Some((_, rule)) if Pattern::parse(&rule.pattern).is_ok_and(|p| p.is_full_match(value)) => {
                    return Ok(());
                }
                Some((_, rule)) => {
                    let expected = rule.description.clone().unwrap_or_else(|| format!("`{}`", rule.pattern));
                    format!("parameter `{key}` has an invalid value (expected {expected}).")
                }
                None => {
                    let keys = allowlist.iter().map(|(k, _)| format!("`{k}`")).collect::<Vec<_>>().join(", ");
                    let allowed = if keys.is_empty() { "none" } else { &keys };
                    format!("parameter `{key}` is not allowed for template `{template}`. Allowed: {allowed}.")
                }
            }
        };
        Err(InvalidInput(why))
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
        if Pattern::parse(pattern).is_ok_and(|p| p.is_match(value)) {
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
