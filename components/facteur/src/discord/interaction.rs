//! The interaction object Discord POSTs to the endpoint, reduced to the fields a bot acts on.
//! Unknown fields are ignored; unknown type numbers are kept, so nothing fails to parse
//! just because Discord added a variant.

use serde::{Deserialize, Serialize};

/// Interaction types (Discord: "Interaction Type").
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(from = "u8", into = "u8")]
pub enum InteractionType {
    Ping,
    ApplicationCommand,
    MessageComponent,
    Autocomplete,
    ModalSubmit,
    Other(u8),
}

impl From<u8> for InteractionType {
    fn from(value: u8) -> Self {
        match value {
            1 => Self::Ping,
            2 => Self::ApplicationCommand,
            3 => Self::MessageComponent,
            4 => Self::Autocomplete,
            5 => Self::ModalSubmit,
            other => Self::Other(other),
        }
    }
}

impl From<InteractionType> for u8 {
    fn from(value: InteractionType) -> Self {
        match value {
            InteractionType::Ping => 1,
            InteractionType::ApplicationCommand => 2,
            InteractionType::MessageComponent => 3,
            InteractionType::Autocomplete => 4,
            InteractionType::ModalSubmit => 5,
            InteractionType::Other(other) => other,
        }
    }
}

/// Application command option types (Discord: "Application Command Option Type"). Unknown
/// numbers are kept, like interaction types.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(from = "u8", into = "u8")]
pub enum OptionType {
    SubCommand,
    SubCommandGroup,
    String,
    Integer,
    Boolean,
    User,
    Channel,
    Role,
    Mentionable,
    Number,
    Attachment,
    Other(u8),
}

impl OptionType {
    /// A subcommand or group: its options are below it.
    pub fn is_subcommand(self) -> bool {
        matches!(self, Self::SubCommand | Self::SubCommandGroup)
    }
}

impl From<u8> for OptionType {
    fn from(value: u8) -> Self {
        match value {
            1 => Self::SubCommand,
            2 => Self::SubCommandGroup,
            3 => Self::String,
            4 => Self::Integer,
            5 => Self::Boolean,
            6 => Self::User,
            7 => Self::Channel,
            8 => Self::Role,
            9 => Self::Mentionable,
            10 => Self::Number,
            11 => Self::Attachment,
            other => Self::Other(other),
        }
    }
}

impl From<OptionType> for u8 {
    fn from(value: OptionType) -> Self {
        match value {
            OptionType::SubCommand => 1,
            OptionType::SubCommandGroup => 2,
            OptionType::String => 3,
            OptionType::Integer => 4,
            OptionType::Boolean => 5,
            OptionType::User => 6,
            OptionType::Channel => 7,
            OptionType::Role => 8,
            OptionType::Mentionable => 9,
            OptionType::Number => 10,
            OptionType::Attachment => 11,
            OptionType::Other(other) => other,
        }
    }
}

#[derive(Clone, PartialEq, Serialize, Deserialize)]
pub struct Interaction {
    pub id: String,
    pub application_id: String,
    #[serde(rename = "type")]
    pub kind: InteractionType,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub data: Option<InteractionData>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub guild_id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub channel_id: Option<String>,
    /// Present in guilds.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub member: Option<Member>,
    /// Present in DMs (instead of `member`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub user: Option<User>,
    #[serde(default)]
    pub token: String,
}

impl std::fmt::Debug for Interaction {
    // By hand: the interaction token never reaches a log line.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Interaction")
            .field("id", &self.id)
            .field("application_id", &self.application_id)
            .field("kind", &self.kind)
            .field("data", &self.data)
            .field("guild_id", &self.guild_id)
            .field("channel_id", &self.channel_id)
            .field("member", &self.member)
            .field("user", &self.user)
            .field("has_token", &!self.token.is_empty())
            .finish()
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct User {
    pub id: String,
    #[serde(default)]
    pub username: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Member {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub user: Option<User>,
    #[serde(default)]
    pub roles: Vec<String>,
}

/// `data` of every interaction type. Discord's per-type shapes do not share field names,
/// so one struct with optional fields covers commands, autocomplete, components and modals.
/// Only what facteur acts on is read. An unread field can never refuse an interaction: a
/// component click on a Components V2 message carries a numeric `data.id` where a command
/// carries a snowflake string, and both must parse (tests/corpus/discord).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct InteractionData {
    // Application commands and autocomplete.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub options: Vec<CommandOption>,
    // Message components and modal submits.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub custom_id: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CommandOption {
    pub name: String,
    #[serde(rename = "type")]
    pub kind: OptionType,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub value: Option<OptionValue>,
    /// Nested options of a subcommand or subcommand group.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub options: Vec<CommandOption>,
    /// Autocomplete: the option the member is typing.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub focused: bool,
}

/// An option's value as Discord sends it: strings (also snowflakes of users, channels,
/// roles, attachments), integers, numbers or booleans. Written and read as plain JSON values.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(untagged)]
pub enum OptionValue {
    Boolean(bool),
    Integer(i64),
    Number(f64),
    String(String),
}

impl OptionValue {
    pub fn as_str(&self) -> Option<&str> {
        match self {
            Self::String(s) => Some(s),
            _ => None,
        }
    }

