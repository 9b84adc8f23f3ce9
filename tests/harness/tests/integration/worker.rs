//! The Kafka path: the bridges (`POST /bridge/kafka` for commands, `POST /bridge/lifecycle` for
//! lifecycle events) publish to a real `redis-server`, the workers' Redis triggers run the real
//! `.wasm`. CommandEvents are encoded from `proto/facteur/v1/contract.proto` itself.
//!
//! Queue trust (issue 15): each route, secret and channel carries one kind; CommandEvents are
//! used only with snowflake ids and within `event_max_age_secs`; the bridge decides on the
//! secret and the declared length before reading the body, and reads at most 64 KiB.

use std::collections::BTreeSet;
use std::convert::Infallible;
use std::ops::Deref;
use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicU32, AtomicUsize, Ordering};
use std::time::Duration;

use bytes::Bytes;
use facteur_harness::support::{RedisServer, eventually, free_port, host_of, now, test_redis};
use facteur_harness::{AppBuilder, RedisTrigger, Response};
use http_body_util::{Full, StreamBody};
use hyper::body::Frame;
use prost_reflect::{DescriptorPool, DynamicMessage};
use serde_json::{Value, json};

use crate::common::*;

const SECRET: &str = "bridge-s3cret";
const LIFECYCLE_SECRET: &str = "lifecycle-s3cret";
const WAIT: Duration = Duration::from_secs(15);

/// A world whose workers listen on channels of their own (tests share one Redis server).
pub(crate) struct QueueWorld {
    world: World,
    redis: String,
    /// `events_channel` (CommandEvents) and `lifecycle_channel`.
    commands: String,
    lifecycle: String,
}

impl Deref for QueueWorld {
    type Target = World;
    fn deref(&self) -> &World {
        &self.world
    }
}

async fn queue_world(redis: &str) -> QueueWorld {
    queue_world_with(redis, |b| b).await
}

async fn queue_world_with(redis: &str, configure: impl FnOnce(AppBuilder) -> AppBuilder) -> QueueWorld {
    static N: AtomicU32 = AtomicU32::new(0);
    let n = N.fetch_add(1, Ordering::SeqCst);
    let commands = format!("facteur.test.{}.{n}", std::process::id());
    let lifecycle = format!("facteur.test.{}.{n}.lifecycle", std::process::id());
    let world = world(|b| {
        configure(
            b.variable("redis_host", host_of(redis))
                .variable("events_channel", &commands)
                .variable("lifecycle_channel", &lifecycle)
                .variable("bridge_secret", SECRET)
                .variable("lifecycle_secret", LIFECYCLE_SECRET)
                .variable("discord_bot_token", "bot-t0ken"),
        )
    })
    .await;
    QueueWorld { world, redis: redis.to_owned(), commands, lifecycle }
}

impl QueueWorld {
    /// PUBLISHes `payload` straight to `channel` (as anyone with Redis access could), once a
    /// worker is subscribed to it.
    async fn publish(&self, channel: &str, payload: &[u8]) {
        let client = redis::Client::open(self.redis.as_str()).unwrap();
        let mut redis = client.get_multiplexed_async_connection().await.unwrap();
        let received = eventually(WAIT, async || {
            let n: i64 = redis::cmd("PUBLISH").arg(channel).arg(payload).query_async(&mut redis).await.unwrap();
            (n > 0).then_some(())
        })
        .await;
        assert!(received.is_some(), "nobody subscribed to {channel}");
    }

    /// The first line `component` logged that contains `text`, once it did, as
    /// `component: message` (each line is a JSON object: level, component, event, message).
    async fn logged(&self, component: &str, text: &str) -> String {
        let line = eventually(WAIT, async || {
            self.app.log_text(component).lines().find(|l| l.contains(text)).map(str::to_owned)
        })
        .await
        .unwrap_or_else(|| panic!("{component} never logged `{text}`; logs:\n{}", self.logs()));
        let record: Value = serde_json::from_str(&line).unwrap_or_else(|e| panic!("not a JSON line ({e}): {line}"));
        assert_eq!(record["component"], component, "{line}");
        assert!(record["level"].is_string() && record["event"].is_string(), "{line}");
        format!("{component}: {}", record["message"].as_str().unwrap_or_default())
    }

