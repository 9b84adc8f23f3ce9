//! A fake Argo Server: the REST contract of `specs/argo-swagger.json` for the calls facteur
//! makes, with workflows kept in memory. Every request is checked against the official spec;
//! a request that does not match gets a 400 and is listed in [`FakeArgo::violations`].

use std::collections::{BTreeMap, BTreeSet, VecDeque};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use anyhow::Result;
use serde_json::{Value, json};

use super::openapi::OpenApi;
use super::{FakeServer, Recorded, Reply};

#[derive(Default)]
struct State {
    templates: BTreeSet<(String, String)>,
    workflows: BTreeMap<(String, String), Value>,
    /// Replies given instead of handling the next submits, in order.
    submit_failures: VecDeque<Reply>,
    /// Every n-th submit is answered with this reply (fault injection under load).
    fail_every: Option<(u64, Reply)>,
    submits: u64,
    token: Option<String>,
    delay: Duration,
    violations: Vec<String>,
    created: u64,
    logs: BTreeMap<(String, String), Vec<String>>,
}

pub struct FakeArgo {
    pub server: FakeServer,
    state: Arc<Mutex<State>>,
}

impl FakeArgo {
    /// Starts a fake Argo Server that knows the WorkflowTemplates `templates` (namespace, name).
    pub async fn start(templates: &[(&str, &str)]) -> Result<Self> {
        let spec = Arc::new(OpenApi::argo()?);
        let state = Arc::new(Mutex::new(State {
            templates: templates.iter().map(|(ns, t)| (ns.to_string(), t.to_string())).collect(),
            ..State::default()
        }));
        let shared = state.clone();
        let server = FakeServer::start(move |request| {
            let mut state = shared.lock().unwrap();
            let reply = handle(&spec, &mut state, request);
            reply.after(state.delay)
        })
        .await?;
        Ok(Self { server, state })
    }

    pub fn origin(&self) -> String {
        self.server.origin()
    }

    /// Requires `Authorization: Bearer <token>` from now on.
    pub fn require_token(&self, token: &str) {
        self.state.lock().unwrap().token = Some(token.to_owned());
    }

    /// The next submits are answered with these, in order (e.g. an Argo 500), instead of handled.
    pub fn fail_next_submits(&self, replies: impl IntoIterator<Item = Reply>) {
        self.state.lock().unwrap().submit_failures.extend(replies);
    }

    /// Answers every `n`-th submit with `reply` instead of handling it.
    pub fn fail_every(&self, n: u64, reply: Reply) {
        self.state.lock().unwrap().fail_every = Some((n, reply));
    }

    /// Answers every request after `delay`.
    pub fn delay(&self, delay: Duration) {
        self.state.lock().unwrap().delay = delay;
    }

    /// Stores a workflow as Argo would return it (`metadata.namespace` and `metadata.name` set).
    pub fn insert_workflow(&self, workflow: Value) {
        let key = (
            workflow["metadata"]["namespace"].as_str().unwrap().to_owned(),
            workflow["metadata"]["name"].as_str().unwrap().to_owned(),
        );
        self.state.lock().unwrap().workflows.insert(key, workflow);
    }

    /// The main container's log lines of a workflow.
    pub fn set_logs(&self, namespace: &str, name: &str, lines: Vec<String>) {
        self.state.lock().unwrap().logs.insert((namespace.to_owned(), name.to_owned()), lines);
    }

    /// A stored workflow.
    pub fn workflow(&self, namespace: &str, name: &str) -> Option<Value> {
        self.state.lock().unwrap().workflows.get(&(namespace.to_owned(), name.to_owned())).cloned()
    }

    /// Requests other than GETs (submits, stops, retries, …).
    pub fn changes(&self) -> Vec<Recorded> {
        self.requests().into_iter().filter(|r| r.method != "GET").collect()
    }

    /// Sets a stored workflow's status (phase, progress, …).
    pub fn set_status(&self, namespace: &str, name: &str, status: Value) {
        if let Some(wf) = self.state.lock().unwrap().workflows.get_mut(&(namespace.to_owned(), name.to_owned())) {
            wf["status"] = status;
        }
    }

    /// Workflows created (dry runs excluded).
    pub fn workflows(&self) -> Vec<Value> {
        self.state.lock().unwrap().workflows.values().cloned().collect()
    }

    /// Every request received.
    pub fn requests(&self) -> Vec<Recorded> {
        self.server.requests()
    }

    /// Submit requests received.
    pub fn submits(&self) -> Vec<Value> {
        self.requests()
            .iter()
            .filter(|r| r.method == "POST" && r.path.ends_with("/submit"))
            .map(Recorded::json)
            .collect()
    }

