//! Messages on the worker's Redis channel, bridged from Kafka:
//! - `facteur.v1.CommandEvent` (`proto/facteur/v1/contract.proto`), as protobuf or its JSON
//!   form: a slash command that an existing pipeline published instead of POSTing it to us;
//! - workflow lifecycle events (JSON, `schemas/facteur-workflow-lifecycle.schema.json`): a
//!   run changed phase.

use std::collections::BTreeMap;

use prost::Message as _;
use serde::Deserialize;

use crate::catalog::{Catalog, OptionKind};
use crate::discord::{
    CommandOption, Interaction, InteractionData, InteractionType, Member, OptionValue, User, OptionType,
};

/// `facteur.v1.CommandEvent`. The JSON form accepts protobuf's camelCase names and the
/// field names of the `.proto`.
#[derive(Clone, PartialEq, prost::Message, Deserialize)]
#[prost(skip_debug)]
#[serde(default, rename_all = "camelCase")]
pub struct CommandEvent {
    #[prost(string, tag = "1")]
    pub provider: String,
    #[prost(string, tag = "2")]
    #[serde(alias = "interaction_id")]
    pub interaction_id: String,
    #[prost(string, tag = "3")]
    #[serde(alias = "application_id")]
    pub application_id: String,
    #[prost(string, tag = "4")]
    pub command: String,
    #[prost(string, tag = "5")]
    #[serde(alias = "command_id")]
    pub command_id: String,
    #[prost(uint32, tag = "6")]
    pub version: u32,
    #[prost(string, tag = "7")]
    pub token: String,
    #[prost(btree_map = "string, string", tag = "8")]
    pub options: BTreeMap<String, String>,
    #[prost(string, tag = "9")]
    #[serde(alias = "guild_id")]
    pub guild_id: String,
    #[prost(string, tag = "10")]
    #[serde(alias = "channel_id")]
    pub channel_id: String,
    #[prost(message, optional, tag = "11")]
    pub user: Option<DiscordUser>,
    #[prost(message, optional, tag = "12")]
    pub member: Option<DiscordMember>,
    #[prost(string, tag = "13")]
    pub locale: String,
    #[prost(string, tag = "14")]
    #[serde(alias = "guild_locale")]
    pub guild_locale: String,
    #[prost(message, optional, tag = "15")]
    pub response: Option<ResponseHint>,
    #[prost(string, tag = "16")]
    pub timestamp: String,
    #[prost(string, tag = "17")]
    #[serde(alias = "correlation_id")]
    pub correlation_id: String,
    #[prost(string, tag = "18")]
    #[serde(alias = "trace_id")]
    pub trace_id: String,
}

#[derive(Clone, PartialEq, prost::Message, Deserialize)]
#[serde(default, rename_all = "camelCase")]
pub struct DiscordUser {
    #[prost(string, tag = "1")]
    pub id: String,
    #[prost(string, tag = "2")]
    pub username: String,
    #[prost(string, tag = "3")]
    #[serde(alias = "global_name")]
    pub global_name: String,
    #[prost(string, tag = "4")]
    pub discriminator: String,
}

#[derive(Clone, PartialEq, prost::Message, Deserialize)]
#[serde(default)]
pub struct DiscordMember {
    #[prost(string, tag = "1")]
    pub id: String,
    #[prost(string, repeated, tag = "2")]
    pub roles: Vec<String>,
}

/// `facteur.v1.Response`: how the producer acknowledged the interaction.
#[derive(Clone, PartialEq, prost::Message, Deserialize)]
#[serde(default)]
pub struct ResponseHint {
    #[prost(uint32, tag = "1")]
    #[serde(rename = "type")]
    pub kind: u32,
    #[prost(uint32, optional, tag = "2")]
    pub flags: Option<u32>,
}

/// A run changed phase (schema `schemas/facteur-workflow-lifecycle.schema.json`).
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct LifecycleEvent {
    pub workflow: String,
    pub namespace: String,
    pub phase: String,
    #[serde(default)]
    pub started_at: Option<String>,
    #[serde(default)]
    pub finished_at: Option<String>,
    #[serde(default)]
    pub message: Option<String>,
}

#[derive(Debug, Clone, PartialEq)]
pub enum Event {
    Command(Box<CommandEvent>),
    Lifecycle(LifecycleEvent),
}

impl std::fmt::Debug for CommandEvent {
    // By hand, so that the interaction token never reaches a log line.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CommandEvent")
            .field("interaction_id", &self.interaction_id)
            .field("command", &self.command)
            .finish_non_exhaustive()
    }
}

