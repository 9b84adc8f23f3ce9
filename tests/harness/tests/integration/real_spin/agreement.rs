//! The harness and real Spin agree: the same requests get the same answers from both.
//! What remains different is listed in the README ("The wasmtime harness").

use serde_json::{Value, json};

use super::corpus::corpus;
use super::edge::{cases, get};
use super::{runtimes, spin_world};
use crate::common::{OPS, next_id, opt, slash, world};

#[tokio::test]
async fn the_harness_and_real_spin_give_the_same_answers() {
    let Some((spins, redis)) = runtimes().await else { return };
    for spin in spins {
        let harness = world(|b| b).await;
        let w = spin_world(spin, &redis, |b| b).await;
        let harness_cases = cases(&harness.signer);
        for (case, spin_case) in harness_cases.into_iter().zip(cases(&w.signer)) {
            let on_harness = harness.app.handle(case.request).await.unwrap();
            let on_spin = w.spin.handle(spin_case.request).await.unwrap();
            assert_eq!(
                (on_spin.status, on_spin.json()),
                (on_harness.status, on_harness.json()),
                "spin {}: {}",
                spin.version,
                case.name
            );
            assert_eq!(on_spin.headers.get("content-type"), on_harness.headers.get("content-type"), "{}", case.name);
        }
        for path in ["/.well-known/spin/health", "/.well-known/spin/info", "/nothing-here", "/interactions"] {
            let on_harness = harness.app.handle(get(path)).await.unwrap();
            let on_spin = w.spin.handle(get(path)).await.unwrap();
            assert_eq!((on_spin.status, &on_spin.body), (on_harness.status, &on_harness.body), "GET {path}");
        }
        for (name, body) in corpus() {
            let on_harness = harness.send(body.clone()).await;
            let on_spin = w.send(body).await;
            assert_eq!(
                (on_spin.status, on_spin.json()),
                (on_harness.status, on_harness.json()),
                "spin {}: {name}",
                spin.version
            );
        }

        // A command's follow-up: the same submit and the same edit.
        let id = next_id();
        let body = slash(&id, "plan", json!([opt("objective", "Agree")]), &[OPS]);
        harness.run(body.clone()).await;
        w.send(body).await;
        let token = format!("token-{id}");
        let on_spin = w.edit_for(&token).await;
        let on_harness = harness.discord.edits().into_iter().find(|e| e.token == token).map(|e| e.message);
        assert_eq!(Some(on_spin), on_harness, "spin {}: the /plan reply", spin.version);
        let submitted =
            |submits: Vec<Value>| submits.into_iter().find(|s| s["submitOptions"]["name"] == format!("plan-{id}"));
        assert_eq!(submitted(w.argo.submits()), submitted(harness.argo.submits()));
    }
}
