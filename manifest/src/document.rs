//! `spin.toml` as written: the keys of manifest version 2 that facteur uses, typed, with
//! Spin's names and unknown keys refused. Nothing is checked or resolved here beyond TOML
//! types; [`crate::Manifest`] does that. `facteur config validate` walks this document.

use std::collections::BTreeMap;

use serde::Deserialize;

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Document {
    pub spin_manifest_version: u32,
    pub application: Application,
    /// `[variables]`: the application variables.
    #[serde(default)]
    pub variables: BTreeMap<String, VariableDecl>,
    #[serde(default)]
    pub trigger: Triggers,
    /// `[component.<id>]`.
    #[serde(default)]
    pub component: BTreeMap<String, ComponentDecl>,
}

impl Document {
    /// Reads the TOML text; fails on a syntax error, a wrong type or an unknown key.
    pub fn parse(text: &str) -> Result<Self, toml::de::Error> {
        toml::from_str(text)
    }
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Application {
    pub name: String,
    #[serde(default)]
    pub version: Option<String>,
    #[serde(default)]
    pub authors: Vec<String>,
    #[serde(default)]
    pub description: Option<String>,
    /// `[application.trigger]`: settings shared by a trigger type's triggers.
    #[serde(default)]
    pub trigger: AppTriggers,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AppTriggers {
    pub redis: Option<RedisAppConfig>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RedisAppConfig {
    /// The default address of `[[trigger.redis]]`, maybe a template.
    pub address: String,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct VariableDecl {
    pub default: Option<String>,
    #[serde(default)]
    pub required: bool,
    #[serde(default)]
    pub secret: bool,
    #[serde(default)]
    pub description: Option<String>,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Triggers {
    #[serde(default)]
    pub http: Vec<HttpTriggerDecl>,
    #[serde(default)]
    pub redis: Vec<RedisTriggerDecl>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct HttpTriggerDecl {
    #[serde(default)]
    pub id: Option<String>,
    pub route: RouteDecl,
    pub component: String,
    #[serde(default)]
    pub executor: Option<toml::Value>,
}

/// `route = "/path"` or `route = { private = true }`.
#[derive(Debug, Clone, Deserialize)]
#[serde(untagged)]
pub enum RouteDecl {
    Path(String),
    Private { private: bool },
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RedisTriggerDecl {
    #[serde(default)]
    pub id: Option<String>,
    /// Maybe a template over application variables.
    pub channel: String,
    pub component: String,
    /// Maybe a template; `[application.trigger.redis]`'s when absent.
    #[serde(default)]
    pub address: Option<String>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ComponentDecl {
    /// A local path (a string) or Spin's `{ url, digest }` table.
    pub source: toml::Value,
    #[serde(default)]
    pub description: Option<String>,
    /// As written: entries may be templates over application variables.
    #[serde(default)]
    pub allowed_outbound_hosts: Vec<String>,
    #[serde(default)]
    pub key_value_stores: Vec<String>,
    /// Component variables as written: static strings or templates.
    #[serde(default)]
    pub variables: BTreeMap<String, String>,
    #[serde(default)]
    pub environment: BTreeMap<String, String>,
    #[serde(default)]
    pub build: Option<BuildDecl>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BuildDecl {
    pub command: CommandDecl,
    #[serde(default)]
    pub workdir: Option<String>,
    #[serde(default)]
    pub watch: Vec<String>,
}

/// `command = "..."` or `command = ["...", "..."]`.
#[derive(Debug, Clone, Deserialize)]
#[serde(untagged)]
pub enum CommandDecl {
    One(String),
    Many(Vec<String>),
}

impl CommandDecl {
    pub fn commands(&self) -> Vec<String> {
        match self {
            Self::One(command) => vec![command.clone()],
            Self::Many(commands) => commands.clone(),
        }
    }
}
