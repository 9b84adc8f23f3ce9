//! Whether a CommandEvent may be used: its ids and token, its options' names, its age.

use super::{CommandEvent, SOURCE};
use crate::catalog::Catalog;
use crate::discord::is_snowflake;

/// How far in the future a CommandEvent's `timestamp` may be (clock skew between the producer
/// and facteur). Further ahead would let a forged event escape the age limit.
pub const MAX_FUTURE_SKEW_SECS: u64 = 60;

/// Why a CommandEvent is not used. Values from the event are shown escaped and shortened.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Refusal {
    /// An id that is not a Discord snowflake (`field` names it as the `.proto` does).
    InvalidId { field: &'static str, value: String },
    /// An interaction token that could not be one (it goes into a Discord URL path).
    InvalidToken,
    /// No `timestamp`: the event's age cannot be checked.
    NoTimestamp,
    /// A `timestamp` that is not an RFC 3339 UTC time.
    BadTimestamp(String),
    /// Older than `event_max_age_secs`.
    TooOld { age: u64, max_age: u64 },
    /// Dated further in the future than [`MAX_FUTURE_SKEW_SECS`].
    FromTheFuture { ahead: u64 },
    /// Options that do not map onto the command's (`catalog::Command::map_source`): a
    /// producer's contract, not a member's input.
    Unmapped(String),
}

impl std::fmt::Display for Refusal {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::InvalidId { field, value } => write!(f, "`{field}` is not a Discord snowflake: `{value}`"),
            Self::InvalidToken => f.write_str("`token` is not an interaction token"),
            Self::NoTimestamp => f.write_str("no `timestamp`: its age cannot be checked"),
            Self::BadTimestamp(value) => write!(f, "`timestamp` `{value}` is not an RFC 3339 UTC time"),
            Self::TooOld { age, max_age } => {
                write!(f, "{age} s old, older than `event_max_age_secs` ({max_age} s)")
            }
            Self::FromTheFuture { ahead } => write!(f, "`timestamp` is {ahead} s in the future"),
            Self::Unmapped(reason) => f.write_str(reason),
        }
    }
}

/// `value` for a log line or an answer: at most 64 bytes, anything but printable ASCII as `?`
/// (so a value cannot forge a log line).
pub(super) fn shown(value: &str) -> String {
    let mut text: String =
        value.bytes().take(64).map(|b| if b == b' ' || b.is_ascii_graphic() { b as char } else { '?' }).collect();
    if value.len() > 64 {
        text.push('…');
    }
    text
}

impl CommandEvent {
    /// Every id is a snowflake (interaction and application ids required; guild, channel, user,
    /// member and role ids when present) and the token has nothing that would change a URL
    /// path. Checked before anything reads them: `channel_id` goes into a Discord API path sent
    /// with the bot token.
    pub fn check_ids(&self) -> Result<(), Refusal> {
        let required = [("interaction_id", self.interaction_id.as_str()), ("application_id", &self.application_id)];
        let optional = [
            ("guild_id", self.guild_id.as_str()),
            ("channel_id", &self.channel_id),
            ("user.id", self.user.as_ref().map_or("", |u| &u.id)),
            ("member.id", self.member.as_ref().map_or("", |m| &m.id)),
        ];
        let present = optional.into_iter().filter(|(_, id)| !id.is_empty());
        let roles = self.member.iter().flat_map(|m| &m.roles).map(|r| ("member.roles", r.as_str()));
        for (field, id) in required.into_iter().chain(present).chain(roles) {
            if !is_snowflake(id) {
                return Err(Refusal::InvalidId { field, value: shown(id) });
            }
        }
        // Discord's tokens are URL-safe text; no path separator, query, fragment, escape or
        // dot segment may reach `/webhooks/{application_id}/{token}/…`.
        let token = self.token.as_bytes();
        let unsafe_byte = |b: &u8| !b.is_ascii_graphic() || b"/?#%\\".contains(b);
        if token.len() > 1000
            || token.iter().any(unsafe_byte)
            || (!token.is_empty() && token.iter().all(|b| *b == b'.'))
        {
            return Err(Refusal::InvalidToken);
        }
        Ok(())
    }

    /// The event's age at `now` (seconds since its `timestamp`), or why it is refused: no or
    /// an unreadable timestamp, older than `max_age`, or dated in the future.
    pub fn check_age(&self, now: u64, max_age: u64) -> Result<u64, Refusal> {
        if self.timestamp.trim().is_empty() {
            return Err(Refusal::NoTimestamp);
        }
        let at = self.received_at().ok_or_else(|| Refusal::BadTimestamp(shown(&self.timestamp)))?;
        if at > now.saturating_add(MAX_FUTURE_SKEW_SECS) {
            return Err(Refusal::FromTheFuture { ahead: at - now });
        }
        let age = now.saturating_sub(at);
        if age > max_age {
            return Err(Refusal::TooOld { age, max_age });
        }
        Ok(age)
    }

    /// The options of a command of `catalog` map onto its own (renamed, JSON opened, ignored
    /// names dropped: the `kafka` source); their values are checked with the submission, where a
    /// member is told what is wrong. An unknown command is the worker's to answer.
    pub fn check_options(&self, catalog: &Catalog) -> Result<(), Refusal> {
        match catalog.command(&self.command) {
            Some(command) => command.map_source(SOURCE, &self.options).map(drop).map_err(Refusal::Unmapped),
            None => Ok(()),
        }
    }

    /// [`check_ids`](Self::check_ids), [`check_options`](Self::check_options), then
    /// [`check_age`](Self::check_age).
    pub fn screen(&self, catalog: &Catalog, now: u64, max_age: u64) -> Result<u64, Refusal> {
        self.check_ids()?;
        self.check_options(catalog)?;
        self.check_age(now, max_age)
    }
}
