//! What Spin exports over OTLP (`OTEL_EXPORTER_OTLP_ENDPOINT`), received by a loopback
//! OTLP/HTTP (protobuf) receiver written here: one `/plan` is one trace (gateway, command
//! component, Argo submit, Discord edit), the submit carries its `traceparent` and the workflow
//! records it; a scripted mix of commands yields OTLP log records whose JSON bodies are the
//! audit lines; and no secret of the scenario appears anywhere in what was exported or logged,
//! except the interaction token in `url.full` of the Discord edit's client span, which the
//! collector must redact (docs/observability.md).

use std::collections::BTreeSet;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};

use bytes::Bytes;
use facteur_harness::fakes::Reply;
use facteur_harness::support::eventually;
use http_body_util::{BodyExt, Full};
use hyper::service::service_fn;
use hyper_util::rt::TokioIo;
use prost::Message as _;
use serde_json::{Value, json};

use super::{SpinWorld, WAIT, runtimes, spin_world};
use crate::common::{GUEST, OPS, next_id, opt, slash};

const ARGO_TOKEN: &str = "ARGO-s3cret-7f2c9d";
const BOT_TOKEN: &str = "BOT-s3cret-4e81aa";
const BRIDGE: &str = "BRIDGE-s3cret-90b3";

/// OTLP's protobuf messages, the fields these checks read (prost skips the others).
mod otlp {
    #[derive(Clone, PartialEq, prost::Message)]
    pub struct KeyValue {
        #[prost(string, tag = "1")]
        pub key: String,
        #[prost(message, optional, tag = "2")]
        pub value: Option<AnyValue>,
    }
    #[derive(Clone, PartialEq, prost::Message)]
    pub struct AnyValue {
        #[prost(oneof = "Value", tags = "1, 2, 3, 4, 5, 6, 7")]
        pub value: Option<Value>,
    }
    #[derive(Clone, PartialEq, prost::Oneof)]
    pub enum Value {
        #[prost(string, tag = "1")]
        String(String),
        #[prost(bool, tag = "2")]
        Bool(bool),
        #[prost(int64, tag = "3")]
        Int(i64),
        #[prost(double, tag = "4")]
        Double(f64),
        #[prost(message, tag = "5")]
        Array(ArrayValue),
        #[prost(message, tag = "6")]
        KvList(KeyValueList),
        #[prost(bytes, tag = "7")]
        Bytes(Vec<u8>),
    }
    #[derive(Clone, PartialEq, prost::Message)]
    pub struct ArrayValue {
        #[prost(message, repeated, tag = "1")]
        pub values: Vec<AnyValue>,
    }
    #[derive(Clone, PartialEq, prost::Message)]
    pub struct KeyValueList {
        #[prost(message, repeated, tag = "1")]
        pub values: Vec<KeyValue>,
    }
    #[derive(Clone, PartialEq, prost::Message)]
    pub struct Resource {
        #[prost(message, repeated, tag = "1")]
        pub attributes: Vec<KeyValue>,
    }

    #[derive(Clone, PartialEq, prost::Message)]
    pub struct TracesData {
        #[prost(message, repeated, tag = "1")]
        pub resource_spans: Vec<ResourceSpans>,
    }
    #[derive(Clone, PartialEq, prost::Message)]
    pub struct ResourceSpans {
        #[prost(message, optional, tag = "1")]
        pub resource: Option<Resource>,
        #[prost(message, repeated, tag = "2")]
        pub scope_spans: Vec<ScopeSpans>,
    }
    #[derive(Clone, PartialEq, prost::Message)]
    pub struct ScopeSpans {
        #[prost(message, repeated, tag = "2")]
        pub spans: Vec<Span>,
    }
    #[derive(Clone, PartialEq, prost::Message)]
    pub struct Span {
        #[prost(bytes, tag = "1")]
        pub trace_id: Vec<u8>,
        #[prost(bytes, tag = "2")]
        pub span_id: Vec<u8>,
        #[prost(bytes, tag = "4")]
        pub parent_span_id: Vec<u8>,
        #[prost(string, tag = "5")]
        pub name: String,
        #[prost(int32, tag = "6")]
        pub kind: i32,
        #[prost(message, repeated, tag = "9")]
        pub attributes: Vec<KeyValue>,
    }

    #[derive(Clone, PartialEq, prost::Message)]
    pub struct LogsData {
        #[prost(message, repeated, tag = "1")]
        pub resource_logs: Vec<ResourceLogs>,
    }
    #[derive(Clone, PartialEq, prost::Message)]
    pub struct ResourceLogs {
        #[prost(message, optional, tag = "1")]
        pub resource: Option<Resource>,
        #[prost(message, repeated, tag = "2")]
        pub scope_logs: Vec<ScopeLogs>,
    }
    #[derive(Clone, PartialEq, prost::Message)]
    pub struct ScopeLogs {
        #[prost(message, repeated, tag = "2")]
        pub log_records: Vec<LogRecord>,
    }
    #[derive(Clone, PartialEq, prost::Message)]
    pub struct LogRecord {
        #[prost(message, optional, tag = "5")]
        pub body: Option<AnyValue>,
        #[prost(message, repeated, tag = "6")]
        pub attributes: Vec<KeyValue>,
    }

