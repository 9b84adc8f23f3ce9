//! The Kafka path under real Spin: a CloudEvent on `/bridge/kafka`, Spin's Redis trigger, the
//! worker, one workflow, one reply; commands and lifecycle events kept apart (routes, secrets,
//! channels) and stale CommandEvents refused; and what Spin does when Redis is away.

use std::sync::atomic::{AtomicU32, Ordering};
use std::time::Duration;

use bytes::Bytes;
use facteur_harness::spin_up::SpinUpBuilder;
use facteur_harness::support::{RedisServer, eventually, free_port, host_of, now};
use http_body_util::Full;
use serde_json::{Value, json};

use super::{BRIDGE_SECRET, SpinWorld, WAIT, content, runtimes, spin_world};
use crate::common::{OPS, next_id, opt, slash};
use crate::worker::{command_event, rfc3339};

const LIFECYCLE_SECRET: &str = "lifecycle-s3cret";

/// A Kafka record POSTed as KafkaSource does in binary mode, redelivered while the bridge
/// answers 503 (as Knative does): right after `spin up` serves HTTP, its Redis trigger may not
/// have subscribed yet, and the bridge publishes only to a listening worker.
async fn bridge(w: &SpinWorld, record: Vec<u8>) -> u16 {
    let delivered = eventually(Duration::from_secs(10), async || {
        let status = post(w, record.clone()).await;
        (status != 503).then_some(status)
    })
    .await;
    delivered.unwrap_or(503)
}

async fn post(w: &SpinWorld, record: Vec<u8>) -> u16 {
    post_to(w, "/bridge/kafka", record, BRIDGE_SECRET).await.0
}

/// A binary-mode CloudEvent to `route` with `secret`: the status and the JSON answer.
async fn post_to(w: &SpinWorld, route: &str, record: Vec<u8>, secret: &str) -> (u16, Value) {
    let request = http::Request::post(route)
        .header("ce-specversion", "1.0")
        .header("ce-id", "partition:0/offset:42")
        .header("ce-source", "/apis/v1/namespaces/facteur/kafkasources/facteur-commands#discord.commands.incoming")
        .header("ce-type", "dev.knative.kafka.event")
        .header("content-type", "application/json")
        .header("x-facteur-bridge-secret", secret)
        .body(Full::new(Bytes::from(record)))
        .unwrap();
    let response = w.spin.handle(request).await.unwrap();
    (response.status, response.json())
}

/// A lifecycle channel of the test's own, and its secret.
fn own_lifecycle(builder: SpinUpBuilder) -> (SpinUpBuilder, String) {
    static N: AtomicU32 = AtomicU32::new(0);
    let channel = format!("facteur.spin.{}.{}.lifecycle", std::process::id(), N.fetch_add(1, Ordering::SeqCst));
    (builder.variable("lifecycle_channel", &channel).variable("lifecycle_secret", LIFECYCLE_SECRET), channel)
}

/// PUBLISHes `payload` straight to `channel`, once something is subscribed to it.
async fn publish(redis: &str, channel: &str, payload: &[u8]) {
    let client = redis::Client::open(redis).unwrap();
    let mut connection = client.get_multiplexed_async_connection().await.unwrap();
    let received = eventually(WAIT, async || {
        let n: i64 = redis::cmd("PUBLISH").arg(channel).arg(payload).query_async(&mut connection).await.unwrap();
        (n > 0).then_some(())
    })
    .await;
    assert!(received.is_some(), "nobody subscribed to {channel}");
}

/// The first line of `component`'s log containing `text`, once there is one.
/// The `message` of the first JSON log line of `component` that contains `text`.
async fn logged(w: &SpinWorld, component: &str, text: &str) -> String {
    let line = eventually(WAIT, async || w.spin.log(component).lines().find(|l| l.contains(text)).map(str::to_owned))
        .await
        .unwrap_or_else(|| panic!("spin {}: {component} never logged `{text}`:\n{}", w.spin.version, w.spin.logs()));
    let record: serde_json::Value = serde_json::from_str(&line).unwrap_or_else(|e| panic!("not JSON ({e}): {line}"));
    assert_eq!(record["component"], component, "{line}");
    record["message"].as_str().unwrap_or_default().to_owned()
}

