//! Every interaction of `tests/corpus/discord` (realistic payloads, written from Discord's
//! documentation) gets a 200 and an interaction response under real Spin: never a refusal
//! because of a field facteur does not read.

use std::path::PathBuf;

use serde_json::Value;

use super::{runtimes, spin_world};

/// The corpus files, by name, in order.
pub fn corpus() -> Vec<(String, Vec<u8>)> {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../corpus/discord");
    let mut files: Vec<(String, Vec<u8>)> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .flatten()
        .filter(|e| e.path().extension().is_some_and(|x| x == "json"))
        .map(|e| (e.file_name().to_string_lossy().into_owned(), std::fs::read(e.path()).unwrap()))
        .collect();
    files.sort();
    assert!(files.len() >= 20, "the corpus is missing: {} files in {}", files.len(), dir.display());
    files
}

/// A 200 whose body is an interaction response Discord accepts for this interaction type.
pub fn assert_sensible(name: &str, request: &Value, status: u16, response: &Value) {
    assert_eq!(status, 200, "{name}: {response}");
    let kind = response["type"].as_u64().unwrap_or_else(|| panic!("{name}: not an interaction response: {response}"));
    let allowed: &[u64] = match request["type"].as_u64() {
        Some(1) => &[1],
        Some(2) => &[4, 5, 9],
        Some(3) => &[4, 5, 6, 7, 9],
        Some(4) => &[8],
        Some(5) => &[4, 5, 6, 7],
        other => panic!("{name}: the corpus has an interaction of type {other:?}"),
    };
    assert!(
        allowed.contains(&kind),
        "{name}: response type {kind} to interaction type {}: {response}",
        request["type"]
    );
}

#[tokio::test]
async fn every_corpus_interaction_gets_a_sensible_answer_under_real_spin() {
    let Some((spins, redis)) = runtimes().await else { return };
    let corpus = corpus();
    for spin in spins {
        let w = spin_world(spin, &redis, |b| b).await;
        for (name, body) in &corpus {
            let response = w.send(body.clone()).await;
            let request: Value = serde_json::from_slice(body).unwrap();
            let answer: Value = serde_json::from_slice(&response.body)
                .unwrap_or_else(|_| panic!("spin {}: {name}: {} {}", spin.version, response.status, response.text()));
            assert_sensible(&format!("spin {}: {name}", spin.version), &request, response.status, &answer);
        }
        assert!(w.argo.violations().is_empty(), "{:?}", w.argo.violations());
    }
}
