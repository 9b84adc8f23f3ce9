//! What the fake Argo keeps: templates, workflows, scripted failures and delays, violations, and
//! the clock that moves submitted runs through their phases (and reports them when they end).

use std::collections::{BTreeMap, BTreeSet, VecDeque};
use std::time::{Duration, Instant};

use chrono::{DateTime, Utc};
use serde_json::{Value, json};

use super::{Clock, Report};
use crate::{Activity, Reply};

/// A run on the clock.
pub(super) struct Clocked {
    pub(super) since: Instant,
    pub(super) created: DateTime<Utc>,
    pub(super) fails: bool,
    /// The last phase this run was moved to (or left at, once stopped).
    pub(super) phase: &'static str,
    /// Since when it is suspended: its clock stands still until it is resumed.
    pub(super) suspended: Option<Instant>,
}

#[derive(Default)]
pub(super) struct State {
    pub(super) templates: BTreeSet<(String, String)>,
    pub(super) workflows: BTreeMap<(String, String), Value>,
    /// Replies given instead of handling the next submits, in order.
    pub(super) submit_failures: VecDeque<Reply>,
    /// Every n-th submit is answered with this reply (fault injection under load).
    pub(super) fail_every: Option<(u64, Reply)>,
    pub(super) submits: u64,
    pub(super) token: Option<String>,
    pub(super) delay: Duration,
    /// The next requests answered late (handled at once, answered after the duration).
    pub(super) late: VecDeque<Duration>,
    pub(super) violations: Vec<String>,
    pub(super) created: u64,
    pub(super) logs: BTreeMap<(String, String), Vec<String>>,
    pub(super) clock: Option<Clock>,
    pub(super) clocked: BTreeMap<(String, String), Clocked>,
    pub(super) report: Option<Report>,
    pub(super) activity: Option<Activity>,
}

impl State {
    pub(super) fn note(&self, line: String) {
        if let Some(activity) = &self.activity {
            activity(&line);
        }
    }
}

pub(super) fn rfc3339(at: DateTime<Utc>) -> String {
    at.format("%Y-%m-%dT%H:%M:%SZ").to_string()
}

/// Sets a workflow's phase with the labels Argo's controller keeps beside it
/// (`workflow/common/common.go`): `workflows.argoproj.io/phase`, and
/// `workflows.argoproj.io/completed`, `"true"` once the phase is final (what facteur's caps on
/// runs in flight select on).
pub(super) fn set_phase(wf: &mut Value, phase: &str) {
    wf["status"]["phase"] = phase.into();
    let completed = matches!(phase, "Succeeded" | "Failed" | "Error");
    if let Some(labels) = wf["metadata"]["labels"].as_object_mut() {
        labels.insert("workflows.argoproj.io/phase".to_owned(), phase.into());
        labels.insert("workflows.argoproj.io/completed".to_owned(), completed.to_string().into());
    }
}

/// Moves the runs on the clock to the phase their age gives them; reports those that ended.
pub(super) fn advance(state: &mut State, now: Instant) {
    let Some(clock) = state.clock else { return };
    let mut notes = Vec::new();
    let mut ended = Vec::new();
    for (key, run) in state.clocked.iter_mut() {
        if matches!(run.phase, "Succeeded" | "Failed" | "Error") || run.suspended.is_some() {
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
        set_phase(wf, phase);
        let status = &mut wf["status"];
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
pub(super) fn report(state: &State, key: &(String, String), phase: &str) {
    let (Some(report), Some(wf)) = (state.report.clone(), state.workflows.get(key)) else { return };
    let (namespace, name) = key;
    let uid = wf["metadata"]["uid"].as_str().unwrap_or_default();
    let mut data = json!({"workflow": name, "namespace": namespace, "phase": phase});
    for (field, from) in [("startedAt", "startedAt"), ("finishedAt", "finishedAt"), ("message", "message")] {
        if let Some(value) = wf["status"][from].as_str() {
            data[field] = value.into();
        }
    }
    // A failed run reports its failed nodes as Argo's `{{workflow.failures}}` does (a JSON list).
    let failures: Vec<Value> = wf["status"]["nodes"]
        .as_object()
        .into_iter()
        .flat_map(|nodes| nodes.values())
        .filter(|n| n["phase"] == "Failed" && n["message"].is_string())
        .map(|n| {
            json!({"displayName": n["displayName"], "message": n["message"], "templateName": n["displayName"],
                        "phase": n["phase"], "podName": n["id"], "finishedAt": n["finishedAt"]})
        })
        .collect();
    if !failures.is_empty() {
        data["message"] = Value::Array(failures).to_string().into();
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
            match crate::request("POST", &report.url, &headers, event.to_string()).await.map(|(status, _)| status) {
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
pub(super) fn simulated_logs(wf: &Value) -> Vec<String> {
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
