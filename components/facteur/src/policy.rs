//! Who may run what: the role map (the original facteur's format, now enforced) and the
//! guild, channel and DM policy around it. Every decision carries its reason for the audit log.

use std::collections::{BTreeMap, BTreeSet};

use serde::Serialize;
use thiserror::Error;

/// `{"<command>": ["<role snowflake>", …]}` — schema `schemas/facteur-discord-role-map.schema.json`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RoleMap(BTreeMap<String, BTreeSet<String>>);

#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum RoleMapError {
    #[error("role map is not a JSON object of arrays of strings: {0}")]
    Shape(String),
    #[error("role map key `{0}` must match ^[a-z0-9:_-]+$")]
    Key(String),
    #[error("role map entry `{0}` must list at least one role")]
    Empty(String),
    #[error("role map entry `{0}` lists role `{1}` twice")]
    Duplicate(String, String),
    #[error("role map entry `{0}`: `{1}` is not a role snowflake (17 to 20 digits)")]
    Role(String, String),
}

impl RoleMap {
    /// Parses and validates a role map with the rules of its JSON Schema.
    pub fn parse(json: &str) -> Result<Self, RoleMapError> {
        let raw: BTreeMap<String, Vec<String>> =
            serde_json::from_str(json).map_err(|e| RoleMapError::Shape(e.to_string()))?;
        let mut map = BTreeMap::new();
        for (key, roles) in raw {
            if key.is_empty() || !key.bytes().all(|b| matches!(b, b'a'..=b'z' | b'0'..=b'9' | b':' | b'_' | b'-')) {
                return Err(RoleMapError::Key(key));
            }
            if roles.is_empty() {
                return Err(RoleMapError::Empty(key));
            }
            let mut set = BTreeSet::new();
            for role in roles {
                if !(17..=20).contains(&role.len()) || !role.bytes().all(|b| b.is_ascii_digit()) {
                    return Err(RoleMapError::Role(key, role));
                }
                if !set.insert(role.clone()) {
                    return Err(RoleMapError::Duplicate(key, role));
                }
            }
            map.insert(key, set);
        }
        Ok(Self(map))
    }

    pub fn roles_for(&self, command: &str) -> Option<&BTreeSet<String>> {
        self.0.get(command)
    }
}

/// What happens to a command the role map does not mention.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum Unlisted {
    /// facteur's default: a command must be granted to be run.
    #[default]
    Deny,
    /// The original service's behaviour: unlisted commands are public.
    Allow,
}

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Policy {
    pub role_map: RoleMap,
    pub unlisted: Unlisted,
    /// DMs carry no roles; they are refused unless this is set.
    pub allow_dms: bool,
    /// When set, only interactions from these guilds are served (DMs follow `allow_dms`).
    pub guilds: Option<BTreeSet<String>>,
    /// When set, only interactions from these channels are served (DMs follow `allow_dms`).
    pub channels: Option<BTreeSet<String>>,
}

/// Who is asking, and where.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Caller<'a> {
    pub guild_id: Option<&'a str>,
    pub channel_id: Option<&'a str>,
    /// `None` in a DM.
    pub roles: Option<&'a [String]>,
}