    /// A number in JSON's grammar (no `NaN`, `inf` or `1.`). Numbers are read and written
    /// through serde_json, so a component carries one float codec, not two.
    pub fn parse_number(text: &str) -> Option<f64> {
        serde_json::from_str::<f64>(text.trim()).ok()
    }
}

impl std::fmt::Display for OptionValue {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Boolean(b) => write!(f, "{b}"),
            Self::Integer(i) => write!(f, "{i}"),
            // Finite: JSON has no other numbers.
            Self::Number(n) => serde_json::Number::from_f64(*n).map_or(Ok(()), |n| write!(f, "{n}")),
            Self::String(s) => f.write_str(s),
        }
    }
}

// By hand rather than `#[serde(untagged)]`, which buffers every value before trying each variant.
impl<'de> Deserialize<'de> for OptionValue {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct Visitor;
        impl serde::de::Visitor<'_> for Visitor {
            type Value = OptionValue;
            fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
                f.write_str("a string, number or boolean")
            }
            fn visit_bool<E>(self, v: bool) -> Result<OptionValue, E> {
                Ok(OptionValue::Boolean(v))
            }
            fn visit_i64<E>(self, v: i64) -> Result<OptionValue, E> {
                Ok(OptionValue::Integer(v))
            }
            fn visit_u64<E: serde::de::Error>(self, v: u64) -> Result<OptionValue, E> {
                i64::try_from(v).map(OptionValue::Integer).map_err(|_| E::custom("integer out of range"))
            }
            fn visit_f64<E>(self, v: f64) -> Result<OptionValue, E> {
                Ok(OptionValue::Number(v))
            }
            fn visit_str<E>(self, v: &str) -> Result<OptionValue, E> {
                Ok(OptionValue::String(v.to_owned()))
            }
            fn visit_string<E>(self, v: String) -> Result<OptionValue, E> {
                Ok(OptionValue::String(v))
            }
        }
        deserializer.deserialize_any(Visitor)
    }
}

/// A leaf option with the subcommand path that leads to it.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct LeafOption<'a> {
    pub name: &'a str,
    pub kind: OptionType,
    pub value: Option<&'a OptionValue>,
    pub focused: bool,
}

impl Interaction {
    pub fn parse(body: &[u8]) -> Result<Self, serde_json::Error> {
        serde_json::from_slice(body)
    }

    /// The invoking user: `member.user` in guilds, `user` in DMs.
    pub fn invoker(&self) -> Option<&User> {
        self.member.as_ref().and_then(|m| m.user.as_ref()).or(self.user.as_ref())
    }

    pub fn user_id(&self) -> Option<&str> {
        self.invoker().map(|u| u.id.as_str())
    }

    /// The member's roles; `None` outside a guild (a DM has no roles to check).
    pub fn roles(&self) -> Option<&[String]> {
        self.member.as_ref().map(|m| m.roles.as_slice())
    }

    pub fn is_dm(&self) -> bool {
        self.member.is_none()
    }

    /// The command name of an application command or autocomplete interaction.
    pub fn command_name(&self) -> Option<&str> {
        self.data.as_ref()?.name.as_deref()
    }

    /// The `custom_id` of a component click or modal submit.
    pub fn custom_id(&self) -> Option<&str> {
        self.data.as_ref()?.custom_id.as_deref()
    }

    /// The subcommand path (group and subcommand names), e.g. `["status"]` for
    /// `/workflow status`, empty for a command without subcommands.
    pub fn subcommand_path(&self) -> Vec<&str> {
        let mut path = Vec::new();
        let mut options = self.top_options();
        while let Some(sub) = options.iter().find(|o| o.kind.is_subcommand()) {
            path.push(sub.name.as_str());
            options = &sub.options;
        }
        path
    }

    /// The options the member filled in, below any subcommand.
    pub fn leaf_options(&self) -> Vec<LeafOption<'_>> {
        let mut options = self.top_options();
        while let Some(sub) = options.iter().find(|o| o.kind.is_subcommand()) {
            options = &sub.options;
        }
        options
            .iter()
            .map(|o| LeafOption { name: &o.name, kind: o.kind, value: o.value.as_ref(), focused: o.focused })
            .collect()
    }

    pub fn option(&self, name: &str) -> Option<&OptionValue> {
        self.leaf_options().into_iter().find(|o| o.name == name).and_then(|o| o.value)
    }

    /// Autocomplete: the option being typed.
    pub fn focused_option(&self) -> Option<LeafOption<'_>> {
        self.leaf_options().into_iter().find(|o| o.focused)
    }

    fn top_options(&self) -> &[CommandOption] {
        self.data.as_ref().map_or(&[], |d| d.options.as_slice())
    }
}

#[cfg(test)]
mod tests;
