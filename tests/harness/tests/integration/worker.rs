//! The Kafka path: the bridge (`POST /bridge/kafka`) publishes to a real `redis-server`, the
//! worker's Redis trigger runs the real `.wasm`. CommandEvents are encoded from
//! `proto/facteur/v1/contract.proto` itself.

use std::collections::BTreeSet;
use std::path::PathBuf;
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::Duration;

use bytes::Bytes;
use facteur_harness::support::{RedisServer, eventually, free_port, host_of, now, test_redis};
use facteur_harness::{RedisTrigger, Response};
use http_body_util::Full;
use prost_reflect::{DescriptorPool, DynamicMessage};
use serde_json::{Value, json};

use crate::common::*;

const SECRET: &str = "bridge-s3cret";
const WAIT: Duration = Duration::from_secs(15);

/// A world whose worker listens on a channel of its own (tests share one Redis server).
async fn queue_world(redis: &str) -> World {
    static N: AtomicU32 = AtomicU32::new(0);
    let channel = format!("facteur.test.{}.{}", std::process::id(), N.fetch_add(1, Ordering::SeqCst));
    world(|b| {
        b.variable("redis_host", host_of(redis))
            .variable("events_channel", channel)
            .variable("bridge_secret", SECRET)
            .variable("discord_bot_token", "bot-t0ken")
    })
    .await
}

async fn with_worker(w: &World) -> RedisTrigger {
    w.app.start_redis_trigger().await.unwrap()
}

/// `facteur.v1.CommandEvent` bytes, encoded from the `.proto` (not from facteur's types).
fn protobuf(event: &Value) -> Vec<u8> {
    let proto = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../proto");
    let files = protox::compile(["facteur/v1/contract.proto"], [proto]).unwrap();
    let pool = DescriptorPool::from_file_descriptor_set(files).unwrap();
    let descriptor = pool.get_message_by_name("facteur.v1.CommandEvent").unwrap();
    let message = DynamicMessage::deserialize(descriptor, event).unwrap();
    prost::Message::encode_to_vec(&message)
}

/// A CommandEvent as the original froussard published it (protobuf JSON names).
pub(crate) fn command_event(id: &str, command: &str, options: Value, roles: &[&str]) -> Value {
    json!({
        "provider": "discord", "interactionId": id, "applicationId": APP_ID, "command": command,
        "commandId": "1400000000000000000", "version": 1, "token": format!("token-{id}"), "options": options,
        "guildId": GUILD, "channelId": CHANNEL, "user": {"id": USER, "username": "ada"},
        "member": {"id": USER, "roles": roles}, "locale": "en-US",
        "response": {"type": 5, "flags": 64}, "timestamp": rfc3339(now()),
    })
}

pub(crate) fn rfc3339(seconds: u64) -> String {
    // Days to a civil date (the inverse of facteur::time::unix_seconds), for test timestamps.
    let days = (seconds / 86_400) as i64;
    let secs = seconds % 86_400;
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    format!("{year:04}-{month:02}-{day:02}T{:02}:{:02}:{:02}Z", secs / 3600, secs % 3600 / 60, secs % 60)
}

/// POSTs a Kafka record to the bridge as KafkaSource does in binary mode.
async fn bridge(w: &World, record: Vec<u8>, secret: &str) -> Response {
    let request = http::Request::post("/bridge/kafka")
        .header("ce-specversion", "1.0")
        .header("ce-id", "partition:0/offset:42")
        .header("ce-source", "/apis/v1/namespaces/facteur/kafkasources/facteur-commands#discord.commands.incoming")
        .header("ce-type", "dev.knative.kafka.event")
        .header("content-type", "application/x-protobuf")
        .header("x-facteur-bridge-secret", secret)
        .body(Full::new(Bytes::from(record)))
        .unwrap();
    w.app.handle(request).await.unwrap()
}

/// POSTs a JSON record in structured mode, the secret as a CloudEvents extension.
async fn bridge_structured(w: &World, data: Value) -> Response {
    let event = json!({
        "specversion": "1.0", "id": "partition:1/offset:7", "type": "dev.knative.kafka.event",
        "source": "/apis/v1/namespaces/facteur/kafkasources/facteur-completions#argo.workflows.completions",
        "datacontenttype": "application/json", "facteursecret": SECRET, "data": data,
    });
    let request = http::Request::post("/bridge/kafka")
        .header("content-type", "application/cloudevents+json")
        .body(Full::new(Bytes::from(event.to_string())))
        .unwrap();
    w.app.handle(request).await.unwrap()
}

async fn until_edits(w: &World, count: usize) -> Vec<Value> {
    eventually(WAIT, async || {
        let edits = w.discord.edits();
        (edits.len() >= count).then(|| edits.into_iter().map(|e| e.message).collect())
    })
    .await
    .unwrap_or_else(|| panic!("expected {count} edits; logs:\n{}", w.logs()))
}