    #[derive(Clone, PartialEq, prost::Message)]
    pub struct MetricsData {
        #[prost(message, repeated, tag = "1")]
        pub resource_metrics: Vec<ResourceMetrics>,
    }
    #[derive(Clone, PartialEq, prost::Message)]
    pub struct ResourceMetrics {
        #[prost(message, repeated, tag = "2")]
        pub scope_metrics: Vec<ScopeMetrics>,
    }
    #[derive(Clone, PartialEq, prost::Message)]
    pub struct ScopeMetrics {
        #[prost(message, repeated, tag = "2")]
        pub metrics: Vec<Metric>,
    }
    #[derive(Clone, PartialEq, prost::Message)]
    pub struct Metric {
        #[prost(string, tag = "1")]
        pub name: String,
    }

    impl AnyValue {
        pub fn text(&self) -> Option<&str> {
            match &self.value {
                Some(Value::String(s)) => Some(s),
                _ => None,
            }
        }
    }

    pub fn attribute<'a>(attributes: &'a [KeyValue], key: &str) -> Option<&'a str> {
        attributes.iter().find(|kv| kv.key == key).and_then(|kv| kv.value.as_ref()?.text())
    }

    pub const SERVER: i32 = 2;
    pub const CLIENT: i32 = 3;
}

/// A loopback OTLP/HTTP receiver: every request's path and (protobuf) body.
#[derive(Clone, Default)]
struct Receiver {
    received: Arc<Mutex<Vec<(String, Bytes)>>>,
}

impl Receiver {
    async fn start() -> (Self, SocketAddr) {
        let receiver = Self::default();
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let shared = receiver.clone();
        tokio::spawn(async move {
            loop {
                let Ok((stream, _)) = listener.accept().await else { return };
                let shared = shared.clone();
                tokio::spawn(async move {
                    let service = service_fn(move |req: hyper::Request<hyper::body::Incoming>| {
                        let shared = shared.clone();
                        async move {
                            let path = req.uri().path().to_owned();
                            let encoding = req.headers().get("content-encoding").map(|v| v.as_bytes().to_vec());
                            assert!(encoding.is_none(), "compressed OTLP export on {path}: {encoding:?}");
                            let body = req.into_body().collect().await.map(|b| b.to_bytes()).unwrap_or_default();
                            shared.received.lock().unwrap().push((path, body));
                            hyper::Response::builder()
                                .status(200)
                                .header("content-type", "application/x-protobuf")
                                .body(Full::new(Bytes::new()))
                        }
                    });
                    let _ = hyper::server::conn::http1::Builder::new()
                        .serve_connection(TokioIo::new(stream), service)
                        .await;
                });
            }
        });
        (receiver, addr)
    }

    fn bodies(&self, path: &str) -> Vec<Bytes> {
        self.received.lock().unwrap().iter().filter(|(p, _)| p == path).map(|(_, b)| b.clone()).collect()
    }

    fn spans(&self) -> Vec<otlp::Span> {
        self.bodies("/v1/traces")
            .iter()
            .flat_map(|b| otlp::TracesData::decode(b.as_ref()).expect("OTLP traces").resource_spans)
            .flat_map(|r| r.scope_spans)
            .flat_map(|s| s.spans)
            .collect()
    }

    fn logs(&self) -> Vec<otlp::LogRecord> {
        self.bodies("/v1/logs")
            .iter()
            .flat_map(|b| otlp::LogsData::decode(b.as_ref()).expect("OTLP logs").resource_logs)
            .flat_map(|r| r.scope_logs)
            .flat_map(|s| s.log_records)
            .collect()
    }

    fn metric_names(&self) -> BTreeSet<String> {
        self.bodies("/v1/metrics")
            .iter()
            .flat_map(|b| otlp::MetricsData::decode(b.as_ref()).expect("OTLP metrics").resource_metrics)
            .flat_map(|r| r.scope_metrics)
            .flat_map(|s| s.metrics)
            .map(|m| m.name)
            .collect()
    }

    /// The JSON objects the components wrote, from the OTLP log records' bodies.
    fn json_lines(&self) -> Vec<Value> {
        self.logs()
            .iter()
            .filter_map(|r| r.body.as_ref()?.text().map(str::to_owned))
            .flat_map(|text| text.lines().map(str::to_owned).collect::<Vec<_>>())
            .filter(|l| !l.trim().is_empty())
            .map(|l| serde_json::from_str(&l).unwrap_or_else(|e| panic!("a log line is not JSON ({e}): {l}")))
            .collect()
    }

