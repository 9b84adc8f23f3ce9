//! Interaction responses and message payloads, built within Discord's limits.
//!
//! Text that comes from users or workflows is cut to fit (with an ellipsis) rather than
//! rejected by Discord later; identifiers we choose (`custom_id`) are checked and refused.

use serde::Serialize;
use thiserror::Error;

mod embed;
pub use embed::*;

pub const MAX_CONTENT: usize = 2000;
pub const MAX_EMBEDS: usize = 10;
pub const MAX_EMBED_TOTAL: usize = 6000;
pub const MAX_EMBED_TITLE: usize = 256;
pub const MAX_EMBED_DESCRIPTION: usize = 4096;
pub const MAX_EMBED_FIELDS: usize = 25;
pub const MAX_FIELD_NAME: usize = 256;
pub const MAX_FIELD_VALUE: usize = 1024;
pub const MAX_FOOTER: usize = 2048;
pub const MAX_CHOICES: usize = 25;
pub const MAX_CHOICE_NAME: usize = 100;
pub const MAX_CHOICE_VALUE: usize = 100;
pub const MAX_CUSTOM_ID: usize = 100;
pub const MAX_BUTTON_LABEL: usize = 80;
pub const MAX_BUTTONS_PER_ROW: usize = 5;
pub const MAX_ROWS: usize = 5;

/// Message flag: only the invoking member sees the message.
pub const EPHEMERAL: u64 = 1 << 6;

#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum LimitError {
    #[error("custom_id must be 1 to {MAX_CUSTOM_ID} characters, got {0}")]
    CustomId(usize),
    #[error("an action row holds at most {MAX_BUTTONS_PER_ROW} buttons")]
    TooManyButtons,
    #[error("a message holds at most {MAX_ROWS} action rows")]
    TooManyRows,
}

/// Interaction callback types (Discord: "Interaction Callback Type").
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CallbackType {
    Pong = 1,
    ChannelMessage = 4,
    DeferredChannelMessage = 5,
    DeferredUpdateMessage = 6,
    UpdateMessage = 7,
    AutocompleteResult = 8,
}

impl Serialize for CallbackType {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_u8(*self as u8)
    }
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct InteractionResponse {
    #[serde(rename = "type")]
    pub kind: CallbackType,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub data: Option<CallbackData>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(untagged)]
pub enum CallbackData {
    Message(Message),
    Autocomplete {
        choices: Vec<Choice>,
    },
    /// Deferred responses carry only flags.
    Flags {
        flags: u64,
    },
}

impl InteractionResponse {
    pub fn pong() -> Self {
        Self { kind: CallbackType::Pong, data: None }
    }

    /// Type 4: answer with a message now.
    pub fn message(message: Message) -> Self {
        Self { kind: CallbackType::ChannelMessage, data: Some(CallbackData::Message(message)) }
    }

    /// Type 4, visible only to the invoking member.
    pub fn ephemeral(content: impl Into<String>) -> Self {
        Self::message(Message::new(content).ephemeral())
    }

    /// Type 5: "thinking…" now, the message comes later by editing `@original`.
    /// Ephemerality is fixed here and cannot change when the message is edited.
    pub fn deferred(ephemeral: bool) -> Self {
        Self {
            kind: CallbackType::DeferredChannelMessage,
            data: ephemeral.then_some(CallbackData::Flags { flags: EPHEMERAL }),
        }
    }

    /// Whether the message it defers to is a public message of the channel (a deferred, not
    /// ephemeral, reply), which the bot may post there itself if the edit cannot be made. An
    /// update of a clicked message is not: the message may be ephemeral.
    pub fn is_public(&self) -> bool {
        self.kind == CallbackType::DeferredChannelMessage && self.data.is_none()
    }

    /// Type 6 (components only): acknowledge a click, edit the message later.
    pub fn deferred_update() -> Self {
        Self { kind: CallbackType::DeferredUpdateMessage, data: None }
    }

    /// Type 7 (components only): replace the message the component is on.
    pub fn update(message: Message) -> Self {
        Self { kind: CallbackType::UpdateMessage, data: Some(CallbackData::Message(message)) }
    }

    /// Type 8: autocomplete suggestions, at most 25.
    pub fn autocomplete(choices: impl IntoIterator<Item = Choice>) -> Self {
        let choices = choices.into_iter().take(MAX_CHOICES).collect();
        Self { kind: CallbackType::AutocompleteResult, data: Some(CallbackData::Autocomplete { choices }) }
    }

    pub fn to_json(&self) -> Vec<u8> {
        serde_json::to_vec(self).expect("responses always serialise")
    }
}

/// Message payload: inline responses, `@original` edits and follow-ups share it.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Message {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub content: Option<String>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub embeds: Vec<Embed>,
    pub allowed_mentions: AllowedMentions,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub flags: Option<u64>,
    /// Action rows. Serialised even when empty so an edit can remove old buttons.
    pub components: Vec<ActionRow>,
    /// Files sent with the message: their descriptions go in the JSON, their bytes in the
    /// `files[n]` parts of a `multipart/form-data` body (`discord::multipart`).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub attachments: Vec<Attachment>,
}

