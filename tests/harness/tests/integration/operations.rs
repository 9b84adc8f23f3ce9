//! `/workflow status|logs|cancel|retry|list`, autocomplete and buttons, end to end through the
//! real `.wasm`, against a fake Argo serving realistic workflows.

use serde_json::{Value, json};

use crate::common::*;

/// A workflow as Argo returns it, in each phase facteur reports.
fn workflow_in(name: &str, phase: &str, owner: &str) -> Value {
    let mut status = json!({"phase": phase, "progress": "1/3", "startedAt": "2026-11-27T08:00:00Z"});
    match phase {
        "Succeeded" => {
            status["finishedAt"] = "2026-11-27T08:02:05Z".into();
            status["progress"] = "3/3".into();
        }
        "Failed" => {
            status["finishedAt"] = "2026-11-27T08:01:00Z".into();
            status["message"] = "child 'build' failed".into();
            status["nodes"] = json!({
                name: {"id": name, "name": name, "displayName": name, "type": "Steps", "phase": "Failed", "message": "child 'build' failed"},
                format!("{name}-1"): {"id": format!("{name}-1"), "name": format!("{name}.build"), "displayName": "build", "type": "Pod", "phase": "Failed", "message": "Error (exit code 2)"}
            });
        }
        "Error" => {
            status["finishedAt"] = "2026-11-27T08:00:30Z".into();
            status["message"] = "pod deleted".into();
        }
        _ => {}
    }
    json!({
        "metadata": {"name": name, "namespace": "argo", "uid": format!("uid-{name}"), "creationTimestamp": "2026-11-27T07:59:59Z",
                     "labels": {"facteur.dev/command": "plan", "facteur.dev/user-id": owner}},
        "spec": {"workflowTemplateRef": {"name": "facteur-dispatch"}},
        "status": status,
    })
}

fn content(message: &Value) -> String {
    message["content"].as_str().unwrap_or_default().to_owned()
}

fn field(message: &Value, name: &str) -> Option<String> {
    message["embeds"][0]["fields"]
        .as_array()?
        .iter()
        .find(|f| f["name"] == name)
        .map(|f| f["value"].as_str().unwrap().to_owned())
}

/// Starts `/plan` as the test member and returns the workflow's name.
async fn plan(w: &World) -> String {
    let id = next_id();
    w.run(slash(&id, "plan", json!([opt("objective", "Ship the bot")]), &[OPS])).await;
    format!("plan-{id}")
}

#[tokio::test]
async fn status_reports_each_phase() {
    let w = world(|b| b).await;
    for (name, phase) in [("run-a", "Running"), ("run-b", "Succeeded"), ("run-c", "Failed"), ("run-d", "Error")] {
        w.argo.insert_workflow(workflow_in(name, phase, USER));
        let response = w.run(workflow(&next_id(), "status", json!([opt("name", name)]), &[OPS])).await;
        assert_eq!(response.json(), json!({"type": 5, "data": {"flags": 64}}), "deferred, ephemeral");
    }
    let edits: Vec<Value> = w.discord.edits().into_iter().map(|e| e.message).collect();
    assert_eq!(edits.len(), 4, "{}", w.logs());
    assert_eq!(content(&edits[0]), "`run-a` is **Running**.");
    assert_eq!(field(&edits[0], "Progress").as_deref(), Some("1/3"));
    assert_eq!(edits[0]["components"][0]["components"].as_array().unwrap().len(), 3, "Cancel while it runs");
    assert_eq!(content(&edits[1]), "`run-b` is **Succeeded**.");
    assert_eq!(field(&edits[1], "Duration").as_deref(), Some("2m 05s"));
    assert_eq!(field(&edits[2], "Failure").as_deref(), Some("build: Error (exit code 2)"));
    assert_eq!(field(&edits[3], "Failure").as_deref(), Some("pod deleted"));
    assert_eq!(edits[3]["embeds"][0]["url"], "https://argo.example/workflows/argo/run-d");
    assert!(w.argo.violations().is_empty(), "{:?}", w.argo.violations());
}

#[tokio::test]
async fn status_without_a_name_uses_the_latest_run_and_unknown_runs_are_named() {
    let w = world(|b| b).await;
    let _older = plan(&w).await;
    let latest = plan(&w).await;
    w.run(workflow(&next_id(), "status", json!([]), &[OPS])).await;
    assert_eq!(content(&w.discord.edits()[2].message), format!("`{latest}` is **Pending**."));
    w.run(workflow(&next_id(), "status", json!([opt("name", "nope")]), &[OPS])).await;
    assert_eq!(content(&w.discord.edits()[3].message), "Workflow `nope` was not found in namespace `argo`.");

    let fresh = world(|b| b).await;
    fresh.run(workflow(&next_id(), "status", json!([]), &[OPS])).await;
    assert_eq!(
        content(&fresh.discord.edits()[0].message),
        "You have no recent runs. Name one: `/workflow status name:<workflow>`."
    );
}

