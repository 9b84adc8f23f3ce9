//! Run history kept in Spin key-value storage: where to report on each run facteur started
//! (lifecycle events name only the workflow) and each member's recent runs (`/workflow status`,
//! ownership, autocomplete).
//!
//! Key-value stores have no TTL, so every key has its expiry in its value, enforced on read,
//! and a sweep deletes what has expired: the first write of each 15-minute slot lists the store's
//! keys and deletes the expired ones (a marker says which slot was swept). So nothing outlives
//! its validity by more than a slot and the time to the next write, a write costs no index
//! upkeep, and concurrent writers share nothing but the marker. An interaction token lives in a
//! key of its own (`reply:…`) that expires with the token. The keys:
//!
//! | key | holds | expires |
//! |---|---|---|
//! | `run:<namespace>:<workflow>` | [`RunRecord`]: command, interaction, channel, member | history TTL |
//! | `reply:<namespace>:<workflow>` | [`Reply`]: application id and interaction token | with the token (15 min) |
//! | `runs:<user>` | the member's recent [`Run`]s | with their newest run |
//! | `notified:<namespace>:<workflow>:<phase>` | that a phase was announced | history TTL |
//! | `approval:<command>:<request>` | a request awaiting approval (`crate::approval`), no token | 15 min |
//! | `sweep:slot` | the last slot swept | never (one key) |
//! | `limit:<end>:…` | a rate limit's count (`crate::limits`) | at `<end>`, its window's |

use serde::{Deserialize, Serialize};

use crate::ports::KeyValue;

/// Interaction tokens are valid for 15 minutes.
pub const TOKEN_TTL_SECS: u64 = 15 * 60;
/// Recent runs kept per member.
pub const MAX_RUNS: usize = 20;
/// How often the store is swept: a key is deleted at most this long after it expired, at the
/// next write.
pub const SLOT_SECS: u64 = 15 * 60;

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
/// name the workflow, and may come after the interaction token expired. No token: that is
/// [`Reply`]'s, which expires with it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RunRecord {
    pub command: String,
    pub interaction_id: String,
    pub application_id: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub channel_id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub user_id: Option<String>,
    pub expires_at: u64,
}

/// The interaction token of a run's reply, while it is valid.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Reply {
    pub token: String,
    pub expires_at: u64,
}

impl std::fmt::Debug for Reply {
    // By hand: the token never reaches a log line.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Reply").field("expires_at", &self.expires_at).finish_non_exhaustive()
    }
}

/// Something stored with an expiry.
#[derive(Deserialize)]
struct Expiring {
    expires_at: u64,
}

pub fn run_key(namespace: &str, workflow: &str) -> String {
    format!("run:{namespace}:{workflow}")
}

pub fn reply_key(namespace: &str, workflow: &str) -> String {
    format!("reply:{namespace}:{workflow}")
}

/// Marks that a run's phase was announced, so a redelivered lifecycle event is not.
pub fn notified_key(namespace: &str, workflow: &str, phase: &str) -> String {
    format!("notified:{namespace}:{workflow}:{phase}")
}

pub fn runs_key(user_id: &str) -> String {
    format!("runs:{user_id}")
}

const SWEPT_KEY: &str = "sweep:slot";

/// The prefixes of the keys this module writes, and `crate::approval`'s pending requests: the
/// keys the sweep may delete.
const SWEPT_PREFIXES: [&str; 5] = ["run:", "reply:", "runs:", "notified:", "approval:"];

/// Decodes a stored value, or `None` when absent, unreadable or expired at `now`.
fn read_live<T: serde::de::DeserializeOwned>(bytes: Option<&[u8]>, now: u64) -> Option<T> {
    let bytes = bytes?;
    let expiring: Expiring = serde_json::from_slice(bytes).ok()?;
    (expiring.expires_at > now).then(|| serde_json::from_slice(bytes).ok()).flatten()
}

