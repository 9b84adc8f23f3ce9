//! A failed Argo call, and how it is explained to the member.

/// A failed Argo call, as the member may see it: no token, no internals.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ArgoError {
    /// 409: a workflow of that name exists (the same interaction, delivered again).
    AlreadyExists,
    Rejected {
        status: u16,
        message: String,
    },
    /// The exchange failed after the request may have reached Argo.
    Unreachable(String),
    /// No connection was made: the request certainly did not reach Argo.
    NotSent(String),
    Timeout,
    /// A submit whose outcome facteur could not learn: no answer, and no answer either when it
    /// looked the run up by its name (`workflow`).
    Undetermined {
        workflow: String,
    },
}

impl ArgoError {
    /// What the member reads when `template` could not be submitted in `namespace`.
    pub fn explain(&self, template: &str, namespace: &str) -> String {
        match self {
            Self::AlreadyExists => "This command already started a workflow.".to_owned(),
            Self::Timeout => {
                "Argo did not answer in time. The workflow may still start; check Argo before retrying.".to_owned()
            }
            Self::Unreachable(_) | Self::NotSent(_) => {
                "Argo cannot be reached right now. Please try again in a moment.".to_owned()
            }
            Self::Undetermined { workflow } => format!(
                "Argo did not answer, and facteur cannot tell whether `{workflow}` started. Check with `/workflow status name:{workflow}` before running the command again."
            ),
            Self::Rejected { status, message } => match status {
                400 => format!("Argo refused the workflow: {}", crate::discord::truncate(message, 500)),
                401 => {
                    "Argo refused facteur's credentials (401). An admin needs to renew facteur's Argo token.".to_owned()
                }
                403 => format!(
                    "facteur is not allowed to run `{template}` in namespace `{namespace}` (403). An admin needs to grant it in Argo's RBAC."
                ),
                404 => format!("WorkflowTemplate `{template}` was not found in namespace `{namespace}`."),
                429 => "Argo is busy (429). Please try again in a moment.".to_owned(),
                s if *s >= 500 => format!("Argo had an internal error ({s}). Please try again in a moment."),
                s => format!("Argo refused the request ({s})."),
            },
        }
    }

    /// What the member reads when an operation on the run `name` in `namespace` failed.
    pub fn explain_run(&self, name: &str, namespace: &str) -> String {
        match self {
            Self::Rejected { status: 404, .. } => {
                format!("Workflow `{name}` was not found in namespace `{namespace}`.")
            }
            Self::Rejected { status: 403, .. } => {
                format!(
                    "facteur is not allowed to do that with `{name}` in namespace `{namespace}` (403). An admin needs to grant it in Argo's RBAC."
                )
            }
            other => other.explain(name, namespace),
        }
    }

    /// What the member reads when the runs in flight in `namespace` could not be listed (the
    /// caps on runs in flight, `crate::limits::in_flight`): nothing was submitted.
    pub fn explain_count(&self, namespace: &str) -> String {
        match self {
            Self::Timeout | Self::Undetermined { .. } => {
                "Argo did not answer in time when facteur counted the runs in flight; nothing was started. Please try again in a moment.".to_owned()
            }
            Self::Rejected { status: 403, .. } => format!(
                "facteur is not allowed to list workflows in namespace `{namespace}` (403), which it needs to count the runs in flight. An admin needs to grant it in Argo's RBAC."
            ),
            Self::Rejected { status: s @ (400 | 404), .. } => format!("Argo refused to list workflows ({s})."),
            other => other.explain("", namespace),
        }
    }

    /// For logs: the status and Argo's own message.
    pub fn detail(&self) -> String {
        match self {
            Self::AlreadyExists => "409 AlreadyExists".to_owned(),
            Self::Timeout => "timeout".to_owned(),
            Self::Unreachable(e) => format!("unreachable: {e}"),
            Self::NotSent(e) => format!("not sent: {e}"),
            Self::Undetermined { workflow } => format!("undetermined: no answer about {workflow}"),
            Self::Rejected { status, message } => format!("{status}: {message}"),
        }
    }
}
