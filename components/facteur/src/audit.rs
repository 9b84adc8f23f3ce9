//! The audit trail: one JSON line per decision, with ids and reasons. Never tokens or secrets:
//! only the fields below are written, so the interaction token cannot leak into it.

use serde::Serialize;

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
    /// Argo accepted the workflow (or it existed already: `existing`).
    Submitted,
    /// Argo did not accept it.
    Failed,
    Retried,
    Stopped,
    Terminated,
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

#[cfg(test)]
mod tests {
    use super::*;
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
