//! The stand-ins over HTTP: they refuse what the official specs refuse (and record it), keep
//! Discord's messages, and move runs on a clock with logs and lifecycle reports.

use std::time::Duration;

use facteur_playground::argo::{Clock, FakeArgo, Report};
use facteur_playground::discord::FakeDiscord;
use facteur_playground::{FakeServer, Reply, request};
use serde_json::{Value, json};

const UA: (&str, &str) = ("user-agent", "DiscordBot (https://example.test, 1)");
const JSON: (&str, &str) = ("content-type", "application/json");
const ORIGINAL: &str = "/api/v10/webhooks/1170000000000000000/token-1/messages/@original";

async fn call(method: &str, url: String, headers: &[(&str, &str)], body: Value) -> (u16, Value) {
    let body = if body.is_null() { String::new() } else { body.to_string() };
    let (status, bytes) = request(method, &url, headers, body).await.unwrap();
    (status, serde_json::from_slice(&bytes).unwrap_or(Value::Null))
}

#[tokio::test]
async fn discord_refuses_a_request_that_does_not_match_its_openapi_spec_and_records_it() {
    let discord = FakeDiscord::start().await.unwrap();
    // A button's custom_id over Discord's 100 characters.
    let button = json!({"type": 2, "style": 2, "label": "Refresh", "custom_id": "w".repeat(101)});
    let (status, answer) = call(
        "PATCH",
        discord.server.url(ORIGINAL),
        &[UA, JSON],
        json!({"components": [{"type": 1, "components": [button]}]}),
    )
    .await;
    assert_eq!(status, 400, "{answer}");
    assert_eq!(answer["code"], 50035);
    assert!(answer["message"].as_str().unwrap().contains("body/components/0"), "{answer}");
    // A misspelt field Discord would drop silently.
    let (status, answer) =
        call("PATCH", discord.server.url(ORIGINAL), &[UA, JSON], json!({"embed": {"title": "x"}})).await;
    assert_eq!(status, 400);
    assert!(answer["message"].as_str().unwrap().contains("undeclared property `embed`"), "{answer}");
    // A route Discord does not have.
    let (status, _) =
        call("POST", discord.server.url("/api/v10/interactions/1/token-1/reply"), &[UA, JSON], json!({})).await;
    assert_eq!(status, 404);
    let violations = discord.violations();
    assert_eq!(violations.len(), 3, "{violations:?}");
    assert!(violations[2].contains("no operation POST /api/v10/interactions"), "{violations:?}");
    assert!(discord.edits().is_empty() && discord.original("token-1").is_none(), "nothing was kept");
}

#[tokio::test]
async fn discord_keeps_the_original_response_follow_ups_channel_posts_and_commands() {
    let discord = FakeDiscord::start().await.unwrap();
    let url = discord.server.url(ORIGINAL);
    let (status, answer) = call("GET", url.clone(), &[UA], Value::Null).await;
    assert_eq!((status, answer["code"].as_u64()), (404, Some(10008)), "not edited yet: Unknown Message");

    let (status, edited) = call("PATCH", url.clone(), &[UA, JSON], json!({"content": "first", "embeds": []})).await;
    assert_eq!(status, 200, "{edited}");
    call("PATCH", url.clone(), &[UA, JSON], json!({"content": "second"})).await;
    let (status, kept) = call("GET", url, &[UA], Value::Null).await;
    assert_eq!((status, kept["content"].as_str(), kept["id"].clone()), (200, Some("second"), edited["id"].clone()));
    assert_eq!(discord.edits().len(), 2);

    let followup = "/api/v10/webhooks/1170000000000000000/token-1?wait=true";
    let (status, sent) = call("POST", discord.server.url(followup), &[UA, JSON], json!({"content": "more"})).await;
    assert_eq!(status, 200, "{sent}");
    assert_eq!(discord.followups("token-1")[0]["content"], "more");

    let channel = discord.server.url("/api/v10/channels/1110000000000000000/messages");
    assert_eq!(
        call("POST", channel.clone(), &[UA, JSON], json!({"content": "done"})).await.0,
        401,
        "needs the bot token"
    );
    let bot = ("authorization", "Bot t0ken");
    assert_eq!(call("POST", channel, &[UA, JSON, bot], json!({"content": "done"})).await.0, 200);
    assert_eq!(discord.channel_posts()[0].0, "1110000000000000000");

    let commands = discord.server.url("/api/v10/applications/1170000000000000000/guilds/1100000000000000000/commands");
    let definitions = json!([{"name": "plan", "description": "Plan a change", "type": 1}]);
    assert_eq!(call("PUT", commands.clone(), &[UA, JSON, bot], definitions).await.0, 200);
    let (_, listed) = call("GET", commands, &[UA, bot], Value::Null).await;
    assert_eq!(listed[0]["name"], "plan");
    assert_eq!(discord.commands(Some("1100000000000000000")).len(), 1);
    assert!(discord.violations().is_empty(), "{:?}", discord.violations());
}

