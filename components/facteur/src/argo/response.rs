//! The parts of Argo's answers facteur reads: workflows, lists, template names, log streams.

use serde::Deserialize;

use super::ArgoError;
use crate::time::unix_seconds;

/// The parts of a Workflow facteur reports.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
pub struct Workflow {
    pub metadata: Metadata,
    #[serde(default)]
    pub status: Status,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
pub struct Metadata {
    #[serde(default)]
    pub name: String,
    #[serde(default)]
    pub namespace: String,
    #[serde(default, rename = "creationTimestamp")]
    pub created: Option<String>,
    #[serde(default)]
    pub labels: Labels,
}

/// The labels facteur reads back: which command started the run (only facteur's runs have
/// one) and who (`facteur.dev/user-id`).
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
pub struct Labels {
    #[serde(default, rename = "facteur.dev/command")]
    pub command: Option<String>,
    #[serde(default, rename = "facteur.dev/user-id")]
    pub user_id: Option<String>,
}

/// A workflow's phase (Argo's `WorkflowPhase`); `Pending` until Argo sets one.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Phase {
    Pending,
    Running,
    Succeeded,
    Failed,
    Error,
    /// A phase a newer Argo may add: shown as it is.
    Other(String),
}

impl Phase {
    pub fn parse(phase: &str) -> Self {
        match phase {
            "" | "Pending" => Self::Pending,
            "Running" => Self::Running,
            "Succeeded" => Self::Succeeded,
            "Failed" => Self::Failed,
            "Error" => Self::Error,
            other => Self::Other(other.to_owned()),
        }
    }

    pub fn as_str(&self) -> &str {
        match self {
            Self::Pending => "Pending",
            Self::Running => "Running",
            Self::Succeeded => "Succeeded",
            Self::Failed => "Failed",
            Self::Error => "Error",
            Self::Other(other) => other,
        }
    }

    /// Succeeded, Failed or Error: the run is over.
    pub fn is_finished(&self) -> bool {
        matches!(self, Self::Succeeded | Self::Failed | Self::Error)
    }

    /// Failed or Error: what `retry` accepts.
    pub fn failed(&self) -> bool {
        matches!(self, Self::Failed | Self::Error)
    }
}

impl std::fmt::Display for Phase {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
pub struct Status {
    #[serde(default)]
    pub phase: Option<String>,
    #[serde(default)]
    pub progress: Option<String>,
    #[serde(default, rename = "startedAt")]
    pub started_at: Option<String>,
    #[serde(default, rename = "finishedAt")]
    pub finished_at: Option<String>,
    #[serde(default)]
    pub message: Option<String>,
    #[serde(default)]
    pub nodes: Option<Nodes>,
}

/// A workflow's nodes, kept as JSON text and read only by [`Workflow::failure`]: they are the
/// bulk of a workflow, and most components never look at them.
#[derive(Debug, Clone, Deserialize)]
#[serde(transparent)]
pub struct Nodes(Box<serde_json::value::RawValue>);

impl PartialEq for Nodes {
    fn eq(&self, other: &Self) -> bool {
        self.0.get() == other.0.get()
    }
}

impl Eq for Nodes {}

#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
pub struct Node {
    #[serde(default, rename = "displayName")]
    pub display_name: String,
    #[serde(default, rename = "type")]
    pub kind: String,
    #[serde(default)]
    pub phase: String,
    #[serde(default)]
    pub message: Option<String>,
}

impl Workflow {
    /// The phase, `Pending` while Argo has not set one yet.
    pub fn phase(&self) -> Phase {
        Phase::parse(self.status.phase.as_deref().unwrap_or_default())
    }

    /// Succeeded, Failed or Error: the run is over.
    pub fn is_finished(&self) -> bool {
        self.phase().is_finished()
    }

    /// Whether facteur started it (it carries facteur's command label).
    pub fn is_facteurs(&self) -> bool {
        self.metadata.labels.command.is_some()
    }

    /// Why the run failed: the first failed pod's message (its step named), else the
    /// workflow's own message.
    pub fn failure(&self) -> Option<String> {
        let nodes: std::collections::BTreeMap<String, Node> =
            self.status.nodes.as_ref().and_then(|n| serde_json::from_str(n.0.get()).ok()).unwrap_or_default();
        first_failed(nodes.values()).or_else(|| self.status.message.clone().filter(|m| !m.is_empty()))
    }