#[tokio::test]
async fn a_protobuf_command_event_starts_one_workflow_and_edits_the_reply() {
    let Some(redis) = test_redis().await else { return };
    let w = queue_world(&redis).await;
    let _worker = with_worker(&w).await;
    let id = next_id();
    let record = protobuf(&command_event(&id, "plan", json!({"objective": "Ship the bot", "project": "lab"}), &[OPS]));
    let response = bridge(&w, record, SECRET).await;
    assert_eq!(response.status, 202, "{}", response.text());
    let edits = until_edits(&w, 1).await;
    assert_eq!(edits[0]["content"], format!("`/plan` started workflow `plan-{id}` in `argo`."));
    let submits = w.argo.submits();
    assert_eq!(submits.len(), 1);
    assert_eq!(
        submits[0]["submitOptions"]["parameters"],
        json!(["action=plan", "objective=Ship the bot", "project=lab"])
    );
    assert!(
        submits[0]["submitOptions"]["labels"].as_str().unwrap().contains(&format!("facteur.dev/interaction-id={id}"))
    );
    assert_eq!(w.discord.edits()[0].token, format!("token-{id}"));
}

#[tokio::test]
async fn the_json_form_works_the_same_and_redelivery_starts_no_second_workflow() {
    let Some(redis) = test_redis().await else { return };
    let w = queue_world(&redis).await;
    let _worker = with_worker(&w).await;
    let id = next_id();
    let record =
        command_event(&id, "review", json!({"project": "lab", "artifact": "PR 42"}), &[OPS]).to_string().into_bytes();
    assert_eq!(bridge(&w, record.clone(), SECRET).await.status, 202);
    assert_eq!(bridge(&w, record, SECRET).await.status, 202, "Kafka redelivers the same record");
    let edits = until_edits(&w, 2).await;
    assert_eq!(w.argo.workflows().len(), 1, "one workflow");
    assert!(edits[1]["content"].as_str().unwrap().contains("already started"), "{}", edits[1]);
}

