//! The catalog's shape, parsed and then validated (`validate`). Self-contained (serde, `pattern`,
//! `validate`), because the build script compiles it too: it validates `config/commands.json`
//! (and the `command.json` a dropped-in component carries) and turns it into Rust, so
//! components carry the catalog as code instead of a JSON parser for it.

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
    /// A second member's approval before the workflow is submitted (`crate::approval`).
    #[serde(default)]
    pub approval: Option<Approval>,
    /// How CommandEvents of a source (`kafka`) name the options: maps in the JSON, sorted lists
    /// here. Without an entry, an event's options are the command's own names.
    #[serde(default, deserialize_with = "sorted_sources")]
    pub sources: Vec<(String, SourceMapping)>,
    /// Who Discord offers the command to (sent at registration): a permission bitfield in
    /// decimal (`"0"`: administrators only, until a guild grants it), where it can be used, and
    /// which installations (defaults: `Command::discord_definition`).
    #[serde(default)]
    pub default_member_permissions: Option<String>,
    #[serde(default)]
    pub contexts: Option<Vec<InteractionContext>>,
    #[serde(default)]
    pub integration_types: Option<Vec<IntegrationType>>,
    /// A run's completion is posted in a thread of its own (needs `discord_bot_token`).
    #[serde(default)]
    pub threads: bool,
}

/// Where a command can be used (Discord's interaction context types).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum InteractionContext {
    Guild = 0,
    BotDm = 1,
    PrivateChannel = 2,
}

/// How the app is installed for the command to be offered (Discord's integration types).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum IntegrationType {
    GuildInstall = 0,
    UserInstall = 1,
}

/// The largest permission bitfield Discord's spec accepts at registration (2^54 - 1).
pub const MAX_PERMISSIONS: u64 = (1 << 54) - 1;

/// The sources of CommandEvents a catalog may name: `kafka` (`POST /bridge/kafka`, the worker).
pub const SOURCES: [&str; 1] = ["kafka"];

/// How a producer's options become the command's options (`catalog::sources` applies it).
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct SourceMapping {
    /// The producer's name → the command's option it fills (`content` → `objective`).
    #[serde(deserialize_with = "sorted_pairs")]
    pub rename: Vec<(String, String)>,
    /// The producer's options that hold a JSON object whose members are options too (renamed
    /// and checked like the others): the producer's `payload`.
    pub json: Vec<String>,
    /// Names the producer sends that facteur does not use (dropped, never a parameter).
    pub ignore: Vec<String>,
}

fn sorted_pairs<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Vec<(String, String)>, D::Error> {
    Ok(BTreeMap::<String, String>::deserialize(d)?.into_iter().collect())
}

fn sorted_sources<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Vec<(String, SourceMapping)>, D::Error> {
    Ok(BTreeMap::<String, SourceMapping>::deserialize(d)?.into_iter().collect())
}

/// Who approves a command's runs.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Approval {
    /// The role map key whose roles may approve (`plan:approve`): approvers are a deployment's
    /// roles, so they live in the role map, not in the compiled catalog.
    pub approvers: String,
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
    /// With `template_option` (and required by it): the templates members may pick.
    pub allowed_templates: Option<Vec<String>>,
    /// Namespace (default: the `argo_namespace` variable).
    pub namespace: Option<String>,
    /// Static parameters, passed before the options' parameters.
    pub parameters: BTreeMap<String, String>,
    /// The option holding free-form `key=value` pairs.
    pub parameters_option: Option<String>,
    /// With `parameters_option` (and required by it): per template that may run, the keys a
    /// member may pass as pairs and the pattern each value must match. Maps in the JSON, sorted
    /// lists here (smaller in the components than maps).
    #[serde(deserialize_with = "sorted_allowlists")]
    pub template_parameters: Option<Vec<(String, Allowlist)>>,
    /// The boolean option that turns on Argo's server-side dry run.
    pub dry_run_option: Option<String>,
    /// Replies only the invoking member sees.
    pub ephemeral: bool,
    /// How many runs it may start, and have in flight (`crate::limits`); absent:
    /// `limits::DEFAULT`, `{}`: no limit.
    pub limits: Option<Limits>,
    /// The ServiceAccount its workflows run as, unless the granting role's identity names one
    /// (`crate::identities`; default: the `argo_service_account` variable).
    pub service_account: Option<String>,
    /// The Spin variable (a secret, declared in spin.toml) holding the Argo token of its calls,
    /// unless the granting role's identity names one (default: `argo_token`).
    pub argo_token: Option<String>,
}

