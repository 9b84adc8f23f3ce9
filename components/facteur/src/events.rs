//! Messages on the worker's Redis channel, bridged from Kafka:
//! - `facteur.v1.CommandEvent` (`proto/facteur/v1/contract.proto`), as protobuf or its JSON
//!   form: a slash command that an existing pipeline published instead of POSTing it to us;
//! - workflow lifecycle events (JSON, `schemas/facteur-workflow-lifecycle.schema.json`): a
//!   run changed phase.
//!
//! The two kinds travel apart ([`Kind`]): their own bridge route, secret and Redis channel, and
//! each bridge and worker refuses the other kind, so a sender trusted to report a run's phase
//! (a workflow pod) cannot start a command. A CommandEvent is used only once its ids are
//! snowflakes and it is younger than the configured age ([`CommandEvent::screen`]); the
//! worker's intake is [`accept`].

use std::collections::BTreeMap;

use prost::Message as _;
use serde::Deserialize;

use crate::catalog::{Catalog, OptionKind};
use crate::discord::{
    CommandOption, Interaction, InteractionData, InteractionType, Member, OptionType, OptionValue, User, is_snowflake,
};
use crate::ports::Ports;

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

/// Which kind of message a bridge route or a worker's channel carries (the component variable
/// `accepts`: `commands` or `lifecycle`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// `facteur.v1.CommandEvent`: starts a command as the member it names.
    Command,
    /// A workflow lifecycle event: can only report a run's phase.
    Lifecycle,
}

impl Kind {
    pub fn parse(value: &str) -> Option<Self> {
        match value {
            "commands" => Some(Self::Command),
            "lifecycle" => Some(Self::Lifecycle),
            _ => None,
        }
    }

    /// The value of `accepts`.
    pub fn name(self) -> &'static str {
        match self {
            Self::Command => "commands",
            Self::Lifecycle => "lifecycle",
        }
    }

    fn one(self) -> &'static str {
        match self {
            Self::Command => "a CommandEvent",
            Self::Lifecycle => "a lifecycle event",
        }
    }

    fn many(self) -> &'static str {
        match self {
            Self::Command => "CommandEvents",
            Self::Lifecycle => "lifecycle events",
        }
    }
}

impl Event {
    pub fn kind(&self) -> Kind {
        match self {
            Self::Command(_) => Kind::Command,
            Self::Lifecycle(_) => Kind::Lifecycle,
        }
    }
}

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
        }
    }
}

/// `value` for a log line or an answer: at most 64 bytes, anything but printable ASCII as `?`
/// (so a value cannot forge a log line).
fn shown(value: &str) -> String {
    let mut text: String =
        value.bytes().take(64).map(|b| if b == b' ' || b.is_ascii_graphic() { b as char } else { '?' }).collect();
    if value.len() > 64 {
        text.push('…');
    }
    text
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

    /// The trace the producer names (`trace_id`, `correlation_id`), for log lines and the
    /// workflow's annotations.
    pub fn trace(&self) -> crate::audit::Trace {
        crate::audit::Trace::from_event(&self.trace_id, &self.correlation_id)
    }

    /// When Discord sent the interaction, if the producer said so.
    pub fn received_at(&self) -> Option<u64> {
        crate::time::unix_seconds(&self.timestamp)
    }

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

    /// [`check_ids`](Self::check_ids), then [`check_age`](Self::check_age).
    pub fn screen(&self, now: u64, max_age: u64) -> Result<u64, Refusal> {
        self.check_ids()?;
        self.check_age(now, max_age)
    }
}

/// What a bridge route for `kind` may publish: a record that decodes to an event of that kind,
/// and for a CommandEvent, whose ids are valid. The reason otherwise (the bridge answers 422, so
/// Knative's dead-letter sink keeps the record). The age is the worker's to check: it is the
/// age when the event is used that matters.
pub fn admit_record(kind: Kind, record: &[u8]) -> Result<Event, String> {
    let event = decode(record)?;
    if event.kind() != kind {
        return Err(format!("this route takes {} only, not {}", kind.many(), event.kind().one()));
    }
    if let Event::Command(command) = &event {
        command.check_ids().map_err(|refusal| format!("CommandEvent refused: {refusal}"))?;
    }
    Ok(event)
}