    /// Requests that did not match the OpenAPI spec.
    pub fn violations(&self) -> Vec<String> {
        self.state.lock().unwrap().violations.clone()
    }
}

fn error(status: u16, code: u16, message: &str) -> Reply {
    Reply::json(status, json!({"code": code, "message": message, "details": []}))
}

fn handle(spec: &OpenApi, state: &mut State, request: &Recorded) -> Reply {
    if let Err(violation) = spec.check_request(&request.method, &request.path, &request.body) {
        state.violations.push(violation.clone());
        return error(400, 3, &format!("fake Argo: request does not match the OpenAPI spec: {violation}"));
    }
    if let Some(token) = &state.token
        && request.header("authorization") != Some(&format!("Bearer {token}"))
    {
        return error(401, 16, "token not valid. see https://argo-workflows.readthedocs.io/en/latest/faq/");
    }
    let (path, query) = request.path.split_once('?').unwrap_or((&request.path, ""));
    let query: BTreeMap<String, String> = form_urlencoded::parse(query.as_bytes()).into_owned().collect();
    let segments: Vec<&str> = path.trim_start_matches('/').split('/').collect();
    let reply = match (request.method.as_str(), segments.as_slice()) {
        ("POST", ["api", "v1", "workflows", namespace, "submit"]) => {
            if let Some(failure) = state.submit_failures.pop_front() {
                return failure;
            }
            state.submits += 1;
            if let Some((n, reply)) = &state.fail_every
                && state.submits.is_multiple_of(*n)
            {
                return reply.clone();
            }
            submit(state, namespace, &request.json())
        }
        ("GET", ["api", "v1", "workflows", namespace, name]) => {
            match state.workflows.get(&(namespace.to_string(), name.to_string())) {
                Some(wf) => Reply::json(200, wf.clone()),
                None => not_found(name),
            }
        }
        ("GET", ["api", "v1", "workflows", namespace]) => list(state, namespace, &query),
        ("GET", ["api", "v1", "workflows", namespace, name, "log"]) => {
            let key = (namespace.to_string(), name.to_string());
            if !state.workflows.contains_key(&key) {
                return not_found(name);
            }
            // grpc-gateway's stream: one JSON object per line.
            let tail: usize = query.get("logOptions.tailLines").and_then(|t| t.parse().ok()).unwrap_or(usize::MAX);
            let lines = state.logs.get(&key).cloned().unwrap_or_default();
            let skip = lines.len().saturating_sub(tail);
            let body: String = lines[skip..]
                .iter()
                .map(|l| format!("{}\n", json!({"result": {"content": l, "podName": format!("{name}-main")}})))
                .collect();
            return Reply::text(200, body);
        }
        ("PUT", ["api", "v1", "workflows", namespace, name, verb @ ("stop" | "terminate" | "retry")]) => {
            let Some(wf) = state.workflows.get_mut(&(namespace.to_string(), name.to_string())) else {
                return not_found(name);
            };
            let phase = wf["status"]["phase"].as_str().unwrap_or("").to_owned();
            match *verb {
                "retry" if !matches!(phase.as_str(), "Failed" | "Error") => {
                    return error(400, 3, &format!("workflow must be Failed/Error to retry (phase {phase})"));
                }
                "retry" => {
                    wf["status"]["phase"] = "Running".into();
                    if let Some(status) = wf["status"].as_object_mut() {
                        status.remove("finishedAt");
                    }
                }
                _ if matches!(phase.as_str(), "Succeeded" | "Failed" | "Error") => {
                    return error(400, 3, "cannot shutdown a completed workflow");
                }
                strategy => {
                    wf["status"]["phase"] = "Failed".into();
                    let strategy = if strategy == "stop" { "Stop" } else { "Terminate" };
                    wf["status"]["message"] = format!("Stopped with strategy '{strategy}'").into();
                }
            }
            Reply::json(200, wf.clone())
        }
        ("GET", ["api", "v1", "workflow-templates", namespace]) => {
            let pattern = query.get("namePattern").cloned().unwrap_or_default();
            let items: Vec<Value> = state
                .templates
                .iter()
                .filter(|(ns, t)| ns == namespace && t.contains(&pattern))
                .map(|(ns, t)| json!({"metadata": {"name": t, "namespace": ns}, "spec": {}}))
                .collect();
            Reply::json(
                200,
                json!({"metadata": {}, "items": if items.is_empty() { Value::Null } else { items.into() }}),
            )
        }
        _ => error(501, 12, &format!("fake Argo does not implement {} {path}", request.method)),
    };
    if reply.status == 200
        && let Err(violation) =
            spec.check_response(&request.method, path, &serde_json::from_str(&reply.body).unwrap_or_default())
    {
        state.violations.push(format!("fake Argo's own response: {violation}"));
    }
    reply
}