/// Mentions Discord may ping. Empty by default: echoed user input never pings anyone; a
/// message that must reach a member names exactly that member (`users`), never a `parse` kind.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct AllowedMentions {
    pub parse: Vec<String>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub users: Vec<String>,
}

/// A file attached to a message. `id` is its index, as text (a snowflake's type in Discord's
/// spec): the body part `files[{id}]` holds `content`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Attachment {
    pub id: String,
    pub filename: String,
    #[serde(skip)]
    pub content: Vec<u8>,
}

impl Message {
    pub fn new(content: impl Into<String>) -> Self {
        Self {
            content: Some(truncate(&content.into(), MAX_CONTENT)),
            embeds: Vec::new(),
            allowed_mentions: AllowedMentions::default(),
            flags: None,
            components: Vec::new(),
            attachments: Vec::new(),
        }
    }

    /// Pings `user_id` (a snowflake) at the start of the message, and nobody else.
    pub fn mention(mut self, user_id: &str) -> Self {
        let content = self.content.take().unwrap_or_default();
        self.content = Some(truncate(&format!("<@{user_id}> {content}"), MAX_CONTENT));
        self.allowed_mentions = AllowedMentions { parse: Vec::new(), users: vec![user_id.to_owned()] };
        self
    }

    /// Attaches a file as the next `files[n]` part.
    pub fn attach(mut self, filename: impl Into<String>, content: Vec<u8>) -> Self {
        let id = self.attachments.len().to_string();
        self.attachments.push(Attachment { id, filename: filename.into(), content });
        self
    }

    pub fn ephemeral(mut self) -> Self {
        self.flags = Some(self.flags.unwrap_or(0) | EPHEMERAL);
        self
    }

    /// Adds an embed; embeds beyond ten, or beyond the 6,000-character total, are cut.
    pub fn embed(mut self, embed: Embed) -> Self {
        if self.embeds.len() < MAX_EMBEDS {
            let used: usize = self.embeds.iter().map(Embed::text_len).sum();
            self.embeds.push(embed.fit(MAX_EMBED_TOTAL.saturating_sub(used)));
        }
        self
    }

    /// Adds a row of buttons.
    pub fn buttons(mut self, buttons: Vec<Button>) -> Result<Self, LimitError> {
        if buttons.len() > MAX_BUTTONS_PER_ROW {
            return Err(LimitError::TooManyButtons);
        }
        if self.components.len() >= MAX_ROWS {
            return Err(LimitError::TooManyRows);
        }
        self.components.push(ActionRow::new(buttons.into_iter().collect()));
        Ok(self)
    }
}

/// A row of buttons (the only components facteur sends).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ActionRow {
    #[serde(rename = "type")]
    kind: u8,
    pub components: Vec<Button>,
}

impl ActionRow {
    pub fn new(components: Vec<Button>) -> Self {
        Self { kind: 1, components }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ButtonStyle {
    Primary = 1,
    Secondary = 2,
    Success = 3,
    Danger = 4,
    Link = 5,
}

impl Serialize for ButtonStyle {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_u8(*self as u8)
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Button {
    #[serde(rename = "type")]
    kind: u8,
    pub style: ButtonStyle,
    pub label: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub custom_id: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub url: Option<String>,
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub disabled: bool,
}

impl Button {
    /// A button whose click comes back as an interaction with this `custom_id`.
    pub fn action(
        style: ButtonStyle,
        label: impl Into<String>,
        custom_id: impl Into<String>,
    ) -> Result<Self, LimitError> {
        let custom_id = checked_custom_id(custom_id.into())?;
        Ok(Self {
            kind: 2,
            style,
            label: truncate(&label.into(), MAX_BUTTON_LABEL),
            custom_id: Some(custom_id),
            url: None,
            disabled: false,
        })
    }

    /// A button that opens a URL (no interaction comes back).
    pub fn link(label: impl Into<String>, url: impl Into<String>) -> Self {
        Self {
            kind: 2,
            style: ButtonStyle::Link,
            label: truncate(&label.into(), MAX_BUTTON_LABEL),
            custom_id: None,
            url: Some(url.into()),
            disabled: false,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Choice {
    pub name: String,
    pub value: serde_json::Value,
}

impl Choice {
    /// A string choice; the name is cut to 100 characters, the value too.
    pub fn string(name: impl Into<String>, value: impl Into<String>) -> Self {
        Self {
            name: truncate(&name.into(), MAX_CHOICE_NAME),
            value: serde_json::Value::String(truncate(&value.into(), MAX_CHOICE_VALUE)),
        }
    }
}

fn checked_custom_id(id: String) -> Result<String, LimitError> {
    let len = id.chars().count();
    if (1..=MAX_CUSTOM_ID).contains(&len) { Ok(id) } else { Err(LimitError::CustomId(len)) }
}

/// Cuts `text` to at most `max` characters (not bytes), ending with "…" when cut.
pub fn truncate(text: &str, max: usize) -> String {
    if text.chars().count() <= max {
        return text.to_owned();
    }
    let mut out: String = text.chars().take(max.saturating_sub(1)).collect();
    if max > 0 {
        out.push('…');
    }
    out
}

#[cfg(test)]
mod tests;
