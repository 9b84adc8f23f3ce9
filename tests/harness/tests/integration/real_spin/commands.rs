//! Commands under real Spin: `/plan` to one spec-valid submit and an edited reply, a
//! redelivered interaction, `/workflow status|logs|list`, autocomplete, Refresh, Cancel → Stop.

use serde_json::{Value, json};

use super::{SpinWorld, WAIT, content, runtimes, spin_world};
use crate::common::{OPS, autocomplete, click, next_id, opt, slash, workflow};
use facteur_harness::support::eventually;

/// `/plan` as the test member; returns the workflow's name once its reply was edited.
async fn plan(w: &SpinWorld) -> String {
    let id = next_id();
    let before = w.discord.edits().len();
    let response = w.send(slash(&id, "plan", json!([opt("objective", "Ship the bot")]), &[OPS])).await;
    assert_eq!(response.json(), json!({"type": 5}), "{}", w.spin.logs());
    w.edits(before + 1).await;
    format!("plan-{id}")
}

#[tokio::test]
async fn plan_submits_one_valid_workflow_and_edits_the_reply_once_even_when_redelivered() {
    let Some((spins, redis)) = runtimes().await else { return };
    for spin in spins {
        let w = spin_world(spin, &redis, |b| b).await;
        let id = next_id();
        let body = slash(&id, "plan", json!([opt("objective", "Ship the bot"), opt("project", "lab")]), &[OPS]);
        assert_eq!(w.send(body.clone()).await.json(), json!({"type": 5}));
        let edits = w.edits(1).await;
        let name = format!("plan-{id}");
        assert_eq!(content(&edits[0]), format!("`/plan` started workflow `{name}` in `argo`."));
        assert_eq!(edits[0]["embeds"][0]["url"], format!("https://argo.example/workflows/argo/{name}"));
        let submits = w.argo.submits();
        assert_eq!(submits.len(), 1);
        assert_eq!(
            submits[0]["submitOptions"]["parameters"],
            json!(["action=plan", "objective=Ship the bot", "project=lab"])
        );
        assert!(w.argo.violations().is_empty(), "spin {}: {:?}", spin.version, w.argo.violations());
        let edit = &w.discord.edits()[0];
        assert_eq!(edit.token, format!("token-{id}"));

        // Discord delivers the same interaction again: one workflow, and the reply names it.
        assert_eq!(w.send(body).await.json(), json!({"type": 5}));
        let edits = w.edits(2).await;
        assert!(content(&edits[1]).contains("already started") && content(&edits[1]).contains(&name), "{}", edits[1]);
        assert_eq!(w.argo.workflows().len(), 1, "one workflow");
        let audit = w.spin.log("plan");
        assert!(audit.contains(r#""audit":"submitted""#), "{audit}");
        assert!(!audit.contains(&format!("token-{id}")), "the interaction token is never logged");
    }
}

#[tokio::test]
async fn workflow_status_logs_list_autocomplete_refresh_and_cancel() {
    let Some((spins, redis)) = runtimes().await else { return };
    for spin in spins {
        let w = spin_world(spin, &redis, |b| b).await;
        let name = plan(&w).await;
        w.argo.set_status(
            "argo",
            &name,
            json!({"phase": "Running", "progress": "2/3", "startedAt": "2026-11-27T08:00:00Z"}),
        );

        // status (deferred, ephemeral) → the edit names the phase.
        let status = w.send(workflow(&next_id(), "status", json!([opt("name", name.as_str())]), &[OPS])).await;
        assert_eq!(status.json(), json!({"type": 5, "data": {"flags": 64}}));
        assert_eq!(content(&w.edits(2).await[1]), format!("`{name}` is **Running**."));

        // logs → the tail, fenced.
        w.argo.set_logs("argo", &name, vec!["cloning".into(), "planning".into()]);
        w.send(workflow(&next_id(), "logs", json!([opt("name", name.as_str())]), &[OPS])).await;
        let logs = content(&w.edits(3).await[2]);
        assert!(logs.starts_with(&format!("Last lines of `{name}`:\n```\n")) && logs.contains("planning"), "{logs}");

        // list → the member's runs.
        w.send(workflow(&next_id(), "list", json!([]), &[OPS])).await;
        let list = content(&w.edits(4).await[3]);
        assert!(list.starts_with("Your recent runs:\n") && list.contains(&name), "{list}");

        // autocomplete → the member's run.
        let choices =
            w.send(autocomplete(&next_id(), "workflow", Some("status"), "name", "plan-", &[OPS])).await.json();
        assert_eq!(choices["type"], 8, "{choices}");
        assert_eq!(choices["data"]["choices"][0]["value"], name.as_str());

        // Refresh → the message updated in place.
        let refreshed = w.send(click(&next_id(), &format!("workflow:refresh:argo:{name}"), &[OPS])).await.json();
        assert_eq!(
            (refreshed["type"].as_u64(), refreshed["data"]["content"].as_str()),
            (Some(7), Some(format!("`{name}` is **Running**.").as_str()))
        );

        // Cancel → the question; Stop → Argo's stop, and the question's message edited.
        let question = w.send(click(&next_id(), &format!("workflow:cancel:argo:{name}"), &[OPS])).await.json();
        let ids: Vec<&str> = question["data"]["components"][0]["components"]
            .as_array()
            .unwrap()
            .iter()
            .map(|b| b["custom_id"].as_str().unwrap())
            .collect();
        assert_eq!(ids[0], format!("workflow:stop:argo:{name}"), "{question}");
        let stop = w.send(click(&next_id(), ids[0], &[OPS])).await.json();
        assert_eq!(stop, json!({"type": 6}));
        let stopped = eventually(WAIT, async || {
            w.argo.changes().into_iter().find(|c| c.path.ends_with("/stop")).map(|c| c.json())
        })
        .await
        .unwrap_or_else(|| panic!("no stop call; logs:\n{}", w.spin.logs()));
        assert_eq!(stopped["message"], "stopped from Discord by ada");
        let last: Value = w.edits(5).await.pop().unwrap();
        assert_eq!(content(&last), format!("Stop requested for `{name}`: its exit handlers run, then it ends."));
        assert!(w.argo.violations().is_empty(), "{:?}", w.argo.violations());
    }
}
