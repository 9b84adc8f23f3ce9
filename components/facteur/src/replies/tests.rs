use super::*;

#[test]
fn started_message_has_name_link_parameters_and_buttons() {
    let wf: Workflow = serde_json::from_str(r#"{"metadata":{"name":"plan-1"},"status":{"phase":"Running"}}"#).unwrap();
    let params = vec![("action".to_owned(), "plan".to_owned())];
    let m = started(&Started {
        command: "plan",
        template: "facteur-dispatch",
        workflow: &wf,
        namespace: "argo",
        name: "plan-1",
        parameters: &params,
        ui_base: "https://argo.example",
        dry_run: false,
        existing: false,
    });
    let v = serde_json::to_value(&m).unwrap();
    assert_eq!(v["content"], "`/plan` started workflow `plan-1` in `argo`.");
    assert_eq!(v["embeds"][0]["url"], "https://argo.example/workflows/argo/plan-1");
    assert_eq!(v["embeds"][0]["fields"][2]["value"], "Running");
    assert_eq!(v["embeds"][0]["fields"][3]["value"], "```\naction=plan\n```");
    let buttons = &v["components"][0]["components"];
    assert_eq!(buttons[0]["url"], "https://argo.example/workflows/argo/plan-1");
    assert_eq!(buttons[1]["custom_id"], "workflow:refresh:argo:plan-1");
    assert_eq!(buttons[2]["custom_id"], "workflow:cancel:argo:plan-1");
    assert_eq!(v["allowed_mentions"], serde_json::json!({"parse": []}));
}

fn workflow(value: serde_json::Value) -> Workflow {
    serde_json::from_value(value).unwrap()
}

#[test]
fn status_of_a_failed_run() {
    let wf = workflow(serde_json::json!({
        "metadata": {"name": "plan-1", "namespace": "argo"},
        "status": {"phase": "Failed", "progress": "1/2", "startedAt": "2026-11-27T08:00:00Z", "finishedAt": "2026-11-27T08:02:05Z",
                   "nodes": {"n": {"displayName": "build", "type": "Pod", "phase": "Failed", "message": "exit code 2"}}}
    }));
    let v = serde_json::to_value(status(&wf, "https://argo", 0)).unwrap();
    assert_eq!(v["content"], "`plan-1` is **Failed**.");
    let fields: Vec<(String, String)> = v["embeds"][0]["fields"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| (f["name"].as_str().unwrap().to_owned(), f["value"].as_str().unwrap().to_owned()))
        .collect();
    assert_eq!(fields[0], ("Phase".into(), "Failed".into()));
    assert_eq!(fields[1], ("Progress".into(), "1/2".into()));
    assert_eq!(fields[4], ("Duration".into(), "2m 05s".into()));
    assert_eq!(fields[5], ("Failure".into(), "build: exit code 2".into()));
    assert_eq!(v["components"][0]["components"].as_array().unwrap().len(), 2, "no Cancel on a finished run");
}

#[test]
fn long_logs_keep_their_tail_in_the_message_and_come_whole_as_a_file() {
    let lines: Vec<String> = (0..500).map(|i| format!("line {i:03} {}", "x".repeat(20))).collect();
    let message = logs("plan-1", &lines);
    let content = message.content.as_deref().unwrap();
    assert!(content.chars().count() <= MAX_CONTENT, "{}", content.len());
    assert!(content.contains("line 499") && !content.contains("line 000"));
    assert!(content.ends_with(" of 500 lines here, all of them in `plan-1.log`)"), "{content}");
    assert_eq!(message.attachments.len(), 1);
    assert_eq!((message.attachments[0].id.as_str(), message.attachments[0].filename.as_str()), ("0", "plan-1.log"));
    assert_eq!(message.attachments[0].content, (lines.join("\n") + "\n").into_bytes());
    let v = serde_json::to_value(&message).unwrap();
    assert_eq!(v["attachments"], serde_json::json!([{"id": "0", "filename": "plan-1.log"}]));

    let short = logs("plan-1", &["hello".to_owned()]);
    assert_eq!(short.content.as_deref(), Some("Last lines of `plan-1`:\n```\nhello\n```"));
    assert!(short.attachments.is_empty() && serde_json::to_value(&short).unwrap().get("attachments").is_none());
    let wide = logs("plan-1", &["y".repeat(400)]);
    assert_eq!(wide.attachments[0].content.len(), 401, "a line cut in the message is whole in the file");
}

#[test]
fn a_log_over_discords_upload_limit_keeps_its_last_bytes_and_says_so() {
    let line = "z".repeat(1023);
    let lines = vec![line; 11 * 1024];
    let file = log_file(&lines);
    assert_eq!(file.len(), MAX_ATTACHMENT);
    assert!(file.starts_with(b"(cut: the first bytes do not fit Discord's 10 MiB upload limit)\n"));
    assert!(file.ends_with(b"zzz\n"));
}

#[test]
fn durations() {
    assert_eq!((duration(45), duration(125), duration(3720)), ("45s".into(), "2m 05s".into(), "1h 02m".into()));
}

#[test]
fn cancel_asks_first() {
    let v = serde_json::to_value(cancel_confirmation("argo", "plan-1")).unwrap();
    assert_eq!(v["flags"], 64);
    let ids: Vec<&str> =
        v["components"][0]["components"].as_array().unwrap().iter().map(|b| b["custom_id"].as_str().unwrap()).collect();
    assert_eq!(ids, ["workflow:stop:argo:plan-1", "workflow:terminate:argo:plan-1", "workflow:keep:argo:plan-1"]);
}

#[test]
fn failure_message() {
    let v = serde_json::to_value(failed("plan", "Argo is busy.")).unwrap();
    assert_eq!(v["content"], "`/plan` could not start its workflow.");
    assert_eq!(v["embeds"][0]["description"], "Argo is busy.");
}
