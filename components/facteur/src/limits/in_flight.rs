//! Caps on runs in flight: how many of a command's runs (the member's, everyone's, a guild's)
//! may be running at once, as the catalog declares (`workflow.limits.in_flight`).
//!
//! Argo says what is in flight: the command's workflows, found by facteur's labels, whose
//! `workflows.argoproj.io/completed` label is not `true` (Argo's controller sets it when a run
//! ends; a run it has not picked up yet has none, and `!=` selects it too). Nothing has to be
//! given back when a run ends, so a lost lifecycle event cannot hold a place.
//!
//! Argo alone cannot settle a race: runs admitted at the same moment are not in Argo yet. So
//! each admission first takes a ticket (an atomic increment of a key-value counter, as the rate
//! limits count) and keeps a hold under it, the run's name, until its submit's outcome is known
//! (the run is in Argo, or certainly not); then the hold becomes a tombstone. An admission
//! counts the runs Argo lists together with the live holds of the tickets before its own (by
//! name, so a run in both counts once; a ticket whose hold is not written yet counts as well),
//! itself included, and passes within the cap. Any two admissions agree on their order, and the
//! later one sees the earlier one's run in its hold or, once that hold is a tombstone, in Argo:
//! never more than the cap pass, and of a burst racing for `k` free places exactly `k` pass
//! (unless something ends meanwhile). Tickets behind an admission do not count against it, so
//! refused admissions never starve the ones ahead of them.
//!
//! Tickets are numbered per window of [`HOLD_SECS`], and an admission reads the previous
//! window's too, so a hold never given back (an instance stopped mid-submit) is forgotten after
//! two windows at most: longer than a submit lasts (three attempts, each within the Argo
//! deadline, and their look-ups). The run history's sweep deletes expired tickets and holds.

use crate::argo::{self, label};
use crate::catalog::InFlight;
use crate::ports::{Argo, Deadline, KeyValue, Ports};

use super::{PREFIX, Refusal, Scope};

/// A window of tickets: a hold is read during its window and the next.
pub const HOLD_SECS: u64 = 120;

/// A hold given back: its run is in Argo, or certainly not.
const TOMBSTONE: &[u8] = b"";

/// The run being admitted.
pub struct Admission<'a> {
    pub command: &'a str,
    pub namespace: &'a str,
    /// Its workflow's name: a redelivered interaction whose run exists is never refused.
    pub workflow: &'a str,
    pub user_id: Option<&'a str>,
    pub guild_id: Option<&'a str>,
    /// The member's Argo identity (`crate::identities`), for the list.
    pub authorization: Option<&'a str>,
}

/// The holds of an admitted run, kept until its submit's outcome is known; give them back with
/// [`release`].
#[must_use = "holds are kept until released"]
#[derive(Debug, Default)]
pub struct Held(Vec<String>);

/// Admits the run within `caps`, or refuses it with the first cap reached (or when the counts or
/// Argo's list cannot be had: deny by default).
pub async fn enter(ports: &impl Ports, run: &Admission<'_>, caps: &InFlight, now: u64) -> Result<Held, Refusal> {
    let scopes = [
        (Scope::Member, caps.member, run.user_id),
        (Scope::Command, caps.command, Some("all")),
        (Scope::Guild, caps.guild, run.guild_id),
    ];
    let mut held = Held::default();
    for (scope, cap, id) in scopes {
        let (Some(cap), Some(id)) = (cap, id) else { continue };
        if let Err(refusal) = enter_scope(ports, run, scope, cap, id, now, &mut held).await {
            release(ports.store(), held);
            return Err(refusal);
        }
    }
    Ok(held)
}

async fn enter_scope(
    ports: &impl Ports,
    run: &Admission<'_>,
    scope: Scope,
    cap: u32,
    id: &str,
    now: u64,
    held: &mut Held,
) -> Result<(), Refusal> {
    let store = ports.store();
    let window = now - now % HOLD_SECS;
    let tickets =
        |window| format!("{PREFIX}{}:{}:in-flight-{}:{id}", window + 2 * HOLD_SECS, run.command, scope.as_str());
    let (this, previous) = (tickets(window), tickets(window - HOLD_SECS));
    let ticket = store.increment(&this, 1).map_err(Refusal::Unavailable)?;
    let hold = format!("{this}:{ticket}");
    held.0.push(hold.clone());
    store.set(&hold, run.workflow.as_bytes()).map_err(Refusal::Unavailable)?;
    // The holds ahead of this one: every ticket of the previous window, and the earlier ones of
    // this window. Read before Argo's list, so that a hold given back since is in the list.
    let earlier = store.increment(&previous, 0).map_err(Refusal::Unavailable)?;
    let ahead = (1..=earlier).map(|t| format!("{previous}:{t}")).chain((1..ticket).map(|t| format!("{this}:{t}")));
    let mut holding: Vec<String> = Vec::new();
    let mut unwritten = 0usize;
    for key in ahead {
        match store.get(&key).map_err(Refusal::Unavailable)? {
            Some(name) if name == TOMBSTONE => {}
            Some(name) => holding.push(String::from_utf8_lossy(&name).into_owned()),
            None => unwritten += 1,
        }
    }
    // One more than the cap: enough to tell "over", or to find this run's own workflow.
    let request = argo::list_names(run.namespace, &selector(run, scope, id), cap.saturating_add(1));
    let listed = ports
        .argo()
        .send_as(&request, Deadline::Configured, run.authorization)
        .await
        .and_then(|(status, body)| argo::parse_list(status, &body))
        .map_err(Refusal::Uncounted)?;
    let mut names: Vec<&str> = listed.iter().map(|w| w.metadata.name.as_str()).collect();
    // This interaction's own run, started by an earlier delivery: it is in flight already, and
    // its submit only finds it again.
    if names.contains(&run.workflow) {
        return Ok(());
    }
    names.extend(holding.iter().map(String::as_str).filter(|n| *n != run.workflow));
    names.sort_unstable();
    names.dedup();
    let counted = names.len() + unwritten + 1;
    if counted > cap as usize { Err(Refusal::InFlight { limit: scope, cap }) } else { Ok(()) }
}

/// Gives back the holds of an admitted run, once it is in Argo or certainly not. A hold that
/// cannot be given back is forgotten with its window.
pub fn release(store: &impl KeyValue, held: Held) {
    for hold in held.0 {
        let _ = store.set(&hold, TOMBSTONE);
    }
}

/// The label selector of the command's runs in `scope` that Argo has not completed.
fn selector(run: &Admission<'_>, scope: Scope, id: &str) -> String {
    let whose = match scope {
        Scope::Member => format!("{}={},", label::USER, argo::label_value(id)),
        Scope::Guild => format!("{}={},", label::GUILD, argo::label_value(id)),
        Scope::Command => String::new(),
    };
    format!("{}={},{whose}{}!=true", label::COMMAND, argo::label_value(run.command), label::COMPLETED)
}

#[cfg(test)]
mod tests;
