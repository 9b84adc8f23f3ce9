//! Who a workflow runs as, and whose Argo token facteur submits it with: a Discord role maps to
//! a Kubernetes identity.
//!
//! - The catalog names, per workflow command, a ServiceAccount (`workflow.service_account`) and
//!   the Spin variable holding an Argo token (`workflow.argo_token`).
//! - The variable `role_identities` names the same per role:
//!   `{"<role id>": {"service_account": "deployer", "argo_token": "argo_token_deployers"}}`.
//!
//! The role that granted the command (the role map's decision) decides first, field by field,
//! then the command, then the variables `argo_service_account` and `argo_token`. A token
//! variable is a secret the operator declares in spin.toml and maps into the command's
//! components (Spin lets a component read only the variables it maps); it is read when the
//! component starts, and never logged.

use serde::Deserialize;

use crate::catalog::{Command, is_kubernetes_name, is_variable_name};
use crate::policy::{Caller, Policy};

/// A ServiceAccount and an `Authorization` header value, each optional.
#[derive(Clone, Default, PartialEq, Eq)]
pub struct Identity {
    pub service_account: Option<String>,
    pub authorization: Option<String>,
}

impl std::fmt::Debug for Identity {
    // By hand: the token never reaches a log line.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Identity")
            .field("service_account", &self.service_account)
            .field("has_token", &self.authorization.is_some())
            .finish()
    }
}

impl Identity {
    /// This identity's fields, else `fallback`'s.
    fn or(self, fallback: &Identity) -> Identity {
        Identity {
            service_account: self.service_account.or_else(|| fallback.service_account.clone()),
            authorization: self.authorization.or_else(|| fallback.authorization.clone()),
        }
    }
}

/// What the role map and the catalog name, with the tokens read: `(role or command, identity)`
/// lists (smaller in the components than maps; a handful of entries).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Identities {
    pub roles: Vec<(String, Identity)>,
    pub commands: Vec<(String, Identity)>,
}

fn find<'a>(list: &'a [(String, Identity)], key: &str) -> Option<&'a Identity> {
    list.iter().find(|(k, _)| k == key).map(|(_, identity)| identity)
}

impl Identities {
    /// The identity `caller` runs `command` with: that of the first of their roles (in
    /// Discord's order) that the role map grants the command and that has one, else the
    /// command's. An unlisted command is granted by no role.
    pub fn for_member(&self, policy: &Policy, command: &str, caller: &Caller) -> Identity {
        let granted = policy.role_map.roles_for(command);
        let role = caller
            .roles
            .unwrap_or_default()
            .iter()
            .find(|r| granted.is_some_and(|g| g.contains(*r)) && find(&self.roles, r).is_some());
        self.of(command, role.map(String::as_str))
    }

    /// The identity `caller` acts with on `action` of `command` (`/workflow cancel`, a run's
    /// button): as [`for_member`](Self::for_member), for the role map's key of the action
    /// (`<command>:<action>` when the role map lists it, else `<command>`, as
    /// `Policy::decide_action` decides).
    pub fn for_action(&self, policy: &Policy, command: &str, action: &str, caller: &Caller) -> Identity {
        let key = format!("{command}:{action}");
        let key = if policy.role_map.roles_for(&key).is_some() { key.as_str() } else { command };
        self.for_member(policy, key, caller)
    }

    /// The identity of `command` granted by `role`; unset fields fall back to the configured
    /// `argo_service_account` and `argo_token`.
    pub fn of(&self, command: &str, role: Option<&str>) -> Identity {
        let by_role = role.and_then(|r| find(&self.roles, r)).cloned().unwrap_or_default();
        by_role.or(find(&self.commands, command).unwrap_or(&Identity::default()))
    }
}

/// One entry of `role_identities` as written: names, not tokens.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Named {
    #[serde(default)]
    pub service_account: Option<String>,
    #[serde(default)]
    pub argo_token: Option<String>,
}