#[tokio::test]
async fn argo_refuses_a_request_that_does_not_match_its_openapi_spec_and_records_it() {
    let argo = FakeArgo::start(&[("argo", "facteur-dispatch")]).await.unwrap();
    let (status, answer) =
        call("GET", argo.server.url("/api/v1/workflows/argo?labelSelector=x"), &[], Value::Null).await;
    assert_eq!(status, 400, "{answer}");
    assert!(answer["message"].as_str().unwrap().contains("undeclared query parameter `labelSelector`"), "{answer}");
    let submit = json!({"namespace": "argo", "resourceKind": "WorkflowTemplate", "resourceName": "facteur-dispatch",
                        "submitOptions": {"name": "plan-1", "parameter": ["a=b"]}});
    let (status, answer) = call("POST", argo.server.url("/api/v1/workflows/argo/submit"), &[JSON], submit).await;
    assert_eq!(status, 400);
    assert!(answer["message"].as_str().unwrap().contains("undeclared property `parameter`"), "{answer}");
    assert_eq!(argo.violations().len(), 2);
    assert!(argo.workflows().is_empty());
}

fn submit(name: &str, objective: &str) -> Value {
    json!({"namespace": "argo", "resourceKind": "WorkflowTemplate", "resourceName": "facteur-dispatch",
           "submitOptions": {"name": name, "parameters": ["action=plan", format!("objective={objective}"), "project=lab"]}})
}

async fn phase(argo: &FakeArgo, name: &str) -> String {
    let (_, wf) = call("GET", argo.server.url(&format!("/api/v1/workflows/argo/{name}")), &[], Value::Null).await;
    wf["status"]["phase"].as_str().unwrap_or("").to_owned()
}

#[tokio::test]
async fn without_the_clock_runs_stay_as_submitted() {
    let argo = FakeArgo::start(&[("argo", "facteur-dispatch")]).await.unwrap();
    call("POST", argo.server.url("/api/v1/workflows/argo/submit"), &[JSON], submit("plan-1", "x")).await;
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(argo.workflow("argo", "plan-1").unwrap()["status"], json!({}));
}

