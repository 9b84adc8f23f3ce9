//! `facteur config validate`: every config file against its JSON Schema, then the catalog and
//! spin.toml against each other, so a deployment fails here rather than in Discord.

use std::path::Path;

use anyhow::{Context, Result, bail};
use facteur::catalog::Catalog;
use facteur::workflow_safety::{injection, workflow_templates};
use facteur_manifest::document::ComponentDecl;
use facteur_manifest::{Document, Manifest};
use serde_json::Value;

pub fn run(dir: &Path) -> Result<()> {
    let problems = problems(dir)?;
    if problems.is_empty() {
        println!("configuration is valid");
        return Ok(());
    }
    for problem in &problems {
        println!("✗ {problem}");
    }
    bail!("{} problem(s) found", problems.len())
}

/// Every problem found, each naming the file and the thing to fix.
pub fn problems(dir: &Path) -> Result<Vec<String>> {
    let mut problems = template_problems(dir);
    for (file, schema) in [
        ("config/commands.json", "schemas/facteur-commands.schema.json"),
        ("config/role-map.example.json", "schemas/facteur-discord-role-map.schema.json"),
    ] {
        let document = read_json(&dir.join(file))?;
        let validator =
            jsonschema::validator_for(&read_json(&dir.join(schema))?).map_err(|e| anyhow::anyhow!("{schema}: {e}"))?;
        problems.extend(validator.iter_errors(&document).map(|e| format!("{file}: {e} (at {})", e.instance_path())));
    }
    let catalog_text = std::fs::read_to_string(dir.join("config/commands.json"))?;
    let catalog = match Catalog::assemble(&catalog_text, Catalog::drop_ins(&dir.join("components"))) {
        Ok(catalog) => catalog,
        Err(e) => {
            problems.push(format!("config/commands.json: {e}"));
            return Ok(problems);
        }
    };
    let text = std::fs::read_to_string(dir.join("spin.toml")).context("reading spin.toml")?;
    let document = match Document::parse(&text) {
        Ok(document) => document,
        Err(e) => {
            problems.push(format!("spin.toml: {}", e.to_string().trim_end()));
            return Ok(problems);
        }
    };
    let found = problems.len();
    problems.extend(manifest_problems(&document, &catalog));
    // What Spin (and the harness) would refuse at load, once the checks above find nothing:
    // their own findings would be reported a second time in other words.
    if problems.len() == found
        && let Err(e) = Manifest::from_document(document, dir)
    {
        problems.push(format!("spin.toml: {e:#}"));
    }
    Ok(problems)
}

/// spin.toml against the catalog, and each component's variables against `[variables]`.
fn manifest_problems(manifest: &Document, catalog: &Catalog) -> Vec<String> {
    let mut problems = Vec::new();
    let components = &manifest.component;
    for (id, component) in components {
        let vars = &component.variables;
        let hosts = &component.allowed_outbound_hosts;
        for (name, value) in vars {
            for reference in references(value) {
                if !manifest.variables.contains_key(&reference) {
                    problems.push(format!("spin.toml: component `{id}` variable `{name}` refers to `{reference}`, which [variables] does not declare"));
                }
            }
        }
        // A component that is told where a service is must be allowed to reach it. Argo's URL
        // alone also makes links to its UI (the lifecycle worker's): calling Argo takes its token.
        for service in ["argo_server_url", "discord_api_url", "redis_host"] {
            let calls = service != "argo_server_url" || vars.contains_key("argo_token");
            if calls && vars.contains_key(service) && !hosts.iter().any(|h| h.contains(service)) {
                problems.push(format!("spin.toml: component `{id}` has `{service}` but its allowed_outbound_hosts do not include `{{{{ {service} }}}}`"));
            }
        }
    }
    let gateway_hosts = components.get("interactions").map(|g| g.allowed_outbound_hosts.as_slice()).unwrap_or_default();
    for command in &catalog.commands {
        let id = &command.component;
        match components.get(id) {
            None => problems.push(format!(
                "spin.toml: `/{}` is served by component `{id}`, which spin.toml does not define",
                command.name
            )),
            Some(component) => {
                if command.workflow.is_some() {
                    let served = component.variables.get("command").map(String::as_str);
                    if served != Some(command.name.as_str()) {
                        problems.push(format!(
                            "spin.toml: component `{id}` must set variable `command = \"{}\"`",
                            command.name
                        ));
                    }
                }
            }
        }
        if let Some(component) = components.get(id)
            && let Some(variable) = command.workflow.as_ref().and_then(|w| w.argo_token.as_deref())
        {
            // The worker runs CommandEvents of every command: it reads every command's token.
            let workers =
                components.iter().filter(|(_, c)| c.variables.get("accepts").is_some_and(|a| a == "commands"));
            let readers = std::iter::once((id, component)).chain(workers);
            problems.extend(token_problems(manifest, &format!("`/{}`", command.name), variable, readers));
        }
        if !gateway_hosts.contains(&format!("http://{id}.spin.internal")) {
            problems.push(format!("spin.toml: the gateway cannot reach `{id}`: add `http://{id}.spin.internal` to component `interactions` allowed_outbound_hosts"));
        }
    }
    problems.extend(role_identity_problems(manifest));
    problems
}

