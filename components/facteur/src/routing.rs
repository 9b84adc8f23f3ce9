//! Which component handles an interaction: slash commands and autocomplete by command name,
//! component clicks and modal submits by the `<command>:…` prefix of their `custom_id`.

use std::collections::BTreeMap;

use thiserror::Error;

use crate::discord::{Interaction, InteractionType};

/// Command name → Spin component id, e.g. `help, plan=workflow-plan`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Routes(BTreeMap<String, String>);

#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum RoutesError {
    #[error("route `{0}`: command names are 1 to 32 lowercase letters, digits, `-` or `_`")]
    Command(String),
    #[error("route `{0}`: component ids are lowercase words joined by `-` (Spin's rule)")]
    Component(String),
}

/// Where an interaction goes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Target<'a> {
    /// Answer PONG here.
    Pong,
    /// Forward to this component.
    Component { command: &'a str, component: &'a str },
    /// No component serves this command.
    Unknown { command: &'a str },
    /// A type this gateway does not route, or a payload without the name or custom_id it needs.
    Unroutable(InteractionType),
}

impl Routes {
    /// Parses a comma-separated list of `command` or `command=component` entries.
    /// A bare `command` is served by the component of the same id.
    pub fn parse(spec: &str) -> Result<Self, RoutesError> {
        let mut routes = BTreeMap::new();
        for entry in spec.split(',').map(str::trim).filter(|e| !e.is_empty()) {
            let (command, component) = entry.split_once('=').map_or((entry, entry), |(c, id)| (c.trim(), id.trim()));
            if !is_command_name(command) {
                return Err(RoutesError::Command(entry.to_owned()));
            }
            if !is_component_id(component) {
                return Err(RoutesError::Component(entry.to_owned()));
            }
            routes.insert(command.to_owned(), component.to_owned());
        }
        Ok(Self(routes))
    }

    /// Command names, sorted.
    pub fn commands(&self) -> impl Iterator<Item = &str> {
        self.0.keys().map(String::as_str)
    }

    pub fn component(&self, command: &str) -> Option<&str> {
        self.0.get(command).map(String::as_str)
    }

    pub fn route<'a>(&'a self, interaction: &'a Interaction) -> Target<'a> {
        let command = match interaction.kind {
            InteractionType::Ping => return Target::Pong,
            InteractionType::ApplicationCommand | InteractionType::Autocomplete => interaction.command_name(),
            InteractionType::MessageComponent | InteractionType::ModalSubmit => {
                interaction.custom_id().map(|id| id.split_once(':').map_or(id, |(prefix, _)| prefix))
            }
            InteractionType::Other(_) => None,
        };
        match command {
            None => Target::Unroutable(interaction.kind),
            Some(command) => match self.0.get_key_value(command) {
                Some((command, component)) => Target::Component { command, component },
                None => Target::Unknown { command },
            },
        }
    }
}

/// The service-chaining URL of a component (Spin: `http://<id>.spin.internal`).
pub fn chain_url(component: &str, path: &str) -> String {
    format!("http://{component}.spin.internal{path}")
}

fn is_command_name(name: &str) -> bool {
    (1..=32).contains(&name.len()) && name.bytes().all(|b| matches!(b, b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_'))
}

/// Spin component ids: `^[a-z][a-z0-9]*(-[a-z][a-z0-9]*)*$` (kebab-case words; each starts with a letter).
pub fn is_component_id(id: &str) -> bool {
    !id.is_empty()
        && id.split('-').all(|word| {
            word.as_bytes().first().is_some_and(u8::is_ascii_lowercase)
                && word.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit())
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn interaction(json: &str) -> Interaction {
        Interaction::parse(json.as_bytes()).unwrap()
    }

    fn routes() -> Routes {
        Routes::parse("help, plan=workflow-plan ,workflow").unwrap()
    }

    #[test]
    fn parses_entries() {
        let r = routes();
        assert_eq!(r.commands().collect::<Vec<_>>(), ["help", "plan", "workflow"]);
        assert_eq!(r.component("plan"), Some("workflow-plan"));
        assert_eq!(r.component("help"), Some("help"));
        assert_eq!(Routes::parse("").unwrap(), Routes::default());
    }

    #[test]
    fn rejects_bad_entries() {
        assert_eq!(Routes::parse("Plan"), Err(RoutesError::Command("Plan".into())));
        assert_eq!(Routes::parse("plan=Plan"), Err(RoutesError::Component("plan=Plan".into())));
        assert_eq!(Routes::parse("my_cmd"), Err(RoutesError::Component("my_cmd".into())));
        assert_eq!(Routes::parse("x=1abc"), Err(RoutesError::Component("x=1abc".into())));
        assert!(Routes::parse("my_cmd=my-cmd").is_ok());
    }

    #[test]
    fn routes_by_type() {
        let r = routes();
        assert_eq!(r.route(&interaction(r#"{"id":"1","application_id":"2","type":1}"#)), Target::Pong);
        assert_eq!(
            r.route(&interaction(r#"{"id":"1","application_id":"2","type":2,"data":{"name":"plan"}}"#)),
            Target::Component { command: "plan", component: "workflow-plan" }
        );
        assert_eq!(
            r.route(&interaction(r#"{"id":"1","application_id":"2","type":4,"data":{"name":"help","options":[]}}"#)),
            Target::Component { command: "help", component: "help" }
        );
        assert_eq!(
            r.route(&interaction(r#"{"id":"1","application_id":"2","type":3,"data":{"custom_id":"workflow:refresh:argo:x","component_type":2}}"#)),
            Target::Component { command: "workflow", component: "workflow" }
        );
        assert_eq!(
            r.route(&interaction(
                r#"{"id":"1","application_id":"2","type":5,"data":{"custom_id":"plan","components":[]}}"#
            )),
            Target::Component { command: "plan", component: "workflow-plan" }
        );
    }

    #[test]
    fn unknown_and_unroutable() {
        let r = routes();
        assert_eq!(
            r.route(&interaction(r#"{"id":"1","application_id":"2","type":2,"data":{"name":"nope"}}"#)),
            Target::Unknown { command: "nope" }
        );
        assert_eq!(
            r.route(&interaction(r#"{"id":"1","application_id":"2","type":2}"#)),
            Target::Unroutable(InteractionType::ApplicationCommand)
        );
        assert_eq!(
            r.route(&interaction(r#"{"id":"1","application_id":"2","type":12}"#)),
            Target::Unroutable(InteractionType::Other(12))
        );
    }

    #[test]
    fn chain_urls() {
        assert_eq!(chain_url("help", "/interactions"), "http://help.spin.internal/interactions");
    }
}
