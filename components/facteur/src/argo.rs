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
    /// `GET`, `POST` or `PUT`.
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

/// `PUT …/{name}/stop`: stops the run; its exit handlers still run.
pub fn stop(namespace: &str, name: &str, message: &str) -> ArgoRequest {
    action(namespace, name, "stop", json!({"namespace": namespace, "name": name, "message": message}))
}

/// `PUT …/{name}/terminate`: ends the run at once, without exit handlers.
pub fn terminate(namespace: &str, name: &str) -> ArgoRequest {
    action(namespace, name, "terminate", json!({"namespace": namespace, "name": name}))
}

/// `PUT …/{name}/retry`: reruns the failed steps in the same workflow.
pub fn retry(namespace: &str, name: &str) -> ArgoRequest {
    action(namespace, name, "retry", json!({"namespace": namespace, "name": name}))
}

fn action(namespace: &str, name: &str, verb: &str, body: serde_json::Value) -> ArgoRequest {
    ArgoRequest { method: "PUT", path: format!("/api/v1/workflows/{namespace}/{name}/{verb}"), body: Some(body) }
}

/// `GET /api/v1/workflows/{namespace}` of the workflows matching a label selector, optionally
/// only those whose name starts with `prefix`.
pub fn list(namespace: &str, label_selector: &str, prefix: Option<&str>, limit: u32) -> ArgoRequest {
    let mut query =
        vec![("listOptions.labelSelector", label_selector.to_owned()), ("listOptions.limit", limit.to_string())];
    if let Some(prefix) = prefix.filter(|p| !p.is_empty()) {
        query.push(("nameFilter", "Prefix".to_owned()));
        query.push(("listOptions.fieldSelector", format!("metadata.name={prefix}")));
    }
    ArgoRequest { method: "GET", path: format!("/api/v1/workflows/{namespace}?{}", encode(&query)), body: None }
}

/// `GET /api/v1/workflow-templates/{namespace}` whose names contain `pattern`.
pub fn templates(namespace: &str, pattern: &str) -> ArgoRequest {
    ArgoRequest {
        method: "GET",
        path: format!("/api/v1/workflow-templates/{namespace}?{}", encode(&[("namePattern", pattern.to_owned())])),
        body: None,
    }
}

/// `GET …/{name}/log`: the last `tail` lines of the main containers (no follow: a request-scoped
/// component cannot hold a stream open).
pub fn logs(namespace: &str, name: &str, tail: u32) -> ArgoRequest {
    let query = [("logOptions.container", "main".to_owned()), ("logOptions.tailLines", tail.to_string())];
    ArgoRequest {
        method: "GET",
        path: format!("/api/v1/workflows/{namespace}/{name}/log?{}", encode(&query)),
        body: None,
    }
}

fn encode(pairs: &[(&str, String)]) -> String {
    pairs
        .iter()
        .map(|(k, v)| format!("{k}={}", form_urlencoded::byte_serialize(v.as_bytes()).collect::<String>()))
        .collect::<Vec<_>>()
        .join("&")
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
    pub fn phase(&self) -> &str {
        self.status.phase.as_deref().filter(|p| !p.is_empty()).unwrap_or("Pending")
    }

    /// Succeeded, Failed or Error: the run is over.
    pub fn is_finished(&self) -> bool {
        matches!(self.phase(), "Succeeded" | "Failed" | "Error")
    }

    /// Why the run failed: the first failed pod's message (its step named), else the
    /// workflow's own message.
    pub fn failure(&self) -> Option<String> {
        let failed = |n: &&Node| {
            matches!(n.phase.as_str(), "Failed" | "Error") && n.message.as_deref().is_some_and(|m| !m.is_empty())
        };
        let nodes: std::collections::BTreeMap<String, Node> =
            self.status.nodes.as_ref().and_then(|n| serde_json::from_str(n.0.get()).ok()).unwrap_or_default();
        let node = nodes.values().filter(failed).find(|n| n.kind == "Pod").or_else(|| nodes.values().find(failed));
        match node {
            Some(n) => Some(format!("{}: {}", n.display_name, n.message.as_deref().unwrap_or_default())),
            None => self.status.message.clone().filter(|m| !m.is_empty()),
        }
    }

    /// Seconds from start to finish (or to `now` while running).
    pub fn duration_secs(&self, now: u64) -> Option<u64> {
        let started = self.status.started_at.as_deref().and_then(unix_seconds)?;
        let ended = self.status.finished_at.as_deref().and_then(unix_seconds).unwrap_or(now);
        Some(ended.saturating_sub(started))
    }
}