/// A token variable that the catalog or `role_identities` names (`facteur::identities`) must be
/// a secret application variable, mapped into each component that runs the command (Spin lets
/// a component read only the variables it maps).
fn token_problems<'a>(
    manifest: &Document,
    named_by: &str,
    variable: &str,
    components: impl IntoIterator<Item = (&'a String, &'a ComponentDecl)>,
) -> Vec<String> {
    let mut problems = Vec::new();
    match manifest.variables.get(variable) {
        None => problems.push(format!(
            "spin.toml: {named_by} names token variable `{variable}`, which [variables] does not declare"
        )),
        Some(declared) if !declared.secret => {
            problems.push(format!("spin.toml: variable `{variable}` holds an Argo token: declare it `secret = true`"))
        }
        Some(_) => {}
    }
    for (id, component) in components {
        if !component.variables.contains_key(variable) {
            problems.push(format!(
                "spin.toml: component `{id}` does not map `{variable}` (named by {named_by}): add `{variable} = \"{{{{ {variable} }}}}\"`"
            ));
        }
    }
    problems
}

/// The token variables of the `role_identities` default in spin.toml, against every component
/// that reads `role_identities` (the command components and the worker).
fn role_identity_problems(manifest: &Document) -> Vec<String> {
    let Some(json) = manifest.variables.get("role_identities").and_then(|v| v.default.as_deref()) else {
        return Vec::new();
    };
    let roles = match facteur::identities::parse_roles(json) {
        Ok(roles) => roles,
        Err(e) => return vec![format!("spin.toml: variable `role_identities`: {e}")],
    };
    let readers = || manifest.component.iter().filter(|(_, c)| c.variables.contains_key("role_identities"));
    facteur::identities::token_variables(&roles)
        .into_iter()
        .flat_map(|variable| token_problems(manifest, "`role_identities`", variable, readers()))
        .collect()
}

/// The names `{{ name }}` references in a template, leniently (a malformed template is
/// reported by the manifest's own check).
fn references(template: &str) -> Vec<String> {
    template
        .split("{{")
        .skip(1)
        .filter_map(|rest| rest.split_once("}}").map(|(name, _)| name.trim().to_owned()))
        .collect()
}

fn read_json(path: &Path) -> Result<Value> {
    let text = std::fs::read_to_string(path).with_context(|| format!("reading {}", path.display()))?;
    serde_json::from_str(&text).with_context(|| format!("{} is not valid JSON", path.display()))
}

/// Argo templates under `kubernetes/` that would run a parameter as code (see
/// `facteur::workflow_safety`).
fn template_problems(dir: &Path) -> Vec<String> {
    let mut problems = Vec::new();
    let mut pending = vec![dir.join("kubernetes")];
    while let Some(folder) = pending.pop() {
        for entry in std::fs::read_dir(&folder).into_iter().flatten().flatten() {
            let path = entry.path();
            if path.is_dir() {
                pending.push(path);
                continue;
            }
            if !path.extension().is_some_and(|e| e == "yaml" || e == "yml") {
                continue;
            }
            let shown = path.strip_prefix(dir).unwrap_or(&path).display().to_string();
            let Ok(text) = std::fs::read_to_string(&path) else { continue };
            for document in serde_yaml_ng::Deserializer::from_str(&text) {
                let Ok(document) = <serde_json::Value as serde::Deserialize>::deserialize(document) else { continue };
                for template in workflow_templates(&document) {
                    if let Some(why) = injection(template) {
                        problems.push(format!(
                            "{shown}: {} `{}` template `{}`: {why}; pass parameters as environment variables (quoted \"$NAME\") or separate arguments, never as script text",
                            document["kind"].as_str().unwrap_or("?"),
                            document["metadata"]["name"].as_str().unwrap_or("?"),
                            template["name"].as_str().unwrap_or("?"),
                        ));
                    }
                }
            }
        }
    }
    problems.sort();
    problems
}
