//! The catalog's validation: what `Catalog::assemble` refuses, with the reason. The build
//! script compiles it too (beside `model` and `pattern`): a catalog that is not valid fails the
//! build.

use super::model::*;
use super::pattern::Pattern;

impl Catalog {
    pub(super) fn validate(&self) -> Result<(), CatalogError> {
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
            if let Err(reason) = validate_visibility(command) {
                return fail(reason);
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
            // submission), so components that run no workflow need no pattern matcher.
            for option in command.options.iter().chain(command.subcommands.iter().flat_map(|s| &s.options)) {
                let Some(pattern) = &option.pattern else { continue };
                if command.workflow.is_none() {
                    return fail(format!("option `{}`: `pattern` needs a command that runs a workflow", option.name));
                }
                if let Err(e) = Pattern::parse(pattern) {
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
                if let Err(reason) = validate_templates(command, workflow) {
                    return fail(reason);
                }
                if let Err(reason) = validate_limits_and_identity(workflow) {
                    return fail(reason);
                }
            }
            if let Some(approval) = &command.approval {
                if command.workflow.is_none() {
                    return fail("`approval` needs a command that runs a workflow".into());
                }
                let key = &approval.approvers;
                if key.is_empty() || !key.bytes().all(|b| matches!(b, b'a'..=b'z' | b'0'..=b'9' | b':' | b'_' | b'-')) {
                    return fail(format!("approval `approvers` `{key}` is not a role map key (^[a-z0-9:_-]+$)"));
                }
            }
            if let Err(reason) = validate_sources(command) {
                return fail(reason);
            }
        }
        Ok(())
    }
}

/// Which templates may run and, with free-form pairs, what each of them accepts.
fn validate_templates(command: &Command, workflow: &WorkflowMapping) -> Result<(), String> {
    let runnable: Vec<&String> = match (&workflow.template, &workflow.allowed_templates) {
        (_, Some(allowed)) if workflow.template_option.is_none() => {
            return Err(format!("workflow `allowed_templates` ({}) needs a `template_option`", allowed.join(", ")));
        }
        (Some(template), _) => vec![template],
        (None, None) => {
            return Err("workflow `template_option` needs `allowed_templates`: the templates members may pick".into());
        }
        (None, Some(allowed)) => allowed.iter().collect(),
    };
    if runnable.is_empty() {
        return Err("workflow `allowed_templates` is empty".into());
    }
    for (i, template) in runnable.iter().enumerate() {
        if !is_kubernetes_name(template) {
            return Err(format!("workflow template `{template}` is not a Kubernetes name"));
        }
        if runnable[..i].contains(template) {
            return Err(format!("workflow `allowed_templates` lists `{template}` twice"));
        }
    }
    let allowlists = match (&workflow.parameters_option, &workflow.template_parameters) {
        (None, None) => return Ok(()),
        (None, Some(_)) => return Err("workflow `template_parameters` needs a `parameters_option`".into()),
        (Some(_), None) => {
            return Err("workflow `parameters_option` needs `template_parameters`: per template, the keys members \
                        may pass and the pattern of each value"
                .into());
        }
        (Some(_), Some(allowlists)) => allowlists,
    };
    if let Some(template) = runnable.iter().find(|t| workflow.allowlist(t).is_none()) {
        return Err(format!("workflow `template_parameters` has no entry for template `{template}` (`{{}}` for none)"));
    }
    for (template, allowlist) in allowlists {
        if !runnable.contains(&template) {
            return Err(format!("workflow `template_parameters` names `{template}`, which the command cannot run"));
        }
        for (key, rule) in allowlist {
            let at = format!("workflow `template_parameters` of `{template}`: `{key}`");
            if !is_parameter_key(key) {
                return Err(format!("{at} is not a parameter name (letters, digits, `_`, `-`, `.`)"));
            }
            if workflow.parameters.contains_key(key) {
                return Err(format!("{at} is a static parameter; pairs may not override it"));
            }
            if let Some((option, _)) = command.option_parameters().find(|(_, p)| p == key) {
                return Err(format!("{at} is the option `{}`'s parameter; pairs may not override it", option.name));
            }
            if let Err(e) = Pattern::parse(&rule.pattern) {
                return Err(format!("{at}: invalid pattern: {e}"));
            }
            if rule.description.as_deref() == Some("") {
                return Err(format!("{at}: `description` is empty"));
            }
        }
    }
    Ok(())
}

/// A source's names: each producer name has one meaning (an option's, a JSON object's, or
/// none), renames fill options of the command, and the command runs a workflow.
fn validate_sources(command: &Command) -> Result<(), String> {
    for (source, mapping) in &command.sources {
        let at = format!("source `{source}`");
        if !SOURCES.contains(&source.as_str()) {
            return Err(format!("{at} is not one of: {}", SOURCES.join(", ")));
        }
        if command.workflow.is_none() || !command.subcommands.is_empty() {
            return Err(format!("{at}: only a command that runs a workflow (no subcommands) maps a source's names"));
        }
        let is_option = |name: &str| command.options.iter().any(|o| o.name == name);
        let renamed = mapping.rename.iter().map(|(from, _)| from);
        let mut seen = std::collections::BTreeSet::new();
        for name in renamed.chain(&mapping.json).chain(&mapping.ignore) {
            if !is_parameter_key(name) {
                return Err(format!("{at}: `{name}` is not a name (letters, digits, `_`, `-`, `.`)"));
            }
            if is_option(name) {
                return Err(format!("{at}: `{name}` is an option of the command; it cannot be mapped"));
            }
            if !seen.insert(name) {
                return Err(format!("{at}: `{name}` is mapped twice"));
            }
        }
        if let Some((from, to)) = mapping.rename.iter().find(|(_, to)| !is_option(to)) {
            return Err(format!("{at}: `{from}` is renamed to `{to}`, which is not an option of the command"));
        }
    }
    Ok(())
}

fn validate_limits_and_identity(workflow: &WorkflowMapping) -> Result<(), String> {
    let limits = workflow.limits.unwrap_or_default();
    for (scope, rate) in [("member", limits.member), ("command", limits.command), ("guild", limits.guild)] {
        let Some(rate) = rate else { continue };
        if rate.runs == 0 || !(1..=MAX_WINDOW_SECS).contains(&rate.per_secs) {
            return Err(format!(
                "workflow `limits.{scope}`: `runs` must be at least 1 and `per_secs` 1 to {MAX_WINDOW_SECS}"
            ));
        }
    }
    let caps = limits.in_flight.unwrap_or_default();
    for (scope, cap) in [("member", caps.member), ("command", caps.command), ("guild", caps.guild)] {
        if cap == Some(0) {
            return Err(format!("workflow `limits.in_flight.{scope}` must be at least 1 (leave it out for no cap)"));
        }
    }
    if let Some(account) = &workflow.service_account
        && !is_kubernetes_name(account)
    {
        return Err(format!("workflow `service_account` `{account}` is not a Kubernetes name"));
    }
    if let Some(variable) = &workflow.argo_token
        && !is_variable_name(variable)
    {
        return Err(format!("workflow `argo_token` `{variable}` is not a Spin variable name (a-z, 0-9, `_`)"));
    }
    Ok(())
}

/// Registration fields Discord would refuse, and a thread for a command that starts no run.
fn validate_visibility(command: &Command) -> Result<(), String> {
    if let Some(bits) = &command.default_member_permissions {
        let valid = bits.bytes().all(|b| b.is_ascii_digit()) && bits.parse::<u64>().is_ok_and(|b| b <= MAX_PERMISSIONS);
        if !valid {
            return Err(format!("`default_member_permissions` `{bits}` is not a permission bitfield in decimal"));
        }
    }
    let unique = |items: &[u8]| (1..items.len()).all(|i| !items[..i].contains(&items[i]));
    if let Some(contexts) = &command.contexts {
        let codes: Vec<u8> = contexts.iter().map(|c| *c as u8).collect();
        if codes.is_empty() || !unique(&codes) {
            return Err("`contexts` lists each context once, at least one".into());
        }
    }
    if let Some(types) = &command.integration_types {
        let codes: Vec<u8> = types.iter().map(|t| *t as u8).collect();
        if codes.is_empty() || !unique(&codes) {
            return Err("`integration_types` lists each type once, at least one".into());
        }
    }
    if command.threads && command.workflow.is_none() {
        return Err("`threads` needs a command that runs a workflow".into());
    }
    Ok(())
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
