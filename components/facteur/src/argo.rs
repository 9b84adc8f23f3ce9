//! The Argo Server REST API, as pure request building and response parsing (shapes from the
//! official OpenAPI spec, `specs/argo-swagger.json`). The Spin adapter sends what this builds.

use serde::Deserialize;
use serde_json::json;

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
}

/// An HTTP request for the Argo Server, ready to send.
#[derive(Debug, Clone, PartialEq)]
pub struct ArgoRequest {
    pub method: &'static str,
    /// Path and query, appended to the server URL.
    pub path: String,
    pub body: Option<serde_json::Value>,
}

/// What to submit.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SubmitSpec {
    pub namespace: String,
    pub template: String,
    pub name: String,
    pub parameters: Vec<(String, String)>,
    pub labels: Vec<(String, String)>,
    pub annotations: Vec<(String, String)>,
    pub service_account: Option<String>,
    pub server_dry_run: bool,
}

/// `POST /api/v1/workflows/{namespace}/submit` of a WorkflowTemplate.
pub fn submit(spec: &SubmitSpec) -> ArgoRequest {
    let join = |pairs: &[(String, String)]| pairs.iter().map(|(k, v)| format!("{k}={v}")).collect::<Vec<_>>().join(",");
    let mut options = json!({
        "name": spec.name,
        "parameters": spec.parameters.iter().map(|(k, v)| format!("{k}={v}")).collect::<Vec<_>>(),
        "labels": join(&spec.labels),
    });
    let map = options.as_object_mut().expect("an object");
    if !spec.annotations.is_empty() {
        map.insert("annotations".into(), join(&spec.annotations).into());
    }
    if let Some(sa) = &spec.service_account {
        map.insert("serviceAccount".into(), sa.clone().into());
    }
    if spec.server_dry_run {
        map.insert("serverDryRun".into(), true.into());
    }
    ArgoRequest {
        method: "POST",
        path: format!("/api/v1/workflows/{}/submit", spec.namespace),
        body: Some(json!({
            "namespace": spec.namespace,
            "resourceKind": "WorkflowTemplate",
            "resourceName": spec.template,
            "submitOptions": options,
        })),
    }
}

/// `GET /api/v1/workflows/{namespace}/{name}`.
pub fn get(namespace: &str, name: &str) -> ArgoRequest {
    ArgoRequest { method: "GET", path: format!("/api/v1/workflows/{namespace}/{name}"), body: None }
}

