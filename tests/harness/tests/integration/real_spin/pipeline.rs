//! The existing pipeline's real events under real Spin (issue 18, item 7): the producer's `/plan`
//! from its modal (`content` and a JSON `payload`, protobuf, as froussard publishes it) runs
//! unchanged through the catalog's `kafka` mapping; poison reaches a dead-letter path (the
//! bridge's non-2xx for what it checks, so Knative's dead-letter sink gets it; the worker's Redis
//! stream `dead_letter_key` for what it refuses, read back here with a Redis client); the
//! producer's correlation and trace ids reach the workflow, the reply and the log lines.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU32, Ordering};

use bytes::Bytes;
use facteur_harness::support::{eventually, now};
use http_body_util::Full;
use serde_json::{Value, json};

use super::{BRIDGE_SECRET, SpinWorld, WAIT, content, runtimes, spin_world};
use crate::common::{GUEST, OPS, next_id};
use crate::worker::{command_event, protobuf, rfc3339};

const TRACE: &str = "4bf92f3577b34da6a3ce929d0e0e4736";

/// The producer's modal submit as it publishes it: `options = {content, payload}`, the payload's
/// fields as froussard writes them (`apps/froussard/src/webhooks/discord.ts`).
fn modal_plan(id: &str, content: &str, roles: &[&str]) -> Value {
    let payload = json!({
        "stage": "implementation", "prompt": content, "title": content, "repository": "lab/facteur",
        "issueNumber": "", "postToGithub": false, "runId": id, "issuedAt": rfc3339(now()),
        "guildId": crate::common::GUILD, "channelId": crate::common::CHANNEL,
        "user": {"id": crate::common::USER, "username": "ada", "globalName": "Ada"},
    });
    let mut event = command_event(id, "plan", json!({"content": content, "payload": payload.to_string()}), roles);
    event["correlationId"] = format!("corr-{id}").into();
    event["traceId"] = TRACE.into();
    event
}

/// A binary-mode CloudEvent of a protobuf record, as KafkaSource posts it: the status and the
/// answer. Redelivered while the bridge answers 503 (the worker may not have subscribed yet).
async fn deliver(w: &SpinWorld, record: Vec<u8>) -> (u16, Value) {
    let post = async || {
        let request = http::Request::post("/bridge/kafka")
            .header("ce-specversion", "1.0")
            .header("ce-id", "partition:1/offset:7")
            .header("ce-source", "/apis/v1/namespaces/facteur/kafkasources/facteur-commands#discord.commands.incoming")
            .header("ce-type", "dev.knative.kafka.event")
            .header("content-type", "application/x-protobuf")
            .header("x-facteur-bridge-secret", BRIDGE_SECRET)
            .body(Full::new(Bytes::from(record.clone())))
            .unwrap();
        let response = w.spin.handle(request).await.unwrap();
        (response.status, response.json())
    };
    eventually(std::time::Duration::from_secs(10), async || Some(post().await).filter(|(s, _)| *s != 503))
        .await
        .unwrap_or((503, Value::Null))
}

/// A dead-letter stream of the test's own (tests share one Redis server).
fn own_dead_letters() -> String {
    static N: AtomicU32 = AtomicU32::new(0);
    format!("facteur.spin.{}.{}.dead", std::process::id(), N.fetch_add(1, Ordering::SeqCst))
}

/// The entries of stream `key` once there are `count`: each entry's fields.
async fn dead_letters(redis: &str, key: &str, count: usize) -> Vec<HashMap<String, String>> {
    let client = redis::Client::open(redis).unwrap();
    let mut connection = client.get_multiplexed_async_connection().await.unwrap();
    let entries = eventually(WAIT, async || {
        let entries: Vec<(String, HashMap<String, String>)> =
            redis::cmd("XRANGE").arg(key).arg("-").arg("+").query_async(&mut connection).await.unwrap();
        (entries.len() >= count).then(|| entries.into_iter().map(|(_, fields)| fields).collect())
    })
    .await;
    entries.unwrap_or_else(|| panic!("`{key}` never held {count} dead letters"))
}

