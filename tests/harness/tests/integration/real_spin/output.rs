//! What members read about their runs, under real Spin: logs too long for a message arrive as a
//! `.log` file (a multipart edit the fake Discord checks against Discord's spec) with their
//! tail in the message; a run's completion (a lifecycle event through the bridge and the
//! lifecycle worker) pings the requester and nobody else, and a Refresh of it names them.

use std::sync::atomic::{AtomicU32, Ordering};
use std::time::Duration;

use bytes::Bytes;
use facteur_harness::support::eventually;
use http_body_util::Full;
use serde_json::{Value, json};

use super::{SpinWorld, WAIT, content, runtimes, spin_world};
use crate::common::{OPS, USER, click, next_id, opt, slash, workflow};

const LIFECYCLE_SECRET: &str = "lifecycle-s3cret";

/// `/plan` as the test member; the workflow's name once its reply was edited.
async fn plan(w: &SpinWorld) -> (String, String) {
    let id = next_id();
    let before = w.discord.edits().len();
    let response = w.send(slash(&id, "plan", json!([opt("objective", "Ship the bot")]), &[OPS])).await;
    assert_eq!(response.json(), json!({"type": 5}), "{}", w.spin.logs());
    w.edits(before + 1).await;
    (format!("plan-{id}"), format!("token-{id}"))
}

#[tokio::test]
async fn a_20000_character_log_arrives_as_a_file_with_its_tail_in_the_message() {
    let Some((spins, redis)) = runtimes().await else { return };
    for spin in spins {
        let w = spin_world(spin, &redis, |b| b).await;
        let (name, _) = plan(&w).await;
        // 400 lines of 50 characters: 20,000 characters, ten times what a message holds.
        let lines: Vec<String> = (0..400).map(|i| format!("step {i:03} {}", "·".repeat(41))).collect();
        assert_eq!(lines.iter().map(|l| l.chars().count()).sum::<usize>(), 20_000);
        w.argo.set_logs("argo", &name, lines.clone());
        let id = next_id();
        w.send(workflow(&id, "logs", json!([opt("name", name.as_str()), opt("tail", 500)]), &[OPS])).await;
        let token = format!("token-{id}");
        let edit = eventually(WAIT, async || w.discord.edits().into_iter().find(|e| e.token == token))
            .await
            .unwrap_or_else(|| panic!("spin {}: no logs edit; logs:\n{}", spin.version, w.spin.logs()));

        assert_eq!(edit.files.len(), 1, "spin {}: {}", spin.version, edit.message);
        assert_eq!(edit.files[0].filename, format!("{name}.log"));
        assert_eq!(String::from_utf8(edit.files[0].content.clone()).unwrap(), lines.join("\n") + "\n");
        let text = content(&edit.message);
        assert!(text.chars().count() <= 2000, "{}", text.chars().count());
        assert!(text.contains("step 399") && !text.contains("step 000"), "the tail: {text}");
        assert!(text.ends_with(&format!(" of 400 lines here, all of them in `{name}.log`)")), "{text}");
        assert_eq!(edit.message["attachments"][0]["filename"], format!("{name}.log"));
        // What Discord keeps: the attachment, with its size.
        let kept = w.discord.original(&token).unwrap();
        assert_eq!(kept["attachments"][0]["size"], lines.join("\n").len() + 1);
        assert!(w.discord.violations().is_empty(), "spin {}: {:?}", spin.version, w.discord.violations());
    }
}

/// A lifecycle channel of the test's own, and its secret.
fn own_lifecycle(builder: facteur_harness::spin_up::SpinUpBuilder) -> facteur_harness::spin_up::SpinUpBuilder {
    static N: AtomicU32 = AtomicU32::new(0);
    let channel = format!("facteur.output.{}.{}.lifecycle", std::process::id(), N.fetch_add(1, Ordering::SeqCst));
    builder.variable("lifecycle_channel", channel).variable("lifecycle_secret", LIFECYCLE_SECRET)
}

/// The exit handler's report, structured mode, redelivered while no lifecycle worker listens yet.
async fn report(w: &SpinWorld, data: Value) {
    let event = json!({"specversion": "1.0", "id": next_id(), "source": "argo/test", "type": "facteur.workflow.lifecycle",
                       "data": data});
    let status = eventually(Duration::from_secs(10), async || {
        let request = http::Request::post("/bridge/lifecycle")
            .header("content-type", "application/cloudevents+json")
            .header("x-facteur-bridge-secret", LIFECYCLE_SECRET)
            .body(Full::new(Bytes::from(event.to_string())))
            .unwrap();
        let status = w.spin.handle(request).await.unwrap().status;
        (status != 503).then_some(status)
    })
    .await;
    assert_eq!(status, Some(202), "spin {}: {}", w.spin.version, w.spin.logs());
}