    /// Seconds from start to finish (or to `now` while running).
    pub fn duration_secs(&self, now: u64) -> Option<u64> {
        let started = self.status.started_at.as_deref().and_then(unix_seconds)?;
        let ended = self.status.finished_at.as_deref().and_then(unix_seconds).unwrap_or(now);
        Some(ended.saturating_sub(started))
    }
}

/// `step: message` of the first failed pod with a message, else of any failed node.
fn first_failed<'a>(nodes: impl Iterator<Item = &'a Node> + Clone) -> Option<String> {
    let failed = |n: &&Node| {
        matches!(n.phase.as_str(), "Failed" | "Error") && n.message.as_deref().is_some_and(|m| !m.is_empty())
    };
    let node = nodes.clone().filter(failed).find(|n| n.kind == "Pod").or_else(|| nodes.clone().find(failed))?;
    Some(format!("{}: {}", node.display_name, node.message.as_deref().unwrap_or_default()))
}

/// The failing step in Argo's `{{workflow.failures}}`, the JSON list of failed nodes an exit
/// handler can pass on (`displayName`, `message`, `phase`, …), as `step: message`. Read as a
/// `Value`, which the lifecycle worker decodes anyway (a typed list would add ~6 KB to it).
pub fn failed_step(failures: &str) -> Option<String> {
    let nodes: serde_json::Value = serde_json::from_str(failures).ok()?;
    let text = |node: &serde_json::Value, key: &str| node[key].as_str().unwrap_or_default().to_owned();
    let nodes: Vec<Node> = nodes
        .as_array()?
        .iter()
        .map(|n| Node {
            display_name: text(n, "displayName"),
            kind: text(n, "type"),
            phase: text(n, "phase"),
            message: n["message"].as_str().map(str::to_owned),
        })
        .collect();
    first_failed(nodes.iter())
}

/// Parses a `WorkflowList`; `items` is `null` when nothing matches.
pub fn parse_list(status: u16, body: &[u8]) -> Result<Vec<Workflow>, ArgoError> {
    #[derive(Deserialize)]
    struct List {
        #[serde(default)]
        items: Option<Vec<Workflow>>,
    }
    match status {
        200..=299 => serde_json::from_slice::<List>(body)
            .map(|l| l.items.unwrap_or_default())
            .map_err(|e| ArgoError::Rejected { status, message: format!("unexpected response from Argo: {e}") }),
        _ => parse_workflow(status, body).map(|_| Vec::new()),
    }
}

/// Names from a `WorkflowTemplateList`.
pub fn parse_template_names(status: u16, body: &[u8]) -> Result<Vec<String>, ArgoError> {
    parse_list(status, body).map(|items| items.into_iter().map(|t| t.metadata.name).collect())
}

/// The lines of a log stream: one JSON object per line, `{"result": {"content": …}}` or
/// `{"error": …}` (grpc-gateway's streaming form).
pub fn parse_logs(status: u16, body: &[u8]) -> Result<Vec<String>, ArgoError> {
    if !(200..=299).contains(&status) {
        return parse_workflow(status, body).map(|_| Vec::new());
    }
    let mut lines = Vec::new();
    for line in body.split(|b| *b == b'\n').filter(|l| !l.iter().all(u8::is_ascii_whitespace)) {
        let entry: serde_json::Value = serde_json::from_slice(line).unwrap_or_default();
        if let Some(content) = entry["result"]["content"].as_str() {
            lines.extend(content.lines().map(str::to_owned));
        } else if let Some(message) = entry["error"]["message"].as_str() {
            return Err(ArgoError::Rejected { status: 500, message: message.to_owned() });
        }
    }
    Ok(lines)
}

/// Argo's error body (`grpc.gateway.runtime.Error`).
#[derive(Debug, Deserialize)]
struct ErrorBody {
    #[serde(default)]
    message: String,
}

/// Parses a response: the Workflow on 2xx, otherwise the error.
pub fn parse_workflow(status: u16, body: &[u8]) -> Result<Workflow, ArgoError> {
    match status {
        200..=299 => serde_json::from_slice(body)
            .map_err(|e| ArgoError::Rejected { status, message: format!("unexpected response from Argo: {e}") }),
        409 => Err(ArgoError::AlreadyExists),
        _ => {
            let message = serde_json::from_slice::<ErrorBody>(body).map(|e| e.message).unwrap_or_default();
            Err(ArgoError::Rejected { status, message })
        }
    }
}
