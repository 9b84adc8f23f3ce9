//! Caps on runs in flight over the in-memory ports: Argo's list and the held counts together.

use super::*;
use crate::argo::ArgoError;
use crate::ports::memory::{Memory, block_on};

const NOW: u64 = 1_800_000_030;
const USER: &str = "1200000000000000000";
const GUILD: &str = "1100000000000000000";

fn admission<'a>(workflow: &'a str, user: &'a str, guild: Option<&'a str>) -> Admission<'a> {
    Admission {
        command: "plan",
        namespace: "argo",
        workflow,
        user_id: Some(user),
        guild_id: guild,
        authorization: None,
    }
}

fn caps(member: Option<u32>, command: Option<u32>, guild: Option<u32>) -> InFlight {
    InFlight { member, command, guild }
}

fn in_argo(world: &Memory, names: &[&str]) {
    *world.argo.in_flight.borrow_mut() = Ok(names.iter().map(|n| (*n).to_owned()).collect());
}

#[test]
fn of_runs_admitted_at_once_exactly_the_cap_pass() {
    let world = Memory::default();
    let caps = caps(Some(3), None, None);
    let outcomes: Vec<_> = (0..8)
        .map(|i| block_on(enter(&world, &admission(&format!("plan-{i}"), USER, Some(GUILD)), &caps, NOW)))
        .collect();
    assert_eq!(outcomes.iter().filter(|o| o.is_ok()).count(), 3, "none has reached Argo yet");
    assert_eq!(outcomes[3].as_ref().unwrap_err(), &Refusal::InFlight { limit: Scope::Member, cap: 3 });
    assert_eq!(live_holds(&world), ["plan-0", "plan-1", "plan-2"], "the refused gave theirs back");
    // The three reach Argo and give their holds back: Argo counts them from here.
    in_argo(&world, &["plan-0", "plan-1", "plan-2"]);
    for outcome in outcomes.into_iter().flatten() {
        release(&world.store, outcome);
    }
    assert!(live_holds(&world).is_empty());
    let refused = block_on(enter(&world, &admission("plan-9", USER, Some(GUILD)), &caps, NOW));
    assert_eq!(refused.unwrap_err(), Refusal::InFlight { limit: Scope::Member, cap: 3 });
    // One completes: Argo no longer lists it, and a place is free.
    in_argo(&world, &["plan-0", "plan-2"]);
    assert!(block_on(enter(&world, &admission("plan-9", USER, Some(GUILD)), &caps, NOW)).is_ok());
}

#[test]
fn a_run_both_in_argo_and_still_held_counts_once() {
    let world = Memory::default();
    let caps = caps(Some(2), None, None);
    let _first = block_on(enter(&world, &admission("plan-1", USER, None), &caps, NOW)).unwrap();
    // plan-1 is in Argo, its admission has not given its hold back yet.
    in_argo(&world, &["plan-1"]);
    assert!(block_on(enter(&world, &admission("plan-2", USER, None), &caps, NOW)).is_ok());
}

#[test]
fn a_ticket_whose_hold_is_not_written_yet_counts() {
    let world = Memory::default();
    let caps = caps(Some(1), None, None);
    // Another instance took ticket 1 and has not written its hold yet.
    let tickets = format!("limit:{}:plan:in-flight-member:{USER}", NOW - NOW % HOLD_SECS + 2 * HOLD_SECS);
    world.store.increment(&tickets, 1).unwrap();
    assert!(block_on(enter(&world, &admission("plan-2", USER, None), &caps, NOW)).is_err());
}

/// The runs whose holds are live (not given back), oldest ticket first.
fn live_holds(world: &Memory) -> Vec<String> {
    let map = world.store.0.borrow();
    let mut holds: Vec<(u64, String)> = map
        .iter()
        .filter(|(k, v)| k.contains(":in-flight-") && k.matches(':').count() == 5 && !v.is_empty())
        .map(|(k, v)| (k.rsplit(':').next().unwrap().parse().unwrap(), String::from_utf8(v.clone()).unwrap()))
        .collect();
    holds.sort();
    holds.into_iter().map(|(_, name)| name).collect()
}