#[tokio::test]
async fn logs_keep_their_tail_in_the_message_and_all_lines_in_a_file() {
    let w = world(|b| b).await;
    w.argo.insert_workflow(workflow_in("run-a", "Running", USER));
    w.argo.set_logs("argo", "run-a", (0..400).map(|i| format!("step {i:03}: {}", "·".repeat(30))).collect());
    w.run(workflow(
        &next_id(),
        "logs",
        json!([opt("name", "run-a"), {"name": "tail", "type": 4, "value": 300}]),
        &[OPS],
    ))
    .await;
    let log_request = w.argo.requests().into_iter().find(|r| r.path.contains("/log")).unwrap();
    assert_eq!(log_request.path, "/api/v1/workflows/argo/run-a/log?logOptions.container=main&logOptions.tailLines=300");
    let text = content(&w.discord.edits()[0].message);
    assert!(text.chars().count() <= 2000, "{}", text.chars().count());
    assert!(text.starts_with("Last lines of `run-a`:\n```\n"), "{text}");
    assert!(text.contains("step 399") && !text.contains("step 100:"), "the tail is kept");
    assert!(text.ends_with(" of 300 lines here, all of them in `run-a.log`)"), "{text}");
    let file = &w.discord.edits()[0].files[0];
    assert_eq!((file.filename.as_str(), file.content.split(|b| *b == b'\n').count()), ("run-a.log", 301));
}

