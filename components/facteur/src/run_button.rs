//! The buttons on facteur's messages about a run. Their `custom_id` is
//! `workflow:<action>:<namespace>:<name>`: the gateway routes it by its `workflow:` prefix to the
//! `/workflow` component, which parses it back here. Built and parsed in this one place.

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

#[cfg(test)]
mod tests {
    use super::*;

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