#[tokio::test]
async fn a_member_without_a_role_gets_a_denial_and_no_workflow() {
    let Some(redis) = test_redis().await else { return };
    let w = queue_world(&redis).await;
    let _worker = with_worker(&w).await;
    let record = protobuf(&command_event(&next_id(), "plan", json!({"objective": "Ship the bot"}), &[GUEST]));
    bridge(&w, record, SECRET).await;
    let edits = until_edits(&w, 1).await;
    assert_eq!(edits[0]["content"], "You do not have a role that may run `/plan`. Ask a server admin to grant one.");
    assert!(w.argo.requests().is_empty());
    assert!(w.app.log_text("worker").contains(r#""audit":"denied""#));
}

#[tokio::test]
async fn garbage_is_dropped_and_the_next_event_is_handled() {
    let Some(redis) = test_redis().await else { return };
    let w = queue_world(&redis).await;
    let _worker = with_worker(&w).await;
    assert_eq!(bridge(&w, b"\xff\xfe\x00garbage".to_vec(), SECRET).await.status, 202);
    assert_eq!(bridge(&w, b"{\"hello\": true}".to_vec(), SECRET).await.status, 202);
    bridge(&w, protobuf(&command_event(&next_id(), "plan", json!({"objective": "Ship the bot"}), &[OPS])), SECRET)
        .await;
    until_edits(&w, 1).await;
    let logs = w.app.log_text("worker");
    assert!(logs.contains("dropped a message of 10 bytes: not a CommandEvent protobuf"), "{logs}");
    assert!(logs.contains("neither a CommandEvent nor a lifecycle event"), "{logs}");
    assert_eq!(w.argo.workflows().len(), 1);
}

#[tokio::test]
async fn lifecycle_events_update_the_runs_message_once() {
    let Some(redis) = test_redis().await else { return };
    let w = queue_world(&redis).await;
    let _worker = with_worker(&w).await;
    let id = next_id();
    w.run(slash(&id, "plan", json!([opt("objective", "Ship the bot")]), &[OPS])).await;
    let finished = json!({"workflow": format!("plan-{id}"), "namespace": "argo", "phase": "Succeeded",
                          "startedAt": "2026-11-27T08:00:00Z", "finishedAt": "2026-11-27T08:02:05Z"});
    assert_eq!(bridge_structured(&w, finished.clone()).await.status, 202);
    let edits = until_edits(&w, 2).await;
    assert_eq!(edits[1]["content"], format!("`/plan` run `plan-{id}` **Succeeded** after 2m 05s."));
    assert_eq!(edits[1]["embeds"][0]["url"], format!("https://argo.example/workflows/argo/plan-{id}"));
    assert_eq!(bridge_structured(&w, finished).await.status, 202, "redelivered");
    let skipped = eventually(WAIT, async || w.app.log_text("worker").contains("already announced").then_some(())).await;
    assert!(skipped.is_some(), "{}", w.logs());
    assert_eq!(w.discord.edits().len(), 2, "not posted twice");
}

#[tokio::test]
async fn lifecycle_events_for_unknown_runs_are_logged_and_call_nothing() {
    let Some(redis) = test_redis().await else { return };
    let w = queue_world(&redis).await;
    let _worker = with_worker(&w).await;
    bridge_structured(&w, json!({"workflow": "someone-elses", "namespace": "argo", "phase": "Failed"})).await;
    let logged =
        eventually(WAIT, async || w.app.log_text("worker").contains("not a run facteur remembers").then_some(())).await;
    assert!(logged.is_some(), "{}", w.logs());
    assert!(w.discord.requests().is_empty());
}

#[tokio::test]
async fn after_the_token_expired_the_bot_posts_in_the_channel() {
    let Some(redis) = test_redis().await else { return };
    let w = queue_world(&redis).await;
    let _worker = with_worker(&w).await;
    let mut event = command_event(&next_id(), "plan", json!({"objective": "Ship the bot"}), &[OPS]);
    event["timestamp"] = rfc3339(now() - 3600).into();
    bridge(&w, protobuf(&event), SECRET).await;
    let posts = eventually(WAIT, async || Some(w.discord.channel_posts()).filter(|p| !p.is_empty())).await.unwrap();
    assert_eq!(posts[0].0, CHANNEL);
    assert!(posts[0].1["content"].as_str().unwrap().starts_with("`/plan` started workflow"));
    assert!(w.discord.edits().is_empty(), "the expired token is not used");
    let authorization = w.discord.requests()[0].header("authorization").map(str::to_owned);
    assert_eq!(authorization.as_deref(), Some("Bot bot-t0ken"));
}

#[tokio::test]
async fn the_bridge_answers_2xx_only_when_a_worker_received_the_record() {
    let Some(redis) = test_redis().await else { return };
    let w = queue_world(&redis).await;
    let record = protobuf(&command_event(&next_id(), "plan", json!({"objective": "Ship the bot"}), &[OPS]));
    let nobody = bridge(&w, record.clone(), SECRET).await;
    assert_eq!((nobody.status, nobody.json()), (503, json!({"status": "no worker is listening; retry later"})));
    assert_eq!(bridge(&w, record.clone(), "wrong").await.status, 401);
    let unsigned = http::Request::post("/bridge/kafka").body(Full::new(Bytes::from_static(b"x"))).unwrap();
    assert_eq!(w.app.handle(unsigned).await.unwrap().status, 401);
    let _worker = with_worker(&w).await;
    assert_eq!(bridge(&w, record, SECRET).await.status, 202);
    until_edits(&w, 1).await;
    assert!(w.app.log_text("bridge").contains("asking for redelivery"));
}

#[tokio::test]
async fn the_bridge_refuses_everything_until_configured() {
    let w = world(|b| b).await;
    let response = bridge(&w, b"x".to_vec(), "").await;
    assert_eq!(response.status, 503);
    assert!(
        w.app
            .log_text("bridge")
            .contains("`bridge_secret`, `redis_host` (with `redis_password`) and `events_channel` must be set")
    );
}

#[tokio::test]
async fn the_trigger_refuses_to_start_when_redis_cannot_be_reached() {
    let w = world(|b| b.variable("redis_host", "127.0.0.1:9")).await;
    let error = w.app.start_redis_trigger().await.err().expect("no Redis there");
    assert!(format!("{error:#}").contains("127.0.0.1:9"), "{error:#}");
}

#[tokio::test]
async fn a_redis_restart_loses_only_what_the_delivery_guarantees_allow() {
    let port = free_port();
    let Some(redis) = RedisServer::start(port).await else { return };
    let w = queue_world(&redis.url()).await;
    let worker = with_worker(&w).await;
    let record = |id: &str| protobuf(&command_event(id, "plan", json!({"objective": "Ship the bot"}), &[OPS]));
    let before: Vec<String> = (0..5).map(|_| next_id()).collect();
    for id in &before {
        assert_eq!(bridge(&w, record(id), SECRET).await.status, 202);
    }
    until_edits(&w, 5).await;

    // Redis goes away: the trigger ends (as `spin up` exits and the pod restarts), the bridge
    // refuses records with 503 and Knative keeps them.
    drop(redis);
    let during = next_id();
    assert_eq!(bridge(&w, record(&during), SECRET).await.status, 503, "refused while Redis is down");
    assert!(eventually(WAIT, async || worker.is_finished().then_some(())).await.is_some(), "the trigger stops");
    assert!(w.app.log_text("redis-trigger").contains("disconnected from"));

    // Redis and the worker come back; Knative redelivers the refused record.
    let _redis = RedisServer::start(port).await.unwrap();
    let _worker = with_worker(&w).await;
    assert_eq!(bridge(&w, record(&during), SECRET).await.status, 202);
    let after = next_id();
    assert_eq!(bridge(&w, record(&after), SECRET).await.status, 202);
    until_edits(&w, 7).await;
    let names: BTreeSet<String> =
        w.argo.workflows().iter().map(|wf| wf["metadata"]["name"].as_str().unwrap().to_owned()).collect();
    for id in before.iter().chain([&during, &after]) {
        assert!(names.contains(&format!("plan-{id}")), "plan-{id} was lost");
    }
    assert_eq!(names.len(), 7, "nothing started twice");
}