#[tokio::test]
async fn completion_pings_the_requester_only_with_when_how_long_and_the_failing_step() {
    let Some((spins, redis)) = runtimes().await else { return };
    for spin in spins {
        let w = spin_world(spin, &redis, own_lifecycle).await;
        let (name, token) = plan(&w).await;
        // What Argo's `{{workflow.failures}}` holds, as the exit handler passes it on.
        let failures = json!([{"displayName": "build", "message": "exit code 2", "templateName": "main",
                               "phase": "Failed", "podName": format!("{name}-main-1")}]);
        report(
            &w,
            json!({"workflow": name, "namespace": "argo", "phase": "Failed", "startedAt": "2026-11-27T08:00:00Z",
                   "finishedAt": "2026-11-27T08:02:05Z", "message": failures.to_string()}),
        )
        .await;
        let ping = eventually(WAIT, async || w.discord.followups(&token).into_iter().next())
            .await
            .unwrap_or_else(|| panic!("spin {}: no follow-up; logs:\n{}", spin.version, w.spin.logs()));
        let expected = format!(
            "<@{USER}> `/plan` run `{name}` **Failed** <t:1795766525:R>, after 2m 05s. Failing step: build: exit code 2"
        );
        assert_eq!(content(&ping), expected);
        assert_eq!(ping["allowed_mentions"], json!({"parse": [], "users": [USER]}), "the requester, nobody else");
        // The run's message says the same, and (an edit notifies no one) mentions nobody.
        let edit = w.edits(2).await.pop().unwrap();
        assert!(content(&edit).starts_with(&format!("`/plan` run `{name}` **Failed** <t:1795766525:R>")), "{edit}");
        assert_eq!(edit["allowed_mentions"], json!({"parse": []}));
        let fields = &edit["embeds"][0]["fields"];
        assert!(fields.as_array().unwrap().iter().any(|f| f["name"] == "Failing step"), "{fields}");

        // Refresh of the finished run: the update names the requester.
        w.argo.set_status(
            "argo",
            &name,
            json!({"phase": "Failed", "startedAt": "2026-11-27T08:00:00Z",
                                                "finishedAt": "2026-11-27T08:02:05Z"}),
        );
        let refreshed = w.send(click(&next_id(), &format!("workflow:refresh:argo:{name}"), &[OPS])).await.json();
        assert_eq!(refreshed["type"], 7, "{refreshed}");
        assert_eq!(refreshed["data"]["content"], format!("<@{USER}> `{name}` is **Failed**."));
        assert_eq!(refreshed["data"]["allowed_mentions"], json!({"parse": [], "users": [USER]}));
        assert!(w.discord.violations().is_empty(), "spin {}: {:?}", spin.version, w.discord.violations());
        assert!(w.discord.channel_posts().is_empty(), "the token was valid: nothing in the channel");
    }
}

#[tokio::test]
async fn with_threads_the_completion_goes_to_a_thread_on_the_runs_message() {
    let Some((spins, redis)) = runtimes().await else { return };
    for spin in spins {
        let w = spin_world(spin, &redis, own_lifecycle).await;
        // `/review` has `threads: true` in the shipped catalog.
        let id = next_id();
        let options = json!([opt("project", "lab"), opt("artifact", "PR-1")]);
        assert_eq!(w.send(slash(&id, "review", options, &[OPS])).await.json(), json!({"type": 5}));
        let (name, token) = (format!("review-{id}"), format!("token-{id}"));
        w.edit_for(&token).await;
        report(&w, json!({"workflow": name, "namespace": "argo", "phase": "Succeeded"})).await;
        let post = eventually(WAIT, async || w.discord.channel_posts().into_iter().next())
            .await
            .unwrap_or_else(|| panic!("spin {}: nothing posted; logs:\n{}", spin.version, w.spin.logs()));
        let original = w.discord.original(&token).unwrap();
        let thread = &w.discord.threads()[0];
        assert_eq!(thread["id"], original["id"], "a thread on the run's message has its id");
        assert_eq!((&thread["parent_id"], &thread["name"]), (&json!(crate::common::CHANNEL), &json!(name)));
        assert_eq!(post.0, original["id"].as_str().unwrap(), "posted in the thread");
        assert_eq!(content(&post.1), format!("<@{USER}> `/review` run `{name}` is **Succeeded**."));
        assert_eq!(post.1["allowed_mentions"], json!({"parse": [], "users": [USER]}));
        assert!(w.discord.followups(&token).is_empty(), "the thread has the ping");
        assert!(w.discord.violations().is_empty(), "spin {}: {:?}", spin.version, w.discord.violations());
    }
}