    /// Nothing reached Argo or Discord, and no run was recorded for interaction `id`.
    async fn nothing_done(&self, id: &str) {
        assert!(self.argo.requests().is_empty(), "no Argo call: {:?}", self.argo.requests());
        assert!(self.discord.requests().is_empty(), "no Discord call");
        for key in [format!("run:argo:plan-{id}"), format!("interaction:{id}")] {
            assert_eq!(self.app.kv_get("default", &key).await, None, "{key} stored");
        }
    }
}

async fn with_worker(w: &World) -> RedisTrigger {
    w.app.start_redis_trigger().await.unwrap()
}

/// `facteur.v1.CommandEvent` bytes, encoded from the `.proto` (not from facteur's types).
pub(crate) fn protobuf(event: &Value) -> Vec<u8> {
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

/// POSTs a Kafka record to the commands' bridge as KafkaSource does in binary mode.
async fn bridge(w: &World, record: Vec<u8>, secret: &str) -> Response {
    post(w, "/bridge/kafka", record, secret).await
}

/// A binary-mode CloudEvent to `route`.
async fn post(w: &World, route: &str, record: Vec<u8>, secret: &str) -> Response {
    let request = binary(route, secret).body(Full::new(Bytes::from(record))).unwrap();
    w.app.handle(request).await.unwrap()
}

fn binary(route: &str, secret: &str) -> http::request::Builder {
    http::Request::post(route)
        .header("ce-specversion", "1.0")
        .header("ce-id", "partition:0/offset:42")
        .header("ce-source", "/apis/v1/namespaces/facteur/kafkasources/facteur-commands#discord.commands.incoming")
        .header("ce-type", "dev.knative.kafka.event")
        .header("content-type", "application/x-protobuf")
        .header("x-facteur-bridge-secret", secret)
}

/// POSTs a lifecycle event to `/bridge/lifecycle` in structured mode, the lifecycle secret as a
/// CloudEvents extension (as the example template's exit handler could).
async fn bridge_structured(w: &World, data: Value) -> Response {
    structured(w, "/bridge/lifecycle", data, LIFECYCLE_SECRET).await
}

async fn structured(w: &World, route: &str, data: Value, secret: &str) -> Response {
    let event = json!({
        "specversion": "1.0", "id": "partition:1/offset:7", "type": "dev.knative.kafka.event",
        "source": "/apis/v1/namespaces/facteur/kafkasources/facteur-completions#argo.workflows.completions",
        "datacontenttype": "application/json", "facteursecret": secret, "data": data,
    });
    let request = http::Request::post(route)
        .header("content-type", "application/cloudevents+json")
        .body(Full::new(Bytes::from(event.to_string())))
        .unwrap();
    w.app.handle(request).await.unwrap()
}

/// A request body that yields `chunks` chunks of 16 KiB, then never ends; `pulled` counts the
/// bytes handed to the host.
fn endless_body(
    chunks: usize,
    pulled: Arc<AtomicUsize>,
) -> StreamBody<impl futures::Stream<Item = Result<Frame<Bytes>, Infallible>> + Send + 'static> {
    use futures::StreamExt;
    let chunk = Bytes::from(vec![b'x'; 16 * 1024]);
    let head = futures::stream::iter(0..chunks).map(move |_| {
        pulled.fetch_add(chunk.len(), Ordering::SeqCst);
        Ok(Frame::data(chunk.clone()))
    });
    StreamBody::new(head.chain(futures::stream::pending()))
}

