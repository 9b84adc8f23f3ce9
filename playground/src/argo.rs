//! A stand-in for the Argo Server: the REST contract of `tests/specs/argo-swagger.json` for the
//! calls facteur makes, with workflows kept in memory. Every request is checked against the
//! official spec; a request that does not match gets a 400 and is listed in
//! [`FakeArgo::violations`].
//!
//! Workflows stay as they are unless a test sets their status, or [`FakeArgo::run_on_a_clock`]
//! is on (the playground): then each submitted run moves Pending → Running → Succeeded (Failed
//! when a parameter's value contains `fail`), serves the log lines the example template prints,
//! and can be reported when it ends, as the example template's exit handler reports it
//! ([`Report`]). The Argo UI's workflow page (`/workflows/{namespace}/{name}`) answers with a
//! plain-text summary, so links in replies lead somewhere.

use std::collections::{BTreeMap, BTreeSet, VecDeque};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use anyhow::Result;
use chrono::{DateTime, Utc};
use serde_json::{Value, json};

use super::openapi::OpenApi;
use super::{Activity, FakeServer, Recorded, Reply};

/// How submitted runs move on their own.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Clock {
    /// A run is Pending this long after its submit,
    pub pending: Duration,
    /// then Running this long, then Succeeded, or Failed when one of its parameters' values
    /// contains `fail`.
    pub running: Duration,
}

impl Default for Clock {
    fn default() -> Self {
        Self { pending: Duration::from_secs(3), running: Duration::from_secs(20) }
    }
}

/// Where finished runs are reported: facteur's lifecycle bridge (`POST /bridge/lifecycle`), with
/// its secret (`lifecycle_secret`), exactly as the example WorkflowTemplate's exit handler does (Stop runs exit
/// handlers; Terminate does not, so it is not reported).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Report {
    pub url: String,
    pub secret: String,
}

/// A run on the clock.
struct Clocked {
    since: Instant,
    created: DateTime<Utc>,
    fails: bool,
    /// The last phase this run was moved to (or left at, once stopped).
    phase: &'static str,
}

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
    /// The next requests answered late (handled at once, answered after the duration).
    late: VecDeque<Duration>,
    violations: Vec<String>,
    created: u64,
    logs: BTreeMap<(String, String), Vec<String>>,
    clock: Option<Clock>,
    clocked: BTreeMap<(String, String), Clocked>,
    report: Option<Report>,
    activity: Option<Activity>,
}

impl State {
    fn note(&self, line: String) {
        if let Some(activity) = &self.activity {
            activity(&line);
        }
    }
}

pub struct FakeArgo {
    pub server: FakeServer,
    state: Arc<Mutex<State>>,
    ticker: Mutex<Option<tokio::task::JoinHandle<()>>>,
}

impl FakeArgo {
    /// Starts a fake Argo Server that knows the WorkflowTemplates `templates` (namespace, name).
    pub async fn start(templates: &[(&str, &str)]) -> Result<Self> {
        Self::start_on(0, templates).await
    }

    /// The same on `127.0.0.1:<port>` (0: any free port).
    pub async fn start_on(port: u16, templates: &[(&str, &str)]) -> Result<Self> {
        let spec = OpenApi::argo()?;
        let state = Arc::new(Mutex::new(State {
            templates: templates.iter().map(|(ns, t)| (ns.to_string(), t.to_string())).collect(),
            ..State::default()
        }));
        let shared = state.clone();
        let server = FakeServer::start_on(port, move |request| {
            let mut state = shared.lock().unwrap();
            advance(&mut state, Instant::now());
            let reply = handle(&spec, &mut state, request);
            let delay = state.late.pop_front().unwrap_or(state.delay);
            reply.after(delay)
        })
        .await?;
        Ok(Self { server, state, ticker: Mutex::new(None) })
    }

    /// From now on, submitted runs move through their phases on `clock` (and serve logs),
    /// checked every 100 ms and on every request.
    pub fn run_on_a_clock(&self, clock: Clock) {
        self.state.lock().unwrap().clock = Some(clock);
        let state = Arc::downgrade(&self.state);
        let ticker = tokio::spawn(async move {
            loop {
                tokio::time::sleep(Duration::from_millis(100)).await;
                let Some(state) = state.upgrade() else { return };
                advance(&mut state.lock().unwrap(), Instant::now());
            }
        });
        if let Some(old) = self.ticker.lock().unwrap().replace(ticker) {
            old.abort();
        }
    }

    /// Reports each run that ends (on the clock, or stopped) to facteur's lifecycle bridge.
    pub fn report_to(&self, report: Report) {
        self.state.lock().unwrap().report = Some(report);
    }