impl<'a> Caller<'a> {
    pub fn of(interaction: &'a crate::discord::Interaction) -> Self {
        Self {
            guild_id: interaction.guild_id.as_deref(),
            channel_id: interaction.channel_id.as_deref(),
            roles: interaction.roles(),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "reason", rename_all = "snake_case")]
pub enum Reason {
    RoleGranted { role: String },
    UnlistedAllowed,
    UnlistedDenied,
    NoGrantedRole,
    DirectMessagesDisabled,
    GuildNotAllowed,
    ChannelNotAllowed,
}

impl Reason {
    /// The ephemeral text a denied member sees. It names the command and says what to do.
    pub fn denial_message(&self, command: &str) -> String {
        match self {
            Self::NoGrantedRole => {
                format!("You do not have a role that may run `/{command}`. Ask a server admin to grant one.")
            }
            Self::UnlistedDenied => format!(
                "`/{command}` is not enabled for anyone on this server yet. Ask a server admin to add it to facteur's role map."
            ),
            Self::DirectMessagesDisabled => {
                format!("`/{command}` cannot be run in direct messages. Run it in a server channel.")
            }
            Self::GuildNotAllowed => format!("`/{command}` is not available on this server."),
            Self::ChannelNotAllowed => format!("`/{command}` is not available in this channel."),
            Self::RoleGranted { .. } | Self::UnlistedAllowed => format!("`/{command}` is allowed."),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Decision {
    pub allowed: bool,
    #[serde(flatten)]
    pub reason: Reason,
}

impl Decision {
    fn allow(reason: Reason) -> Self {
        Self { allowed: true, reason }
    }

    fn deny(reason: Reason) -> Self {
        Self { allowed: false, reason }
    }
}

impl Policy {
    /// Decides whether `caller` may run `command` (a role map key such as `plan` or `workflow:cancel`).
    /// The allowlists apply to DMs too: a DM is in no guild, so a guild allowlist refuses it,
    /// and its channel must be on a channel allowlist.
    pub fn decide(&self, command: &str, caller: &Caller) -> Decision {
        if caller.roles.is_none() && !self.allow_dms {
            return Decision::deny(Reason::DirectMessagesDisabled);
        }
        if let Some(guilds) = &self.guilds
            && !caller.guild_id.is_some_and(|g| guilds.contains(g))
        {
            return Decision::deny(Reason::GuildNotAllowed);
        }
        if let Some(channels) = &self.channels
            && !caller.channel_id.is_some_and(|c| channels.contains(c))
        {
            return Decision::deny(Reason::ChannelNotAllowed);
        }
        self.by_roles(command, caller.roles.unwrap_or_default())
    }

    /// Decides an action of a command (`workflow:cancel`): by the role map entry of the action
    /// when there is one, else by the command's entry, else by the default for unlisted commands.
    pub fn decide_action(&self, command: &str, action: &str, caller: &Caller) -> Decision {
        let key = format!("{command}:{action}");
        if self.role_map.roles_for(&key).is_some() { self.decide(&key, caller) } else { self.decide(command, caller) }
    }

    /// True when the caller holds a role listed under `key`; no default applies.
    pub fn grants(&self, key: &str, caller: &Caller) -> bool {
        let granted = self.role_map.roles_for(key);
        caller.roles.zip(granted).is_some_and(|(roles, granted)| roles.iter().any(|r| granted.contains(r)))
    }

    fn by_roles(&self, command: &str, roles: &[String]) -> Decision {
        match self.role_map.roles_for(&command.to_ascii_lowercase()) {
            None if self.unlisted == Unlisted::Allow => Decision::allow(Reason::UnlistedAllowed),
            None => Decision::deny(Reason::UnlistedDenied),
            Some(granted) => match roles.iter().find(|r| granted.contains(*r)) {
                Some(role) => Decision::allow(Reason::RoleGranted { role: role.clone() }),
                None => Decision::deny(Reason::NoGrantedRole),
            },
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const OPS: &str = "130000000000000001";
    const DEV: &str = "130000000000000002";
    const OTHER: &str = "130000000000000009";

    fn policy(unlisted: Unlisted) -> Policy {
        Policy {
            role_map: RoleMap::parse(&format!(r#"{{"plan": ["{OPS}", "{DEV}"], "workflow:cancel": ["{OPS}"]}}"#))
                .unwrap(),
            unlisted,
            ..Policy::default()
        }
    }

    fn member(roles: &[String]) -> Caller<'_> {
        Caller { guild_id: Some("g1"), channel_id: Some("c1"), roles: Some(roles) }
    }

    #[test]
    fn allowed_by_a_granted_role() {
        let roles = vec![OTHER.to_owned(), DEV.to_owned()];
        let d = policy(Unlisted::Deny).decide("plan", &member(&roles));
        assert_eq!(d, Decision { allowed: true, reason: Reason::RoleGranted { role: DEV.into() } });
    }

    #[test]
    fn denied_without_a_granted_role() {
        let roles = vec![OTHER.to_owned()];
        let d = policy(Unlisted::Allow).decide("plan", &member(&roles));
        assert_eq!(d, Decision { allowed: false, reason: Reason::NoGrantedRole });
        assert!(!policy(Unlisted::Allow).decide("workflow:cancel", &member(&[DEV.to_owned()])).allowed);
    }

    #[test]
    fn unlisted_command_follows_the_default() {
        let roles = vec![OPS.to_owned()];
        assert_eq!(policy(Unlisted::Deny).decide("review", &member(&roles)).reason, Reason::UnlistedDenied);
        assert_eq!(policy(Unlisted::Allow).decide("review", &member(&roles)).reason, Reason::UnlistedAllowed);
    }

    #[test]
    fn lookup_ignores_case() {
        let roles = vec![OPS.to_owned()];
        assert!(policy(Unlisted::Deny).decide("PLAN", &member(&roles)).allowed);
    }

    #[test]
    fn dms_are_denied_unless_enabled() {
        let dm = Caller { guild_id: None, channel_id: Some("dm"), roles: None };
        assert_eq!(policy(Unlisted::Allow).decide("review", &dm).reason, Reason::DirectMessagesDisabled);
        let mut p = policy(Unlisted::Allow);
        p.allow_dms = true;
        assert!(p.decide("review", &dm).allowed, "unlisted commands follow the default in DMs");
        assert_eq!(p.decide("plan", &dm).reason, Reason::NoGrantedRole, "a DM has no roles");
    }

    #[test]
    fn allowlists_apply_to_dms_too() {
        let dm = Caller { guild_id: None, channel_id: Some("dm"), roles: None };
        let mut p = policy(Unlisted::Allow);
        p.allow_dms = true;
        p.guilds = Some(["g1".to_owned()].into());
        assert_eq!(p.decide("review", &dm).reason, Reason::GuildNotAllowed, "a DM is in no allowed guild");
        p.guilds = None;
        p.channels = Some(["c1".to_owned()].into());
        assert_eq!(p.decide("review", &dm).reason, Reason::ChannelNotAllowed);
        p.channels = Some(["dm".to_owned()].into());
        assert!(p.decide("review", &dm).allowed, "a listed DM channel");
    }

    #[test]
    fn guild_and_channel_allowlists() {
        let roles = vec![OPS.to_owned()];
        let mut p = policy(Unlisted::Deny);
        p.guilds = Some(["g2".to_owned()].into());
        assert_eq!(p.decide("plan", &member(&roles)).reason, Reason::GuildNotAllowed);
        p.guilds = Some(["g1".to_owned()].into());
        p.channels = Some(["c2".to_owned()].into());
        assert_eq!(p.decide("plan", &member(&roles)).reason, Reason::ChannelNotAllowed);
        p.channels = Some(["c1".to_owned(), "c2".to_owned()].into());
        assert!(p.decide("plan", &member(&roles)).allowed);
    }

    #[test]
    fn actions_use_their_own_entry_else_the_command_entry() {
        let p = Policy {
            role_map: RoleMap::parse(&format!(
                r#"{{"workflow": ["{DEV}"], "workflow:cancel": ["{OPS}"], "workflow:admin": ["{OPS}"]}}"#
            ))
            .unwrap(),
            ..Policy::default()
        };
        let dev = vec![DEV.to_owned()];
        let ops = vec![OPS.to_owned()];
        assert!(p.decide_action("workflow", "status", &member(&dev)).allowed, "falls back to `workflow`");
        assert!(!p.decide_action("workflow", "cancel", &member(&dev)).allowed, "`workflow:cancel` decides");
        assert!(p.decide_action("workflow", "cancel", &member(&ops)).allowed);
        assert!(p.grants("workflow:admin", &member(&ops)) && !p.grants("workflow:admin", &member(&dev)));
        assert!(!p.grants("workflow:admin", &Caller { guild_id: None, channel_id: None, roles: None }));
    }

    #[test]
    fn role_map_accepts_what_the_schema_accepts() {
        assert_eq!(RoleMap::parse("{}").unwrap(), RoleMap::default());
        let m = RoleMap::parse(r#"{"dispatch": ["12345678901234567"], "work-flow_2:x": ["12345678901234567890"]}"#)
            .unwrap();
        assert!(m.roles_for("work-flow_2:x").is_some());
    }

    #[test]
    fn role_map_rejects_what_the_schema_rejects() {
        assert!(matches!(RoleMap::parse("[]"), Err(RoleMapError::Shape(_))));
        assert!(matches!(RoleMap::parse(r#"{"plan": "123"}"#), Err(RoleMapError::Shape(_))));
        assert_eq!(RoleMap::parse(r#"{"Plan": ["12345678901234567"]}"#), Err(RoleMapError::Key("Plan".into())));
        assert_eq!(RoleMap::parse(r#"{"plan": []}"#), Err(RoleMapError::Empty("plan".into())));
        assert_eq!(
            RoleMap::parse(r#"{"plan": ["bot.plan"]}"#),
            Err(RoleMapError::Role("plan".into(), "bot.plan".into()))
        );
        assert_eq!(
            RoleMap::parse(r#"{"plan": ["1234567890123456"]}"#),
            Err(RoleMapError::Role("plan".into(), "1234567890123456".into()))
        );
        assert_eq!(
            RoleMap::parse(r#"{"plan": ["12345678901234567", "12345678901234567"]}"#),
            Err(RoleMapError::Duplicate("plan".into(), "12345678901234567".into()))
        );
    }

    #[test]
    fn decisions_serialise_for_the_audit_log() {
        let d = Decision { allowed: true, reason: Reason::RoleGranted { role: OPS.into() } };
        assert_eq!(
            serde_json::to_value(&d).unwrap(),
            serde_json::json!({"allowed": true, "reason": "role_granted", "role": OPS})
        );
    }
}

#[cfg(test)]
mod schema_tests {
    use super::*;

    fn read(path: &str) -> String {
        std::fs::read_to_string(format!("{}/../../{path}", env!("CARGO_MANIFEST_DIR"))).unwrap()
    }

    /// The parser enforces exactly the schema's rules: if one changes, so must the other.
    #[test]
    fn parser_and_schema_agree() {
        let schema: serde_json::Value =
            serde_json::from_str(&read("schemas/facteur-discord-role-map.schema.json")).unwrap();
        assert_eq!(schema["type"], "object");
        assert_eq!(schema["propertyNames"]["pattern"], "^[a-z0-9:_-]+$");
        let roles = &schema["additionalProperties"];
        assert_eq!((roles["minItems"].as_u64(), roles["uniqueItems"].as_bool()), (Some(1), Some(true)));
        assert_eq!(roles["items"]["pattern"], "^[0-9]{17,20}$");
    }

    #[test]
    fn example_role_map_is_valid() {
        let map = RoleMap::parse(&read("config/role-map.example.json")).unwrap();
        assert!(map.roles_for("workflow:cancel").is_some());
    }
}