/// Decodes a run record, or `None` when absent, unreadable or expired at `now`.
pub fn read_run_record(bytes: Option<&[u8]>, now: u64) -> Option<RunRecord> {
    read_live(bytes, now)
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

/// Writes `value` under `key` (its expiry is in the value; the sweep deletes it once passed).
fn put(store: &impl KeyValue, key: &str, value: &[u8]) -> Result<(), String> {
    store.set(key, value).map_err(|e| format!("saving {}: {e}", kind(key)))
}

/// What a key holds, for error messages (keys hold ids, never tokens).
fn kind(key: &str) -> &str {
    key.split(':').next().unwrap_or(key)
}

/// Once per slot (the first write that finds the marker behind): deletes every key of this
/// module whose value has expired. Racing sweeps are harmless: deleting twice is deleting.
pub fn sweep(store: &impl KeyValue, now: u64) -> Result<(), String> {
    let current = now / SLOT_SECS;
    let swept = store.get(SWEPT_KEY)?.and_then(|b| String::from_utf8(b).ok()).and_then(|s| s.parse::<u64>().ok());
    if swept == Some(current) {
        return Ok(());
    }
    store.set(SWEPT_KEY, current.to_string().as_bytes())?;
    for key in store.keys()? {
        // Rate limit counters name the end of their window (`crate::limits`).
        let expired = crate::limits::expired(&key, now)
            || SWEPT_PREFIXES.iter().any(|p| key.starts_with(p)) && !still_live(store.get(&key)?.as_deref(), now);
        if expired {
            store.delete(&key)?;
        }
    }
    Ok(())
}

/// A value with an `expires_at` in the future, or a list with one such element.
fn still_live(bytes: Option<&[u8]>, now: u64) -> bool {
    let Some(bytes) = bytes else { return false };
    if let Ok(one) = serde_json::from_slice::<Expiring>(bytes) {
        return one.expires_at > now;
    }
    serde_json::from_slice::<Vec<Expiring>>(bytes).is_ok_and(|all| all.iter().any(|e| e.expires_at > now))
}

/// Records where to report on a run and its reply's token, and adds it to its member's recent
/// runs; first deletes what has expired.
pub fn save_run(store: &impl KeyValue, record: &RunRecord, reply: &Reply, run: Run, now: u64) -> Result<(), String> {
    sweep(store, now)?;
    let json = serde_json::to_vec(record).expect("records always serialise");
    put(store, &run_key(&run.namespace, &run.workflow), &json)?;
    if reply.expires_at > now {
        let json = serde_json::to_vec(reply).expect("replies always serialise");
        put(store, &reply_key(&run.namespace, &run.workflow), &json)?;
    }
    if let Some(user) = &record.user_id {
        let key = runs_key(user);
        let stored = store.get(&key).map_err(|e| format!("reading recent runs: {e}"))?;
        let runs = add_run(read_runs(stored.as_deref(), now), run, now);
        put(store, &key, &serde_json::to_vec(&runs).expect("runs always serialise"))?;
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

/// The run's reply token, while it is valid.
pub fn reply(store: &impl KeyValue, namespace: &str, workflow: &str, now: u64) -> Result<Option<Reply>, String> {
    let bytes = store.get(&reply_key(namespace, workflow)).map_err(|e| format!("reading the reply: {e}"))?;
    Ok(read_live(bytes.as_deref(), now))
}

/// Whether this phase of the run was already announced.
pub fn was_notified(
    store: &impl KeyValue,
    namespace: &str,
    workflow: &str,
    phase: &str,
    now: u64,
) -> Result<bool, String> {
    let bytes = store.get(&notified_key(namespace, workflow, phase)).map_err(|e| format!("reading a marker: {e}"))?;
    Ok(still_live(bytes.as_deref(), now))
}

/// Marks the phase announced for as long as the run is remembered.
pub fn mark_notified(
    store: &impl KeyValue,
    namespace: &str,
    workflow: &str,
    phase: &str,
    expires_at: u64,
    now: u64,
) -> Result<(), String> {
    sweep(store, now)?;
    let marker = serde_json::json!({ "expires_at": expires_at }).to_string();
    put(store, &notified_key(namespace, workflow, phase), marker.as_bytes())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ports::memory::MemoryStore;

    fn run(name: &str, expires_at: u64) -> Run {
        Run { workflow: name.into(), namespace: "argo".into(), command: "plan".into(), submitted_at: 0, expires_at }
    }

    const TTL: u64 = 7 * 24 * 3600;

    fn started(store: &MemoryStore, name: &str, user: &str, now: u64) {
        let record = RunRecord {
            command: "plan".into(),
            interaction_id: name.into(),
            application_id: "2".into(),
            channel_id: Some("6".into()),
            user_id: Some(user.into()),
            expires_at: now + TTL,
        };
        let reply = Reply { token: format!("token-{name}"), expires_at: now + TOKEN_TTL_SECS };
        save_run(store, &record, &reply, run(name, now + TTL), now).unwrap();
    }

    fn keys(store: &MemoryStore) -> Vec<String> {
        store.0.borrow().keys().filter(|k| *k != SWEPT_KEY).cloned().collect()
    }

    fn tokens(store: &MemoryStore) -> usize {
        store.0.borrow().values().filter(|v| String::from_utf8_lossy(v).contains("token-")).count()
    }

    /// Every key facteur writes has an expiry and a deletion path: after a scenario and the
    /// passing of time, only what is still valid is left, and no token outlives its 15 minutes
    /// by more than a slot (deleted at the next write).
    #[test]
    fn every_key_expires_and_is_deleted_and_tokens_go_first() {
        let store = MemoryStore::default();
        let t0 = 1_800_000_000;
        started(&store, "plan-1", "7", t0);
        mark_notified(&store, "argo", "plan-1", "Running", t0 + TTL, t0 + 60).unwrap();
        assert_eq!(keys(&store), ["notified:argo:plan-1:Running", "reply:argo:plan-1", "run:argo:plan-1", "runs:7"]);
        assert!(reply(&store, "argo", "plan-1", t0 + TOKEN_TTL_SECS).unwrap().is_none(), "expired on read");

        // Half an hour later another run starts: the first token is gone, nothing else.
        let t1 = t0 + TOKEN_TTL_SECS + 2 * SLOT_SECS;
        started(&store, "plan-2", "8", t1);
        assert_eq!(tokens(&store), 1, "only plan-2's token is left");
        assert!(store.0.borrow().contains_key("run:argo:plan-1"), "the run record lives on");

        // A week and a slot later, a third run: everything of the first two is gone.
        let t2 = t1 + TTL + 2 * SLOT_SECS;
        started(&store, "plan-3", "7", t2);
        assert_eq!(keys(&store), ["reply:argo:plan-3", "run:argo:plan-3", "runs:7"]);
        assert_eq!(runs(&store, "7", t2).unwrap().len(), 1);
    }

    #[test]
    fn a_members_list_re_saved_later_is_not_swept_with_its_first_slot() {
        let store = MemoryStore::default();
        let t0 = 1_800_000_000;
        started(&store, "plan-1", "7", t0);
        started(&store, "plan-2", "7", t0 + TTL - 60);
        sweep(&store, t0 + TTL + 2 * SLOT_SECS).unwrap();
        assert_eq!(runs(&store, "7", t0 + TTL + 2 * SLOT_SECS).unwrap().len(), 1, "plan-2 is still listed");
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