/// How many runs a command may start in fixed windows, counted per member, for everyone, and
/// per guild (`crate::limits`), and how many may be in flight at once (`in_flight`).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Limits {
    pub member: Option<Rate>,
    pub command: Option<Rate>,
    pub guild: Option<Rate>,
    pub in_flight: Option<InFlight>,
}

/// How many of a command's runs may be in flight (not yet completed, as Argo says) at once:
/// the member's, everyone's, a guild's (`crate::limits::in_flight`).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct InFlight {
    pub member: Option<u32>,
    pub command: Option<u32>,
    pub guild: Option<u32>,
}

/// `runs` per `per_secs` seconds.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Rate {
    pub runs: u64,
    pub per_secs: u64,
}

/// The longest window a rate may have: a week.
pub const MAX_WINDOW_SECS: u64 = 7 * 24 * 3600;

/// A template's allowlist: the keys a member may pass, sorted, each with its rule.
pub type Allowlist = Vec<(String, ParameterRule)>;

fn sorted_allowlists<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Option<Vec<(String, Allowlist)>>, D::Error> {
    let maps = Option::<BTreeMap<String, BTreeMap<String, ParameterRule>>>::deserialize(d)?;
    Ok(maps.map(|m| m.into_iter().map(|(template, keys)| (template, keys.into_iter().collect())).collect()))
}

impl WorkflowMapping {
    /// The allowlist of `template` (none: no pair is allowed).
    pub fn allowlist(&self, template: &str) -> Option<&Allowlist> {
        self.template_parameters.iter().flatten().find(|(t, _)| t == template).map(|(_, keys)| keys)
    }
}

/// What a member-supplied `key=value` pair's value must look like.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ParameterRule {
    /// A regular expression the whole value must match (facteur anchors it).
    pub pattern: String,
    /// Shown to the member when the value does not match (default: the pattern).
    #[serde(default)]
    pub description: Option<String>,
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
}

impl Command {
    /// The parameters the command's options fill (not the options a workflow reads itself:
    /// the template, the pairs, the dry run), in catalog order.
    pub fn option_parameters(&self) -> impl Iterator<Item = (&OptionSpec, &str)> {
        let special = self.workflow.as_ref().map(|w| [&w.template_option, &w.parameters_option, &w.dry_run_option]);
        self.options
            .iter()
            .filter(move |o| !special.iter().flatten().any(|s| s.as_deref() == Some(&o.name)))
            .map(|o| (o, o.parameter.as_deref().unwrap_or(&o.name)))
    }
}

/// A Spin variable name: a lowercase letter, then lowercase letters, digits or `_`.
pub fn is_variable_name(name: &str) -> bool {
    name.starts_with(|c: char| c.is_ascii_lowercase())
        && name.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_')
}

/// Keys of `key=value` pairs: ASCII letters, digits, `_`, `-` and `.`.
pub fn is_parameter_key(key: &str) -> bool {
    !key.is_empty() && key.bytes().all(|b| b.is_ascii_alphanumeric() || matches!(b, b'_' | b'-' | b'.'))
}

/// DNS-1123 subdomain names, as Kubernetes requires for object names.
pub fn is_kubernetes_name(name: &str) -> bool {
    (1..=253).contains(&name.len())
        && name.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-' || b == b'.')
        && name.as_bytes()[0].is_ascii_alphanumeric()
        && name.as_bytes()[name.len() - 1].is_ascii_alphanumeric()
}

/// Spin component ids: `^[a-z][a-z0-9]*(-[a-z][a-z0-9]*)*$` (kebab-case words; each starts with a letter).
pub fn is_component_id(id: &str) -> bool {
    !id.is_empty()
        && id.split('-').all(|word| {
            word.as_bytes().first().is_some_and(u8::is_ascii_lowercase)
                && word.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit())
        })
}