#[tokio::test]
async fn commands_and_lifecycle_events_travel_apart() {
    let Some((spins, redis)) = runtimes().await else { return };
    for spin in spins {
        let mut lifecycle = String::new();
        let w = spin_world(spin, &redis, |b| {
            let (b, channel) = own_lifecycle(b);
            lifecycle = channel;
            b
        })
        .await;
        let id = next_id();
        let event = command_event(&id, "plan", json!({"objective": "Ship the bot"}), &[OPS]).to_string().into_bytes();
        // A workflow's secret on the lifecycle route cannot start a command…
        assert_eq!(
            post_to(&w, "/bridge/lifecycle", event.clone(), LIFECYCLE_SECRET).await,
            (422, json!({"error": "this route takes lifecycle events only, not a CommandEvent"}))
        );
        // …nor open the commands' route; and lifecycle events do not go there.
        let wrong = (401, json!({"error": "missing or wrong bridge secret"}));
        assert_eq!(post_to(&w, "/bridge/kafka", event.clone(), LIFECYCLE_SECRET).await, wrong);
        assert_eq!(post_to(&w, "/bridge/lifecycle", event.clone(), BRIDGE_SECRET).await, wrong);
        let phase = json!({"workflow": format!("plan-{id}"), "namespace": "argo", "phase": "Succeeded"});
        assert_eq!(
            post_to(&w, "/bridge/kafka", phase.to_string().into_bytes(), BRIDGE_SECRET).await,
            (422, json!({"error": "this route takes CommandEvents only, not a lifecycle event"}))
        );
        // Straight to the lifecycle channel: the lifecycle worker drops it.
        publish(&redis, &lifecycle, &event).await;
        let line = logged(&w, "lifecycle-worker", "refused").await;
        assert!(
            line.ends_with(&format!(
                "refused CommandEvent `{id}` (`/plan`): it arrived on the lifecycle channel, which carries lifecycle events only; dropped"
            )),
            "{line}"
        );
        // The same event on its own route works: nothing else had started a workflow.
        assert_eq!(bridge(&w, event).await, 202, "{}", w.spin.logs());
        w.edits(1).await;
        assert_eq!(w.argo.submits().len(), 1, "only the event on its own route started a workflow");
    }
}

#[tokio::test]
async fn a_command_event_older_than_the_limit_is_refused() {
    let Some((spins, redis)) = runtimes().await else { return };
    for spin in spins {
        let w = spin_world(spin, &redis, |b| own_lifecycle(b).0).await;
        let (old, fresh) = (next_id(), next_id());
        let mut event = command_event(&old, "plan", json!({"objective": "Ship the bot"}), &[OPS]);
        event["timestamp"] = rfc3339(now() - 3600).into();
        assert_eq!(bridge(&w, event.to_string().into_bytes()).await, 202, "{}", w.spin.logs());
        let line = logged(&w, "worker", "refused").await;
        assert!(line.contains(&format!("refused CommandEvent `{old}` (`/plan`): 36")), "{line}");
        assert!(line.ends_with(" s old, older than `event_max_age_secs` (900 s); dropped"), "{line}");
        let record = command_event(&fresh, "plan", json!({"objective": "Ship the bot"}), &[OPS]).to_string();
        assert_eq!(bridge(&w, record.into_bytes()).await, 202);
        let edits = w.edits(1).await;
        assert_eq!(content(&edits[0]), format!("`/plan` started workflow `plan-{fresh}` in `argo`."));
        let names: Vec<Value> = w.argo.workflows().iter().map(|wf| wf["metadata"]["name"].clone()).collect();
        assert_eq!(names, [json!(format!("plan-{fresh}"))], "the stale event started nothing");
        assert_eq!(w.discord.edits().len(), 1);
    }
}