#[tokio::test]
async fn the_producer_s_plan_runs_unchanged_with_its_correlation_id() {
    let Some((spins, redis)) = runtimes().await else { return };
    for spin in spins {
        let w = spin_world(spin, &redis, |b| b).await;
        let id = next_id();
        let event = modal_plan(&id, "Ship the bot", &[OPS]);
        assert_eq!(deliver(&w, protobuf(&event)).await, (202, json!({"status": "published"})), "{}", w.spin.logs());
        let edits = w.edits(1).await;
        assert_eq!(
            content(&edits[0]),
            format!("`/plan` started workflow `plan-{id}` in `argo`.\n-# correlation `corr-{id}` · trace `{TRACE}`")
        );
        let submits = w.argo.submits();
        assert_eq!(submits.len(), 1, "exactly one workflow");
        let options = &submits[0]["submitOptions"];
        assert_eq!(options["parameters"], json!(["action=plan", "objective=Ship the bot", "project=lab/facteur"]));
        let annotations = options["annotations"].as_str().unwrap();
        assert!(annotations.contains(&format!("facteur.dev/correlation-id=corr-{id}")), "{annotations}");
        assert!(annotations.contains(&format!("facteur.dev/trace-id={TRACE}")), "{annotations}");
        assert!(w.argo.violations().is_empty(), "{:?}", w.argo.violations());
        // The worker's lines carry the producer's ids.
        let log = w.spin.log("worker");
        let submitted = log.lines().find(|l| l.contains(r#""audit":"submitted""#)).expect("a submitted audit line");
        let line: Value = serde_json::from_str(submitted).unwrap();
        assert_eq!(
            (line["correlation_id"].as_str(), line["trace_id"].as_str()),
            (Some(&*format!("corr-{id}")), Some(TRACE))
        );
    }
}

#[tokio::test]
async fn poison_reaches_a_dead_letter_path_with_its_reason() {
    let Some((spins, redis)) = runtimes().await else { return };
    for spin in spins {
        let (key, channel) = (own_dead_letters(), own_dead_letters());
        let w = spin_world(spin, &redis, |b| b.variable("dead_letter_key", &key).variable("events_channel", &channel))
            .await;
        // The bridge: what it can check before publishing, answered non-2xx (Knative does not
        // retry 4xx but 404, 408, 409 and 429: the record goes to the dead-letter sink at once).
        let (status, answer) = deliver(&w, b"\xff\xfe not a record".to_vec()).await;
        assert_eq!(status, 422);
        assert!(answer["error"].as_str().unwrap().starts_with("not a CommandEvent protobuf"), "{answer}");
        let mut unmappable = modal_plan(&next_id(), "Ship the bot", &[OPS]);
        unmappable["options"]["payload"] = "[1]".into();
        assert_eq!(
            deliver(&w, protobuf(&unmappable)).await,
            (422, json!({"error": "CommandEvent refused: `payload` is not a JSON object"}))
        );

        // The worker: what reaches its channel without the bridge, or is refused later.
        let publish = async |payload: Vec<u8>| {
            let client = redis::Client::open(redis.as_str()).unwrap();
            let mut connection = client.get_multiplexed_async_connection().await.unwrap();
            let received = eventually(WAIT, async || {
                let n: i64 =
                    redis::cmd("PUBLISH").arg(&channel).arg(&payload).query_async(&mut connection).await.unwrap();
                (n > 0).then_some(())
            })
            .await;
            assert!(received.is_some(), "nobody subscribed to {channel}");
        };
        publish(b"{nope".to_vec()).await;
        let (stale, denied) = (next_id(), next_id());
        let mut old = modal_plan(&stale, "Ship the bot", &[OPS]);
        old["timestamp"] = rfc3339(now() - 3600).into();
        publish(protobuf(&old)).await;
        publish(protobuf(&unmappable)).await;
        // A member the role map refuses: told so, and the refusal kept.
        assert_eq!(deliver(&w, protobuf(&modal_plan(&denied, "Ship the bot", &[GUEST]))).await.0, 202);

        let letters = dead_letters(&redis, &key, 4).await;
        assert!(letters[0]["reason"].starts_with("invalid JSON"), "{letters:?}");
        assert_eq!(letters[0]["bytes"], "5");
        assert!(letters[1]["reason"].ends_with(" s old, older than `event_max_age_secs` (900 s)"), "{letters:?}");
        assert_eq!(letters[2]["reason"], "`payload` is not a JSON object");
        assert_eq!(
            letters[3]["reason"], "You do not have a role that may run `/plan`. Ask a server admin to grant one.",
            "{letters:?}"
        );
        for letter in &letters[1..] {
            let event: Value = serde_json::from_str(&letter["event"]).unwrap();
            assert!(event.get("token").is_none() && !letter["event"].contains("token-"), "{letter:?}");
            assert_eq!(event["command"], "plan");
        }
        let kept: Value = serde_json::from_str(&letters[1]["event"]).unwrap();
        assert_eq!(
            (kept["interactionId"].as_str(), kept["options"]["content"].as_str()),
            (Some(&*stale), Some("Ship the bot"))
        );
        let edits = w.edits(1).await;
        assert_eq!(
            content(&edits[0]),
            format!(
                "You do not have a role that may run `/plan`. Ask a server admin to grant one.\n-# correlation `corr-{denied}` · trace `{TRACE}`"
            )
        );
        assert!(w.argo.submits().is_empty(), "nothing refused started a workflow");
    }
}
