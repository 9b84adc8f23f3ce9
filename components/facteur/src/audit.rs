//! The audit trail: one JSON line per decision, with ids and reasons. Never tokens or secrets:
//! only the fields below are written, so the interaction token cannot leak into it.
//!
//! Also the shape of every other line a component writes ([`log_line`]: one JSON object with
//! `level`, `component`, `event`, `message` and the request's ids), and the W3C trace context a
//! request arrived with ([`Trace`]), so that an audit or log line, a span of Spin's traces and
//! the workflow it started can be found from one another.

use serde::Serialize;

use crate::argo::{Pairs, label, label_value};
use crate::discord::Interaction;

/// What was decided or done.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum AuditEvent {
    /// The member may run it and the options are valid.
    Allowed,
    /// The role map (or DM, guild and channel rules) refused it.
    Denied,
    /// The options were refused.
    Invalid,
    /// A rate limit refused it (`crate::limits`: which limit, and when to retry).
    Limited,
    /// Argo accepted the workflow (or it existed already: `existing`).
    Submitted,
    /// Argo did not accept it.
    Failed,
    Retried,
    Stopped,
    Terminated,
    Suspended,
    Resumed,
    Resubmitted,
    /// A command that needs approval was asked for: posted with Approve and Reject buttons.
    ApprovalRequested,
    /// An approver approved a request (its `approver_id`); the submission follows.
    Approved,
    /// An approver (or the requester) rejected a request; nothing is submitted.
    Rejected,
    /// A reply that reached Discord neither by editing its message nor in its channel.
    Undeliverable,
}

impl AuditEvent {
    /// `Allowed` or `Denied`, as a decision says.
    pub fn of(allowed: bool) -> Self {
        if allowed { Self::Allowed } else { Self::Denied }
    }
}

#[derive(Debug, Serialize)]
pub struct AuditRecord<'a, D: Serialize> {
    pub audit: AuditEvent,
    pub command: &'a str,
    pub interaction_id: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub user_id: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub guild_id: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub channel_id: Option<&'a str>,
    #[serde(flatten)]
    pub details: D,
}

/// Formats the audit line for `event` about `interaction`.
pub fn line<D: Serialize>(event: AuditEvent, command: &str, interaction: &Interaction, details: D) -> String {
    let record = AuditRecord {
        audit: event,
        command,
        interaction_id: &interaction.id,
        user_id: interaction.user_id(),
        guild_id: interaction.guild_id.as_deref(),
        channel_id: interaction.channel_id.as_deref(),
        details,
    };
    serde_json::to_string(&record).expect("audit records always serialise")
}

/// The trace a request or CommandEvent belongs to: the W3C `traceparent` Spin passes to a
/// component (the caller's span), or a CommandEvent's `trace_id` and `correlation_id`. Only
/// well-formed values are kept; nothing here is a secret.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Trace {
    /// The `traceparent` header as received (version 00's four fields).
    pub traceparent: Option<String>,
    /// 32 lowercase hex digits.
    pub trace_id: Option<String>,
    /// A CommandEvent's correlation id, label-safe (`[-_.a-zA-Z0-9]`, at most 63 characters).
    pub correlation_id: Option<String>,
}

impl Trace {
    /// The context of an HTTP request: its `traceparent` header, if there is a valid one.
    pub fn from_traceparent(header: Option<&str>) -> Self {
        let traceparent = header.and_then(traceparent);
        let trace_id = traceparent.as_ref().map(|t| t[3..35].to_owned());
        Self { traceparent, trace_id, correlation_id: None }
    }

    /// The context a CommandEvent carries: its `trace_id` (a W3C trace id: 32 lowercase hex
    /// digits, not all zeros) and its `correlation_id`.
    pub fn from_event(trace_id: &str, correlation_id: &str) -> Self {
        let trace_id = Some(trace_id.trim()).filter(|t| is_trace_id(t)).map(str::to_owned);
        let correlation_id = Some(label_value(correlation_id)).filter(|c| !c.is_empty());
        Self { traceparent: None, trace_id, correlation_id }
    }

    /// The workflow annotations that name this trace: `facteur.dev/traceparent`,
    /// `facteur.dev/trace-id`, `facteur.dev/correlation-id` (those known).
    pub fn annotations(&self) -> Pairs {
        [
            (label::TRACEPARENT, &self.traceparent),
            (label::TRACE_ID, &self.trace_id),
            (label::CORRELATION, &self.correlation_id),
        ]
        .into_iter()
        .filter_map(|(key, value)| value.as_ref().map(|v| (key.to_owned(), v.clone())))
        .collect()
    }
}

fn is_hex(s: &str, len: usize) -> bool {
    s.len() == len && s.bytes().all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
}

fn is_trace_id(s: &str) -> bool {
    is_hex(s, 32) && s.bytes().any(|b| b != b'0')
}

