//! Typed configuration read from Spin variables through a lookup function, so it is tested
//! natively. Every error names the variable to fix.

use std::collections::BTreeSet;

use thiserror::Error;

use crate::events::Kind;
use crate::history::TOKEN_TTL_SECS;
use crate::identities::{self, Identities, Identity};
use crate::policy::{Policy, RoleMap, Unlisted};
use crate::signature::{DEFAULT_TOLERANCE_SECS, Verifier};

/// Variable names, as declared in `spin.toml`.
pub mod var {
    pub const DISCORD_PUBLIC_KEY: &str = "discord_public_key";
    pub const SIGNATURE_TOLERANCE_SECS: &str = "signature_tolerance_secs";
    pub const ROLE_MAP: &str = "role_map";
    pub const UNLISTED_COMMANDS: &str = "unlisted_commands";
    pub const ALLOW_DMS: &str = "allow_dms";
    pub const GUILD_ALLOWLIST: &str = "guild_allowlist";
    pub const CHANNEL_ALLOWLIST: &str = "channel_allowlist";
    pub const COMMAND: &str = "command";
    pub const ARGO_SERVER_URL: &str = "argo_server_url";
    pub const ARGO_TOKEN: &str = "argo_token";
    pub const ARGO_NAMESPACE: &str = "argo_namespace";
    pub const ARGO_UI_URL: &str = "argo_ui_url";
    pub const ARGO_SERVICE_ACCOUNT: &str = "argo_service_account";
    pub const ARGO_TIMEOUT_SECS: &str = "argo_timeout_secs";
    pub const DISCORD_API_URL: &str = "discord_api_url";
    pub const RUN_HISTORY_TTL_SECS: &str = "run_history_ttl_secs";
    pub const OWNER_ONLY_ACTIONS: &str = "owner_only_actions";
    pub const DISCORD_BOT_TOKEN: &str = "discord_bot_token";
    pub const BRIDGE_SECRET: &str = "bridge_secret";
    pub const BRIDGE_AUTH: &str = "bridge_auth";
    pub const REDIS_HOST: &str = "redis_host";
    pub const REDIS_PASSWORD: &str = "redis_password";
    pub const EVENTS_CHANNEL: &str = "events_channel";
    pub const LIFECYCLE_SECRET: &str = "lifecycle_secret";
    pub const LIFECYCLE_AUTH: &str = "lifecycle_auth";
    pub const LIFECYCLE_CHANNEL: &str = "lifecycle_channel";
    pub const EVENT_MAX_AGE_SECS: &str = "event_max_age_secs";
    pub const DEAD_LETTER_KEY: &str = "dead_letter_key";
    /// Component variable of the bridge and the worker: which kind of message they take
    /// (`commands` or `lifecycle`), as `command` tells a workflow component its command.
    pub const ACCEPTS: &str = "accepts";
    /// Per role, the ServiceAccount and the token variable of the workflows it starts
    /// (`crate::identities`).
    pub const ROLE_IDENTITIES: &str = "role_identities";
}

/// How to reach the Argo Server.
#[derive(Clone, PartialEq, Eq)]
pub struct ArgoSettings {
    /// Origin of the Argo Server API, e.g. `https://argo-server.argo:2746`.
    pub server_url: String,
    /// The `Authorization` header value, if a token is set.
    pub authorization: Option<String>,
    pub namespace: String,
    /// Base of links to the Argo UI.
    pub ui_url: String,
    pub service_account: Option<String>,
    pub timeout_secs: u64,
    /// Per granting role and per command, who workflows run as (empty from [`Variables::argo`];
    /// the command components add [`Variables::identities`]).
    pub identities: Identities,
}

/// How to reach Discord's API (a fake one in tests).
#[derive(Clone, PartialEq, Eq)]
pub struct DiscordSettings {
    /// Origin, e.g. `https://discord.com`; requests go to `{api_url}/api/v10/…`.
    pub api_url: String,
    /// For channel messages once an interaction token has expired (the worker's only).
    pub bot_token: Option<String>,
}

// By hand, as for `BridgeSettings`: neither the Argo token nor the bot token reaches a log line.
impl std::fmt::Debug for ArgoSettings {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ArgoSettings")
            .field("server_url", &self.server_url)
            .field("has_token", &self.authorization.is_some())
            .field("namespace", &self.namespace)
            .field("service_account", &self.service_account)
            .field("identities", &self.identities)
            .finish_non_exhaustive()
    }
}

impl std::fmt::Debug for DiscordSettings {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DiscordSettings")
            .field("api_url", &self.api_url)
            .field("has_bot_token", &self.bot_token.is_some())
            .finish()
    }
}

