//! Sessions in the `default` key-value store (SQLite under `spin up`, Redis on the cluster).

use spin_sdk::key_value::Store;

use crate::session::{self, InteractionSession, Run, RunRecord};

fn open() -> Result<Store, String> {
    Store::open_default().map_err(|e| format!("opening the key-value store: {e}"))
}

/// Records which workflow an interaction started, where to report on it, and adds it to the
/// member's recent runs.
pub fn save_run(
    interaction_id: &str,
    session: &InteractionSession,
    record: &RunRecord,
    run: Run,
    now: u64,
) -> Result<(), String> {
    let store = open()?;
    let json = serde_json::to_vec(session).expect("sessions always serialise");
    store.set(&session::interaction_key(interaction_id), &json).map_err(|e| format!("saving the session: {e}"))?;
    let json = serde_json::to_vec(record).expect("records always serialise");
    store
        .set(&session::run_key(&run.namespace, &run.workflow), &json)
        .map_err(|e| format!("saving the run record: {e}"))?;
    if let Some(user) = &session.user_id {
        let key = session::runs_key(user);
        let stored = store.get(&key).map_err(|e| format!("reading recent runs: {e}"))?;
        let runs = session::add_run(session::read_runs(stored.as_deref(), now), run, now);
        let json = serde_json::to_vec(&runs).expect("runs always serialise");
        store.set(&key, &json).map_err(|e| format!("saving recent runs: {e}"))?;
    }
    Ok(())
}

/// The member's recent runs, newest first (none when the store cannot be read).
pub fn runs(user_id: &str, now: u64) -> Vec<Run> {
    let stored = Store::open_default().and_then(|store| store.get(&session::runs_key(user_id)));
    match stored {
        Ok(bytes) => session::read_runs(bytes.as_deref(), now),
        Err(e) => {
            eprintln!("could not read recent runs: {e}");
            Vec::new()
        }
    }
}

/// Where to report on a run, if facteur started it and still remembers it.
pub fn run_record(namespace: &str, workflow: &str, now: u64) -> Result<Option<RunRecord>, String> {
    let bytes =
        open()?.get(&session::run_key(namespace, workflow)).map_err(|e| format!("reading the run record: {e}"))?;
    Ok(session::read_run_record(bytes.as_deref(), now))
}

/// Whether this phase of the run was already announced.
pub fn was_notified(namespace: &str, workflow: &str, phase: &str) -> Result<bool, String> {
    open()?.exists(&session::notified_key(namespace, workflow, phase)).map_err(|e| format!("reading a marker: {e}"))
}

pub fn mark_notified(namespace: &str, workflow: &str, phase: &str) -> Result<(), String> {
    open()?.set(&session::notified_key(namespace, workflow, phase), b"1").map_err(|e| format!("saving a marker: {e}"))
}
