//! `bridge`: the sink of Knative KafkaSources (`POST /bridge/kafka`). It checks the shared
//! secret, takes the Kafka record out of the CloudEvent (binary or structured mode) and
//! publishes it to the worker's Redis channel. It answers 2xx only when a subscriber received
//! the record; otherwise 503, so that Knative redelivers it: Redis pub/sub keeps nothing for
//! absent subscribers.

use facteur::cloudevents;
use facteur::spin::variables;
use spin_sdk::http::{Method, Request, Response};
use spin_sdk::http_component;
use spin_sdk::redis::{Connection, RedisParameter, RedisResult};

/// Kafka records are small; 1 MiB is Kafka's default maximum message size.
const MAX_BODY: usize = 1 << 20;

#[http_component]
fn handle(req: Request) -> Response {
    let vars = variables();
    // `bridge_auth = network`: no secret (a NetworkPolicy admits only the Kafka dispatcher).
    let secret = match vars.bridge_checks_secret() {
        Ok(true) => vars.bridge_secret(),
        Ok(false) => Some(String::new()),
        Err(e) => {
            eprintln!("bridge: {e}; refusing records until it is fixed");
            return answer(503, "the bridge is not configured");
        }
    };
    let (Some(secret), Ok((address, channel))) = (secret, vars.events_queue()) else {
        // The reason names the variable to fix (never a password).
        let reason =
            vars.events_queue().err().map_or_else(|| "`bridge_secret` is not set".to_owned(), |e| e.to_string());
        eprintln!(
            "bridge: `bridge_secret`, `redis_host` (with `redis_password`) and `events_channel` must be set; refusing records until they are ({reason})"
        );
        return answer(503, "the bridge is not configured");
    };
    if *req.method() != Method::Post {
        return answer(405, "only POST is accepted");
    }
    if req.body().len() > MAX_BODY {
        return answer(413, "record exceeds 1 MiB");
    }
    let header = |name: &str| req.header(name).and_then(|v| v.as_str()).map(str::to_owned);
    if !secret.is_empty()
        && !cloudevents::presented_secret(header, req.body())
            .is_some_and(|presented| cloudevents::same_secret(&presented, &secret))
    {
        return answer(401, "missing or wrong bridge secret");
    }
    let content_type = req.header("content-type").and_then(|v| v.as_str());
    let data = match cloudevents::data(content_type, header, req.body()) {
        Ok(data) => data,
        Err(reason) => return answer(400, &reason),
    };
    let published = Connection::open(&address).and_then(|redis| {
        redis.execute("PUBLISH", &[RedisParameter::Binary(channel.clone().into_bytes()), RedisParameter::Binary(data)])
    });
    match published.as_deref() {
        Ok([RedisResult::Int64(receivers), ..]) if *receivers > 0 => answer(202, "published"),
        Ok(_) => {
            eprintln!("bridge: no worker is subscribed to `{channel}`; asking for redelivery");
            answer(503, "no worker is listening; retry later")
        }
        Err(e) => {
            eprintln!("bridge: could not publish to Redis: {e}");
            answer(503, "the queue is unavailable; retry later")
        }
    }
}

fn answer(status: u16, message: &str) -> Response {
    let body = serde_json::json!({ "status": message }).to_string();
    Response::builder().status(status).header("content-type", "application/json").body(body).build()
}