fn error(response: &Response) -> (u16, Value) {
    (response.status, response.json())
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
    // The audit line is written when the worker's instance ends, which may be after the edit.
    w.logged("worker", r#""audit":"denied""#).await;
}

#[tokio::test]
async fn garbage_is_refused_at_the_bridge_dropped_by_the_worker_and_the_next_event_is_handled() {
    let Some(redis) = test_redis().await else { return };
    let w = queue_world(&redis).await;
    let _worker = with_worker(&w).await;
    // The bridge publishes only what decodes to its kind: 422 with the reason (dead-lettered).
    let garbage = bridge(&w, b"\xff\xfe\x00garbage".to_vec(), SECRET).await;
    assert_eq!(garbage.status, 422);
    assert!(garbage.json()["error"].as_str().unwrap().starts_with("not a CommandEvent protobuf"), "{}", garbage.text());
    assert_eq!(
        error(&bridge(&w, b"{\"hello\": true}".to_vec(), SECRET).await),
        (422, json!({"error": "JSON message is neither a CommandEvent nor a lifecycle event"}))
    );
    // Published straight to Redis, the worker drops it and handles the next one.
    w.publish(&w.commands, b"\xff\xfe\x00garbage").await;
    w.publish(&w.commands, b"{\"hello\": true}").await;
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
    assert_eq!(edits[1]["content"], format!("`/plan` run `plan-{id}` **Succeeded** <t:1795766525:R>, after 2m 05s."));
    assert_eq!(edits[1]["embeds"][0]["url"], format!("https://argo.example/workflows/argo/plan-{id}"));
    assert_eq!(bridge_structured(&w, finished).await.status, 202, "redelivered");
    let skipped =
        eventually(WAIT, async || w.app.log_text("lifecycle-worker").contains("already announced").then_some(())).await;
    assert!(skipped.is_some(), "{}", w.logs());
    assert_eq!(w.discord.edits().len(), 2, "not posted twice");
}

#[tokio::test]
async fn lifecycle_events_for_unknown_runs_are_logged_and_call_nothing() {
    let Some(redis) = test_redis().await else { return };
    let w = queue_world(&redis).await;
    let _worker = with_worker(&w).await;
    bridge_structured(&w, json!({"workflow": "someone-elses", "namespace": "argo", "phase": "Failed"})).await;
    let logged = eventually(WAIT, async || {
        w.app.log_text("lifecycle-worker").contains("not a run facteur remembers").then_some(())
    })
    .await;
    assert!(logged.is_some(), "{}", w.logs());
    assert!(w.discord.requests().is_empty());
}

#[tokio::test]
async fn after_the_token_expired_the_bot_posts_in_the_channel() {
    let Some(redis) = test_redis().await else { return };
    // Only with an age limit above the token's 15 minutes (the default refuses such events).
    let w = queue_world_with(&redis, |b| b.variable("event_max_age_secs", "7200")).await;
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
    assert_eq!(error(&nobody), (503, json!({"error": "no worker is listening; retry later"})));
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
    assert_eq!(error(&response), (503, json!({"error": "the bridge is not configured"})));
    assert!(w.app.log_text("bridge").contains(
        "`bridge_secret` (unless `bridge_auth` is `network`), `redis_host` (with `redis_password`) and `events_channel` must be set"
    ));
    // The lifecycle route names its own variables: the commands' secret does not open it.
    let w = world(|b| b.variable("bridge_secret", SECRET)).await;
    let response = post(&w, "/bridge/lifecycle", b"x".to_vec(), SECRET).await;
    assert_eq!(error(&response), (503, json!({"error": "the bridge is not configured"})));
    assert!(w.app.log_text("lifecycle-bridge").contains(
        "`lifecycle_secret` (unless `lifecycle_auth` is `network`), `redis_host` (with `redis_password`) and `lifecycle_channel` must be set; refusing records until they are (variable `lifecycle_secret` is not set)"
    ), "{}", w.logs());
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

// Queue trust (issue 15, item 2): separate routes, secrets and channels; age; snowflakes.

/// A lifecycle event for `plan-{id}`.
fn finished(id: &str) -> Value {
    json!({"workflow": format!("plan-{id}"), "namespace": "argo", "phase": "Succeeded"})
}

#[tokio::test]
async fn a_command_event_posted_to_the_lifecycle_route_is_refused_and_starts_nothing() {
    let Some(redis) = test_redis().await else { return };
    let w = queue_world(&redis).await;
    let _worker = with_worker(&w).await;
    let id = next_id();
    let event = command_event(&id, "plan", json!({"objective": "Ship the bot"}), &[OPS]);
    // With the lifecycle secret a workflow holds, in either mode and encoding.
    let expected = (422, json!({"error": "this route takes lifecycle events only, not a CommandEvent"}));
    assert_eq!(error(&post(&w, "/bridge/lifecycle", protobuf(&event), LIFECYCLE_SECRET).await), expected);
    assert_eq!(error(&structured(&w, "/bridge/lifecycle", event.clone(), LIFECYCLE_SECRET).await), expected);
    // Its secret opens only its route, and the commands' secret does not open it.
    let wrong = (401, json!({"error": "missing or wrong bridge secret"}));
    assert_eq!(error(&bridge(&w, protobuf(&event), LIFECYCLE_SECRET).await), wrong);
    assert_eq!(error(&post(&w, "/bridge/lifecycle", protobuf(&event), SECRET).await), wrong);
    assert!(w.app.log_text("lifecycle-bridge").contains("refused a record of"), "{}", w.logs());
    // Nothing was published: no worker ran, no workflow, no message, nothing stored.
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert!(w.app.invocations().iter().all(|i| !i.component.ends_with("worker")), "{:?}", w.app.invocations());
    w.nothing_done(&id).await;
}

#[tokio::test]
async fn a_lifecycle_event_posted_to_the_commands_route_is_refused() {
    let Some(redis) = test_redis().await else { return };
    let w = queue_world(&redis).await;
    let _worker = with_worker(&w).await;
    let id = next_id();
    w.run(slash(&id, "plan", json!([opt("objective", "Ship the bot")]), &[OPS])).await;
    let record = finished(&id).to_string().into_bytes();
    assert_eq!(
        error(&bridge(&w, record, SECRET).await),
        (422, json!({"error": "this route takes CommandEvents only, not a lifecycle event"}))
    );
    assert_eq!(
        error(&structured(&w, "/bridge/kafka", finished(&id), SECRET).await),
        (422, json!({"error": "this route takes CommandEvents only, not a lifecycle event"}))
    );
    // On its own route the same event is announced.
    assert_eq!(bridge_structured(&w, finished(&id)).await.status, 202);
    let edits = until_edits(&w, 2).await;
    assert!(edits[1]["content"].as_str().unwrap().contains("**Succeeded**"), "{}", edits[1]);
}

#[tokio::test]
async fn a_command_event_published_straight_to_the_lifecycle_channel_is_dropped() {
    let Some(redis) = test_redis().await else { return };
    let w = queue_world(&redis).await;
    let _worker = with_worker(&w).await;
    let id = next_id();
    let event = protobuf(&command_event(&id, "plan", json!({"objective": "Ship the bot"}), &[OPS]));
    w.publish(&w.lifecycle, &event).await;
    let line = w.logged("lifecycle-worker", "refused").await;
    assert_eq!(
        line,
        format!(
            "lifecycle-worker: refused CommandEvent `{id}` (`/plan`): it arrived on the lifecycle channel, which carries lifecycle events only; dropped"
        )
    );
    w.nothing_done(&id).await;
    // And the other way round: a lifecycle event on the commands' channel.
    w.publish(&w.commands, finished(&id).to_string().as_bytes()).await;
    let line = w.logged("worker", "refused").await;
    assert!(line.ends_with("it arrived on the commands channel, which carries CommandEvents only; dropped"), "{line}");
    w.nothing_done(&id).await;
}

#[tokio::test]
async fn an_event_older_than_the_limit_is_refused_and_logged() {
    let Some(redis) = test_redis().await else { return };
    let w = queue_world(&redis).await;
    let _worker = with_worker(&w).await;
    let id = next_id();
    let mut event = command_event(&id, "plan", json!({"objective": "Ship the bot"}), &[OPS]);
    event["timestamp"] = rfc3339(now() - 3600).into();
    // The bridge publishes it (Knative may hold records while it retries); the worker refuses it.
    assert_eq!(bridge(&w, protobuf(&event), SECRET).await.status, 202);
    let line = w.logged("worker", "refused").await;
    let prefix = format!("worker: refused CommandEvent `{id}` (`/plan`): ");
    let age: u64 = line.strip_prefix(&prefix).and_then(|r| r.split(' ').next()?.parse().ok()).expect(&line);
    assert!((3600..3610).contains(&age), "{line}");
    assert!(line.ends_with(" s old, older than `event_max_age_secs` (900 s); dropped"), "{line}");
    w.nothing_done(&id).await;

    // Without a timestamp its age is unknown: refused too.
    let id = next_id();
    let mut event = command_event(&id, "plan", json!({"objective": "Ship the bot"}), &[OPS]);
    event.as_object_mut().unwrap().remove("timestamp");
    assert_eq!(bridge(&w, protobuf(&event), SECRET).await.status, 202);
    let line = w.logged("worker", &format!("`{id}`")).await;
    assert_eq!(
        line,
        format!("worker: refused CommandEvent `{id}` (`/plan`): no `timestamp`: its age cannot be checked; dropped")
    );
    w.nothing_done(&id).await;
}

#[tokio::test]
async fn the_age_limit_is_configurable() {
    let Some(redis) = test_redis().await else { return };
    let w = queue_world_with(&redis, |b| b.variable("event_max_age_secs", "60")).await;
    let _worker = with_worker(&w).await;
    let (old, fresh) = (next_id(), next_id());
    for (id, age) in [(&old, 120), (&fresh, 5)] {
        let mut event = command_event(id, "plan", json!({"objective": "Ship the bot"}), &[OPS]);
        event["timestamp"] = rfc3339(now() - age).into();
        assert_eq!(bridge(&w, protobuf(&event), SECRET).await.status, 202);
    }
    until_edits(&w, 1).await;
    assert!(w.app.log_text("worker").contains(&format!("refused CommandEvent `{old}`")), "{}", w.logs());
    let names: Vec<String> =
        w.argo.workflows().iter().map(|wf| wf["metadata"]["name"].as_str().unwrap().to_owned()).collect();
    assert_eq!(names, [format!("plan-{fresh}")]);
}

#[tokio::test]
async fn a_bad_channel_id_never_reaches_discord() {
    let Some(redis) = test_redis().await else { return };
    let w = queue_world_with(&redis, |b| b.variable("event_max_age_secs", "7200")).await;
    let _worker = with_worker(&w).await;
    let id = next_id();
    let mut event = command_event(&id, "plan", json!({"objective": "Ship the bot"}), &[OPS]);
    // An expired token: the reply would go to `channel_id` with the bot token.
    event["timestamp"] = rfc3339(now() - 3600).into();
    event["channelId"] = "../../users/@me".into();
    assert_eq!(
        error(&bridge(&w, protobuf(&event), SECRET).await),
        (422, json!({"error": "CommandEvent refused: `channel_id` is not a Discord snowflake: `../../users/@me`"}))
    );
    // Straight to Redis, past the bridge: the worker refuses it before anything uses it.
    w.publish(&w.commands, &protobuf(&event)).await;
    let line = w.logged("worker", "refused").await;
    assert_eq!(
        line,
        format!(
            "worker: refused CommandEvent `{id}` (`/plan`): `channel_id` is not a Discord snowflake: `../../users/@me`; dropped"
        )
    );
    w.nothing_done(&id).await;
    // Every id is checked: a role, a user, the interaction itself.
    for (field, value, name) in [
        ("member", json!({"id": USER, "roles": ["admin"]}), "member.roles"),
        ("user", json!({"id": "1 OR 1=1", "username": "ada"}), "user.id"),
        ("interactionId", json!("12/../34"), "interaction_id"),
    ] {
        let mut event = command_event(&next_id(), "plan", json!({"objective": "Ship the bot"}), &[OPS]);
        event[field] = value;
        let refused = bridge(&w, protobuf(&event), SECRET).await;
        assert_eq!(refused.status, 422);
        let reason = refused.json()["error"].as_str().unwrap().to_owned();
        assert!(reason.starts_with(&format!("CommandEvent refused: `{name}` is not a Discord snowflake")), "{reason}");
    }
    assert!(w.argo.requests().is_empty() && w.discord.requests().is_empty());
}

// Item 6: the bridge reads safely.

#[tokio::test]
async fn an_oversize_body_is_refused_with_413_without_being_read() {
    let Some(redis) = test_redis().await else { return };
    let w = queue_world(&redis).await;
    let too_large = (413, json!({"error": "record exceeds 64 KiB"}));
    // Declared: refused from the headers, while the body is still open.
    let pulled = Arc::new(AtomicUsize::new(0));
    let request = binary("/bridge/kafka", SECRET)
        .header("content-length", (64 * 1024 + 1).to_string())
        .body(endless_body(1, pulled.clone()))
        .unwrap();
    let response = tokio::time::timeout(WAIT, w.app.handle(request)).await.expect("answered without the body");
    assert_eq!(error(&response.unwrap()), too_large);
    // Undeclared (chunked): read as a stream and abandoned one chunk past the cap.
    let pulled = Arc::new(AtomicUsize::new(0));
    let request = binary("/bridge/kafka", SECRET).body(endless_body(4096, pulled.clone())).unwrap();
    let response = tokio::time::timeout(WAIT, w.app.handle(request)).await.expect("answered before the end");
    assert_eq!(error(&response.unwrap()), too_large);
    let read = pulled.load(Ordering::SeqCst);
    assert!(read < 256 * 1024, "{read} bytes of a 64 MiB body were read");
    // Exactly the cap is read; structured mode with the secret inside is capped the same way.
    let at_cap = vec![b' '; 64 * 1024];
    assert_eq!(bridge(&w, at_cap, SECRET).await.status, 422, "read, then refused as not an event");
    let padded = json!({"specversion": "1.0", "id": "1", "source": "s", "type": "t", "facteursecret": SECRET,
                        "data": "x".repeat(64 * 1024)});
    let request = http::Request::post("/bridge/kafka")
        .header("content-type", "application/cloudevents+json")
        .body(Full::new(Bytes::from(padded.to_string())))
        .unwrap();
    assert_eq!(error(&w.app.handle(request).await.unwrap()), too_large);
    assert!(w.argo.requests().is_empty());
}

#[tokio::test]
async fn a_wrong_secret_is_refused_with_401_before_the_body_is_read() {
    let Some(redis) = test_redis().await else { return };
    let w = queue_world(&redis).await;
    let wrong = (401, json!({"error": "missing or wrong bridge secret"}));
    for (route, secret) in [("/bridge/kafka", "wrong"), ("/bridge/lifecycle", "wrong"), ("/bridge/kafka", "")] {
        let pulled = Arc::new(AtomicUsize::new(0));
        let request = binary(route, secret).body(endless_body(1, pulled)).unwrap();
        let response = tokio::time::timeout(WAIT, w.app.handle(request)).await.expect("answered without the body");
        assert_eq!(error(&response.unwrap()), wrong, "{route} {secret:?}");
    }
    // Binary mode without any secret header: refused from the headers too.
    let request = http::Request::post("/bridge/kafka")
        .header("content-type", "application/x-protobuf")
        .body(endless_body(1, Arc::default()))
        .unwrap();
    let response = tokio::time::timeout(WAIT, w.app.handle(request)).await.expect("answered without the body");
    assert_eq!(error(&response.unwrap()), wrong);
    // A header secret decides, whatever the body says; structured mode without one is checked in
    // the (capped) body.
    let id = next_id();
    let event = command_event(&id, "plan", json!({"objective": "Ship the bot"}), &[OPS]);
    let body =
        json!({"specversion": "1.0", "id": "1", "source": "s", "type": "t", "facteursecret": SECRET, "data": event});
    let request = http::Request::post("/bridge/kafka")
        .header("content-type", "application/cloudevents+json")
        .header("x-facteur-bridge-secret", "wrong")
        .body(Full::new(Bytes::from(body.to_string())))
        .unwrap();
    assert_eq!(error(&w.app.handle(request).await.unwrap()), wrong);
    assert_eq!(error(&structured(&w, "/bridge/kafka", event, "wrong").await), wrong);
    w.nothing_done(&id).await;
}

#[tokio::test]
async fn the_lifecycle_route_can_trust_the_network_instead_of_a_secret() {
    let Some(redis) = test_redis().await else { return };
    let w =
        queue_world_with(&redis, |b| b.variable("lifecycle_auth", "network").variable("lifecycle_secret", "")).await;
    let _worker = with_worker(&w).await;
    let id = next_id();
    w.run(slash(&id, "plan", json!([opt("objective", "Ship the bot")]), &[OPS])).await;
    assert_eq!(post(&w, "/bridge/lifecycle", finished(&id).to_string().into_bytes(), "").await.status, 202);
    until_edits(&w, 2).await;
    // …and still refuses what is not a lifecycle event.
    let event = command_event(&next_id(), "plan", json!({"objective": "Ship the bot"}), &[OPS]);
    assert_eq!(post(&w, "/bridge/lifecycle", protobuf(&event), "").await.status, 422);
}