    fn everything(&self) -> Vec<u8> {
        self.received.lock().unwrap().iter().flat_map(|(_, b)| b.to_vec()).collect()
    }
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

fn count(haystack: &[u8], needle: &str) -> usize {
    haystack.windows(needle.len()).filter(|w| *w == needle.as_bytes()).count()
}

async fn telemetry_world(spin: &facteur_harness::spin_up::SpinBinary, redis: &str) -> (SpinWorld, Receiver) {
    let (receiver, addr) = Receiver::start().await;
    let w = spin_world(spin, redis, |b| {
        b.variable("argo_token", ARGO_TOKEN)
            .variable("discord_bot_token", BOT_TOKEN)
            .variable("bridge_secret", BRIDGE)
            .env("OTEL_EXPORTER_OTLP_ENDPOINT", format!("http://{addr}"))
            .env("OTEL_BSP_SCHEDULE_DELAY", "200")
            .env("OTEL_BLRP_SCHEDULE_DELAY", "200")
            .env("OTEL_METRIC_EXPORT_INTERVAL", "500")
    })
    .await;
    w.argo.require_token(ARGO_TOKEN);
    (w, receiver)
}

#[tokio::test]
async fn one_plan_is_one_trace_the_audit_reaches_otlp_logs_and_no_secret_is_exported() {
    let Some((spins, redis)) = runtimes().await else { return };
    for spin in spins {
        let (w, otel) = telemetry_world(spin, &redis).await;
        let version = &spin.version;

        // One /plan: one trace from the gateway to the Discord edit.
        let id = next_id();
        let response = w.send(slash(&id, "plan", json!([opt("objective", "Ship the bot")]), &[OPS])).await;
        assert_eq!(response.json(), json!({"type": 5}), "{}", w.spin.logs());
        w.edit_for(&format!("token-{id}")).await;
        let submit = w.argo.requests().into_iter().find(|r| r.method == "POST").expect("a submit");
        let traceparent = submit.header("traceparent").unwrap_or_else(|| panic!("spin {version}: no traceparent"));
        let trace = traceparent.split('-').nth(1).expect("a W3C traceparent").to_owned();
        let spans = eventually(WAIT, async || {
            let spans: Vec<otlp::Span> = otel.spans().into_iter().filter(|s| hex(&s.trace_id) == trace).collect();
            spans.iter().any(|s| s.kind == otlp::CLIENT && s.name.starts_with("PATCH")).then_some(spans)
        })
        .await
        .unwrap_or_else(|| {
            let names: Vec<String> = otel.spans().iter().map(|s| format!("{} {}", hex(&s.trace_id), s.name)).collect();
            panic!("spin {version}: trace {trace} incomplete; spans: {names:#?}\n{}", w.spin.logs())
        });
        let names: Vec<&str> = spans.iter().map(|s| s.name.as_str()).collect();
        for expected in ["execute_wasm_component interactions", "execute_wasm_component plan"] {
            assert!(names.contains(&expected), "spin {version}: no `{expected}` in {names:?}");
        }
        assert!(spans.iter().any(|s| s.kind == otlp::SERVER), "spin {version}: no SERVER span in {names:?}");
        let client = |method: &str, url: &str| {
            spans.iter().any(|s| {
                s.kind == otlp::CLIENT
                    && s.name.starts_with(method)
                    && otlp::attribute(&s.attributes, "url.full").is_some_and(|u| u.contains(url))
            })
        };
        assert!(client("POST", "/api/v1/workflows/argo/submit"), "spin {version}: no Argo submit span in {names:?}");
        assert!(client("PATCH", "/messages/@original"), "spin {version}: no Discord edit span in {names:?}");
        // The workflow names the trace, and the audit lines of the request too.
        let workflow = w.argo.workflow("argo", &format!("plan-{id}")).expect("the workflow");
        let annotations = &workflow["metadata"]["annotations"];
        assert_eq!(annotations["facteur.dev/trace-id"], trace.as_str(), "{workflow}");
        let recorded = annotations["facteur.dev/traceparent"].as_str().unwrap_or_default();
        assert_eq!(recorded.split('-').nth(1), Some(trace.as_str()), "{workflow}");
        let plan_log = w.spin.log("plan");
        let audits: Vec<Value> = plan_log.lines().filter_map(|l| serde_json::from_str(l).ok()).collect();
        assert_eq!(audits.len(), plan_log.lines().count(), "every line is JSON: {plan_log}");
        assert!(
            audits.iter().any(|a| a["audit"] == "submitted" && a["trace_id"] == trace.as_str()),
            "spin {version}: {plan_log}"
        );

        // The mix: denied, invalid, and an Argo failure; every decision arrives as a log record.
        let denied = next_id();
        w.send(slash(&denied, "plan", json!([opt("objective", "Ship the bot")]), &[GUEST])).await;
        let invalid = next_id();
        w.send(slash(&invalid, "plan", json!([]), &[OPS])).await;
        w.argo.fail_next_submits([Reply::json(500, json!({"code": 13, "message": "etcdserver: request timed out"}))]);
        let failed = next_id();
        w.send(slash(&failed, "plan", json!([opt("objective", "Ship the bot")]), &[OPS])).await;
        w.edit_for(&format!("token-{failed}")).await;
        let expected = [
            (id.as_str(), "allowed"),
            (id.as_str(), "submitted"),
            (denied.as_str(), "denied"),
            (invalid.as_str(), "invalid"),
            (failed.as_str(), "allowed"),
            (failed.as_str(), "failed"),
        ];
        let lines = eventually(WAIT, async || {
            let lines = otel.json_lines();
            let found = |(interaction, event): &(&str, &str)| {
                lines.iter().any(|l| l["audit"] == *event && l["interaction_id"] == *interaction)
            };
            expected.iter().all(found).then_some(lines)
        })
        .await
        .unwrap_or_else(|| panic!("spin {version}: audit records missing: {:#?}", otel.json_lines()));
        for line in &lines {
            assert!(line["level"].is_string() && line["event"].is_string(), "spin {version}: {line}");
            if line["event"] == "audit" {
                assert_eq!(
                    (&line["component"], &line["command"], &line["level"]),
                    (&json!("plan"), &json!("plan"), &json!("info")),
                    "{line}"
                );
                assert!(line["trace_id"].as_str().is_some_and(|t| t.len() == 32), "spin {version}: {line}");
            }
        }
        let failure = lines.iter().find(|l| l["audit"] == "failed" && l["interaction_id"] == failed.as_str()).unwrap();
        assert!(failure["error"].as_str().is_some_and(|e| e.contains("500")), "{failure}");
        assert!(
            lines.iter().any(|l| l["audit"] == "denied" && l["reason"].is_string()),
            "spin {version}: the denial's reason"
        );

        // Spin's own metrics arrive.
        let metrics = eventually(WAIT, async || {
            let names = otel.metric_names();
            names.contains("spin.request_count").then_some(names)
        })
        .await
        .unwrap_or_else(|| panic!("spin {version}: no spin.request_count in {:?}", otel.metric_names()));
        assert!(metrics.iter().any(|m| m.starts_with("spin.component_")), "{metrics:?}");

        // No secret anywhere, but the interaction token in the Discord edit's url.full. Spin
        // exports spans in batches: wait until both edits' client spans have arrived.
        let arrived = eventually(WAIT, async || {
            let spans = otel.spans();
            let edited = |token: &str| {
                spans.iter().any(|s| {
                    s.attributes
                        .iter()
                        .any(|a| a.value.as_ref().and_then(|v| v.text()).is_some_and(|t| t.contains(token)))
                })
            };
            (edited(&format!("token-{id}")) && edited(&format!("token-{failed}"))).then_some(())
        })
        .await;
        assert!(arrived.is_some(), "spin {version}: the Discord edits' spans never arrived");
        let exported = otel.everything();
        let logs = w.spin.logs();
        for secret in [ARGO_TOKEN, BOT_TOKEN, BRIDGE] {
            assert_eq!(count(&exported, secret), 0, "spin {version}: `{secret}` was exported");
            assert!(!logs.contains(secret), "spin {version}: `{secret}` was logged");
        }
        for interaction in [&id, &denied, &invalid, &failed] {
            let token = format!("token-{interaction}");
            assert!(!logs.contains(&token), "spin {version}: {token} was logged");
            // Where Spin puts it: `url.full` of the PATCH to Discord, and nowhere else.
            let in_url: usize = otel
                .spans()
                .iter()
                .flat_map(|s| s.attributes.iter().map(move |a| (s, a)))
                .filter(|(_, a)| a.value.as_ref().and_then(|v| v.text()).is_some_and(|t| t.contains(&token)))
                .inspect(|(s, a)| {
                    assert!(
                        a.key == "url.full"
                            && s.kind == otlp::CLIENT
                            && s.name.starts_with("PATCH")
                            && a.value.as_ref().and_then(|v| v.text()).is_some_and(|u| u.contains("/webhooks/")),
                        "spin {version}: {token} in `{}` of span `{}`",
                        a.key,
                        s.name
                    )
                })
                .count();
            assert_eq!(count(&exported, &token), in_url, "spin {version}: {token} exported outside url.full");
            let edited = [&id, &failed].contains(&interaction);
            assert_eq!(in_url > 0, edited, "spin {version}: {token} in url.full: {in_url}");
        }
    }
}
