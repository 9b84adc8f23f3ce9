//! The Argo Server routes facteur calls, answered from the [`State`] as Argo answers them
//! (codes and messages from argoproj/argo-workflows), after the contract checks (`validate`).

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use chrono::Utc;
use serde_json::{Value, json};

use super::state::{Clocked, State, report, rfc3339, set_phase, simulated_logs};
use super::validate;
use crate::openapi::OpenApi;
use crate::{Recorded, Reply};

pub(super) fn error(status: u16, code: u16, message: &str) -> Reply {
    Reply::json(status, json!({"code": code, "message": message, "details": []}))
}

pub(super) fn handle(spec: &OpenApi, state: &mut State, request: &Recorded) -> Reply {
    if request.method == "GET"
        && let ["workflows", namespace, name] = request.path.trim_start_matches('/').split('/').collect::<Vec<_>>()[..]
    {
        return ui_page(state, namespace, name);
    }
    if let Err(refusal) = validate::request(spec, state, request) {
        return refusal;
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
        ("GET", ["api", "v1", "workflows", namespace, name, "log"]) => return logs(state, namespace, name, &query),
        ("PUT", ["api", "v1", "workflows", namespace, name, verb]) => change(state, namespace, name, verb),
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
    validate::response(spec, state, &request.method, path, &reply);
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

/// `GET /api/v1/workflows/{namespace}`: label selector (`k=v`, `k!=v` and `k` requirements), name prefix,
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
        selector.split(',').filter(|r| !r.is_empty()).all(|requirement| {
            let labels = &wf["metadata"]["labels"];
            // `k!=v` also matches objects without the label, as Kubernetes selects.
            match (requirement.split_once("!="), requirement.split_once('=')) {
                (Some((k, v)), _) => labels[k] != v,
                (None, Some((k, v))) => labels[k] == v,
                (None, None) => labels.get(requirement).is_some(),
            }
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
    let fails = fails(&spec);
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
            state.clocked.insert(
                key.clone(),
                Clocked { since: Instant::now(), created: now, fails, phase: "", suspended: None },
            );
            state.note(format!("argo: submitted {namespace}/{name} from WorkflowTemplate {template}"));
        }
        state.workflows.insert(key, workflow.clone());
    } else {
        state.note(format!("argo: dry run of WorkflowTemplate {template} accepted; nothing started"));
    }
    Reply::json(200, workflow)
}

/// `GET …/{name}/log`: grpc-gateway's stream, one JSON object per line, the last `tailLines`.
fn logs(state: &State, namespace: &str, name: &str, query: &BTreeMap<String, String>) -> Reply {
    let key = (namespace.to_owned(), name.to_owned());
    if !state.workflows.contains_key(&key) {
        return not_found(name);
    }
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
    Reply::text(200, body)
}

/// `PUT …/{name}/{verb}`: stop, terminate, retry, suspend, resume, resubmit, with the rules of
/// argoproj/argo-workflows `workflow/util/util.go` that facteur can meet.
fn change(state: &mut State, namespace: &str, name: &str, verb: &str) -> Reply {
    let key = (namespace.to_owned(), name.to_owned());
    let Some(wf) = state.workflows.get_mut(&key) else {
        return not_found(name);
    };
    let phase = wf["status"]["phase"].as_str().unwrap_or("").to_owned();
    let finished = matches!(phase.as_str(), "Succeeded" | "Failed" | "Error");
    let mut note = None;
    match verb {
        "retry" if !matches!(phase.as_str(), "Failed" | "Error") => {
            return error(400, 3, &format!("workflow must be Failed/Error to retry (phase {phase})"));
        }
        "retry" => {
            set_phase(wf, "Running");
            if let Some(status) = wf["status"].as_object_mut() {
                status.remove("finishedAt");
            }
            // On the clock, the retried run runs again, and succeeds.
            if let Some(run) = state.clocked.get_mut(&key) {
                run.since = Instant::now() - state.clock.map_or(Duration::ZERO, |c| c.pending);
                run.fails = false;
                run.phase = "Running";
            }
        }
        // util.SuspendWorkflow: `errSuspendedCompletedWorkflow`.
        "suspend" if finished => return error(400, 3, "cannot suspend completed workflows"),
        "suspend" => {
            wf["spec"]["suspend"] = true.into();
            if let Some(run) = state.clocked.get_mut(&key) {
                run.suspended.get_or_insert_with(Instant::now);
            }
            note = Some(format!("argo: {namespace}/{name} is suspended"));
        }
        // util.ResumeWorkflow: clears `spec.suspend` and completes the running suspend nodes.
        "resume" => {
            if let Some(spec) = wf["spec"].as_object_mut() {
                spec.remove("suspend");
            }
            // (`get_mut`: indexing would add `nodes: null`, which the spec refuses.)
            let nodes = wf["status"].get_mut("nodes").and_then(Value::as_object_mut);
            for node in nodes.into_iter().flat_map(|n| n.values_mut()) {
                if node["type"] == "Suspend" && node["phase"] == "Running" {
                    node["phase"] = "Succeeded".into();
                    node["finishedAt"] = rfc3339(Utc::now()).into();
                }
            }
            if let Some(run) = state.clocked.get_mut(&key)
                && let Some(since) = run.suspended.take()
            {
                run.since += since.elapsed();
            }
            note = Some(format!("argo: {namespace}/{name} is resumed"));
        }
        "resubmit" => return resubmit(state, namespace, name),
        "stop" | "terminate" if finished => return error(400, 3, "cannot shutdown a completed workflow"),
        "stop" | "terminate" => {
            set_phase(wf, "Failed");
            let strategy = if verb == "stop" { "Stop" } else { "Terminate" };
            wf["status"]["message"] = format!("Stopped with strategy '{strategy}'").into();
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
        other => return error(501, 12, &format!("fake Argo does not implement PUT …/{other}")),
    }
    let answer = Reply::json(200, wf.clone());
    if let Some(note) = note {
        state.note(note);
    }
    answer
}

/// `PUT …/{name}/resubmit` (FormulateResubmitWorkflow): a new run `<name>-xxxxx` of the same spec,
/// with the old run's labels and annotations (not Argo's own), and a label naming the old run.
fn resubmit(state: &mut State, namespace: &str, name: &str) -> Reply {
    let old = state.workflows[&(namespace.to_owned(), name.to_owned())].clone();
    state.created += 1;
    // Argo's suffix is random; a counter keeps the fake deterministic.
    let suffix: String = format!("{:05}", state.created).chars().map(|d| char::from(b'a' + (d as u8 - b'0'))).collect();
    let new_name = format!("{name}-{suffix}");
    let keep = |field: &str| -> Value {
        let kept = old["metadata"][field].as_object().into_iter().flatten();
        Value::Object(
            kept.filter(|(k, _)| !k.starts_with("workflows.argoproj.io/"))
                .map(|(k, v)| (k.clone(), v.clone()))
                .collect(),
        )
    };
    let mut labels = keep("labels");
    labels["workflows.argoproj.io/resubmitted-from-workflow"] = name.into();
    let now = Utc::now();
    let mut spec = old["spec"].clone();
    if let Some(spec) = spec.as_object_mut() {
        spec.remove("suspend");
        spec.remove("shutdown");
    }
    let workflow = json!({
        "metadata": {
            "name": new_name, "namespace": namespace, "uid": format!("00000000-0000-0000-0000-{:012}", state.created),
            "creationTimestamp": rfc3339(now), "labels": labels, "annotations": keep("annotations"),
        },
        "spec": spec,
        "status": {},
    });
    let key = (namespace.to_owned(), new_name.clone());
    if state.clock.is_some() {
        let clocked = Clocked { since: Instant::now(), created: now, fails: fails(&spec), phase: "", suspended: None };
        state.clocked.insert(key.clone(), clocked);
    }
    state.note(format!("argo: resubmitted {namespace}/{name} as {new_name}"));
    state.workflows.insert(key, workflow.clone());
    Reply::json(200, workflow)
}

/// On the clock, a run fails when one of its parameters' values contains `fail`.
fn fails(spec: &Value) -> bool {
    let parameters = spec["arguments"]["parameters"].as_array().into_iter().flatten();
    parameters.into_iter().any(|p| p["value"].as_str().is_some_and(|v| v.to_lowercase().contains("fail")))
}
