//! The public edge under real Spin: PING, every refusal with its exact status and reason,
//! `/help`, an unknown command, and Spin's own health route.

use bytes::Bytes;
use facteur_harness::support::{Signer, now};
use http_body_util::Full;
use serde_json::{Value, json};

use super::{runtimes, spin_world};
use crate::common::{DEV, GUEST, OPS, ephemeral_text, next_id, slash};

type Request = http::Request<Full<Bytes>>;

/// A case of the edge: the request and the exact answer (status, JSON body).
pub struct Case {
    pub name: &'static str,
    pub request: Request,
    pub status: u16,
    pub body: Value,
}

fn refusal(name: &'static str, request: Request, status: u16, reason: &str) -> Case {
    Case { name, request, status, body: json!({"error": reason}) }
}

/// The requests the gateway answers itself, with what it must answer.
pub fn cases(signer: &Signer) -> Vec<Case> {
    let body = slash("1190000000000000001", "help", json!([]), &[OPS]);
    let with = |f: &dyn Fn(&mut Request)| {
        let mut request = signer.request(body.clone());
        f(&mut request);
        request
    };
    vec![
        Case {
            name: "PING",
            request: signer.request(r#"{"id":"1","application_id":"2","type":1,"token":"t","version":1}"#),
            status: 200,
            body: json!({"type": 1}),
        },
        refusal(
            "missing signature",
            with(&|r| {
                r.headers_mut().remove("x-signature-ed25519");
            }),
            401,
            "missing X-Signature-Ed25519 header",
        ),
        refusal("bad signature", Signer::default().request(body.clone()), 401, "invalid request signature"),
        refusal("stale timestamp", signer.request_at(body.clone(), now() - 301), 401, "stale or future timestamp"),
        refusal("malformed JSON", signer.request("{\"type\": 1,"), 400, "body is not a valid interaction"),
        refusal(
            "wrong method",
            with(&|r| {
                *r.method_mut() = http::Method::GET;
            }),
            405,
            "only POST is accepted",
        ),
        refusal("oversize body", signer.request(vec![b' '; 64 * 1024 + 1]), 413, "request body exceeds 64 KiB"),
        Case {
            name: "unknown command",
            request: signer.request(slash(&next_id(), "nope", json!([]), &[OPS])),
            status: 200,
            body: json!({"type": 4, "data": {"content": "Unknown command `/nope`.", "flags": 64, "allowed_mentions": {"parse": []}, "components": []}}),
        },
        Case {
            name: "/help",
            request: signer.request(slash(&next_id(), "help", json!([]), &[GUEST, DEV])),
            status: 200,
            body: json!({"type": 4, "data": {"flags": 64, "allowed_mentions": {"parse": []}, "components": [], "content":
                "Commands you can run here:\n• `/help` — List the facteur commands you can run here\n• `/workflow` — Follow and control your Argo workflows"}}),
        },
    ]
}

#[tokio::test]
async fn the_edge_answers_exactly_under_real_spin() {
    let Some((spins, redis)) = runtimes().await else { return };
    for spin in spins {
        let w = spin_world(spin, &redis, |b| b).await;
        for case in cases(&w.signer) {
            let response = w.spin.handle(case.request).await.unwrap();
            assert_eq!(
                (response.status, response.json()),
                (case.status, case.body),
                "spin {}: {}\n{}",
                spin.version,
                case.name,
                w.spin.logs()
            );
        }
        let denied = w.send(slash(&next_id(), "help", json!([]), &[GUEST])).await;
        assert_eq!(
            ephemeral_text(&denied),
            "You do not have a role that may run `/help`. Ask a server admin to grant one."
        );
        assert!(w.spin.log("help").contains(r#""audit":"denied""#), "{}", w.spin.logs());
    }
}

pub fn get(path: &str) -> Request {
    http::Request::get(path).body(Full::new(Bytes::new())).unwrap()
}

/// The cluster's readiness and liveness probes (read from the rendered manifests) answer 200
/// under real Spin: spin-operator makes them plain HTTP probes, which pass on 200–399.
#[tokio::test]
async fn the_cluster_probes_answer_200_under_real_spin() {
    let Some((spins, redis)) = runtimes().await else { return };
    let Some(probes) = crate::kubernetes::cluster_probe_paths() else { return };
    assert!(!probes.is_empty(), "the SpinApps have probes");
    for spin in spins {
        let w = spin_world(spin, &redis, |b| b).await;
        for (app, check, path) in &probes {
            let response = w.spin.handle(get(path)).await.unwrap();
            assert_eq!(response.status, 200, "spin {}: {app} {check} probe GET {path}", spin.version);
        }
        assert_eq!(w.spin.handle(get("/interactions")).await.unwrap().status, 405, "not a probe path");
    }
}
