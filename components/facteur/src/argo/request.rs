//! Requests to the Argo Server REST API (shapes from the official OpenAPI spec,
//! `tests/specs/argo-swagger.json`), built purely; the Spin adapter sends them.

use serde_json::json;

/// The methods of the calls facteur makes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Method {
    Get,
    Post,
    Put,
}

impl Method {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Get => "GET",
            Self::Post => "POST",
            Self::Put => "PUT",
        }
    }
}

/// An HTTP request for the Argo Server, ready to send.
#[derive(Debug, Clone, PartialEq)]
pub struct ArgoRequest {
    pub method: Method,
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
        method: Method::Post,
        path: format!("/api/v1/workflows/{}/submit", segment(&spec.namespace)),
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
    ArgoRequest {
        method: Method::Get,
        path: format!("/api/v1/workflows/{}/{}", segment(namespace), segment(name)),
        body: None,
    }
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

/// `PUT …/{name}/suspend`: pauses the run (`spec.suspend`); running steps finish, no new ones start.
pub fn suspend(namespace: &str, name: &str) -> ArgoRequest {
    action(namespace, name, "suspend", json!({"namespace": namespace, "name": name}))
}

/// `PUT …/{name}/resume`: resumes a suspended run, and completes its `suspend` steps.
pub fn resume(namespace: &str, name: &str) -> ArgoRequest {
    action(namespace, name, "resume", json!({"namespace": namespace, "name": name}))
}

/// `PUT …/{name}/resubmit`: a new run of the same spec, named by Argo (`<name>-xxxxx`), which
/// keeps the labels and annotations of the old one.
pub fn resubmit(namespace: &str, name: &str) -> ArgoRequest {
    action(namespace, name, "resubmit", json!({"namespace": namespace, "name": name}))
}

fn action(namespace: &str, name: &str, verb: &str, body: serde_json::Value) -> ArgoRequest {
    ArgoRequest {
        method: Method::Put,
        path: format!("/api/v1/workflows/{}/{}/{verb}", segment(namespace), segment(name)),
        body: Some(body),
    }
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
    ArgoRequest {
        method: Method::Get,
        path: format!("/api/v1/workflows/{}?{}", segment(namespace), encode(&query)),
        body: None,
    }
}

/// [`list`], with only each workflow's name in the answer (`fields`): for counting.
pub fn list_names(namespace: &str, label_selector: &str, limit: u32) -> ArgoRequest {
    let query = [
        ("listOptions.labelSelector", label_selector.to_owned()),
        ("listOptions.limit", limit.to_string()),
        ("fields", "items.metadata.name".to_owned()),
    ];
    ArgoRequest {
        method: Method::Get,
        path: format!("/api/v1/workflows/{}?{}", segment(namespace), encode(&query)),
        body: None,
    }
}

/// `GET /api/v1/workflow-templates/{namespace}` whose names contain `pattern`.
pub fn templates(namespace: &str, pattern: &str) -> ArgoRequest {
    ArgoRequest {
        method: Method::Get,
        path: format!(
            "/api/v1/workflow-templates/{}?{}",
            segment(namespace),
            encode(&[("namePattern", pattern.to_owned())])
        ),
        body: None,
    }
}

/// `GET …/{name}/log`: the last `tail` lines of the main containers (no follow: a request-scoped
/// component cannot hold a stream open).
pub fn logs(namespace: &str, name: &str, tail: u32) -> ArgoRequest {
    let query = [("logOptions.container", "main".to_owned()), ("logOptions.tailLines", tail.to_string())];
    ArgoRequest {
        method: Method::Get,
        path: format!("/api/v1/workflows/{}/{}/log?{}", segment(namespace), segment(name), encode(&query)),
        body: None,
    }
}

/// A path segment, percent-encoded. Names are checked before they get here
/// (`is_object_name`, `is_namespace`); this keeps a URL well-formed whatever arrives.
fn segment(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for b in text.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~') {
            out.push(char::from(b));
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
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

/// The Argo UI page of a workflow.
pub fn ui_link(ui_base: &str, namespace: &str, name: &str) -> String {
    format!("{}/workflows/{namespace}/{name}", ui_base.trim_end_matches('/'))
}