/// A valid W3C `traceparent` (`version-traceid-parentid-flags`, lowercase hex; neither id all
/// zeros; version `ff` is invalid; version 00 has exactly four fields, later versions may append
/// more), as its four fields.
pub fn traceparent(value: &str) -> Option<String> {
    let value = value.trim();
    let mut fields = value.split('-');
    let (version, trace_id, parent_id, flags) = (fields.next()?, fields.next()?, fields.next()?, fields.next()?);
    let valid = is_hex(version, 2)
        && version != "ff"
        && is_trace_id(trace_id)
        && is_hex(parent_id, 16)
        && parent_id.bytes().any(|b| b != b'0')
        && is_hex(flags, 2)
        && (version != "00" || fields.next().is_none());
    valid.then(|| format!("{version}-{trace_id}-{parent_id}-{flags}"))
}

/// How much a log line matters.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Level {
    Info,
    Warn,
    Error,
}

impl Level {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Info => "info",
            Self::Warn => "warn",
            Self::Error => "error",
        }
    }
}

/// Who writes a line and about what: the component, and the interaction and trace of the
/// request (or CommandEvent) it serves, once known.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Context {
    pub component: Option<String>,
    pub interaction_id: Option<String>,
    pub trace: Trace,
}

/// `"key":"value"` (JSON-escaped, after a comma unless first) when there is a value. Written by hand: a few bytes of code
/// in components that must stay small.
fn field(out: &mut String, key: &str, value: Option<&str>) {
    if let Some(value) = value {
        if !out.ends_with('{') {
            out.push(',');
        }
        out.push('"');
        out.push_str(key);
        out.push_str("\":");
        out.push_str(&serde_json::to_string(value).expect("strings always serialise"));
    }
}

/// `level`, `component`, `event` (then `message`, if any) and the ids, without the braces.
fn fields(out: &mut String, level: Level, event: &str, message: Option<&str>, context: &Context, interaction: bool) {
    field(out, "level", Some(level.as_str()));
    field(out, "component", context.component.as_deref());
    field(out, "event", Some(event));
    field(out, "message", message);
    if interaction {
        field(out, "interaction_id", context.interaction_id.as_deref());
    }
    field(out, "trace_id", context.trace.trace_id.as_deref());
    field(out, "correlation_id", context.trace.correlation_id.as_deref());
}

impl Context {
    /// Nothing known yet.
    pub const EMPTY: Self = Self {
        component: None,
        interaction_id: None,
        trace: Trace { traceparent: None, trace_id: None, correlation_id: None },
    };
}

/// An operational log line: one JSON object, on one line.
pub fn log_line(level: Level, event: &str, message: &str, context: &Context) -> String {
    let mut out = String::from("{");
    fields(&mut out, level, event, Some(message).filter(|m| !m.is_empty()), context, true);
    out.push('}');
    out
}

/// An audit line as written: the record ([`line()`]) with `level`, `component`, `event: "audit"`
/// and the trace's ids appended (after the record's own fields, which keep their order).
pub fn stamp(audit_line: &str, context: &Context) -> String {
    match audit_line.trim_end().strip_suffix('}') {
        Some(record) if record.starts_with('{') && record.len() > 1 => {
            let mut out = record.to_owned();
            fields(&mut out, Level::Info, "audit", None, context, false);
            out.push('}');
            out
        }
        _ => log_line(Level::Info, "audit", audit_line, context),
    }
}

/// The level and event of a use case's log line (`Ports::log` takes text): known lines by
/// their wording, anything else a warning named `log`.
pub fn classify(message: &str) -> (Level, &'static str) {
    const KNOWN: &[(&str, Level, &str)] = &[
        ("could not edit the reply", Level::Error, "discord_edit_failed"),
        ("could not record the run", Level::Error, "history_write_failed"),
        ("could not read recent runs", Level::Error, "history_read_failed"),
        ("dropped a message", Level::Warn, "message_undecodable"),
        ("refused ", Level::Warn, "message_refused"),
        ("refusing interaction", Level::Warn, "wrong_component"),
        ("the submit got no answer", Level::Warn, "submit_unanswered_run_exists"),
        ("is not a run facteur started", Level::Warn, "unknown_run"),
        ("already announced", Level::Info, "lifecycle_duplicate"),
        ("not a run facteur remembers", Level::Info, "lifecycle_unknown_run"),
    ];
    KNOWN
        .iter()
        .find(|(part, ..)| message.contains(part))
        .map_or((Level::Warn, "log"), |(_, level, event)| (*level, *event))
}

#[cfg(test)]
mod tests {
    use super::*;

    const PARENT: &str = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01";