#[tokio::test]
async fn cancel_needs_the_confirming_click() {
    let w = world(|b| b).await;
    let name = plan(&w).await;
    let question = w.run(workflow(&next_id(), "cancel", json!([opt("name", name.as_str())]), &[OPS])).await;
    let body = question.json();
    assert_eq!((body["type"].as_u64(), body["data"]["flags"].as_u64()), (Some(4), Some(64)), "{body}");
    let ids: Vec<&str> = body["data"]["components"][0]["components"]
        .as_array()
        .unwrap()
        .iter()
        .map(|b| b["custom_id"].as_str().unwrap())
        .collect();
    assert_eq!(
        ids,
        [
            format!("workflow:stop:argo:{name}"),
            format!("workflow:terminate:argo:{name}"),
            format!("workflow:keep:argo:{name}")
        ]
    );
    assert_eq!(w.argo.changes().len(), 1, "only the submit so far: asking calls nothing");

    let keep = w.run(click(&next_id(), &format!("workflow:keep:argo:{name}"), &[OPS])).await;
    assert_eq!(keep.json()["type"], 7);
    assert_eq!(keep.json()["data"]["content"], format!("Left `{name}` running."));
    assert_eq!(w.argo.changes().len(), 1, "Keep running calls nothing");

    let stop = w.run(click(&next_id(), &format!("workflow:stop:argo:{name}"), &[OPS])).await;
    assert_eq!(stop.json(), json!({"type": 6}));
    let changes = w.argo.changes();
    assert_eq!(changes.len(), 2);
    assert_eq!(
        (changes[1].method.as_str(), changes[1].path.as_str()),
        ("PUT", format!("/api/v1/workflows/argo/{name}/stop").as_str())
    );
    assert_eq!(changes[1].json()["message"], "stopped from Discord by ada");
    let edit = w.discord.edits().pop().unwrap();
    assert_eq!(content(&edit.message), format!("Stop requested for `{name}`: its exit handlers run, then it ends."));
    assert!(edit.message["components"].as_array().unwrap().is_empty(), "the question's buttons are gone");
    assert!(w.app.log_text("workflow").contains(r#""audit":"stopped""#));
}

#[tokio::test]
async fn members_who_may_not_cancel_are_denied_and_nothing_is_called() {
    let w = world(|b| b).await;
    let name = plan(&w).await;
    let before = w.argo.requests().len();
    // The Cancel button of the /plan reply, pressed by a member without a role for it…
    let guest = w.run(click(&next_id(), &format!("workflow:cancel:argo:{name}"), &[GUEST])).await;
    assert_eq!(
        ephemeral_text(&guest),
        "You do not have a role that may run `/workflow cancel`. Ask a server admin to grant one."
    );
    // …and by a member who may cancel runs, but not this one.
    let other =
        w.run(from_user(click(&next_id(), &format!("workflow:stop:argo:{name}"), &[DEV]), "1200000000000000099")).await;
    assert_eq!(
        ephemeral_text(&other),
        format!("Only the member who started `{name}` (or a workflow admin) can cancel it.")
    );
    assert_eq!(w.argo.requests().len(), before, "nothing was called");
    // A workflow admin may.
    let admin = w
        .run(from_user(
            click(&next_id(), &format!("workflow:terminate:argo:{name}"), &[DEV, ADMIN]),
            "1200000000000000099",
        ))
        .await;
    assert_eq!(admin.json(), json!({"type": 6}));
    assert!(w.argo.changes().last().unwrap().path.ends_with("/terminate"));
    assert!(w.app.log_text("workflow").contains(r#""reason":"not_owner""#));
}

#[tokio::test]
async fn retry_only_failed_or_errored_runs() {
    let w = world(|b| b.variable("owner_only_actions", "false")).await;
    w.argo.insert_workflow(workflow_in("run-ok", "Succeeded", USER));
    w.argo.insert_workflow(workflow_in("run-bad", "Failed", USER));
    w.run(workflow(&next_id(), "retry", json!([opt("name", "run-ok")]), &[OPS])).await;
    assert_eq!(
        content(&w.discord.edits()[0].message),
        "`run-ok` is **Succeeded**: only failed or errored runs can be retried."
    );
    assert!(w.argo.changes().is_empty());
    w.run(workflow(&next_id(), "retry", json!([opt("name", "run-bad")]), &[OPS])).await;
    assert_eq!(content(&w.discord.edits()[1].message), "Retrying `run-bad`: its failed steps run again.");
    assert_eq!(
        w.argo.changes().iter().map(|r| r.path.as_str()).collect::<Vec<_>>(),
        ["/api/v1/workflows/argo/run-bad/retry"]
    );
    assert_eq!(w.argo.workflow("argo", "run-bad").unwrap()["status"]["phase"], "Running");
}

#[tokio::test]
async fn autocomplete_offers_the_members_runs_first() {
    let w = world(|b| b).await;
    let first = plan(&w).await;
    let second = plan(&w).await;
    for i in 0..30 {
        w.argo.insert_workflow(workflow_in(&format!("plan-9{i:02}"), "Running", "1200000000000000099"));
    }
    w.argo.insert_workflow(workflow_in("other-1", "Running", USER));
    let answer = w.run(autocomplete(&next_id(), "workflow", Some("status"), "name", "plan-", &[OPS])).await;
    let body = answer.json();
    assert_eq!(body["type"], 8, "{body}");
    let names: Vec<&str> =
        body["data"]["choices"].as_array().unwrap().iter().map(|c| c["value"].as_str().unwrap()).collect();
    assert_eq!(names.len(), 25);
    assert_eq!(&names[..2], [second.as_str(), first.as_str()], "the member's runs first, newest first");
    assert!(names.iter().all(|n| n.starts_with("plan-")));
    let narrowed = w.run(autocomplete(&next_id(), "workflow", Some("logs"), "name", "plan-91", &[OPS])).await.json();
    assert_eq!(narrowed["data"]["choices"].as_array().unwrap().len(), 10);
    let denied = w.run(autocomplete(&next_id(), "workflow", Some("status"), "name", "plan-", &[GUEST])).await.json();
    assert_eq!(denied["data"]["choices"], json!([]), "nothing for members who may not use it");
}

#[tokio::test]
async fn dispatch_suggests_allowed_templates() {
    let w = world(|b| b).await;
    let answer = w.run(autocomplete(&next_id(), "dispatch", None, "template", "fac", &[OPS])).await.json();
    assert_eq!(
        answer,
        json!({"type": 8, "data": {"choices": [{"name": "facteur-dispatch", "value": "facteur-dispatch"}]}})
    );
    let none = w.run(autocomplete(&next_id(), "dispatch", None, "template", "zzz", &[OPS])).await.json();
    assert_eq!(none["data"]["choices"], json!([]));
}

#[tokio::test]
async fn refresh_updates_the_message_in_place() {
    let w = world(|b| b).await;
    let name = plan(&w).await;
    w.argo.set_status(
        "argo",
        &name,
        json!({"phase": "Running", "progress": "2/3", "startedAt": "2026-11-27T08:00:00Z"}),
    );
    let refreshed = w.run(click(&next_id(), &format!("workflow:refresh:argo:{name}"), &[OPS])).await.json();
    assert_eq!(refreshed["type"], 7, "{refreshed}");
    assert_eq!(refreshed["data"]["content"], format!("`{name}` is **Running**."));
    assert_eq!(field(&refreshed["data"], "Progress").as_deref(), Some("2/3"));
}

#[tokio::test]
async fn list_shows_recent_runs_with_phases() {
    let w = world(|b| b).await;
    let first = plan(&w).await;
    let second = plan(&w).await;
    w.argo.set_status("argo", &first, json!({"phase": "Succeeded"}));
    w.run(workflow(&next_id(), "list", json!([]), &[OPS])).await;
    let text = content(&w.discord.edits()[2].message);
    assert!(text.starts_with("Your recent runs:\n"), "{text}");
    let lines: Vec<&str> = text.lines().skip(1).collect();
    assert_eq!(lines.len(), 2);
    assert!(lines[0].contains(&second) && lines[0].ends_with("**Pending**"), "{text}");
    assert!(lines[1].contains(&first) && lines[1].ends_with("**Succeeded**"), "{text}");

    w.run(workflow(&next_id(), "list", json!([opt("command", "plan")]), &[OPS])).await;
    let text = content(&w.discord.edits()[3].message);
    assert!(text.starts_with("Recent runs of `/plan`:\n") && text.contains(&first) && text.contains(&second), "{text}");
}

#[tokio::test]
async fn help_lists_workflow_for_members_with_any_of_its_actions() {
    let w = world(|b| b).await;
    let help = w.run(slash(&next_id(), "help", json!([]), &[DEV])).await;
    let text = ephemeral_text(&help);
    assert!(text.contains("`/workflow`") && !text.contains("`/plan`"), "{text}");
}

#[tokio::test]
async fn reads_are_limited_to_facteurs_runs_and_to_valid_names() {
    let w = world(|b| b).await;
    // A workflow in the namespace that facteur did not start (no facteur labels).
    let mut foreign = workflow_in("someone-elses", "Running", USER);
    foreign["metadata"]["labels"] = json!({});
    w.argo.insert_workflow(foreign);
    w.run(workflow(&next_id(), "status", json!([opt("name", "someone-elses")]), &[OPS])).await;
    assert_eq!(content(&w.discord.edits()[0].message), "Workflow `someone-elses` was not found in namespace `argo`.");
    let refresh = w.run(click(&next_id(), "workflow:refresh:argo:someone-elses", &[OPS])).await;
    assert_eq!(ephemeral_text(&refresh), "Workflow `someone-elses` was not found in namespace `argo`.");
    w.run(workflow(&next_id(), "logs", json!([opt("name", "someone-elses")]), &[OPS])).await;
    assert_eq!(content(&w.discord.edits()[1].message), "Workflow `someone-elses` was not found in namespace `argo`.");
    assert!(w.argo.requests().iter().all(|r| !r.path.contains("/log")), "no logs of a foreign run were read");

    // Names that are not Kubernetes names never reach an Argo URL.
    let before = w.argo.requests().len();
    let bad =
        w.run(workflow(&next_id(), "status", json!([opt("name", "../../workflow-templates/argo")]), &[OPS])).await;
    assert_eq!(ephemeral_text(&bad), "`../../workflow-templates/argo` is not a workflow name.");
    let click = w.run(click(&next_id(), "workflow:refresh:argo:..%2Fx", &[OPS])).await;
    assert_eq!(ephemeral_text(&click), "This button is no longer supported.");
    assert_eq!(w.argo.requests().len(), before, "nothing was called");
}

#[tokio::test]
async fn logs_of_someone_elses_run_are_for_its_owner_or_an_admin() {
    let w = world(|b| b).await;
    w.argo.insert_workflow(workflow_in("run-a", "Running", "1200000000000000099"));
    w.argo.set_logs("argo", "run-a", vec!["secret output".into()]);
    w.run(workflow(&next_id(), "logs", json!([opt("name", "run-a")]), &[OPS])).await;
    assert_eq!(
        content(&w.discord.edits()[0].message),
        "Only the member who started `run-a` (or a workflow admin) can read its logs."
    );
    assert!(w.argo.requests().iter().all(|r| !r.path.contains("/log")));
    w.run(workflow(&next_id(), "logs", json!([opt("name", "run-a")]), &[OPS, ADMIN])).await;
    assert!(content(&w.discord.edits()[1].message).contains("secret output"), "an admin may");
    let open = world(|b| b.variable("owner_only_actions", "false")).await;
    open.argo.insert_workflow(workflow_in("run-a", "Running", "1200000000000000099"));
    open.argo.set_logs("argo", "run-a", vec!["public output".into()]);
    open.run(workflow(&next_id(), "logs", json!([opt("name", "run-a")]), &[OPS])).await;
    let text = content(&open.discord.edits()[0].message);
    assert!(text.contains("public output"), "owner_only_actions = false opens logs: {text}");
}