/// Seconds since the Unix epoch of a Kubernetes timestamp (`2026-11-27T08:15:00Z`, UTC).
pub fn unix_seconds(timestamp: &str) -> Option<u64> {
    let (date, time) = timestamp.strip_suffix('Z')?.split_once('T')?;
    let mut d = date.split('-').map(|p| p.parse::<i64>().ok());
    let (y, m, day) = (d.next()??, d.next()??, d.next()??);
    let mut t = time.split(':').map(|p| p.split('.').next().and_then(|p| p.parse::<i64>().ok()));
    let (h, min, sec) = (t.next()??, t.next()??, t.next()??);
    if !(1..=12).contains(&m) || !(1..=31).contains(&day) {
        return None;
    }
    // Days from the civil date (Howard Hinnant's algorithm).
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let doy = (153 * (m + if m > 2 { -3 } else { 9 }) + 2) / 5 + day - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    let days = era * 146_097 + doe - 719_468;
    u64::try_from(days * 86_400 + h * 3600 + min * 60 + sec).ok()
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
    fn operation_requests() {
        assert_eq!(stop("argo", "plan-1", "by ada").path, "/api/v1/workflows/argo/plan-1/stop");
        assert_eq!(
            stop("argo", "plan-1", "by ada").body.unwrap(),
            json!({"namespace": "argo", "name": "plan-1", "message": "by ada"})
        );
        assert_eq!(
            (terminate("argo", "p").method, retry("argo", "p").path.as_str()),
            ("PUT", "/api/v1/workflows/argo/p/retry")
        );
        assert_eq!(
            list("argo", "facteur.dev/user-id=12", Some("plan-"), 25).path,
            "/api/v1/workflows/argo?listOptions.labelSelector=facteur.dev%2Fuser-id%3D12&listOptions.limit=25&nameFilter=Prefix&listOptions.fieldSelector=metadata.name%3Dplan-"
        );
        assert_eq!(templates("argo", "fac").path, "/api/v1/workflow-templates/argo?namePattern=fac");
        assert_eq!(
            logs("argo", "p", 50).path,
            "/api/v1/workflows/argo/p/log?logOptions.container=main&logOptions.tailLines=50"
        );
    }

    #[test]
    fn lists_logs_and_failures() {
        assert_eq!(parse_list(200, br#"{"metadata":{},"items":null}"#).unwrap(), vec![]);
        let items = parse_list(200, br#"{"items":[{"metadata":{"name":"a"}},{"metadata":{"name":"b"}}]}"#).unwrap();
        assert_eq!(items.iter().map(|w| w.metadata.name.as_str()).collect::<Vec<_>>(), ["a", "b"]);
        let stream = b"{\"result\":{\"content\":\"one\",\"podName\":\"p\"}}\n{\"result\":{\"content\":\"two\\nthree\",\"podName\":\"p\"}}\n";
        assert_eq!(parse_logs(200, stream).unwrap(), ["one", "two", "three"]);
        assert!(parse_logs(200, br#"{"error":{"grpc_code":5,"message":"pod not found"}}"#).is_err());

        let failed: Workflow = serde_json::from_value(json!({
            "metadata": {"name": "plan-1", "labels": {"facteur.dev/user-id": "12"}},
            "status": {"phase": "Failed", "startedAt": "2026-11-27T08:00:00Z", "finishedAt": "2026-11-27T08:02:05Z",
                       "message": "child failed", "nodes": {
                           "plan-1": {"displayName": "plan-1", "type": "Steps", "phase": "Failed", "message": "child failed"},
                           "plan-1-2": {"displayName": "build", "type": "Pod", "phase": "Failed", "message": "exit code 2"}}}
        }))
        .unwrap();
        assert_eq!(failed.failure().as_deref(), Some("build: exit code 2"));
        assert_eq!(failed.duration_secs(0), Some(125));
        assert!(failed.is_finished());
    }

    #[test]
    fn timestamps() {
        assert_eq!(unix_seconds("1970-01-01T00:00:00Z"), Some(0));
        assert_eq!(unix_seconds("2026-11-27T08:15:30Z"), Some(1_795_767_330));
        assert_eq!(unix_seconds("2024-02-29T12:00:00.5Z"), Some(1_709_208_000));
        assert_eq!(unix_seconds("2026-13-01T00:00:00Z"), None);
        assert_eq!(unix_seconds("yesterday"), None);
    }

    #[test]
    fn ui_links() {
        assert_eq!(ui_link("https://argo.example/", "argo", "plan-1"), "https://argo.example/workflows/argo/plan-1");
    }
}