fn not_found(name: &str) -> Reply {
    error(404, 5, &format!("workflows.argoproj.io \"{name}\" not found"))
}

/// `GET /api/v1/workflows/{namespace}`: label selector (`k=v` and `k` requirements), name prefix,
/// limit; newest first, `items: null` when nothing matches, as Argo answers.
fn list(state: &State, namespace: &str, query: &BTreeMap<String, String>) -> Reply {
    let selector = query.get("listOptions.labelSelector").cloned().unwrap_or_default();
    let prefix = match query.get("nameFilter").map(String::as_str) {
        Some("Prefix") => {
            query.get("listOptions.fieldSelector").and_then(|f| f.strip_prefix("metadata.name=")).unwrap_or("")
        }
        _ => "",
    };
    let limit: usize =
        query.get("listOptions.limit").and_then(|l| l.parse().ok()).filter(|l| *l > 0).unwrap_or(usize::MAX);
    let matches = |wf: &Value| {
        selector.split(',').filter(|r| !r.is_empty()).all(|requirement| match requirement.split_once('=') {
            Some((k, v)) => wf["metadata"]["labels"][k] == v,
            None => wf["metadata"]["labels"].get(requirement).is_some(),
        }) && wf["metadata"]["name"].as_str().is_some_and(|n| n.starts_with(prefix))
    };
    let mut items: Vec<Value> = state
        .workflows
        .iter()
        .filter(|((ns, _), wf)| ns == namespace && matches(wf))
        .map(|(_, wf)| wf.clone())
        .collect();
    items.sort_by(|a, b| b["metadata"]["creationTimestamp"].as_str().cmp(&a["metadata"]["creationTimestamp"].as_str()));
    items.truncate(limit);
    Reply::json(200, json!({"metadata": {}, "items": if items.is_empty() { Value::Null } else { items.into() }}))
}

fn submit(state: &mut State, namespace: &str, body: &Value) -> Reply {
    if body["namespace"] != namespace {
        return error(400, 3, "namespace in the body does not match the path");
    }
    let kind = body["resourceKind"].as_str().unwrap_or("");
    if !matches!(kind, "WorkflowTemplate" | "workflowtemplate" | "workflowtemplates" | "wftmpl") {
        return error(400, 3, &format!("Resource kind '{kind}' is not supported for submitting"));
    }
    let template = body["resourceName"].as_str().unwrap_or("");
    if !state.templates.contains(&(namespace.to_owned(), template.to_owned())) {
        return error(404, 5, &format!("workflowtemplates.argoproj.io \"{template}\" not found"));
    }
    let options = &body["submitOptions"];
    let name = options["name"].as_str().unwrap_or("").to_owned();
    if name.is_empty() {
        return error(400, 3, "fake Argo: facteur always names its workflows");
    }
    if state.workflows.contains_key(&(namespace.to_owned(), name.clone())) {
        return error(409, 6, &format!("workflows.argoproj.io \"{name}\" already exists"));
    }
    let mut parameters = Vec::new();
    for parameter in options["parameters"].as_array().into_iter().flatten() {
        let Some((key, value)) = parameter.as_str().and_then(|p| p.split_once('=')) else {
            return error(400, 3, &format!("expected parameter of the form: NAME=VALUE. Received: {parameter}"));
        };
        parameters.push(json!({"name": key, "value": value}));
    }
    let split = |field: &str| -> Value {
        let pairs = options[field]
            .as_str()
            .unwrap_or("")
            .split(',')
            .filter(|p| !p.is_empty())
            .filter_map(|p| p.split_once('='));
        Value::Object(pairs.map(|(k, v)| (k.to_owned(), Value::String(v.to_owned()))).collect())
    };
    state.created += 1;
    let mut spec = json!({"workflowTemplateRef": {"name": template}, "arguments": {"parameters": parameters}});
    let created = format!("2026-11-27T00:{:02}:{:02}Z", (state.created / 60) % 60, state.created % 60);
    if let Some(sa) = options["serviceAccount"].as_str() {
        spec["serviceAccountName"] = sa.into();
    }
    let workflow = json!({
        "metadata": {
            "name": name, "namespace": namespace, "uid": format!("00000000-0000-0000-0000-{:012}", state.created),
            "creationTimestamp": created, "labels": split("labels"), "annotations": split("annotations"),
        },
        "spec": spec,
        "status": {},
    });
    if options["serverDryRun"] != true {
        state.workflows.insert((namespace.to_owned(), name), workflow.clone());
    }
    Reply::json(200, workflow)
}