/// The `Authorization` header for a token given with or without its `Bearer ` prefix
/// (Argo's docs print tokens with it); `None` for an empty token.
pub fn authorization(token: &str) -> Option<String> {
    let token = token.trim();
    match token {
        "" => None,
        t if t.starts_with("Bearer ") => Some(t.to_owned()),
        t => Some(format!("Bearer {t}")),
    }
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

/// The labels and annotations of a workflow started by `interaction` for `command`.
pub fn identity(command: &str, interaction: &Interaction) -> (Vec<(String, String)>, Vec<(String, String)>) {
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
    #[serde(default)]
    pub uid: Option<String>,
    #[serde(default, rename = "creationTimestamp")]
    pub created: Option<String>,
    #[serde(default)]
    pub labels: std::collections::BTreeMap<String, String>,
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
}

impl Workflow {
    /// The phase, `Pending` while Argo has not set one yet.
    pub fn phase(&self) -> &str {
        self.status.phase.as_deref().filter(|p| !p.is_empty()).unwrap_or("Pending")
    }
}

/// A failed Argo call, as the member may see it: no token, no internals.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ArgoError {
    /// 409: a workflow of that name exists (the same interaction, delivered again).
    AlreadyExists,
    Rejected {
        status: u16,
        message: String,
    },
    Unreachable(String),
    Timeout,
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

impl ArgoError {
    /// What the member reads when `template` could not be submitted in `namespace`.
    pub fn explain(&self, template: &str, namespace: &str) -> String {
        match self {
            Self::AlreadyExists => "This command already started a workflow.".to_owned(),
            Self::Timeout => {
                "Argo did not answer in time. The workflow may still start; check Argo before retrying.".to_owned()
            }
            Self::Unreachable(_) => "Argo cannot be reached right now. Please try again in a moment.".to_owned(),
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

    /// For logs: the status and Argo's own message.
    pub fn detail(&self) -> String {
        match self {
            Self::AlreadyExists => "409 AlreadyExists".to_owned(),
            Self::Timeout => "timeout".to_owned(),
            Self::Unreachable(e) => format!("unreachable: {e}"),
            Self::Rejected { status, message } => format!("{status}: {message}"),
        }
    }
}

/// The Argo UI page of a workflow.
pub fn ui_link(ui_base: &str, namespace: &str, name: &str) -> String {
    format!("{}/workflows/{namespace}/{name}", ui_base.trim_end_matches('/'))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn spec() -> SubmitSpec {
        SubmitSpec {
            namespace: "argo".into(),
            template: "facteur-dispatch".into(),
            name: "plan-1190000000000000001".into(),
            parameters: vec![("action".into(), "plan".into()), ("objective".into(), "a=b, c".into())],
            labels: vec![(label::COMMAND.into(), "plan".into()), (label::USER.into(), "12".into())],
            annotations: vec![(label::USERNAME.into(), "ada".into())],
            service_account: None,
            server_dry_run: false,
        }
    }

    #[test]
    fn submit_request_shape() {
        let request = submit(&spec());
        assert_eq!((request.method, request.path.as_str()), ("POST", "/api/v1/workflows/argo/submit"));
        assert_eq!(
            request.body.unwrap(),
            json!({
                "namespace": "argo", "resourceKind": "WorkflowTemplate", "resourceName": "facteur-dispatch",
                "submitOptions": {
                    "name": "plan-1190000000000000001",
                    "parameters": ["action=plan", "objective=a=b, c"],
                    "labels": "facteur.dev/command=plan,facteur.dev/user-id=12",
                    "annotations": "facteur.dev/username=ada"
                }
            })
        );
    }

    #[test]
    fn dry_run_and_service_account() {
        let mut s = spec();
        s.server_dry_run = true;
        s.service_account = Some("facteur-workflow".into());
        let body = submit(&s).body.unwrap();
        assert_eq!(body["submitOptions"]["serverDryRun"], true);
        assert_eq!(body["submitOptions"]["serviceAccount"], "facteur-workflow");
    }

    #[test]
    fn workflow_names_are_deterministic_dns_labels() {
        assert_eq!(workflow_name("plan", "1190000000000000001"), "plan-1190000000000000001");
        assert_eq!(workflow_name("my_cmd", "X1"), "my-cmd-x1");
        let long = workflow_name(&"c".repeat(32), "12345678901234567890");
        assert!(long.len() <= 63 && long.ends_with("-12345678901234567890"), "{long}");
        assert!(crate::catalog::is_kubernetes_name(&long));
    }

    #[test]
    fn label_values_are_safe() {
        assert_eq!(label_value("1190000000000000001"), "1190000000000000001");
        assert_eq!(label_value("a,b=c d"), "a_b_c_d");
        assert_eq!(label_value("_x_"), "x");
        assert_eq!(label_value(&"a".repeat(70)).len(), 63);
    }

    #[test]
    fn identity_labels_from_an_interaction() {
        let i = Interaction::parse(
            br#"{"id":"11","application_id":"2","type":2,"token":"t","guild_id":"5","channel_id":"6",
                "member":{"user":{"id":"7","username":"ada.l"},"roles":[]},"data":{"name":"plan"}}"#,
        )
        .unwrap();
        let (labels, annotations) = identity("plan", &i);
        assert_eq!(
            labels,
            [
                (label::COMMAND.into(), "plan".into()),
                (label::INTERACTION.into(), "11".into()),
                (label::USER.into(), "7".into()),
                (label::GUILD.into(), "5".into()),
                (label::CHANNEL.into(), "6".into())
            ]
        );
        assert_eq!(annotations, [(label::USERNAME.into(), "ada.l".into())]);
    }

    #[test]
    fn bearer_tokens() {
        assert_eq!(authorization(""), None);
        assert_eq!(authorization("abc").as_deref(), Some("Bearer abc"));
        assert_eq!(authorization("Bearer abc\n").as_deref(), Some("Bearer abc"));
    }

    #[test]
    fn parses_workflows_and_errors() {
        let wf = parse_workflow(
            200,
            br#"{"metadata":{"name":"plan-1","namespace":"argo","uid":"u","creationTimestamp":"2026-11-27T00:00:00Z"},"spec":{},"status":{}}"#,
        )
        .unwrap();
        assert_eq!((wf.metadata.name.as_str(), wf.phase()), ("plan-1", "Pending"));
        assert_eq!(parse_workflow(409, br#"{"code":6,"message":"exists"}"#), Err(ArgoError::AlreadyExists));
        let e = parse_workflow(
            403,
            br#"{"code":7,"message":"workflowtemplates.argoproj.io is forbidden: User \"system:serviceaccount:x\""}"#,
        )
        .unwrap_err();
        assert_eq!(
            e.explain("t", "ns"),
            "facteur is not allowed to run `t` in namespace `ns` (403). An admin needs to grant it in Argo's RBAC."
        );
        assert!(e.detail().starts_with("403: workflowtemplates.argoproj.io is forbidden"));
        let e = parse_workflow(500, b"<html>oops</html>").unwrap_err();
        assert_eq!(e.explain("t", "ns"), "Argo had an internal error (500). Please try again in a moment.");
        assert_eq!(
            parse_workflow(404, b"{}").unwrap_err().explain("t", "ns"),
            "WorkflowTemplate `t` was not found in namespace `ns`."
        );
        assert!(parse_workflow(401, b"{}").unwrap_err().explain("t", "ns").contains("renew facteur's Argo token"));
        assert_eq!(
            parse_workflow(400, br#"{"code":3,"message":"spec.arguments.foo not supplied"}"#)
                .unwrap_err()
                .explain("t", "ns"),
            "Argo refused the workflow: spec.arguments.foo not supplied"
        );
    }

    #[test]
    fn ui_links() {
        assert_eq!(ui_link("https://argo.example/", "argo", "plan-1"), "https://argo.example/workflows/argo/plan-1");
    }
}