/// The public half of facteur's development key pair, the default of `discord_public_key`
/// so that `spin up` runs out of the box. Its private seed is public ([`DEV_SEED`]), so an
/// app still using it accepts forged requests: components warn on every request.
pub const DEV_PUBLIC_KEY: &str = "55d6c406c7429f69dbba7a284f206836ed217bb0e5581fe75f6688f8e0f75519";
/// Seed of the development key pair (`facteur interact` signs with it). Not a secret.
pub const DEV_SEED: &[u8; 32] = b"facteur-local-development-only!!";

/// One bridge route: how it authenticates senders and where it publishes.
#[derive(Clone, PartialEq, Eq)]
pub struct BridgeSettings {
    pub kind: Kind,
    /// The shared secret senders present; `None` with `*_auth = network` (no secret: the
    /// deployment admits only the Kafka dispatcher).
    pub secret: Option<String>,
    /// `redis://[:password@]host:port`.
    pub redis_url: String,
    pub channel: String,
}

impl std::fmt::Debug for BridgeSettings {
    // By hand: neither the secret nor the Redis password reaches a log line.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("BridgeSettings")
            .field("kind", &self.kind)
            .field("checks_secret", &self.secret.is_some())
            .field("channel", &self.channel)
            .finish_non_exhaustive()
    }
}

