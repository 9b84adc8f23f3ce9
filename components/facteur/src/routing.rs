//! Which component handles an interaction: slash commands and autocomplete by command name,
//! component clicks and modal submits by the `<command>:…` prefix of their `custom_id`.

use crate::catalog::Catalog;
use crate::discord::{Interaction, InteractionType};

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

/// Routes by the catalog: command name for commands and autocomplete, the `<command>:`
/// prefix of the `custom_id` for component clicks and modal submits.
pub fn route<'a>(catalog: &'a Catalog, interaction: &'a Interaction) -> Target<'a> {
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
        Some(command) => match catalog.command(command) {
            Some(c) => Target::Component { command: &c.name, component: &c.component },
            None => Target::Unknown { command },
        },
    }
}

/// The service-chaining URL of a component (Spin: `http://<id>.spin.internal`).
pub fn chain_url(component: &str, path: &str) -> String {
    format!("http://{component}.spin.internal{path}")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn interaction(json: &str) -> Interaction {
        Interaction::parse(json.as_bytes()).unwrap()
    }

    fn catalog() -> Catalog {
        Catalog::parse(
            r#"{"commands": [
                {"name": "help", "description": "h", "component": "help"},
                {"name": "plan", "description": "p", "component": "workflow-plan"}
            ]}"#,
        )
        .unwrap()
    }

    #[test]
    fn routes_by_type() {
        let c = catalog();
        let check = |json: &str, expected: Target| assert_eq!(route(&c, &interaction(json)), expected);
        check(r#"{"id":"1","application_id":"2","type":1}"#, Target::Pong);
        check(
            r#"{"id":"1","application_id":"2","type":2,"data":{"name":"plan"}}"#,
            Target::Component { command: "plan", component: "workflow-plan" },
        );
        check(
            r#"{"id":"1","application_id":"2","type":4,"data":{"name":"help","options":[]}}"#,
            Target::Component { command: "help", component: "help" },
        );
        check(
            r#"{"id":"1","application_id":"2","type":3,"data":{"custom_id":"plan:refresh:argo:x","component_type":2}}"#,
            Target::Component { command: "plan", component: "workflow-plan" },
        );
        check(
            r#"{"id":"1","application_id":"2","type":5,"data":{"custom_id":"help","components":[]}}"#,
            Target::Component { command: "help", component: "help" },
        );
    }

    #[test]
    fn unknown_and_unroutable() {
        let c = catalog();
        let i = interaction(r#"{"id":"1","application_id":"2","type":2,"data":{"name":"nope"}}"#);
        assert_eq!(route(&c, &i), Target::Unknown { command: "nope" });
        let i = interaction(r#"{"id":"1","application_id":"2","type":2}"#);
        assert_eq!(route(&c, &i), Target::Unroutable(InteractionType::ApplicationCommand));
        let i = interaction(r#"{"id":"1","application_id":"2","type":12}"#);
        assert_eq!(route(&c, &i), Target::Unroutable(InteractionType::Other(12)));
    }

    #[test]
    fn chain_urls() {
        assert_eq!(chain_url("help", "/interactions"), "http://help.spin.internal/interactions");
    }
}
