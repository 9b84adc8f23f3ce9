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
//!
//! By concern: the API tests and the playground drive (this file), the workflows kept and the
//! clock that moves them (`state`), the contract checks (`validate`), and the routes (`routes`).

mod routes;
mod state;
mod validate;

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use anyhow::Result;
use serde_json::Value;

use super::openapi::OpenApi;
use super::{FakeServer, Recorded, Reply};
use routes::handle;
use state::{State, advance};

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

    /// Sets a stored workflow's status (phase, progress, …), and the labels of its phase.
    pub fn set_status(&self, namespace: &str, name: &str, status: Value) {
        if let Some(wf) = self.state.lock().unwrap().workflows.get_mut(&(namespace.to_owned(), name.to_owned())) {
            let phase = status["phase"].as_str().map(str::to_owned);
            wf["status"] = status;
            if let Some(phase) = phase {
                state::set_phase(wf, &phase);
            }
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
