//! The bridge's admission of a record and the worker's intake of a message, and the dead
//! letters of what the worker refuses.

use serde_json::{Value, json};

use super::{CommandEvent, Event, Kind, decode, shown};
use crate::catalog::Catalog;
use crate::ports::Ports;

/// What a bridge route for `kind` may publish: a record that decodes to an event of that kind,
/// and for a CommandEvent, whose ids are valid and whose options map onto the command's (the
/// producer's contract). The reason otherwise (the bridge answers 422, so Knative's dead-letter
/// sink keeps the record). The age is the worker's to check: it is the age when the event is
/// used that matters. So are the values: a member is told what is wrong with them.
pub fn admit_record(kind: Kind, record: &[u8]) -> Result<Event, String> {
    let event = decode(record)?;
    if event.kind() != kind {
        return Err(format!("this route takes {} only, not {}", kind.many(), event.kind().one()));
    }
    if let Event::Command(command) = &event {
        let checked = command.check_ids().and_then(|()| command.check_options(&Catalog::embedded()));
        checked.map_err(|refusal| format!("CommandEvent refused: {refusal}"))?;
    }
    Ok(event)
}

/// A worker's intake of one message from its channel, which carries `kind`: the event to act
/// on, or the dead letter of a refused one, logged with the reason (undecodable, the other kind,
/// a CommandEvent whose ids are not snowflakes, whose options do not map, or older than
/// `max_age` seconds, or without a timestamp). Nothing else has been done with a refused message.
/// `catalog` is the one the command then runs with (built once per message).
pub fn accept(
    ports: &impl Ports,
    catalog: &Catalog,
    kind: Kind,
    payload: &[u8],
    max_age: u64,
) -> Result<Event, DeadLetter> {
    let event = match decode(payload) {
        Ok(event) => event,
        Err(reason) => {
            ports.log(format!("dropped a message of {} bytes: {reason}", payload.len()));
            return Err(DeadLetter { reason, event: None, bytes: payload.len() });
        }
    };
    let reason = if event.kind() != kind {
        format!("it arrived on the {} channel, which carries {} only", kind.name(), kind.many())
    } else if let Event::Command(command) = &event
        && let Err(refusal) = command.screen(catalog, ports.now(), max_age)
    {
        refusal.to_string()
    } else {
        return Ok(event);
    };
    let (about, record) = match &event {
        Event::Command(c) => {
            (format!("CommandEvent `{}` (`/{}`)", shown(&c.interaction_id), shown(&c.command)), c.without_token())
        }
        Event::Lifecycle(l) => (
            format!("lifecycle event `{}/{}` ({})", shown(&l.namespace), shown(&l.workflow), shown(&l.phase)),
            json!({"workflow": l.workflow, "namespace": l.namespace, "phase": l.phase,
                   "startedAt": l.started_at, "finishedAt": l.finished_at, "message": l.message}),
        ),
    };
    ports.log(format!("refused {about}: {reason}; dropped"));
    Err(DeadLetter { reason, event: Some(record), bytes: payload.len() })
}

/// A message the worker refused, for its dead-letter stream (`dead_letter_key`): why, and what
/// it was, never its interaction token. A CommandEvent is kept in the JSON form the worker
/// reads, so it can be published again once the cause is fixed (it then replies in the
/// channel, with the bot token); an undecodable message only by its size (it never came
/// through the bridge, which refuses those, and may hold a token nothing can find).
#[derive(Debug, Clone, PartialEq)]
pub struct DeadLetter {
    pub reason: String,
    pub event: Option<Value>,
    pub bytes: usize,
}

impl DeadLetter {
    /// A CommandEvent refused after the intake (the role map, its options' values, a command
    /// the event pipeline does not run).
    pub fn command(event: &CommandEvent, reason: String) -> Self {
        Self { reason, event: Some(event.without_token()), bytes: 0 }
    }

    /// The stream entry's fields: `reason`, then `event` (JSON) or `bytes`.
    pub fn fields(&self) -> Vec<(&'static str, String)> {
        let mut fields = vec![("reason", self.reason.clone())];
        match &self.event {
            Some(event) => fields.push(("event", event.to_string())),
            None => fields.push(("bytes", self.bytes.to_string())),
        }
        fields
    }
}

impl CommandEvent {
    /// The event in its JSON form, without `token`.
    pub fn without_token(&self) -> Value {
        json!({
            "provider": self.provider, "interactionId": self.interaction_id, "applicationId": self.application_id,
            "command": self.command, "commandId": self.command_id, "version": self.version, "options": self.options,
            "guildId": self.guild_id, "channelId": self.channel_id,
            "user": self.user.as_ref().map(|u| json!({"id": u.id, "username": u.username, "globalName": u.global_name})),
            "member": self.member.as_ref().map(|m| json!({"id": m.id, "roles": m.roles})),
            "locale": self.locale, "timestamp": self.timestamp,
            "correlationId": self.correlation_id, "traceId": self.trace_id,
        })
    }
}
