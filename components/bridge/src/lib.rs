//! `bridge`: the sink of Knative KafkaSources and of workflows' lifecycle reports. One `.wasm`,
//! two routes told apart by the component variable `accepts` (spin.toml):
//!
//! - `POST /bridge/kafka` (`accepts = "commands"`): CommandEvents (`discord.commands.incoming`),
//!   `bridge_auth`/`bridge_secret`, published to `events_channel`;
//! - `POST /bridge/lifecycle` (`accepts = "lifecycle"`): lifecycle events (the example
//!   template's exit handler, `argo.workflows.completions`), `lifecycle_auth`/`lifecycle_secret`,
//!   published to `lifecycle_channel`.
//!
//! Before reading the body: the method, the secret when a header carries it (401), the declared
//! `Content-Length` (413). The body is then read as a stream and never past 64 KiB (413). A
//! structured event without a secret header has its `facteursecret` checked once read (401).
//! The record is published only if it decodes to this route's kind, and a CommandEvent only with
//! valid ids and options whose names map onto the command's (the catalog's `sources.kafka`):
//! 422 otherwise, with the reason. Knative retries only 5xx, 404, 408, 409 and 429, so a 4xx
//! sends the record to the KafkaSource's dead-letter sink at once. The values are not judged
//! here: the worker tells the member what is wrong with them. 2xx only when a subscriber received it;
//! otherwise 503, so that Knative redelivers it: Redis pub/sub keeps nothing for absent
//! subscribers.

use facteur::audit::{Level, Trace};
use facteur::cloudevents::{self, Gate, MAX_RECORD};
use facteur::config::{BridgeSettings, queue_variables};
use facteur::events;
use facteur::spin::{Response, component, log, respond, set_trace, variables};
use spin_sdk::http::{IncomingRequest, Method, ResponseOutparam};
use spin_sdk::http_component;
use spin_sdk::redis::{Connection, RedisParameter, RedisResult};

// Answers through the outparam (`facteur::spin::respond`, which says why).
#[http_component]
async fn handle(req: IncomingRequest, out: ResponseOutparam) {
    respond(out, accept(req).await).await
}

async fn accept(req: IncomingRequest) -> Response {
    let vars = variables();
    component(if matches!(vars.accepts(), Ok(events::Kind::Lifecycle)) { "lifecycle-bridge" } else { "bridge" });
    let settings = match vars.accepts().and_then(|kind| vars.bridge(kind)) {
        Ok(settings) => settings,
        Err(e) => {
            // The reason names the variable to fix (never a secret or password).
            let names = vars.accepts().map(queue_variables).map_or_else(
                |_| "`accepts`".to_owned(),
                |(auth, secret, channel)| {
                    format!("`{secret}` (unless `{auth}` is `network`), `redis_host` (with `redis_password`) and `{channel}`")
                },
            );
            log(
                Level::Error,
                "configuration_error",
                &format!("{names} must be set; refusing records until they are ({e})"),
            );
            return answer(503, "the bridge is not configured");
        }
    };
    if req.method() != Method::Post {
        return answer(405, "only POST is accepted");
    }
    let headers = req.headers();
    let header = |name: &str| headers.get(name).into_iter().next().and_then(|v| String::from_utf8(v).ok());
    // Knative passes the record's trace context (W3C `traceparent`).
    set_trace(Trace::from_traceparent(header("traceparent").as_deref()));
    let secret_in_body = match cloudevents::gate(header, settings.secret.as_deref()) {
        Gate::Refuse { status, reason } => return answer(status, reason),
        Gate::Read { secret_in_body } => secret_in_body,
    };
    let content_type = header("content-type");
    let binary_headers: Vec<(String, String)> = ["specversion", "id", "source", "type"]
        .iter()
        .filter_map(|a| header(&format!("ce-{a}")).map(|v| (format!("ce-{a}"), v)))
        .collect();
    drop(headers);
    let body = match cloudevents::read_capped(req.into_body_stream(), MAX_RECORD).await {
        Ok(body) => body,
        Err(true) => return answer(413, cloudevents::TOO_LARGE),
        Err(false) => return answer(400, "could not read the request body"),
    };
    if secret_in_body && !settings.secret.as_deref().is_some_and(|s| cloudevents::body_secret_matches(&body, s)) {
        return answer(401, cloudevents::WRONG_SECRET);
    }
    let ce_header = |name: &str| binary_headers.iter().find(|(n, _)| n == name).map(|(_, v)| v.clone());
    let data = match cloudevents::data(content_type.as_deref(), ce_header, &body) {
        Ok(data) => data,
        Err(reason) => return answer(400, &reason),
    };
    if let Err(reason) = events::admit_record(settings.kind, &data) {
        let text = format!("refused a record of {} bytes on the {} route: {reason}", data.len(), settings.kind.name());
        log(Level::Warn, "record_refused", &text);
        return answer(422, &reason);
    }
    publish(&settings, data)
}

fn publish(settings: &BridgeSettings, data: Vec<u8>) -> Response {
    let channel = &settings.channel;
    let published = Connection::open(&settings.redis_url).and_then(|redis| {
        redis.execute("PUBLISH", &[RedisParameter::Binary(channel.clone().into_bytes()), RedisParameter::Binary(data)])
    });
    match published.as_deref() {
        Ok([RedisResult::Int64(receivers), ..]) if *receivers > 0 => {
            let body = serde_json::json!({ "status": "published" }).to_string();
            Response::json(202, body)
        }
        Ok(_) => {
            log(
                Level::Warn,
                "no_subscriber",
                &format!("no worker is subscribed to `{channel}`; asking for redelivery"),
            );
            answer(503, "no worker is listening; retry later")
        }
        Err(e) => {
            log(Level::Error, "publish_failed", &format!("could not publish to Redis: {e}"));
            answer(503, "the queue is unavailable; retry later")
        }
    }
}

/// A refusal: `{"error": reason}`.
fn answer(status: u16, reason: &str) -> Response {
    let body = serde_json::json!({ "error": reason }).to_string();
    Response::json(status, body)
}