/// Decodes a message: JSON (a lifecycle event or a CommandEvent) when it starts with `{`,
/// protobuf otherwise. The error says why a message cannot be used.
pub fn decode(payload: &[u8]) -> Result<Event, String> {
    let trimmed = payload.trim_ascii_start();
    let event = if trimmed.first() == Some(&b'{') {
        let value: serde_json::Value = serde_json::from_slice(trimmed).map_err(|e| format!("invalid JSON: {e}"))?;
        if value.get("workflow").is_some() && value.get("phase").is_some() {
            let event: LifecycleEvent =
                serde_json::from_value(value).map_err(|e| format!("invalid lifecycle event: {e}"))?;
            if event.workflow.is_empty() || event.namespace.is_empty() || event.phase.is_empty() {
                return Err("lifecycle event without workflow, namespace or phase".to_owned());
            }
            // The schema's phases only (`crate::argo::Phase` knows them).
            if let crate::argo::Phase::Other(phase) = crate::argo::Phase::parse(&event.phase) {
                return Err(format!("lifecycle event with an unknown phase `{phase}`"));
            }
            return Ok(Event::Lifecycle(event));
        }
        if value.get("command").is_none() {
            return Err("JSON message is neither a CommandEvent nor a lifecycle event".to_owned());
        }
        serde_json::from_value::<CommandEvent>(value).map_err(|e| format!("invalid CommandEvent JSON: {e}"))?
    } else {
        CommandEvent::decode(payload).map_err(|e| format!("not a CommandEvent protobuf: {e}"))?
    };
    if event.command.is_empty() || event.interaction_id.is_empty() {
        return Err("CommandEvent without command or interaction id".to_owned());
    }
    Ok(Event::Command(Box::new(event)))
}

impl CommandEvent {
    /// The interaction the event describes, with option values typed by the catalog
    /// (events carry them as strings), so it goes through the same checks as a slash command.
    pub fn to_interaction(&self, catalog: &Catalog) -> Interaction {
        let command = catalog.command(&self.command);
        let typed = |specs: Option<&[crate::catalog::OptionSpec]>, name: &str, value: &str| {
            let kind = specs.and_then(|s| s.iter().find(|o| o.name == name)).map(|o| o.kind);
            let (kind, value) = match kind {
                Some(OptionKind::Boolean) => match value {
                    "true" => (OptionType::Boolean, OptionValue::Boolean(true)),
                    "false" => (OptionType::Boolean, OptionValue::Boolean(false)),
                    other => (OptionType::String, OptionValue::String(other.to_owned())),
                },
                Some(OptionKind::Integer) => match value.parse() {
                    Ok(i) => (OptionType::Integer, OptionValue::Integer(i)),
                    Err(_) => (OptionType::String, OptionValue::String(value.to_owned())),
                },
                Some(OptionKind::Number) => match OptionValue::parse_number(value) {
                    Some(n) => (OptionType::Number, OptionValue::Number(n)),
                    None => (OptionType::String, OptionValue::String(value.to_owned())),
                },
                _ => (OptionType::String, OptionValue::String(value.to_owned())),
            };
            CommandOption { name: name.to_owned(), kind, value: Some(value), options: Vec::new(), focused: false }
        };
        // Flattened options: `name`, or `sub.name` below a subcommand.
        let mut options = Vec::new();
        let mut subcommands: BTreeMap<&str, Vec<CommandOption>> = BTreeMap::new();
        for (key, value) in &self.options {
            match key.split_once('.') {
                Some((sub, name)) => {
                    let specs = command
                        .and_then(|c| c.subcommands.iter().find(|s| s.name == sub))
                        .map(|s| s.options.as_slice());
                    subcommands.entry(sub).or_default().push(typed(specs, name, value));
                }
                None => options.push(typed(command.map(|c| c.options.as_slice()), key, value)),
            }
        }
        for (sub, nested) in subcommands {
            options.push(CommandOption {
                name: sub.to_owned(),
                kind: OptionType::SubCommand,
                value: None,
                options: nested,
                focused: false,
            });
        }
        let user = self.user.as_ref().map(|u| User { id: u.id.clone(), username: u.username.clone() });
        let member = self.member.as_ref().map(|m| Member {
            user: user.clone().or_else(|| Some(User { id: m.id.clone(), username: String::new() })),
            roles: m.roles.clone(),
        });
        let some = |s: &String| Some(s.clone()).filter(|s| !s.is_empty());
        Interaction {
            id: self.interaction_id.clone(),
            application_id: self.application_id.clone(),
            kind: InteractionType::ApplicationCommand,
            data: Some(InteractionData { name: Some(self.command.clone()), options, ..InteractionData::default() }),
            guild_id: some(&self.guild_id),
            channel_id: some(&self.channel_id),
            user: if member.is_some() { None } else { user },
            member,
            token: self.token.clone(),
        }
    }

