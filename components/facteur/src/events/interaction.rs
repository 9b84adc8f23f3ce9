//! A CommandEvent as the interaction a slash command would have been, so that it goes through
//! the same checks and submission.

use std::collections::BTreeMap;

use super::{CommandEvent, SOURCE};
use crate::catalog::{Catalog, OptionKind};
use crate::discord::{
    CommandOption, Interaction, InteractionData, InteractionType, Member, OptionType, OptionValue, User,
};

impl CommandEvent {
    /// The interaction the event describes: its options under the command's names (the
    /// catalog's `kafka` source; as sent if they do not map, which [`screen`](Self::screen)
    /// refuses first) and typed by the catalog (events carry strings), so that it goes through
    /// the same checks as a slash command.
    pub fn to_interaction(&self, catalog: &Catalog) -> Interaction {
        let command = catalog.command(&self.command);
        let mapped = command.and_then(|c| c.map_source(SOURCE, &self.options).ok());
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
        for (key, value) in mapped.as_ref().unwrap_or(&self.options) {
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

    /// The trace the producer names (`trace_id`, `correlation_id`), for log lines and the
    /// workflow's annotations.
    pub fn trace(&self) -> crate::audit::Trace {
        crate::audit::Trace::from_event(&self.trace_id, &self.correlation_id)
    }

    /// When Discord sent the interaction, if the producer said so.
    pub fn received_at(&self) -> Option<u64> {
        crate::time::unix_seconds(&self.timestamp)
    }
}