    /// Calls `activity` with a line for each submit, phase change, report and violation.
    pub fn on_activity(&self, activity: impl Fn(&str) + Send + Sync + 'static) {
        self.state.lock().unwrap().activity = Some(Arc::new(activity));
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

    /// Handles the next `count` requests at once but answers them after `delay`: an answer
    /// that comes too late for the client, to a request that took effect.
    pub fn delay_next(&self, count: usize, delay: Duration) {
        self.state.lock().unwrap().late.extend(std::iter::repeat_n(delay, count));
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

impl Drop for FakeArgo {
    fn drop(&mut self) {
        if let Some(ticker) = self.ticker.lock().unwrap().take() {
            ticker.abort();
        }
    }
}

fn rfc3339(at: DateTime<Utc>) -> String {
    at.format("%Y-%m-%dT%H:%M:%SZ").to_string()
}

/// Moves the runs on the clock to the phase their age gives them; reports those that ended.
fn advance(state: &mut State, now: Instant) {
    let Some(clock) = state.clock else { return };
    let mut notes = Vec::new();
    let mut ended = Vec::new();
    for (key, run) in state.clocked.iter_mut() {
        if matches!(run.phase, "Succeeded" | "Failed" | "Error") {
            continue;
        }
        let Some(wf) = state.workflows.get_mut(key) else { continue };
        let age = now.saturating_duration_since(run.since);
        let phase = if age < clock.pending {
            "Pending"
        } else if age < clock.pending + clock.running {
            "Running"
        } else if run.fails {
            "Failed"
        } else {
            "Succeeded"
        };
        if phase == run.phase {
            continue;
        }
        run.phase = phase;
        let name = &key.1;
        let started = run.created + clock.pending;
        let status = &mut wf["status"];
        status["phase"] = phase.into();
        status["startedAt"] = rfc3339(run.created).into();
        match phase {
            "Pending" => status["progress"] = "0/1".into(),
            "Running" => {
                status["progress"] = "0/1".into();
                status["nodes"] = json!({
                    name.clone(): {"id": name, "name": name, "displayName": name, "type": "Steps", "phase": "Running", "startedAt": rfc3339(run.created)},
                    format!("{name}-main"): {"id": format!("{name}-main"), "name": format!("{name}.main"), "displayName": "main", "type": "Pod", "phase": "Running", "startedAt": rfc3339(started)},
                });
            }
            final_phase => {
                let finished = rfc3339(started + clock.running);
                status["progress"] = "1/1".into();
                status["finishedAt"] = finished.clone().into();
                for node in status["nodes"].as_object_mut().into_iter().flat_map(|n| n.values_mut()) {
                    node["phase"] = final_phase.into();
                    node["finishedAt"] = finished.clone().into();
                }
                if final_phase == "Failed" {
                    let why = "Error (exit code 1): a parameter asked the playground for a failure";
                    status["message"] = "child failed".into();
                    status["nodes"][format!("{name}-main")]["message"] = why.into();
                }
                ended.push((key.clone(), final_phase));
            }
        }
        notes.push(format!("argo: {}/{} is {phase}", key.0, key.1));
    }
    for note in notes {
        state.note(note);
    }
    for (key, phase) in ended {
        report(state, &key, phase);
    }
}

/// Sends the lifecycle event of a run that ended, as the example template's exit handler does.
fn report(state: &State, key: &(String, String), phase: &str) {
    let (Some(report), Some(wf)) = (state.report.clone(), state.workflows.get(key)) else { return };
    let (namespace, name) = key;
    let uid = wf["metadata"]["uid"].as_str().unwrap_or_default();
    let mut data = json!({"workflow": name, "namespace": namespace, "phase": phase});
    for (field, from) in [("startedAt", "startedAt"), ("finishedAt", "finishedAt"), ("message", "message")] {
        if let Some(value) = wf["status"][from].as_str() {
            data[field] = value.into();
        }
    }
    let event = json!({
        "specversion": "1.0", "id": format!("{uid}-{phase}"), "source": format!("argo/{namespace}"),
        "type": "facteur.workflow.lifecycle", "data": data,
    });
    let activity = state.activity.clone();
    let label = format!("{namespace}/{name} {phase}");
    tokio::spawn(async move {
        // The template's retryStrategy: a few attempts, backing off.
        let mut outcome = String::new();
        for attempt in 0..5u32 {
            if attempt > 0 {
                tokio::time::sleep(Duration::from_millis(500) * 2u32.pow(attempt - 1)).await;
            }
            let headers =
                [("content-type", "application/cloudevents+json"), ("x-facteur-bridge-secret", report.secret.as_str())];
            match super::request("POST", &report.url, &headers, event.to_string()).await.map(|(status, _)| status) {
                Ok(status) if (200..300).contains(&status) => {
                    outcome = format!("reported {label} to {} ({status})", report.url);
                    break;
                }
                Ok(status) => outcome = format!("could not report {label} to {}: {status}", report.url),
                Err(e) => outcome = format!("could not report {label} to {}: {e}", report.url),
            }
        }
        if let Some(activity) = activity {
            activity(&format!("argo: {outcome}"));
        }
    });
}

/// The lines the example template's `main` container prints, once it ran.
fn simulated_logs(wf: &Value) -> Vec<String> {
    if !matches!(wf["status"]["phase"].as_str(), Some("Running" | "Succeeded" | "Failed" | "Error")) {
        return Vec::new();
    }
    let parameter = |name: &str| {
        wf["spec"]["arguments"]["parameters"]
            .as_array()
            .into_iter()
            .flatten()
            .find(|p| p["name"] == name)
            .and_then(|p| p["value"].as_str())
            .unwrap_or("")
            .to_owned()
    };
    vec![
        "[playground] a stand-in for Argo: no pod ran; these are the lines the example template prints".to_owned(),
        format!("facteur: {} {}", parameter("action"), parameter("project")),
        format!("objective: {}", parameter("objective")),
    ]
}

fn error(status: u16, code: u16, message: &str) -> Reply {
    Reply::json(status, json!({"code": code, "message": message, "details": []}))
}

fn handle(spec: &OpenApi, state: &mut State, request: &Recorded) -> Reply {
    if request.method == "GET"
        && let ["workflows", namespace, name] = request.path.trim_start_matches('/').split('/').collect::<Vec<_>>()[..]
    {
        return ui_page(state, namespace, name);
    }
    if let Err(violation) = spec.check_request(&request.method, &request.path, &request.body) {
        state.note(format!("argo: VIOLATION of the Argo Server's OpenAPI spec: {violation}"));
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
            let lines = match state.logs.get(&key) {
                Some(lines) => lines.clone(),
                None if state.clocked.contains_key(&key) => simulated_logs(&state.workflows[&key]),
                None => Vec::new(),
            };
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
                    // On the clock, the retried run runs again, and succeeds.
                    if let Some(run) = state.clocked.get_mut(&(namespace.to_string(), name.to_string())) {
                        run.since = std::time::Instant::now() - state.clock.map_or(Duration::ZERO, |c| c.pending);
                        run.fails = false;
                        run.phase = "Running";
                    }
                }
                _ if matches!(phase.as_str(), "Succeeded" | "Failed" | "Error") => {
                    return error(400, 3, "cannot shutdown a completed workflow");
                }
                strategy => {
                    wf["status"]["phase"] = "Failed".into();
                    let strategy = if strategy == "stop" { "Stop" } else { "Terminate" };
                    wf["status"]["message"] = format!("Stopped with strategy '{strategy}'").into();
                    let key = (namespace.to_string(), name.to_string());
                    if let Some(run) = state.clocked.get_mut(&key) {
                        run.phase = "Failed";
                        wf["status"]["finishedAt"] = rfc3339(Utc::now()).into();
                        let answer = wf.clone();
                        state.note(format!("argo: {namespace}/{name} is Failed ({strategy})"));
                        // Stop lets the exit handler run (it reports); Terminate does not.
                        if strategy == "Stop" {
                            report(state, &key, "Failed");
                        }
                        return Reply::json(200, answer);
                    }
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

/// The Argo UI's workflow page, as plain text: what a link in a reply leads to.
fn ui_page(state: &State, namespace: &str, name: &str) -> Reply {
    let text = match state.workflows.get(&(namespace.to_owned(), name.to_owned())) {
        Some(wf) => format!(
            "facteur playground: a stand-in for the Argo UI, not Argo (no workflow really runs).\n\n\
             workflow {namespace}/{name}\nphase    {}\n\n{}\n",
            wf["status"]["phase"].as_str().unwrap_or("(none yet)"),
            serde_json::to_string_pretty(wf).unwrap_or_default()
        ),
        None => format!("facteur playground: no workflow {namespace}/{name} here.\n"),
    };
    Reply::text(200, text).header("content-type", "text/plain; charset=utf-8")
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
    let fails = parameters.iter().any(|p| p["value"].as_str().is_some_and(|v| v.to_lowercase().contains("fail")));
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
    let mut workflow = workflow;
    if options["serverDryRun"] != true {
        let key = (namespace.to_owned(), name.clone());
        if state.clock.is_some() {
            let now = Utc::now();
            workflow["metadata"]["creationTimestamp"] = rfc3339(now).into();
            state.clocked.insert(key.clone(), Clocked { since: Instant::now(), created: now, fails, phase: "" });
            state.note(format!("argo: submitted {namespace}/{name} from WorkflowTemplate {template}"));
        }
        state.workflows.insert(key, workflow.clone());
    } else {
        state.note(format!("argo: dry run of WorkflowTemplate {template} accepted; nothing started"));
    }
    Reply::json(200, workflow)
}