    /// When Discord sent the interaction, if the producer said so.
    pub fn received_at(&self) -> Option<u64> {
        crate::time::unix_seconds(&self.timestamp)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn event() -> CommandEvent {
        CommandEvent {
            provider: "discord".into(),
            interaction_id: "1190000000000000001".into(),
            application_id: "2".into(),
            command: "plan".into(),
            token: "tok".into(),
            options: BTreeMap::from([("objective".into(), "Ship".into()), ("dry_run".into(), "true".into())]),
            guild_id: "5".into(),
            channel_id: "6".into(),
            user: Some(DiscordUser { id: "7".into(), username: "ada".into(), ..DiscordUser::default() }),
            member: Some(DiscordMember { id: "7".into(), roles: vec!["140000000000000001".into()] }),
            timestamp: "2026-11-27T08:15:30.123Z".into(),
            ..CommandEvent::default()
        }
    }

    #[test]
    fn protobuf_round_trip_and_interaction() {
        let bytes = event().encode_to_vec();
        let Event::Command(decoded) = decode(&bytes).unwrap() else { panic!("a command") };
        assert_eq!(*decoded, event());
        let interaction = decoded.to_interaction(&Catalog::embedded());
        assert_eq!(interaction.command_name(), Some("plan"));
        assert_eq!(interaction.roles().unwrap(), ["140000000000000001"]);
        assert_eq!(interaction.user_id(), Some("7"));
        assert_eq!(interaction.option("dry_run"), Some(&OptionValue::Boolean(true)));
        assert_eq!(decoded.received_at(), Some(1_795_767_330));
        let submission = Catalog::embedded().command("plan").unwrap().submission(&interaction).unwrap();
        assert!(submission.dry_run);
    }

    #[test]
    fn json_form_in_both_spellings() {
        let camel =
            br#"{"interactionId":"9","applicationId":"2","command":"plan","token":"t","options":{"objective":"Ship"},
                         "member":{"id":"7","roles":["140000000000000001"]},"user":{"id":"7","username":"ada"}}"#;
        let snake = br#"{"interaction_id":"9","application_id":"2","command":"plan","token":"t","options":{"objective":"Ship"}}"#;
        for json in [camel.as_slice(), snake.as_slice()] {
            let Event::Command(e) = decode(json).unwrap() else { panic!("a command") };
            assert_eq!((e.interaction_id.as_str(), e.options["objective"].as_str()), ("9", "Ship"));
        }
    }

    #[test]
    fn lifecycle_events() {
        let e = decode(
            br#"{"workflow":"plan-1","namespace":"argo","phase":"Succeeded","finishedAt":"2026-11-27T08:00:00Z"}"#,
        )
        .unwrap();
        assert_eq!(
            e,
            Event::Lifecycle(LifecycleEvent {
                workflow: "plan-1".into(),
                namespace: "argo".into(),
                phase: "Succeeded".into(),
                started_at: None,
                finished_at: Some("2026-11-27T08:00:00Z".into()),
                message: None
            })
        );
    }

    #[test]
    fn undecodable_messages_say_why() {
        assert!(decode(b"\xff\xfe garbage \x00\x01").unwrap_err().starts_with("not a CommandEvent protobuf"));
        assert!(decode(b"{not json").unwrap_err().starts_with("invalid JSON"));
        assert_eq!(
            decode(br#"{"hello":1}"#).unwrap_err(),
            "JSON message is neither a CommandEvent nor a lifecycle event"
        );
        assert_eq!(decode(b"").unwrap_err(), "CommandEvent without command or interaction id");
        assert_eq!(
            decode(br#"{"workflow":"","namespace":"a","phase":"x"}"#).unwrap_err(),
            "lifecycle event without workflow, namespace or phase"
        );
    }

    #[test]
    fn subcommand_options_are_nested() {
        let mut e = event();
        e.command = "workflow".into();
        e.options = BTreeMap::from([("logs.name".into(), "plan-1".into()), ("logs.tail".into(), "20".into())]);
        let i = e.to_interaction(&Catalog::embedded());
        assert_eq!(i.subcommand_path(), ["logs"]);
        assert_eq!(i.option("tail"), Some(&OptionValue::Integer(20)));
    }

    #[test]
    fn debug_output_has_no_token() {
        assert!(!format!("{:?}", event()).contains("tok"));
    }
}