/// A worker's intake of one message from its channel, which carries `kind`: the event to act
/// on, or `None` when it is dropped, with one log line saying why (undecodable, the other kind,
/// a CommandEvent whose ids are not snowflakes, or older than `max_age` seconds, or without a
/// timestamp). Nothing else has been done with a dropped message.
pub fn accept(ports: &impl Ports, kind: Kind, payload: &[u8], max_age: u64) -> Option<Event> {
    let event = match decode(payload) {
        Ok(event) => event,
        Err(reason) => {
            ports.log(format!("dropped a message of {} bytes: {reason}", payload.len()));
            return None;
        }
    };
    let reason = if event.kind() != kind {
        format!("it arrived on the {} channel, which carries {} only", kind.name(), kind.many())
    } else if let Event::Command(command) = &event
        && let Err(refusal) = command.screen(ports.now(), max_age)
    {
        refusal.to_string()
    } else {
        return Some(event);
    };
    let about = match &event {
        Event::Command(c) => format!("CommandEvent `{}` (`/{}`)", shown(&c.interaction_id), shown(&c.command)),
        Event::Lifecycle(l) => {
            format!("lifecycle event `{}/{}` ({})", shown(&l.namespace), shown(&l.workflow), shown(&l.phase))
        }
    };
    ports.log(format!("refused {about}: {reason}; dropped"));
    None
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

    // Queue trust: kinds, ids, age (issue 15, item 2).

    fn fresh(now: u64) -> CommandEvent {
        let mut e = event();
        e.application_id = "1170000000000000000".into();
        e.guild_id = "1100000000000000000".into();
        e.channel_id = "1110000000000000000".into();
        e.timestamp = "2026-11-27T08:15:30Z".into();
        assert_eq!(e.received_at(), Some(now - 10));
        e
    }

    const NOW: u64 = 1_795_767_340;
    const LIFECYCLE: &[u8] = br#"{"workflow":"plan-1","namespace":"argo","phase":"Succeeded"}"#;

    #[test]
    fn kinds_are_named_by_the_accepts_variable() {
        assert_eq!(Kind::parse("commands"), Some(Kind::Command));
        assert_eq!(Kind::parse("lifecycle"), Some(Kind::Lifecycle));
        assert_eq!(Kind::parse("command"), None);
        assert_eq!(Kind::Command.name(), "commands");
        assert_eq!(decode(LIFECYCLE).unwrap().kind(), Kind::Lifecycle);
        assert_eq!(decode(&event().encode_to_vec()).unwrap().kind(), Kind::Command);
    }

    #[test]
    fn every_id_must_be_a_snowflake() {
        assert_eq!(fresh(NOW).check_ids(), Ok(()));
        let refused = |change: fn(&mut CommandEvent)| {
            let mut e = fresh(NOW);
            change(&mut e);
            e.check_ids().unwrap_err().to_string()
        };
        assert_eq!(
            refused(|e| e.channel_id = "../../users/@me".into()),
            "`channel_id` is not a Discord snowflake: `../../users/@me`"
        );
        assert_eq!(refused(|e| e.interaction_id = "1/2".into()), "`interaction_id` is not a Discord snowflake: `1/2`");
        assert_eq!(refused(|e| e.application_id.clear()), "`application_id` is not a Discord snowflake: ``");
        assert_eq!(refused(|e| e.guild_id = "-5".into()), "`guild_id` is not a Discord snowflake: `-5`");
        assert_eq!(
            refused(|e| e.user.as_mut().unwrap().id = "7\nforged log line".into()),
            "`user.id` is not a Discord snowflake: `7?forged log line`"
        );
        assert_eq!(
            refused(|e| e.member.as_mut().unwrap().id = "x".into()),
            "`member.id` is not a Discord snowflake: `x`"
        );
        assert_eq!(
            refused(|e| e.member.as_mut().unwrap().roles.push("18446744073709551616".into())),
            "`member.roles` is not a Discord snowflake: `18446744073709551616`"
        );
        let long = refused(|e| e.channel_id = "9".repeat(100));
        assert!(long.ends_with(&format!("`{}…`", "9".repeat(64))), "{long}");
        // Absent optional ids are fine (a DM has no guild; an event may name no channel).
        let mut e = fresh(NOW);
        (e.guild_id, e.channel_id, e.user, e.member) = (String::new(), String::new(), None, None);
        assert_eq!(e.check_ids(), Ok(()));
    }

    #[test]
    fn a_token_that_would_change_a_url_path_is_refused() {
        for token in ["a/b", "..", ".", "t?x=1", "t#f", "t%2F", "t\\u", "t n", "t\n", &"t".repeat(1001)] {
            let mut e = fresh(NOW);
            e.token = token.to_owned();
            assert_eq!(e.check_ids(), Err(Refusal::InvalidToken), "{token:?}");
        }
        for token in ["", "aW50ZXJhY3Rpb246MTE5MDAwMDAwMDAwMDAwMDAwMTpabc_-.~", "token-1190000000000000001"] {
            let mut e = fresh(NOW);
            e.token = token.to_owned();
            assert_eq!(e.check_ids(), Ok(()), "{token:?}");
        }
    }

    #[test]
    fn events_older_than_the_limit_or_without_a_timestamp_are_refused() {
        let e = fresh(NOW);
        assert_eq!(e.check_age(NOW, 900), Ok(10));
        assert_eq!(e.check_age(NOW + 890, 900), Ok(900), "exactly the limit is accepted");
        assert_eq!(e.check_age(NOW + 891, 900), Err(Refusal::TooOld { age: 901, max_age: 900 }));
        assert_eq!(
            e.check_age(NOW + 3590, 900).unwrap_err().to_string(),
            "3600 s old, older than `event_max_age_secs` (900 s)"
        );
        assert_eq!(e.check_age(NOW - 70, 900), Ok(0), "up to a minute of clock skew");
        assert_eq!(e.check_age(NOW - 71, 900), Err(Refusal::FromTheFuture { ahead: 61 }));
        let mut none = fresh(NOW);
        none.timestamp.clear();
        assert_eq!(none.check_age(NOW, 900).unwrap_err().to_string(), "no `timestamp`: its age cannot be checked");
        let mut bad = fresh(NOW);
        bad.timestamp = "yesterday".into();
        assert_eq!(
            bad.check_age(NOW, 900).unwrap_err().to_string(),
            "`timestamp` `yesterday` is not an RFC 3339 UTC time"
        );
        // Any clock, any timestamp: no overflow.
        assert_eq!(e.check_age(u64::MAX, u64::MAX), Ok(u64::MAX - (NOW - 10)));
        assert_eq!(e.check_age(0, 0), Err(Refusal::FromTheFuture { ahead: NOW - 10 }));
        // Ids first: an event with a bad id is refused for it whatever its age.
        let mut both = fresh(NOW);
        both.channel_id = "x".into();
        both.timestamp.clear();
        assert!(matches!(both.screen(NOW, 900), Err(Refusal::InvalidId { field: "channel_id", .. })));
    }

    #[test]
    fn each_bridge_route_publishes_only_its_kind() {
        let command = fresh(NOW).encode_to_vec();
        assert_eq!(admit_record(Kind::Command, &command).unwrap().kind(), Kind::Command);
        assert_eq!(admit_record(Kind::Lifecycle, LIFECYCLE).unwrap().kind(), Kind::Lifecycle);
        assert_eq!(
            admit_record(Kind::Lifecycle, &command).unwrap_err(),
            "this route takes lifecycle events only, not a CommandEvent"
        );
        assert_eq!(
            admit_record(Kind::Command, LIFECYCLE).unwrap_err(),
            "this route takes CommandEvents only, not a lifecycle event"
        );
        let mut bad = fresh(NOW);
        bad.channel_id = "../../users/@me".into();
        assert_eq!(
            admit_record(Kind::Command, &bad.encode_to_vec()).unwrap_err(),
            "CommandEvent refused: `channel_id` is not a Discord snowflake: `../../users/@me`"
        );
        assert_eq!(
            admit_record(Kind::Command, br#"{"hello":1}"#).unwrap_err(),
            "JSON message is neither a CommandEvent nor a lifecycle event"
        );
        // The age is not the bridge's to judge (Knative may hold a record while it retries).
        let mut old = fresh(NOW);
        old.timestamp = "2001-01-01T00:00:00Z".into();
        assert!(admit_record(Kind::Command, &old.encode_to_vec()).is_ok());
    }

    mod worker {
        use super::*;
        use crate::command::{self, CommandSettings};
        use crate::policy::{Policy, RoleMap};
        use crate::ports::memory::{Memory, block_on};

        /// What the worker component does with a message (components/worker/src/lib.rs).
        fn handle(world: &Memory, kind: Kind, payload: &[u8]) {
            let settings = CommandSettings {
                policy: Policy {
                    role_map: RoleMap::parse(r#"{"plan": ["140000000000000001"]}"#).unwrap(),
                    ..Policy::default()
                },
                argo: crate::ports::memory::argo_settings(),
                history_ttl: 3600,
                trace: Default::default(),
            };
            match accept(world, kind, payload, 900) {
                Some(Event::Command(event)) => {
                    let settings = CommandSettings { trace: event.trace(), ..settings };
                    let (message, to) = block_on(command::run_event(world, &settings, &Catalog::embedded(), &event));
                    block_on(command::deliver(world, &to, &message)).unwrap();
                }
                Some(Event::Lifecycle(event)) => {
                    block_on(crate::runs::announce(world, &settings.argo.ui_url, &event)).unwrap();
                }
                None => {}
            }
        }

        fn world() -> Memory {
            let world = Memory::default();
            world.now.set(NOW);
            world
        }

        fn untouched(world: &Memory) {
            assert!(world.argo.requests.borrow().is_empty(), "nothing submitted");
            assert!(
                world.discord.edits.borrow().is_empty() && world.discord.posts.borrow().is_empty(),
                "no Discord call"
            );
            assert!(world.store.0.borrow().is_empty(), "nothing stored");
            assert!(world.audits.borrow().is_empty(), "no decision taken");
        }

        #[test]
        fn a_fresh_valid_event_goes_through() {
            let world = world();
            world.argo.answer(|_| {
                Ok((200, br#"{"metadata":{"name":"plan-1190000000000000001","namespace":"argo"}}"#.to_vec()))
            });
            handle(&world, Kind::Command, &fresh(NOW).encode_to_vec());
            assert_eq!(world.argo.paths(), ["POST /api/v1/workflows/argo/submit"]);
            assert_eq!(world.discord.edits.borrow().len(), 1);
        }

        #[test]
        fn an_event_s_trace_and_correlation_ids_are_annotations_of_its_workflow() {
            let world = world();
            world.argo.answer(|_| {
                Ok((200, br#"{"metadata":{"name":"plan-1190000000000000001","namespace":"argo"}}"#.to_vec()))
            });
            let mut event = fresh(NOW);
            event.trace_id = "4bf92f3577b34da6a3ce929d0e0e4736".into();
            event.correlation_id = "corr-42".into();
            handle(&world, Kind::Command, &event.encode_to_vec());
            let requests = world.argo.requests.borrow();
            let body = requests[0].0.body.as_ref().unwrap();
            assert_eq!(
                body["submitOptions"]["annotations"],
                "facteur.dev/username=ada,facteur.dev/trace-id=4bf92f3577b34da6a3ce929d0e0e4736,facteur.dev/correlation-id=corr-42"
            );
        }

        #[test]
        fn a_command_event_on_the_lifecycle_channel_is_dropped() {
            let world = world();
            handle(&world, Kind::Lifecycle, &fresh(NOW).encode_to_vec());
            untouched(&world);
            assert_eq!(
                *world.logs.borrow(),
                [
                    "refused CommandEvent `1190000000000000001` (`/plan`): it arrived on the lifecycle channel, which carries lifecycle events only; dropped"
                ]
            );
        }

        #[test]
        fn a_lifecycle_event_on_the_commands_channel_is_dropped() {
            let world = world();
            handle(&world, Kind::Command, LIFECYCLE);
            untouched(&world);
            assert_eq!(
                *world.logs.borrow(),
                [
                    "refused lifecycle event `argo/plan-1` (Succeeded): it arrived on the commands channel, which carries CommandEvents only; dropped"
                ]
            );
        }

        #[test]
        fn a_stale_event_is_dropped_with_its_id_and_age() {
            let world = world();
            world.now.set(NOW + 3590);
            handle(&world, Kind::Command, &fresh(NOW).encode_to_vec());
            untouched(&world);
            assert_eq!(
                *world.logs.borrow(),
                [
                    "refused CommandEvent `1190000000000000001` (`/plan`): 3600 s old, older than `event_max_age_secs` (900 s); dropped"
                ]
            );
        }

        #[test]
        fn an_event_without_a_timestamp_is_dropped() {
            let world = world();
            let mut e = fresh(NOW);
            e.timestamp.clear();
            handle(&world, Kind::Command, &e.encode_to_vec());
            untouched(&world);
            assert!(world.logs.borrow()[0].ends_with("no `timestamp`: its age cannot be checked; dropped"));
        }

        #[test]
        fn a_bad_channel_id_never_reaches_discord() {
            let world = world();
            // Old enough that the reply would go to the channel with the bot token.
            let mut e = fresh(NOW);
            e.channel_id = "../../users/@me".into();
            e.token.clear();
            handle(&world, Kind::Command, &e.encode_to_vec());
            untouched(&world);
            assert_eq!(
                *world.logs.borrow(),
                [
                    "refused CommandEvent `1190000000000000001` (`/plan`): `channel_id` is not a Discord snowflake: `../../users/@me`; dropped"
                ]
            );
        }

        #[test]
        fn undecodable_messages_are_dropped_with_the_reason() {
            let world = world();
            handle(&world, Kind::Command, b"{nope");
            untouched(&world);
            assert!(world.logs.borrow()[0].starts_with("dropped a message of 5 bytes: invalid JSON"));
        }
    }

    #[test]
    fn debug_output_has_no_token() {
        assert!(!format!("{:?}", event()).contains("tok"));
    }
}