/// Parses `role_identities`: role snowflake → [`Named`]; every name checked.
pub fn parse_roles(json: &str) -> Result<Vec<(String, Named)>, String> {
    let roles: Vec<(String, Named)> = serde_json::from_str::<std::collections::BTreeMap<String, Named>>(json)
        .map_err(|e| e.to_string())?
        .into_iter()
        .collect();
    for (role, named) in &roles {
        if !(17..=20).contains(&role.len()) || !role.bytes().all(|b| b.is_ascii_digit()) {
            return Err(format!("`{role}` is not a role snowflake (17 to 20 digits)"));
        }
        check(named).map_err(|e| format!("role `{role}`: {e}"))?;
    }
    Ok(roles)
}

fn check(named: &Named) -> Result<(), String> {
    if let Some(account) = named.service_account.as_deref().filter(|a| !is_kubernetes_name(a)) {
        return Err(format!("`service_account` `{account}` is not a Kubernetes name"));
    }
    if let Some(variable) = named.argo_token.as_deref().filter(|v| !is_variable_name(v)) {
        return Err(format!("`argo_token` `{variable}` is not a Spin variable name"));
    }
    Ok(())
}

/// What these catalog commands name.
pub fn catalog_names<'a>(commands: impl IntoIterator<Item = &'a Command>) -> Vec<(String, Named)> {
    commands
        .into_iter()
        .filter_map(|c| Some((c.name.clone(), c.workflow.as_ref()?)))
        .filter(|(_, w)| w.service_account.is_some() || w.argo_token.is_some())
        .map(|(name, w)| (name, Named { service_account: w.service_account.clone(), argo_token: w.argo_token.clone() }))
        .collect()
}

/// Every token variable named in `role_identities` and the catalog (for `facteur config
/// validate`: each must be declared in spin.toml and mapped into the command components).
pub fn token_variables<'a>(names: impl IntoIterator<Item = &'a (String, Named)>) -> Vec<&'a str> {
    let mut found: Vec<&str> = names.into_iter().filter_map(|(_, n)| n.argo_token.as_deref()).collect();
    found.sort_unstable();
    found.dedup();
    found
}

#[cfg(test)]
mod tests {
    use super::*;

    const DEPLOYER: &str = "130000000000000001";

    fn identity(sa: &str, token: &str) -> Identity {
        Identity { service_account: Some(sa.into()), authorization: Some(format!("Bearer {token}")) }
    }

    #[test]
    fn the_granting_role_then_the_command_then_the_defaults() {
        let identities = Identities {
            roles: [(DEPLOYER.to_owned(), Identity { service_account: Some("deployer".into()), authorization: None })]
                .into(),
            commands: [("plan".to_owned(), identity("planner", "plan-token"))].into(),
        };
        let by_role = identities.of("plan", Some(DEPLOYER));
        assert_eq!(by_role.service_account.as_deref(), Some("deployer"), "the role's account");
        assert_eq!(by_role.authorization.as_deref(), Some("Bearer plan-token"), "the command's token");
        assert_eq!(identities.of("plan", None), identity("planner", "plan-token"));
        assert_eq!(identities.of("review", Some("130000000000000009")), Identity::default(), "the defaults");
        assert!(!format!("{by_role:?}").contains("plan-token"), "no token in Debug");
    }

    #[test]
    fn role_identities_are_checked() {
        let ok = parse_roles(&format!(
            r#"{{"{DEPLOYER}": {{"service_account": "deployer", "argo_token": "argo_token_deployers"}}}}"#
        ))
        .unwrap();
        assert_eq!(ok[0].0, DEPLOYER);
        assert_eq!(ok[0].1.argo_token.as_deref(), Some("argo_token_deployers"));
        assert_eq!(token_variables(&ok), ["argo_token_deployers"]);
        for bad in [
            r#"{"deployers": {}}"#.to_owned(),
            format!(r#"{{"{DEPLOYER}": {{"service_account": "Deployer"}}}}"#),
            format!(r#"{{"{DEPLOYER}": {{"argo_token": "ARGO-TOKEN"}}}}"#),
            format!(r#"{{"{DEPLOYER}": {{"token": "x"}}}}"#),
        ] {
            assert!(parse_roles(&bad).is_err(), "{bad}");
        }
    }
}