#[test]
fn argo_is_asked_for_the_scopes_runs_it_has_not_completed_with_the_members_identity() {
    let world = Memory::default();
    let run = Admission { authorization: Some("Bearer member"), ..admission("plan-1", USER, Some(GUILD)) };
    let _held = block_on(enter(&world, &run, &caps(Some(2), Some(5), Some(4)), NOW)).unwrap();
    let selectors: Vec<String> = world
        .argo
        .requests
        .borrow()
        .iter()
        .map(|(r, _)| {
            let query = r.path.split_once('?').unwrap().1;
            let pairs: Vec<(String, String)> = form_urlencoded::parse(query.as_bytes()).into_owned().collect();
            assert!(r.path.starts_with("/api/v1/workflows/argo?"));
            assert!(pairs.contains(&("fields".into(), "items.metadata.name".into())), "names only");
            pairs.into_iter().find(|(k, _)| k == "listOptions.labelSelector").unwrap().1
        })
        .collect();
    let completed = "workflows.argoproj.io/completed!=true";
    assert_eq!(
        selectors,
        [
            format!("facteur.dev/command=plan,facteur.dev/user-id={USER},{completed}"),
            format!("facteur.dev/command=plan,{completed}"),
            format!("facteur.dev/command=plan,facteur.dev/guild-id={GUILD},{completed}"),
        ]
    );
    assert!(world.argo.authorizations.borrow().iter().all(|a| a.as_deref() == Some("Bearer member")));
}

#[test]
fn each_scope_counts_its_own_and_a_dm_is_in_no_guild() {
    let world = Memory::default();
    let caps = caps(None, Some(2), Some(1));
    let _first = block_on(enter(&world, &admission("plan-1", USER, Some(GUILD)), &caps, NOW)).unwrap();
    let same_guild = block_on(enter(&world, &admission("plan-2", "1200000000000000001", Some(GUILD)), &caps, NOW));
    assert_eq!(same_guild.unwrap_err(), Refusal::InFlight { limit: Scope::Guild, cap: 1 });
    let _dm = block_on(enter(&world, &admission("plan-3", USER, None), &caps, NOW)).unwrap();
    let everyone = block_on(enter(&world, &admission("plan-4", USER, Some("1100000000000000001")), &caps, NOW));
    assert_eq!(everyone.unwrap_err(), Refusal::InFlight { limit: Scope::Command, cap: 2 });
}

#[test]
fn a_redelivery_whose_run_is_in_flight_is_not_refused() {
    let world = Memory::default();
    in_argo(&world, &["plan-1", "plan-2"]);
    let caps = caps(Some(2), None, None);
    assert!(block_on(enter(&world, &admission("plan-2", USER, None), &caps, NOW)).is_ok());
    assert!(block_on(enter(&world, &admission("plan-3", USER, None), &caps, NOW)).is_err());
}

#[test]
fn without_argo_s_list_nothing_is_admitted_and_no_hold_is_kept() {
    let world = Memory::default();
    *world.argo.in_flight.borrow_mut() = Err(ArgoError::Timeout);
    let refusal = block_on(enter(&world, &admission("plan-1", USER, None), &caps(Some(2), None, None), NOW));
    assert_eq!(refusal.unwrap_err(), Refusal::Uncounted(ArgoError::Timeout));
    assert!(live_holds(&world).is_empty());
}

#[test]
fn a_hold_never_given_back_is_forgotten_after_two_windows() {
    let world = Memory::default();
    let caps = caps(Some(1), None, None);
    let _lost = block_on(enter(&world, &admission("plan-1", USER, None), &caps, NOW)).unwrap();
    let window = NOW - NOW % HOLD_SECS;
    for later in [NOW + 1, window + HOLD_SECS, window + 2 * HOLD_SECS - 1] {
        assert!(block_on(enter(&world, &admission("plan-2", USER, None), &caps, later)).is_err(), "{later}");
    }
    assert!(block_on(enter(&world, &admission("plan-2", USER, None), &caps, window + 2 * HOLD_SECS)).is_ok());
    let hold = format!("limit:{}:plan:in-flight-member:{USER}:1", window + 2 * HOLD_SECS);
    assert_eq!(world.store.0.borrow().get(&hold).map(Vec::as_slice), Some(&b"plan-1"[..]));
    assert!(
        !super::super::expired(&hold, window + 2 * HOLD_SECS - 1)
            && super::super::expired(&hold, window + 2 * HOLD_SECS)
    );
}

#[test]
fn the_message_says_how_many_and_what_to_do() {
    let message = |limit, cap| Refusal::InFlight { limit, cap }.message("plan");
    assert_eq!(
        message(Scope::Member, 3),
        "`/plan`: You have 3 runs in flight, the most allowed at once. Try again when one ends (`/workflow list` shows them)."
    );
    assert!(message(Scope::Command, 1).contains("Everyone together has 1 run in flight"));
    assert!(message(Scope::Guild, 5).contains("This server has 5 runs in flight"));
}