/// The variables of a queue (route and channel) of `kind`: `(auth, secret, channel)`.
pub fn queue_variables(kind: Kind) -> (&'static str, &'static str, &'static str) {
    match kind {
        Kind::Command => (var::BRIDGE_AUTH, var::BRIDGE_SECRET, var::EVENTS_CHANNEL),
        Kind::Lifecycle => (var::LIFECYCLE_AUTH, var::LIFECYCLE_SECRET, var::LIFECYCLE_CHANNEL),
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum ConfigError {
    #[error("variable `{0}` is not set")]
    Missing(&'static str),
    #[error("variable `{variable}`: {reason}")]
    Invalid { variable: &'static str, reason: String },
    /// A token variable that the catalog or `role_identities` names is not set (or not mapped
    /// into the component).
    #[error("variable `{0}` (named by {1}) is not set for this component")]
    Unset(String, &'static str),
}

/// Reads variables through `lookup` (Spin's `variables::get` in components, a map in tests).
/// `None` means undefined; an empty string counts as unset.
pub struct Variables<F>(pub F);

impl<F: Fn(&str) -> Option<String>> Variables<F> {
    fn optional(&self, name: &str) -> Option<String> {
        (self.0)(name).map(|v| v.trim().to_owned()).filter(|v| !v.is_empty())
    }

    fn required(&self, name: &'static str) -> Result<String, ConfigError> {
        self.optional(name).ok_or(ConfigError::Missing(name))
    }

    fn flag(&self, name: &'static str) -> Result<bool, ConfigError> {
        match self.optional(name).as_deref() {
            None | Some("false") => Ok(false),
            Some("true") => Ok(true),
            Some(other) => Err(invalid(name, format!("expected `true` or `false`, got `{other}`"))),
        }
    }

    fn id_list(&self, name: &'static str) -> Result<Option<BTreeSet<String>>, ConfigError> {
        let Some(raw) = self.optional(name) else { return Ok(None) };
        // Inserted one by one: `collect` into a set would sort, and link a sort, for a handful of ids.
        let mut ids = BTreeSet::new();
        for id in raw.split(',').map(str::trim).filter(|s| !s.is_empty()) {
            ids.insert(id.to_owned());
        }
        if let Some(bad) = ids.iter().find(|id| !id.bytes().all(|b| b.is_ascii_digit())) {
            return Err(invalid(name, format!("`{bad}` is not a snowflake id")));
        }
        Ok(Some(ids))
    }

    /// The signature verifier: public key and freshness window.
    pub fn verifier(&self) -> Result<Verifier, ConfigError> {
        let key = self.required(var::DISCORD_PUBLIC_KEY)?;
        let tolerance = self.seconds(var::SIGNATURE_TOLERANCE_SECS, DEFAULT_TOLERANCE_SECS)?;
        Verifier::from_hex(var::DISCORD_PUBLIC_KEY, &key, tolerance)
            .map_err(|e| invalid(e.variable, e.reason.to_owned()))
    }

    /// True when the public key is the development key (see [`DEV_PUBLIC_KEY`]).
    pub fn uses_dev_key(&self) -> bool {
        self.optional(var::DISCORD_PUBLIC_KEY).is_some_and(|k| k.eq_ignore_ascii_case(DEV_PUBLIC_KEY))
    }

    /// Role map, default for unlisted commands, DM policy and allowlists.
    pub fn policy(&self) -> Result<Policy, ConfigError> {
        let role_map = match self.optional(var::ROLE_MAP) {
            None => RoleMap::default(),
            Some(json) => RoleMap::parse(&json).map_err(|e| invalid(var::ROLE_MAP, e.to_string()))?,
        };
        let unlisted = match self.optional(var::UNLISTED_COMMANDS).as_deref() {
            None | Some("deny") => Unlisted::Deny,
            Some("allow") => Unlisted::Allow,
            Some(other) => {
                return Err(invalid(var::UNLISTED_COMMANDS, format!("expected `deny` or `allow`, got `{other}`")));
            }
        };
        Ok(Policy {
            role_map,
            unlisted,
            allow_dms: self.flag(var::ALLOW_DMS)?,
            guilds: self.id_list(var::GUILD_ALLOWLIST)?,
            channels: self.id_list(var::CHANNEL_ALLOWLIST)?,
        })
    }

    /// The catalog command this component serves.
    pub fn command(&self) -> Result<String, ConfigError> {
        self.required(var::COMMAND)
    }

    pub fn argo(&self) -> Result<ArgoSettings, ConfigError> {
        let server_url = origin(var::ARGO_SERVER_URL, &self.required(var::ARGO_SERVER_URL)?)?;
        let ui_url = self.optional(var::ARGO_UI_URL).unwrap_or_else(|| server_url.clone());
        Ok(ArgoSettings {
            authorization: self.optional(var::ARGO_TOKEN).and_then(|t| crate::argo::authorization(&t)),
            namespace: self.required(var::ARGO_NAMESPACE)?,
            ui_url: ui_url.trim_end_matches('/').to_owned(),
            service_account: self.optional(var::ARGO_SERVICE_ACCOUNT),
            timeout_secs: self.seconds(var::ARGO_TIMEOUT_SECS, 10)?,
            identities: Identities::default(),
            server_url,
        })
    }

    /// Who workflows run as: per granting role (`role_identities`) and per command (the
    /// catalog's entries of the `commands` this component serves), with the tokens of the
    /// variables they name.
    pub fn identities<'a>(
        &self,
        commands: impl IntoIterator<Item = &'a crate::catalog::Command>,
    ) -> Result<Identities, ConfigError> {
        let roles = match self.optional(var::ROLE_IDENTITIES) {
            None => Default::default(),
            Some(json) => identities::parse_roles(&json).map_err(|e| invalid(var::ROLE_IDENTITIES, e))?,
        };
        let resolve = |named: &identities::Named, by: &'static str| {
            let authorization = match &named.argo_token {
                None => None,
                Some(variable) => Some(
                    self.optional(variable)
                        .and_then(|t| crate::argo::authorization(&t))
                        .ok_or_else(|| ConfigError::Unset(variable.clone(), by))?,
                ),
            };
            Ok::<_, ConfigError>(Identity { service_account: named.service_account.clone(), authorization })
        };
        let mut resolved = Identities::default();
        for (role, named) in &roles {
            resolved.roles.push((role.clone(), resolve(named, var::ROLE_IDENTITIES)?));
        }
        for (command, named) in &identities::catalog_names(commands) {
            resolved.commands.push((command.clone(), resolve(named, "the catalog")?));
        }
        Ok(resolved)
    }

    pub fn discord(&self) -> Result<DiscordSettings, ConfigError> {
        Ok(DiscordSettings {
            api_url: origin(var::DISCORD_API_URL, &self.required(var::DISCORD_API_URL)?)?,
            bot_token: self.optional(var::DISCORD_BOT_TOKEN),
        })
    }

    /// Whether only a run's owner (or a `workflow:admin` role) may cancel or retry it.
    pub fn owner_only_actions(&self) -> Result<bool, ConfigError> {
        match self.optional(var::OWNER_ONLY_ACTIONS).as_deref() {
            None => Ok(true),
            Some(_) => self.flag(var::OWNER_ONLY_ACTIONS),
        }
    }

    /// Which kind of message this bridge or worker takes (the component variable `accepts`).
    pub fn accepts(&self) -> Result<Kind, ConfigError> {
        let value = self.required(var::ACCEPTS)?;
        Kind::parse(&value)
            .ok_or_else(|| invalid(var::ACCEPTS, format!("expected `commands` or `lifecycle`, got `{value}`")))
    }

    /// The bridge route of `kind`: `bridge_auth`, `bridge_secret` and `events_channel` for
    /// commands, `lifecycle_auth`, `lifecycle_secret` and `lifecycle_channel` for lifecycle events,
    /// and the Redis they share. `*_auth = secret` (the default) requires the secret;
    /// `network` checks none: the deployment admits only trusted senders (on the cluster, a
    /// NetworkPolicy that lets in the Knative Kafka dispatcher alone), so KafkaSources need no
    /// secret in their manifests.
    pub fn bridge(&self, kind: Kind) -> Result<BridgeSettings, ConfigError> {
        let (auth, secret, channel) = queue_variables(kind);
        let secret = match self.optional(auth).as_deref() {
            None | Some("secret") => Some(self.required(secret)?),
            Some("network") => None,
            Some(other) => return Err(invalid(auth, format!("expected `secret` or `network`, got `{other}`"))),
        };
        let redis_url = redis_url(&self.required(var::REDIS_HOST)?, self.optional(var::REDIS_PASSWORD).as_deref())?;
        Ok(BridgeSettings { kind, secret, redis_url, channel: self.required(channel)? })
    }

    /// Where a worker writes what it refuses: `(redis_url, stream key)` from `redis_host`,
    /// `redis_password` and `dead_letter_key`; `None` while `dead_letter_key` is empty (refusals
    /// are then only logged).
    pub fn dead_letters(&self) -> Result<Option<(String, String)>, ConfigError> {
        let Some(key) = self.optional(var::DEAD_LETTER_KEY) else { return Ok(None) };
        let url = redis_url(&self.required(var::REDIS_HOST)?, self.optional(var::REDIS_PASSWORD).as_deref())?;
        Ok(Some((url, key)))
    }

    /// How old a CommandEvent may be (its `timestamp`) when the worker takes it; older ones are
    /// refused. Default: the interaction token's lifetime (15 minutes).
    pub fn event_max_age_secs(&self) -> Result<u64, ConfigError> {
        match self.seconds(var::EVENT_MAX_AGE_SECS, TOKEN_TTL_SECS)? {
            0 => Err(invalid(var::EVENT_MAX_AGE_SECS, "must be at least 1 second".to_owned())),
            seconds => Ok(seconds),
        }
    }

    /// How long a member's runs are remembered.
    pub fn run_history_ttl_secs(&self) -> Result<u64, ConfigError> {
        self.seconds(var::RUN_HISTORY_TTL_SECS, 7 * 24 * 3600)
    }

    fn seconds(&self, name: &'static str, default: u64) -> Result<u64, ConfigError> {
        match self.optional(name) {
            None => Ok(default),
            Some(s) => s.parse().map_err(|_| invalid(name, format!("expected whole seconds, got `{s}`"))),
        }
    }
}

/// An `http(s)://host[:port]` origin: outbound permissions are granted per origin, so a
/// path here would be a mistake.
fn origin(variable: &'static str, url: &str) -> Result<String, ConfigError> {
    let url = url.trim_end_matches('/');
    let rest = url.strip_prefix("https://").or_else(|| url.strip_prefix("http://"));
    match rest {
        Some(host) if !host.is_empty() && !host.contains('/') => Ok(url.to_owned()),
        _ => Err(invalid(variable, format!("expected `http(s)://host[:port]` without a path, got `{url}`"))),
    }
}

fn invalid(variable: &'static str, reason: String) -> ConfigError {
    ConfigError::Invalid { variable, reason }
}

/// `redis://[:password@]host:port`. `host` is an authority (`127.0.0.1:6379`), never a URL; the
/// password is limited to URL-unreserved characters (`A-Z a-z 0-9 - . _ ~`) because the Redis
/// trigger's address in spin.toml is a template (`redis://:{{ redis_password }}@{{ redis_host }}`)
/// and cannot percent-encode: a password both sides read the same way, or a clear error.
pub fn redis_url(host: &str, password: Option<&str>) -> Result<String, ConfigError> {
    let authority_ok = !host.is_empty()
        && host.bytes().all(|b| b.is_ascii_alphanumeric() || b"-.:[]_".contains(&b))
        && !host.starts_with(':');
    if !authority_ok {
        return Err(invalid(
            var::REDIS_HOST,
            format!("expected `host:port` such as `127.0.0.1:6379` (no scheme, no password), got `{host}`"),
        ));
    }
    match password.filter(|p| !p.is_empty()) {
        None => Ok(format!("redis://{host}")),
        Some(p) if p.bytes().all(|b| b.is_ascii_alphanumeric() || b"-._~".contains(&b)) => {
            Ok(format!("redis://:{p}@{host}"))
        }
        Some(_) => Err(invalid(
            var::REDIS_PASSWORD,
            "use only letters, digits and `-._~` (for example `openssl rand -hex 32`): it goes into a URL".to_owned(),
        )),
    }
}

#[cfg(test)]
mod tests;
