//! The Kafka path under real Spin: a CloudEvent on `/bridge/kafka`, Spin's Redis trigger, the
//! worker, one workflow, one reply; and what Spin does when Redis is away.

use std::time::Duration;

use bytes::Bytes;
use facteur_harness::support::{RedisServer, eventually, free_port, host_of};
use http_body_util::Full;
use serde_json::json;

use super::{BRIDGE_SECRET, SpinWorld, content, runtimes, spin_world};
use crate::common::{OPS, next_id, opt, slash};
use crate::worker::command_event;

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
    let request = http::Request::post("/bridge/kafka")
        .header("ce-specversion", "1.0")
        .header("ce-id", "partition:0/offset:42")
        .header("ce-source", "/apis/v1/namespaces/facteur/kafkasources/facteur-commands#discord.commands.incoming")
        .header("ce-type", "dev.knative.kafka.event")
        .header("content-type", "application/json")
        .header("x-facteur-bridge-secret", BRIDGE_SECRET)
        .body(Full::new(Bytes::from(record)))
        .unwrap();
    w.spin.handle(request).await.unwrap().status
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
        for id in ["interactions", "help", "plan", "implement", "review", "dispatch", "workflow", "bridge"] {
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