#[tokio::test]
async fn on_the_clock_runs_move_through_their_phases_serve_logs_and_are_reported_when_they_end() {
    let bridge = FakeServer::start(|_| Reply::json(202, json!({}))).await.unwrap();
    let argo = FakeArgo::start(&[("argo", "facteur-dispatch")]).await.unwrap();
    argo.run_on_a_clock(Clock { pending: Duration::from_millis(300), running: Duration::from_millis(700) });
    argo.report_to(Report { url: bridge.url("/bridge/lifecycle"), secret: "s3cret".into() });
    let lines = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
    let seen = lines.clone();
    argo.on_activity(move |line| seen.lock().unwrap().push(line.to_owned()));
    let url = argo.server.url("/api/v1/workflows/argo/submit");
    assert_eq!(call("POST", url.clone(), &[JSON], submit("plan-ok", "Ship it")).await.0, 200);
    assert_eq!(call("POST", url, &[JSON], submit("plan-bad", "please FAIL")).await.0, 200);

    assert_eq!(phase(&argo, "plan-ok").await, "Pending");
    let logs_url = argo.server.url("/api/v1/workflows/argo/plan-ok/log?logOptions.container=main");
    let (_, pending_logs) = request("GET", &logs_url, &[], "").await.unwrap();
    assert!(pending_logs.is_empty(), "no logs before it runs");
    tokio::time::sleep(Duration::from_millis(450)).await;
    assert_eq!(phase(&argo, "plan-ok").await, "Running");
    let (_, logs) = request("GET", &logs_url, &[], "").await.unwrap();
    let logs = String::from_utf8_lossy(&logs);
    assert!(logs.contains(r#""content":"objective: Ship it""#), "{logs}");
    tokio::time::sleep(Duration::from_millis(800)).await;
    assert_eq!(phase(&argo, "plan-ok").await, "Succeeded");
    let failed = argo.workflow("argo", "plan-bad").unwrap();
    assert_eq!(failed["status"]["phase"], "Failed");
    assert!(failed["status"]["nodes"]["plan-bad-main"]["message"].as_str().unwrap().contains("failure"));
    assert!(failed["status"]["finishedAt"].is_string());

    let reports = facteur_like_wait(|| (bridge.requests().len() >= 2).then(|| bridge.requests())).await;
    let mut phases: Vec<String> =
        reports.iter().map(|r| r.json()["data"]["phase"].as_str().unwrap().to_owned()).collect();
    phases.sort();
    assert_eq!(phases, ["Failed", "Succeeded"]);
    // The failed run's report names its failed step as Argo's `{{workflow.failures}}` would.
    let failed = reports.iter().map(|r| r.json()).find(|r| r["data"]["phase"] == "Failed").unwrap();
    let failures: Value = serde_json::from_str(failed["data"]["message"].as_str().unwrap()).unwrap();
    assert_eq!(failures[0]["displayName"], "main");
    assert!(failures[0]["message"].as_str().unwrap().contains("asked the playground for a failure"));
    assert_eq!(reports[0].header("x-facteur-bridge-secret"), Some("s3cret"));
    assert_eq!(reports[0].header("content-type"), Some("application/cloudevents+json"));
    assert_eq!(reports[0].json()["type"], "facteur.workflow.lifecycle");
    assert!(argo.violations().is_empty(), "{:?}", argo.violations());
    let lines = lines.lock().unwrap().join("\n");
    assert!(
        lines.contains("argo: argo/plan-ok is Running") && lines.contains("reported argo/plan-ok Succeeded"),
        "{lines}"
    );
}

#[tokio::test]
async fn on_the_clock_stop_ends_a_run_and_is_reported_terminate_is_not() {
    let bridge = FakeServer::start(|_| Reply::json(202, json!({}))).await.unwrap();
    let argo = FakeArgo::start(&[("argo", "facteur-dispatch")]).await.unwrap();
    argo.run_on_a_clock(Clock { pending: Duration::ZERO, running: Duration::from_secs(60) });
    argo.report_to(Report { url: bridge.url("/bridge/lifecycle"), secret: "s".into() });
    let url = argo.server.url("/api/v1/workflows/argo/submit");
    call("POST", url.clone(), &[JSON], submit("plan-a", "a")).await;
    call("POST", url, &[JSON], submit("plan-b", "b")).await;
    let stop = json!({"name": "plan-a", "namespace": "argo", "message": "stopped from Discord"});
    let (status, stopped) = call("PUT", argo.server.url("/api/v1/workflows/argo/plan-a/stop"), &[JSON], stop).await;
    assert_eq!((status, stopped["status"]["phase"].as_str()), (200, Some("Failed")), "{stopped}");
    let terminate = json!({"name": "plan-b", "namespace": "argo"});
    call("PUT", argo.server.url("/api/v1/workflows/argo/plan-b/terminate"), &[JSON], terminate).await;
    tokio::time::sleep(Duration::from_millis(400)).await;
    assert_eq!(phase(&argo, "plan-a").await, "Failed", "stays stopped");
    let reports = bridge.requests();
    assert_eq!(reports.len(), 1, "Stop runs the exit handler; Terminate does not");
    assert_eq!(reports[0].json()["data"]["workflow"], "plan-a");
    // The UI link leads to a page that says what it is.
    let (status, page) = request("GET", &argo.server.url("/workflows/argo/plan-a"), &[], "").await.unwrap();
    assert_eq!(status, 200);
    assert!(String::from_utf8_lossy(&page).contains("a stand-in for the Argo UI, not Argo"));
    assert!(argo.violations().is_empty(), "{:?}", argo.violations());
}

async fn facteur_like_wait<T>(mut check: impl FnMut() -> Option<T>) -> T {
    for _ in 0..100 {
        if let Some(value) = check() {
            return value;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("timed out");
}
