//! Workflow templates treat every parameter as hostile: a parameter pasted into a script's
//! source, or into the command line of a shell run with `-c`, is code a member can write
//! (`/plan objective:$(…)`). `facteur config validate` and the manifest tests check every
//! template under `kubernetes/` with this; parameters belong in environment variables (quoted
//! `"$NAME"`) or separate arguments of a program that is not a shell.

use serde_json::Value;

/// Parameter references (`{{inputs.parameters.x}}`, `{{workflow.parameters.x}}`, with or without
/// spaces, or inside a `{{= … }}` expression) in `text`.
pub fn parameter_references(text: &str) -> Vec<String> {
    let mut found = Vec::new();
    let mut rest = text;
    while let Some(start) = rest.find("{{") {
        let after = &rest[start + 2..];
        let end = after.find("}}").unwrap_or(after.len());
        let inner: String = after[..end].chars().filter(|c| !c.is_whitespace()).collect();
        if inner.contains("inputs.parameters") || inner.contains("workflow.parameters") {
            found.push(format!("{{{{{}}}}}", &after[..end]));
        }
        rest = &after[end..];
    }
    found
}

/// Why `template` (an Argo template) runs parameters as code, if it does: parameters pasted
/// into a script's source, or into the command/args of a shell run with `-c`.
pub fn injection(template: &Value) -> Option<String> {
    if let Some(source) = template["script"]["source"].as_str()
        && let Some(reference) = parameter_references(source).into_iter().next()
    {
        return Some(format!("script.source pastes {reference}"));
    }
    for key in ["container", "script"] {
        let strings = |field: &str| -> Vec<String> {
            template[key][field]
                .as_array()
                .into_iter()
                .flatten()
                .filter_map(|s| s.as_str().map(str::to_owned))
                .collect()
        };
        let line: Vec<String> = strings("command").into_iter().chain(strings("args")).collect();
        let shell =
            line.iter().any(|word| {
                let program = word.rsplit('/').next().unwrap_or(word);
                ["sh", "bash", "ash", "dash", "zsh", "ksh"].contains(&program)
            }) && line.iter().any(|word| word.starts_with('-') && !word.starts_with("--") && word.contains('c'));
        if shell && let Some(reference) = line.iter().flat_map(|w| parameter_references(w)).next() {
            return Some(format!("{key} runs a shell with {reference} in its command line"));
        }
    }
    None
}

pub fn workflow_templates(document: &Value) -> Vec<&Value> {
    let spec = match document["kind"].as_str() {
        Some("WorkflowTemplate" | "ClusterWorkflowTemplate" | "Workflow") => &document["spec"],
        Some("CronWorkflow") => &document["spec"]["workflowSpec"],
        _ => return Vec::new(),
    };
    spec["templates"].as_array().map(|t| t.iter().collect()).unwrap_or_default()
}
