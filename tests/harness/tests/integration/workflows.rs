//! /plan, /implement, /review and /dispatch end to end: the real gateway and workflow-command
//! `.wasm`, a fake Argo Server checked against the official OpenAPI spec, a fake Discord API.

use std::time::Duration;

use facteur_harness::fakes::Reply;
use serde_json::{Value, json};

use crate::common::*;

#[tokio::test]
async fn plan_submits_exactly_one_workflow_and_edits_the_reply() {
    let w = world(|b| b).await;
    let id = next_id();
    let response =
        w.run(slash(&id, "plan", json!([opt("objective", "Ship the bot"), opt("project", "lab")]), &[OPS])).await;
    assert_eq!(response.json(), json!({"type": 5}), "a public deferred response");

    let name = format!("plan-{id}");
    assert_eq!(
        w.argo.submits(),
        [json!({
            "namespace": "argo", "resourceKind": "WorkflowTemplate", "resourceName": "facteur-dispatch",
            "submitOptions": {
                "name": name,
                "parameters": ["action=plan", "objective=Ship the bot", "project=lab"],
                "labels": format!("facteur.dev/command=plan,facteur.dev/interaction-id={id},facteur.dev/user-id={USER},facteur.dev/guild-id={GUILD},facteur.dev/channel-id={CHANNEL}"),
                "annotations": "facteur.dev/username=ada",
            }
        })]
    );
    assert!(w.argo.violations().is_empty(), "{:?}", w.argo.violations());
    assert_eq!(w.argo.workflows().len(), 1);

    let edits = w.discord.edits();
    assert_eq!(edits.len(), 1, "{}", w.logs());
    assert_eq!((edits[0].application_id.as_str(), edits[0].token.as_str()), (APP_ID, format!("token-{id}").as_str()));
    let message = &edits[0].message;
    assert_eq!(message["content"], format!("`/plan` started workflow `{name}` in `argo`."));
    assert_eq!(message["embeds"][0]["url"], format!("https://argo.example/workflows/argo/{name}"));
    assert_eq!(
        message["embeds"][0]["fields"][3]["value"],
        "```\naction=plan\nobjective=Ship the bot\nproject=lab\n```"
    );
    assert_eq!(message["allowed_mentions"], json!({"parse": []}));
    let buttons = &message["components"][0]["components"];
    assert_eq!(buttons[1]["custom_id"], format!("workflow:refresh:argo:{name}"));
    assert_eq!(buttons[2]["custom_id"], format!("workflow:cancel:argo:{name}"));

    // Run history: where to report on the run, and the member's recent runs.
    let record: Value =
        serde_json::from_slice(&w.app.kv_get("default", &format!("run:argo:{name}")).await.unwrap()).unwrap();
    assert_eq!((record["interaction_id"].as_str(), record["command"].as_str()), (Some(id.as_str()), Some("plan")));
    let runs: Value = serde_json::from_slice(&w.app.kv_get("default", &format!("runs:{USER}")).await.unwrap()).unwrap();
    assert_eq!(runs[0]["workflow"], name);

    let audit = w.app.log_text("plan");
    assert!(audit.contains(r#""audit":"allowed""#) && audit.contains(r#""audit":"submitted""#), "{audit}");
    assert!(!audit.contains(&format!("token-{id}")), "the interaction token is never logged");
}

#[tokio::test]
async fn the_acknowledgement_comes_before_argo_answers() {
    let w = world(|b| b.variable("argo_timeout_secs", "10")).await;
    w.argo.delay(Duration::from_secs(3));
    let response = w.send(slash(&next_id(), "plan", json!([opt("objective", "Ship the bot")]), &[OPS])).await;
    assert_eq!(response.json()["type"], 5);
    assert!(w.discord.edits().is_empty(), "the deferred answer does not wait for Argo");
    w.app.wait_idle(IDLE).await.unwrap();
    assert_eq!(w.discord.edits().len(), 1);
}

#[tokio::test]
async fn implement_review_and_dispatch_map_their_options() {
    let w = world(|b| b).await;
    let (a, b, c) = (next_id(), next_id(), next_id());
    w.run(slash(
        &a,
        "implement",
        json!([opt("project", "lab"), opt("branch", "feat/x"), opt("ticket", ""), opt("notes", "careful")]),
        &[OPS],
    ))
    .await;
    w.run(slash(
        &b,
        "review",
        json!([opt("project", "lab"), opt("artifact", "PR 42"), opt("deadline", "2026-12-01")]),
        &[OPS],
    ))
    .await;
    w.run(slash(
        &c,
        "dispatch",
        json!([opt("template", "facteur-dispatch"), opt("parameters", r#"project=lab notes="two words""#)]),
        &[OPS],
    ))
    .await;
    let parameters: Vec<Value> = w.argo.submits().iter().map(|s| s["submitOptions"]["parameters"].clone()).collect();
    assert_eq!(
        parameters,
        [
            json!(["action=implement", "project=lab", "branch=feat/x", "notes=careful"]),
            json!(["action=review", "project=lab", "artifact=PR 42", "deadline=2026-12-01"]),
            json!(["action=dispatch", "project=lab", "notes=two words"]),
        ]
    );
    assert_eq!(w.argo.workflows().len(), 3);
    assert_eq!(w.discord.edits().len(), 3);
    assert!(w.argo.violations().is_empty(), "{:?}", w.argo.violations());
}

#[tokio::test]
async fn a_denied_member_gets_an_ephemeral_denial_and_nothing_is_called() {
    let w = world(|b| b).await;
    let response = w.run(slash(&next_id(), "plan", json!([opt("objective", "Ship the bot")]), &[GUEST])).await;
    assert_eq!(
        ephemeral_text(&response),
        "You do not have a role that may run `/plan`. Ask a server admin to grant one."
    );
    assert!(w.argo.requests().is_empty());
    assert!(w.discord.requests().is_empty());
    assert!(w.app.log_text("plan").contains(r#""audit":"denied""#));
}

#[tokio::test]
async fn invalid_options_get_precise_ephemeral_errors_and_nothing_is_called() {
    let w = world(|b| b).await;
    for (options, expected) in [
        (json!([]), "`/plan`: `objective` is required."),
        (
            json!([opt("objective", "ok!"), opt("project", "two words")]),
            "`/plan`: `project` has an invalid format (expected `^[A-Za-z0-9._/-]+$`).",
        ),
        (
            json!([opt("objective", "x".repeat(4001))]),
            "`/plan`: `objective` must be at most 4000 characters (got 4001).",
        ),
    ] {
        let response = w.run(slash(&next_id(), "plan", options, &[OPS])).await;
        assert_eq!(ephemeral_text(&response), expected);
    }
    let response = w.run(slash(&next_id(), "dispatch", json!([opt("template", "delete-everything")]), &[OPS])).await;
    assert_eq!(
        ephemeral_text(&response),
        "`/dispatch`: `delete-everything` is not a template `/dispatch` may run. Allowed: `facteur-dispatch`."
    );
    assert!(w.argo.requests().is_empty());
    assert!(w.discord.requests().is_empty());
    assert_eq!(w.app.log_text("plan").matches(r#""audit":"invalid""#).count(), 3);
}

#[tokio::test]
async fn dispatch_pairs_outside_the_templates_allowlist_are_refused_and_nothing_is_called() {
    let w = world(|b| b).await;
    let allowed = "Allowed: `artifact`, `branch`, `deadline`, `notes`, `objective`, `project`, `ticket`.";
    for (pairs, expected) in [
        ("evil=$(id)", format!("`/dispatch`: parameter `evil` is not allowed for template `facteur-dispatch`. {allowed}")),
        (
            "project=$(id)",
            "`/dispatch`: parameter `project` has an invalid value (expected up to 100 letters, digits, `.`, `_`, `/` or `-`)."
                .to_owned(),
        ),
        ("action=implement", "`/dispatch`: parameter `action` is set by `/dispatch` and cannot be overridden.".to_owned()),
    ] {
        let options = json!([opt("template", "facteur-dispatch"), opt("parameters", pairs)]);
        let response = w.run(slash(&next_id(), "dispatch", options, &[OPS])).await;
        assert_eq!(ephemeral_text(&response), expected, "{pairs}");
    }
    assert!(w.argo.submits().is_empty(), "nothing was submitted");
    assert!(w.argo.requests().is_empty());
    assert!(w.discord.requests().is_empty());
    assert_eq!(w.app.log_text("dispatch").matches(r#""audit":"invalid""#).count(), 3, "{}", w.logs());
}

#[tokio::test]
async fn argo_failures_edit_the_message_with_a_clear_error() {
    let w = world(|b| exempt_ops(b.variable("argo_token", "s3cret-token"))).await;
    w.argo.require_token("s3cret-token");
    w.argo.fail_next_submits([
        Reply::json(500, json!({"code": 13, "message": "etcdserver: request timed out"})),
        Reply::json(403, json!({"code": 7, "message": "workflows.argoproj.io is forbidden: User \"system:serviceaccount:argo:facteur\""})),
    ]);
    for _ in 0..2 {
        w.run(slash(&next_id(), "plan", json!([opt("objective", "Ship the bot")]), &[OPS])).await;
    }
    w.argo.delay(Duration::from_secs(4));
    w.run(slash(&next_id(), "plan", json!([opt("objective", "Ship the bot")]), &[OPS])).await;

    assert!(
        w.edit_text(0).contains("Argo had an internal error (500). Please try again in a moment."),
        "{}",
        w.edit_text(0)
    );
    assert!(
        w.edit_text(1).contains("facteur is not allowed to run `facteur-dispatch` in namespace `argo` (403)"),
        "{}",
        w.edit_text(1)
    );
    // No answer to the submit, nor to the look-ups by name: an unknown outcome, said so.
    assert!(
        w.edit_text(2).starts_with("`/plan` could not confirm whether its workflow started."),
        "{}",
        w.edit_text(2)
    );
    assert!(w.edit_text(2).contains("facteur cannot tell whether"), "{}", w.edit_text(2));
    for i in 0..3 {
        assert!(i == 2 || w.edit_text(i).starts_with("`/plan` could not start its workflow."));
        assert!(
            !w.edit_text(i).contains("s3cret-token") && !w.edit_text(i).contains("etcdserver"),
            "no token, no internals"
        );
    }
    let logs = w.logs();
    assert_eq!(logs.matches(r#""audit":"failed""#).count(), 3, "{logs}");
    assert!(!logs.contains("s3cret-token"), "the Argo token is never logged");
    assert!(w.argo.requests().iter().all(|r| r.header("authorization") == Some("Bearer s3cret-token")));

    // A member who is counted: Argo does not list the runs in flight in time, so nothing is
    // submitted, and the reply says so.
    let counted = world(|b| b).await;
    counted.argo.delay(Duration::from_secs(4));
    counted.run(slash(&next_id(), "plan", json!([opt("objective", "Ship the bot")]), &[OPS])).await;
    assert!(
        counted.edit_text(0).starts_with("`/plan` could not start its workflow.")
            && counted.edit_text(0).contains("when facteur counted the runs in flight; nothing was started"),
        "{}",
        counted.edit_text(0)
    );
    assert!(counted.argo.submits().is_empty());
}

/// A submit whose answer comes too late reached Argo all the same: facteur looks the run up by
/// its name and reports it as started, not as failed (and a retry by the member would find it).
#[tokio::test]
async fn a_late_answer_is_an_unknown_outcome_resolved_by_looking_the_run_up() {
    let w = world(exempt_ops).await;
    w.argo.delay_next(1, Duration::from_secs(4));
    let id = next_id();
    w.run(slash(&id, "plan", json!([opt("objective", "Ship the bot")]), &[OPS])).await;
    assert_eq!(w.argo.workflows().len(), 1, "one workflow");
    assert!(w.edit_text(0).starts_with(&format!("`/plan` started workflow `plan-{id}`")), "{}", w.edit_text(0));
    assert!(w.logs().contains("the submit got no answer"), "{}", w.logs());
}

#[tokio::test]
async fn argo_unreachable_or_rejecting_credentials() {
    let unreachable = world(|b| b.variable("argo_server_url", "http://127.0.0.1:9")).await;
    unreachable.run(slash(&next_id(), "plan", json!([opt("objective", "Ship the bot")]), &[OPS])).await;
    assert!(unreachable.edit_text(0).contains("Argo cannot be reached right now"), "{}", unreachable.edit_text(0));

    let wrong_token = world(|b| b.variable("argo_token", "old")).await;
    wrong_token.argo.require_token("new");
    wrong_token.run(slash(&next_id(), "plan", json!([opt("objective", "Ship the bot")]), &[OPS])).await;
    assert!(wrong_token.edit_text(0).contains("renew facteur's Argo token"), "{}", wrong_token.edit_text(0));
}

#[tokio::test]
async fn the_same_interaction_delivered_twice_starts_one_workflow() {
    let w = world(|b| b).await;
    let body = slash(&next_id(), "plan", json!([opt("objective", "Ship the bot")]), &[OPS]);
    w.run(body.clone()).await;
    w.run(body).await;
    assert_eq!(w.argo.workflows().len(), 1, "one workflow");
    assert_eq!(w.argo.submits().len(), 2, "the second submit is refused with 409…");
    let reads = w.argo.requests().into_iter().filter(|r| r.method == "GET" && !r.path.contains('?')).count();
    assert_eq!(reads, 1, "…and the existing run is fetched");
    assert!(w.edit_text(1).contains("already started workflow"), "{}", w.edit_text(1));
    assert!(w.app.log_text("plan").contains(r#""existing":true"#));
}

#[tokio::test]
async fn discord_rate_limits_are_honoured() {
    let w = world(|b| b).await;
    w.discord.rate_limit_next(2, 0.05);
    w.run(slash(&next_id(), "plan", json!([opt("objective", "Ship the bot")]), &[OPS])).await;
    let patches = w.discord.requests().into_iter().filter(|r| r.method == "PATCH").count();
    assert_eq!(patches, 3, "two 429s, then the edit that succeeds");
    assert_eq!(w.discord.edits().len(), 1, "one accepted edit");
    assert!(w.edit_text(0).contains("started workflow"));
    assert_eq!(w.argo.workflows().len(), 1);
}

#[tokio::test]
async fn a_reply_waits_out_rate_limits_for_as_long_as_its_token_lives() {
    let w = world(|b| b).await;
    w.discord.rate_limit_next(20, 0.01);
    w.run(slash(&next_id(), "plan", json!([opt("objective", "Ship the bot")]), &[OPS])).await;
    assert_eq!(w.discord.requests().len(), 21, "twenty 429s, then the edit");
    assert_eq!(w.discord.edits().len(), 1);
    assert!(!w.app.log_text("plan").contains("could not edit the reply"), "{}", w.logs());
}

#[tokio::test]
async fn dry_run_asks_argo_for_a_server_dry_run() {
    let w = world(|b| b).await;
    w.run(slash(&next_id(), "plan", json!([opt("objective", "Ship the bot"), opt("dry_run", true)]), &[OPS])).await;
    let submit = &w.argo.submits()[0];
    assert_eq!(submit["submitOptions"]["serverDryRun"], true);
    assert!(!submit["submitOptions"]["parameters"].to_string().contains("dry_run"));
    assert!(w.argo.workflows().is_empty(), "nothing was created");
    assert!(w.edit_text(0).starts_with("Dry run of `/plan`: Argo accepted `facteur-dispatch`"), "{}", w.edit_text(0));
    assert!(w.discord.edits()[0].message["components"].as_array().unwrap().is_empty(), "no buttons for a dry run");
}

#[tokio::test]
async fn a_missing_template_is_named() {
    let w = world(|b| b.variable("argo_namespace", "empty")).await;
    w.run(slash(&next_id(), "plan", json!([opt("objective", "Ship the bot")]), &[OPS])).await;
    assert!(
        w.edit_text(0).contains("WorkflowTemplate `facteur-dispatch` was not found in namespace `empty`."),
        "{}",
        w.edit_text(0)
    );
}
