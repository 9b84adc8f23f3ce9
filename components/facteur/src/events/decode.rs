//! Decoding a message: a `facteur.v1.CommandEvent` (protobuf or JSON) or a lifecycle event.

use std::collections::BTreeMap;

use prost::Message as _;
use serde::Deserialize;

use super::Event;

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
