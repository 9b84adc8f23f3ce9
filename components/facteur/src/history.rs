//! Run history kept in Spin key-value storage: where to report on each run facteur started
//! (lifecycle events name only the workflow) and each member's recent runs (`/workflow status`,
//! ownership, autocomplete). Key-value stores have no TTL, so expiry is stored and enforced on
//! read.

use serde::{Deserialize, Serialize};

use crate::ports::KeyValue;

/// Interaction tokens are valid for 15 minutes.
pub const TOKEN_TTL_SECS: u64 = 15 * 60;
/// Recent runs kept per member.
pub const MAX_RUNS: usize = 20;

/// One of a member's recent runs.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Run {
    pub workflow: String,
    pub namespace: String,
    pub command: String,
    pub submitted_at: u64,
    pub expires_at: u64,
}

/// workflow → where to tell about it, kept as long as the member's history: lifecycle events
/// name the workflow, and may come after the interaction token expired.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RunRecord {
    pub command: String,
    pub interaction_id: String,
    pub application_id: String,
    pub token: String,
    pub token_expires_at: u64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub channel_id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub user_id: Option<String>,
    pub expires_at: u64,
}

pub fn run_key(namespace: &str, workflow: &str) -> String {
    format!("run:{namespace}:{workflow}")
}

/// Marks that a run's phase was announced, so a redelivered lifecycle event is not.
pub fn notified_key(namespace: &str, workflow: &str, phase: &str) -> String {
    format!("notified:{namespace}:{workflow}:{phase}")
}

/// Decodes a run record, or `None` when absent, unreadable or expired at `now`.
pub fn read_run_record(bytes: Option<&[u8]>, now: u64) -> Option<RunRecord> {
    let record: RunRecord = serde_json::from_slice(bytes?).ok()?;
    (record.expires_at > now).then_some(record)
}

pub fn runs_key(user_id: &str) -> String {
    format!("runs:{user_id}")
}

/// Decodes a member's runs, newest first, without the expired ones.
pub fn read_runs(bytes: Option<&[u8]>, now: u64) -> Vec<Run> {
    let runs: Vec<Run> = bytes.and_then(|b| serde_json::from_slice(b).ok()).unwrap_or_default();
    runs.into_iter().filter(|r| r.expires_at > now).collect()
}

/// Adds `run` in front (replacing an older record of the same workflow), keeping at most
/// [`MAX_RUNS`] live runs.
pub fn add_run(mut runs: Vec<Run>, run: Run, now: u64) -> Vec<Run> {
    runs.retain(|r| r.expires_at > now && !(r.workflow == run.workflow && r.namespace == run.namespace));
    runs.insert(0, run);
    runs.truncate(MAX_RUNS);
    runs
}

/// Records where to report on a run, and adds it to its member's recent runs.
pub fn save_run(store: &impl KeyValue, record: &RunRecord, run: Run, now: u64) -> Result<(), String> {
    let json = serde_json::to_vec(record).expect("records always serialise");
    store.set(&run_key(&run.namespace, &run.workflow), &json).map_err(|e| format!("saving the run record: {e}"))?;
    if let Some(user) = &record.user_id {
        let key = runs_key(user);
        let stored = store.get(&key).map_err(|e| format!("reading recent runs: {e}"))?;
        let runs = add_run(read_runs(stored.as_deref(), now), run, now);
        let json = serde_json::to_vec(&runs).expect("runs always serialise");
        store.set(&key, &json).map_err(|e| format!("saving recent runs: {e}"))?;
    }
    Ok(())
}

/// The member's recent runs, newest first; an unreadable store is `Err`.
pub fn runs(store: &impl KeyValue, user_id: &str, now: u64) -> Result<Vec<Run>, String> {
    let stored = store.get(&runs_key(user_id)).map_err(|e| format!("reading recent runs: {e}"))?;
    Ok(read_runs(stored.as_deref(), now))
}

/// Where to report on a run, if facteur started it and still remembers it.
pub fn run_record(
    store: &impl KeyValue,
    namespace: &str,
    workflow: &str,
    now: u64,
) -> Result<Option<RunRecord>, String> {
    let bytes = store.get(&run_key(namespace, workflow)).map_err(|e| format!("reading the run record: {e}"))?;
    Ok(read_run_record(bytes.as_deref(), now))
}

/// Whether this phase of the run was already announced.
pub fn was_notified(store: &impl KeyValue, namespace: &str, workflow: &str, phase: &str) -> Result<bool, String> {
    store.exists(&notified_key(namespace, workflow, phase)).map_err(|e| format!("reading a marker: {e}"))
}

pub fn mark_notified(store: &impl KeyValue, namespace: &str, workflow: &str, phase: &str) -> Result<(), String> {
    store.set(&notified_key(namespace, workflow, phase), b"1").map_err(|e| format!("saving a marker: {e}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn run(name: &str, expires_at: u64) -> Run {
        Run { workflow: name.into(), namespace: "argo".into(), command: "plan".into(), submitted_at: 0, expires_at }
    }

    #[test]
    fn runs_are_newest_first_bounded_and_pruned() {
        let mut runs = Vec::new();
        for i in 0..25 {
            runs = add_run(runs, run(&format!("r{i}"), 100), 10);
        }
        assert_eq!(runs.len(), MAX_RUNS);
        assert_eq!(runs[0].workflow, "r24");
        runs = add_run(runs, run("r20", 200), 10);
        assert_eq!(runs.iter().filter(|r| r.workflow == "r20").count(), 1, "the same run is not listed twice");
        let stored = serde_json::to_vec(&runs).unwrap();
        assert_eq!(read_runs(Some(&stored), 150).iter().map(|r| r.workflow.as_str()).collect::<Vec<_>>(), ["r20"]);
    }
}
