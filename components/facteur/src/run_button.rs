//! The buttons on facteur's messages, built and parsed in this one place. The gateway routes a
//! click by the `<command>:` prefix of its `custom_id`:
//!
//! - about a run: `workflow:<action>:<namespace>:<name>`, to the `/workflow` component;
//! - on an approval request: `<command>:approve:<request>` and `<command>:reject:<request>`, to
//!   the command's own component (`<request>` is the requesting interaction's id).

use crate::argo::{is_namespace, is_object_name};

/// What a button asks for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RunAction {
    /// Update the message in place with the run's state.
    Refresh,
    /// Ask whether to Stop, Terminate or Keep running.
    Cancel,
    /// Answers to Cancel.
    Stop,
    Terminate,
    Keep,
}

impl RunAction {
    const ALL: [Self; 5] = [Self::Refresh, Self::Cancel, Self::Stop, Self::Terminate, Self::Keep];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Refresh => "refresh",
            Self::Cancel => "cancel",
            Self::Stop => "stop",
            Self::Terminate => "terminate",
            Self::Keep => "keep",
        }
    }

    /// The role-map action it needs: Stop, Terminate and Keep answer Cancel, so they are part
    /// of cancelling.
    pub fn permission(self) -> &'static str {
        match self {
            Self::Refresh => "refresh",
            Self::Cancel | Self::Stop | Self::Terminate | Self::Keep => "cancel",
        }
    }
}

/// One button: an action on the run `name` in `namespace`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RunButton {
    pub action: RunAction,
    pub namespace: String,
    pub name: String,
}

const PREFIX: &str = "workflow";

impl RunButton {
    pub fn new(action: RunAction, namespace: &str, name: &str) -> Self {
        Self { action, namespace: namespace.to_owned(), name: name.to_owned() }
    }

    pub fn custom_id(&self) -> String {
        format!("{PREFIX}:{}:{}:{}", self.action.as_str(), self.namespace, self.name)
    }

    /// The button a `custom_id` names; `None` for anything else (an older or foreign button,
    /// or names that are not Kubernetes names: a custom id comes back from Discord, untrusted).
    /// An empty namespace is kept empty: the caller supplies its default.
    pub fn parse(custom_id: &str) -> Option<Self> {
        let mut parts = custom_id.splitn(4, ':');
        if parts.next()? != PREFIX {
            return None;
        }
        let action = parts.next()?;
        let action = RunAction::ALL.into_iter().find(|a| a.as_str() == action)?;
        let (namespace, name) = (parts.next()?, parts.next()?);
        let valid = (namespace.is_empty() || is_namespace(namespace)) && is_object_name(name);
        valid.then(|| Self::new(action, namespace, name))
    }
}

/// An approver's answer to an approval request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verdict {
    Approve,
    Reject,
}

impl Verdict {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Approve => "approve",
            Self::Reject => "reject",
        }
    }
}

/// A button of an approval request: `<command>:<verdict>:<request id>`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ApprovalButton {
    pub command: String,
    pub verdict: Verdict,
    /// The id of the interaction that asked (a snowflake): the pending request's key, and the
    /// workflow's name once approved.
    pub request: String,
}

impl ApprovalButton {
    pub fn new(command: &str, verdict: Verdict, request: &str) -> Self {
        Self { command: command.to_owned(), verdict, request: request.to_owned() }
    }

    /// At most 32 + 8 + 20 characters: within Discord's 100.
    pub fn custom_id(&self) -> String {
        format!("{}:{}:{}", self.command, self.verdict.as_str(), self.request)
    }

    /// The button a `custom_id` names; `None` for anything else. The id comes back from
    /// Discord, untrusted: the request must be a snowflake (it becomes a key and a name).
    pub fn parse(custom_id: &str) -> Option<Self> {
        let mut parts = custom_id.splitn(3, ':');
        let command = parts.next()?;
        let verdict = match parts.next()? {
            "approve" => Verdict::Approve,
            "reject" => Verdict::Reject,
            _ => return None,
        };
        let request = parts.next()?;
        (!command.is_empty() && crate::discord::is_snowflake(request)).then(|| Self::new(command, verdict, request))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn approval_ids_round_trip_within_discords_limit() {
        for verdict in [Verdict::Approve, Verdict::Reject] {
            let button = ApprovalButton::new("plan", verdict, "1190000000000000001");
            assert_eq!(ApprovalButton::parse(&button.custom_id()), Some(button.clone()));
        }
        assert_eq!(ApprovalButton::new("plan", Verdict::Approve, "7").custom_id(), "plan:approve:7");
        let longest = ApprovalButton::new(&"c".repeat(32), Verdict::Approve, &u64::MAX.to_string());
        assert!(longest.custom_id().len() <= crate::discord::MAX_CUSTOM_ID);
        for id in ["plan:approve:", "plan:approve:12a", "plan:maybe:1", "plan:approve:1:2", ":approve:1", "plan"] {
            assert_eq!(ApprovalButton::parse(id), None, "{id}");
        }
    }

    #[test]
    fn custom_ids_round_trip() {
        for action in RunAction::ALL {
            let button = RunButton::new(action, "argo", "plan-1190000000000000001");
            assert_eq!(RunButton::parse(&button.custom_id()), Some(button.clone()));
        }
        assert_eq!(RunButton::new(RunAction::Refresh, "ci", "p").custom_id(), "workflow:refresh:ci:p");
    }

    #[test]
    fn foreign_or_broken_ids_are_not_run_buttons() {
        for id in
            ["help:refresh", "workflow:dance:argo:p", "workflow:refresh:argo", "workflow:refresh:argo:", "poll:vote"]
        {
            assert_eq!(RunButton::parse(id), None, "{id}");
        }
        assert_eq!(RunButton::parse("workflow:stop::p").map(|b| b.namespace), Some(String::new()));
    }
}