#[tokio::test]
async fn a_cloudevent_reaches_the_worker_and_starts_one_workflow_with_one_reply() {
    let Some((spins, redis)) = runtimes().await else { return };
    for spin in spins {
        let w = spin_world(spin, &redis, |b| b).await;
        let id = next_id();
        let record = command_event(&id, "plan", json!({"objective": "Ship the bot"}), &[OPS]).to_string().into_bytes();
        assert_eq!(bridge(&w, record.clone()).await, 202, "{}", w.spin.logs());
        let edits = w.edits(1).await;
        assert_eq!(content(&edits[0]), format!("`/plan` started workflow `plan-{id}` in `argo`."));
        assert_eq!(w.argo.submits().len(), 1);
        assert!(w.argo.violations().is_empty(), "{:?}", w.argo.violations());
        // Kafka redelivers: still one workflow.
        assert_eq!(bridge(&w, record).await, 202);
        w.edits(2).await;
        assert_eq!(w.argo.workflows().len(), 1);
        assert!(w.spin.log("worker").contains(r#""audit":"submitted""#), "{}", w.spin.logs());
    }
}

/// Without Redis, Spin (3.6 and 4.0) may serve HTTP for a moment, then its Redis trigger fails
/// to connect and `spin up` terminates ("A trigger exited unexpectedly"): the app does not run
/// half-started. Without the worker (`-c`), the rest runs.
#[tokio::test]
async fn without_redis_spin_up_refuses_to_start_unless_the_worker_is_left_out() {
    let Some((spins, _)) = runtimes().await else { return };
    let nowhere = format!("redis://127.0.0.1:{}", free_port());
    for spin in spins {
        let output = match spin.up().variable("redis_host", host_of(&nowhere)).start().await {
            Err(e) => format!("{e:#}"),
            Ok(mut up) => {
                let exited = eventually(Duration::from_secs(30), async || up.exited().then_some(())).await;
                assert!(exited.is_some(), "spin {} runs without Redis:\n{}", spin.version, up.output());
                up.output()
            }
        };
        let expected = format!("Redis trigger failed to connect to {}", host_of(&nowhere));
        assert!(output.contains(&expected), "spin {}: {output}", spin.version);

        let mut without_worker = spin.up().variable("redis_host", host_of(&nowhere));
        for id in [
            "interactions",
            "help",
            "plan",
            "implement",
            "review",
            "dispatch",
            "release",
            "workflow",
            "bridge",
            "lifecycle-bridge",
        ] {
            without_worker = without_worker.component(id);
        }
        let spin_up = without_worker.start().await.unwrap_or_else(|e| panic!("{e:#}"));
        let ping = facteur_harness::support::Signer::from_seed(facteur::config::DEV_SEED)
            .request(r#"{"id":"1","application_id":"2","type":1}"#);
        assert_eq!(spin_up.handle(ping).await.unwrap().json(), json!({"type": 1}));
    }
}

/// Redis goes away while Spin runs: Spin's Redis trigger ends and `spin up` exits (on the
/// cluster the pod restarts); what the worker had already done stays done.
#[tokio::test]
async fn when_redis_goes_away_mid_run_spin_up_exits() {
    let Some((spins, _)) = runtimes().await else { return };
    for spin in spins {
        let Some(own) = RedisServer::start(free_port()).await else { return };
        let mut w = spin_world(spin, &own.url(), |b| b).await;
        let id = next_id();
        let record = command_event(&id, "plan", json!({"objective": "Ship the bot"}), &[OPS]).to_string().into_bytes();
        assert_eq!(bridge(&w, record).await, 202);
        w.edits(1).await;
        // The HTTP path does not need Redis (the key-value store is SQLite under `spin up`).
        assert_eq!(w.send(slash(&next_id(), "plan", json!([opt("objective", "Before")]), &[OPS])).await.status, 200);
        w.edits(2).await;
        drop(own);
        let exited = eventually(Duration::from_secs(30), async || w.spin.exited().then_some(())).await;
        assert!(exited.is_some(), "spin {} kept running without Redis:\n{}", spin.version, w.spin.logs());
        assert_eq!(w.argo.workflows().len(), 2, "nothing done was lost");
    }
}