    #[test]
    fn traceparent_is_parsed_strictly() {
        assert_eq!(traceparent(PARENT).as_deref(), Some(PARENT));
        assert_eq!(traceparent(&format!(" {PARENT} ")).as_deref(), Some(PARENT));
        // A later version may append fields; the four known ones are kept.
        assert_eq!(
            traceparent("cc-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01-what").as_deref(),
            Some("cc-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01")
        );
        for bad in [
            "",
            "00",
            &format!("{PARENT}-extra"),
            "ff-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01",
            "00-00000000000000000000000000000000-00f067aa0ba902b7-01",
            "00-4bf92f3577b34da6a3ce929d0e0e4736-0000000000000000-01",
            "00-4BF92F3577B34DA6A3CE929D0E0E4736-00f067aa0ba902b7-01",
            "00-4bf92f3577b34da6a3ce929d0e0e473-00f067aa0ba902b7-01",
            "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-1",
            "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902bz-01",
            "00-4bf92f3577b34da6a3ce929d0e0e4736,x-00f067aa0ba902b7-01",
        ] {
            assert_eq!(traceparent(bad), None, "{bad}");
        }
    }

    #[test]
    fn a_trace_names_itself_in_annotations() {
        let trace = Trace::from_traceparent(Some(PARENT));
        assert_eq!(trace.trace_id.as_deref(), Some("4bf92f3577b34da6a3ce929d0e0e4736"));
        assert_eq!(
            trace.annotations(),
            [
                ("facteur.dev/traceparent".to_owned(), PARENT.to_owned()),
                ("facteur.dev/trace-id".to_owned(), "4bf92f3577b34da6a3ce929d0e0e4736".to_owned())
            ]
        );
        assert_eq!(Trace::from_traceparent(None), Trace::default());
        assert_eq!(Trace::from_traceparent(Some("junk")).annotations(), []);
        // A CommandEvent's ids: a trace id (or a traceparent's), a label-safe correlation id.
        let event = Trace::from_event(" 4bf92f3577b34da6a3ce929d0e0e4736 ", "req 42,x=y");
        assert_eq!(event.trace_id.as_deref(), Some("4bf92f3577b34da6a3ce929d0e0e4736"));
        assert_eq!(event.correlation_id.as_deref(), Some("req_42_x_y"));
        assert_eq!(Trace::from_event(PARENT, "").trace_id, None);
        assert_eq!(Trace::from_event("4BF92F3577B34DA6A3CE929D0E0E4736", "").trace_id, None);
        assert_eq!(Trace::from_event("not-a-trace", "").annotations(), []);
    }

    #[test]
    fn log_lines_are_one_json_object_with_the_request_ids() {
        let context = Context {
            component: Some("plan".into()),
            interaction_id: Some("11".into()),
            trace: Trace::from_traceparent(Some(PARENT)),
        };
        let line = log_line(Level::Error, "discord_edit_failed", "could not edit\n\"it\"", &context);
        assert!(!line.contains('\n'));
        assert_eq!(
            serde_json::from_str::<serde_json::Value>(&line).unwrap(),
            serde_json::json!({"level": "error", "component": "plan", "event": "discord_edit_failed",
                               "message": "could not edit\n\"it\"", "interaction_id": "11",
                               "trace_id": "4bf92f3577b34da6a3ce929d0e0e4736"})
        );
        // Nothing known yet: level and event only.
        assert_eq!(log_line(Level::Warn, "x", "", &Context::default()), r#"{"level":"warn","event":"x"}"#);
    }

    #[test]
    fn audit_lines_are_stamped_after_their_fields() {
        let context = Context {
            component: Some("help".into()),
            trace: Trace::from_traceparent(Some(PARENT)),
            ..Context::default()
        };
        assert_eq!(
            stamp(r#"{"audit":"allowed","command":"help","interaction_id":"1"}"#, &context),
            r#"{"audit":"allowed","command":"help","interaction_id":"1","level":"info","component":"help","event":"audit","trace_id":"4bf92f3577b34da6a3ce929d0e0e4736"}"#
        );
        assert_eq!(stamp("{}", &Context::default()), r#"{"level":"info","event":"audit","message":"{}"}"#);
    }

    #[test]
    fn use_case_lines_are_classified() {
        assert_eq!(classify("could not edit the reply to interaction 1: x"), (Level::Error, "discord_edit_failed"));
        assert_eq!(
            classify("argo/plan-1: the submit got no answer (x) but the run exists").1,
            "submit_unanswered_run_exists"
        );
        assert_eq!(classify("something new"), (Level::Warn, "log"));
    }
    use crate::policy::{Caller, Decision, Policy};

    #[test]
    fn line_has_ids_and_reason_but_no_token() {
        let i = Interaction::parse(
            br#"{"id":"11","application_id":"2","type":2,"token":"SECRET-TOKEN",
            "guild_id":"5","channel_id":"6","member":{"user":{"id":"7","username":"u"},"roles":[]},
            "data":{"name":"plan"}}"#,
        )
        .unwrap();
        let decision: Decision = Policy::default().decide("plan", &Caller::of(&i));
        let line = line(AuditEvent::Denied, "plan", &i, &decision);
        assert_eq!(
            serde_json::from_str::<serde_json::Value>(&line).unwrap(),
            serde_json::json!({"audit": "denied", "command": "plan", "interaction_id": "11", "user_id": "7",
                               "guild_id": "5", "channel_id": "6", "allowed": false, "reason": "unlisted_denied"})
        );
        assert!(!line.contains("SECRET-TOKEN"));
    }
}
