//! How facteur names and labels the workflows it starts, so that a run can be found from an
//! interaction (and back) and a redelivery cannot start a second one.

use crate::discord::Interaction;

/// Label keys facteur puts on every workflow it submits.
pub mod label {
    pub const COMMAND: &str = "facteur.dev/command";
    pub const USER: &str = "facteur.dev/user-id";
    pub const GUILD: &str = "facteur.dev/guild-id";
    pub const CHANNEL: &str = "facteur.dev/channel-id";
    pub const INTERACTION: &str = "facteur.dev/interaction-id";
    /// Annotation: the Discord username, for people reading the workflow.
    pub const USERNAME: &str = "facteur.dev/username";
    /// Annotation: the W3C `traceparent` the command's request arrived with (Spin's trace).
    pub const TRACEPARENT: &str = "facteur.dev/traceparent";
    /// Annotation: the trace id (of that traceparent, or a CommandEvent's `trace_id`).
    pub const TRACE_ID: &str = "facteur.dev/trace-id";
    /// Annotation: a CommandEvent's `correlation_id`.
    pub const CORRELATION: &str = "facteur.dev/correlation-id";
    /// Annotations of a run that needed approval: who approved it (id and username).
    pub const APPROVER_ID: &str = "facteur.dev/approver-id";
    pub const APPROVED_BY: &str = "facteur.dev/approved-by";
    /// Argo's: `"true"` once the controller has seen the run end (`workflow/common/common.go`).
    pub const COMPLETED: &str = "workflows.argoproj.io/completed";
}

/// The workflow name for an interaction (or CommandEvent) id: deterministic, so a redelivery
/// is refused by Argo as AlreadyExists instead of starting a second run. A DNS-1123 label:
/// lowercase, `[a-z0-9-]`, at most 63 characters.
pub fn workflow_name(command: &str, id: &str) -> String {
    let clean = |s: &str| -> String {
        s.chars().map(|c| if c.is_ascii_alphanumeric() { c.to_ascii_lowercase() } else { '-' }).collect()
    };
    let id = clean(id);
    let mut prefix = clean(command);
    prefix.truncate(62usize.saturating_sub(id.len()).max(1));
    let name = format!("{prefix}-{id}");
    let name: String = name.chars().take(63).collect();
    name.trim_matches('-').to_owned()
}

/// A Kubernetes object name (DNS-1123 subdomain): what a workflow name must be before it goes
/// into an Argo URL. The catalog's check of template names is the same rule.
pub use crate::catalog::is_kubernetes_name as is_object_name;

/// A namespace name (DNS-1123 label).
pub fn is_namespace(name: &str) -> bool {
    name.len() <= 63 && !name.contains('.') && is_object_name(name)
}

/// Label values are at most 63 characters of `[-_.a-zA-Z0-9]`, starting and ending with an
/// alphanumeric; anything else is replaced, so a label can never break the `k=v,…` string.
pub fn label_value(value: &str) -> String {
    let cleaned: String = value
        .chars()
        .map(|c| if c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.') { c } else { '_' })
        .take(63)
        .collect();
    cleaned.trim_matches(|c: char| !c.is_ascii_alphanumeric()).to_owned()
}

/// `key=value` pairs, as labels and annotations are given to Argo.
pub type Pairs = Vec<(String, String)>;

/// The labels and annotations of a workflow started by `interaction` for `command`.
pub fn identity(command: &str, interaction: &Interaction) -> (Pairs, Pairs) {
    let mut labels = vec![
        (label::COMMAND.to_owned(), label_value(command)),
        (label::INTERACTION.to_owned(), label_value(&interaction.id)),
    ];
    for (key, value) in [
        (label::USER, interaction.user_id()),
        (label::GUILD, interaction.guild_id.as_deref()),
        (label::CHANNEL, interaction.channel_id.as_deref()),
    ] {
        if let Some(value) = value.map(label_value).filter(|v| !v.is_empty()) {
            labels.push((key.to_owned(), value));
        }
    }
    let annotations = interaction
        .invoker()
        .map(|u| label_value(&u.username))
        .filter(|u| !u.is_empty())
        .map(|u| vec![(label::USERNAME.to_owned(), u)])
        .unwrap_or_default();
    (labels, annotations)
}
