//! The command catalog (`config/commands.json`, schema `schemas/facteur-commands.schema.json`):
//! each slash command's Discord definition and what it does. The same file drives
//! registration with Discord, routing, `/help`, and the submission of workflows, so they
//! cannot drift apart. The build script validates it and compiles it into the library.

use std::collections::BTreeMap;

use crate::discord::OptionType;

mod mapping;
mod model;
mod pattern;
mod sources;
#[cfg(test)]
mod tests;
mod validate;

pub use mapping::*;
pub use model::*;

/// The catalog shipped in `config/commands.json`, as text (the CLI and tests read it).
pub const EMBEDDED: &str = include_str!("../../../../config/commands.json");

impl OptionKind {
    pub fn discord_type(self) -> OptionType {
        match self {
            Self::String => OptionType::String,
            Self::Integer => OptionType::Integer,
            Self::Boolean => OptionType::Boolean,
            Self::Number => OptionType::Number,
        }
    }
}

impl Catalog {
    /// The catalog compiled into this build.
    pub fn embedded() -> Self {
        // Written by build.rs from config/commands.json, validated there.
        include!(concat!(env!("OUT_DIR"), "/catalog.rs"))
    }

    pub fn command(&self, name: &str) -> Option<&Command> {
        self.commands.iter().find(|c| c.name == name)
    }

    /// Discord's "bulk overwrite" body: every command's definition without facteur's fields
    /// (`allow_dms`: see [`Command::discord_definition`]).
    pub fn discord_definitions(&self, allow_dms: bool) -> serde_json::Value {
        serde_json::Value::Array(self.commands.iter().map(|c| c.discord_definition(allow_dms)).collect())
    }
}

fn option_definitions(options: &[OptionSpec]) -> Vec<serde_json::Value> {
    options
        .iter()
        .map(|o| {
            let mut def = serde_json::json!({
                "type": u8::from(o.kind.discord_type()),
                "name": o.name,
                "description": o.description,
                "required": o.required,
            });
            let map = def.as_object_mut().expect("an object");
            if !o.choices.is_empty() {
                map.insert(
                    "choices".into(),
                    serde_json::to_value(
                        o.choices
                            .iter()
                            .map(|c| serde_json::json!({"name": c.name, "value": c.value}))
                            .collect::<Vec<_>>(),
                    )
                    .expect("json"),
                );
            }
            if o.autocomplete {
                map.insert("autocomplete".into(), true.into());
            }
            for (key, value) in [("min_length", o.min_length), ("max_length", o.max_length)] {
                if let Some(v) = value {
                    map.insert(key.into(), v.into());
                }
            }
            for (key, value) in [("min_value", o.min_value), ("max_value", o.max_value)] {
                if let Some(v) = value {
                    map.insert(key.into(), v.into());
                }
            }
            def
        })
        .collect()
}

impl Command {
    /// What Discord should have: the options, and who is offered the command. Without
    /// `contexts`, guilds only, and DMs with the bot too when `allow_dms` (the variable that
    /// lets DMs through the policy); without `integration_types`, a guild installation only.
    /// Field types as Discord's spec has them at registration: integers, the permission
    /// bitfield included (`ApplicationCommandUpdateRequest`; Discord answers it as a string).
    pub fn discord_definition(&self, allow_dms: bool) -> serde_json::Value {
        let options = if self.subcommands.is_empty() {
            option_definitions(&self.options)
        } else {
            self.subcommands
                .iter()
                .map(|sub| {
                    serde_json::json!({
                        "type": u8::from(OptionType::SubCommand), "name": sub.name, "description": sub.description,
                        "options": option_definitions(&sub.options),
                    })
                })
                .collect()
        };
        let contexts = self.contexts.clone().unwrap_or_else(|| match allow_dms {
            true => vec![InteractionContext::Guild, InteractionContext::BotDm],
            false => vec![InteractionContext::Guild],
        });
        let integration_types = self.integration_types.clone().unwrap_or(vec![IntegrationType::GuildInstall]);
        let mut definition = serde_json::json!({
            "name": self.name, "type": 1, "description": self.description, "options": options,
            "contexts": contexts.iter().map(|c| *c as u8).collect::<Vec<_>>(),
            "integration_types": integration_types.iter().map(|t| *t as u8).collect::<Vec<_>>(),
        });
        if let Some(bits) = self.default_member_permissions.as_deref().and_then(|b| b.parse::<u64>().ok()) {
            definition["default_member_permissions"] = bits.into();
        }
        definition
    }

    /// Role map keys of the command's actions: `workflow:status`, … (none without subcommands).
    pub fn action_keys(&self) -> impl Iterator<Item = String> + '_ {
        self.subcommands.iter().map(|sub| format!("{}:{}", self.name, sub.name))
    }
}
