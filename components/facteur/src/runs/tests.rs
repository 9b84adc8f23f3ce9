//! The runs use case without wasm: ownership, buttons, retry, lifecycle announcements.

use serde_json::{Value, json};

use super::*;
use crate::argo::Method;
use crate::history::{self, Reply, RunRecord};
use crate::policy::RoleMap;
use crate::ports::memory::{Memory, block_on};

const OPS: &str = "140000000000000001";
const ADMIN: &str = "140000000000000003";
const OWNER: &str = "1200000000000000000";
const OTHER: &str = "1200000000000000099";

fn settings() -> RunSettings {
    let role_map = json!({"workflow": [OPS], "workflow:admin": [ADMIN]}).to_string();
    RunSettings {
        policy: Policy { role_map: RoleMap::parse(&role_map).unwrap(), ..Policy::default() },
        argo: crate::ports::memory::argo_settings(),
        owner_only: true,
        history_ttl: 3600,
    }
}

fn interaction(user: &str, roles: &[&str], kind: u8, data: Value) -> Interaction {
    let body = json!({
        "id": "1190000000000000005", "application_id": "2", "type": kind, "token": "t", "guild_id": "5",
        "channel_id": "6", "member": {"user": {"id": user, "username": "ada"}, "roles": roles}, "data": data
    });
    Interaction::parse(body.to_string().as_bytes()).unwrap()
}

fn click(user: &str, roles: &[&str], custom_id: &str) -> Interaction {
    interaction(user, roles, 3, json!({"custom_id": custom_id, "component_type": 2}))
}

fn slash(user: &str, roles: &[&str], action: &str, name: &str) -> Interaction {
    let options = json!([{"name": action, "type": 1, "options": [{"name": "name", "type": 3, "value": name}]}]);
    interaction(user, roles, 2, json!({"name": "workflow", "options": options}))
}

/// The owner's history with `plan-1` in it.
fn world_with_run() -> Memory {
    let world = Memory::default();
    let now = world.now.get();
    let record = RunRecord {
        command: "plan".into(),
        interaction_id: "1".into(),
        application_id: "2".into(),
        channel_id: Some("6".into()),
        user_id: Some(OWNER.into()),
        expires_at: now + 3600,
    };
    let run = Run {
        workflow: "plan-1".into(),
        namespace: "argo".into(),
        command: "plan".into(),
        submitted_at: now,
        expires_at: now + 3600,
    };
    history::save_run(&world.store, &record, &Reply { token: "t".into(), expires_at: now + 900 }, run, now).unwrap();
    world
}

fn phase(name: &str, phase: &str) -> (u16, Vec<u8>) {
    let labels = json!({"facteur.dev/command": "plan", "facteur.dev/user-id": OWNER});
    let workflow =
        json!({"metadata": {"name": name, "namespace": "argo", "labels": labels}, "status": {"phase": phase}});
    (200, workflow.to_string().into_bytes())
}

#[test]
fn only_the_owner_or_an_admin_may_cancel_and_a_refusal_calls_nothing() {
    let world = world_with_run();
    let other = block_on(answer(&world, &settings(), &click(OTHER, &[OPS], "workflow:stop:argo:plan-1")));
    let Answer::Now(refusal) = other else { panic!("refused at once") };
    assert!(String::from_utf8(refusal.to_json()).unwrap().contains("Only the member who started `plan-1`"));
    assert!(world.argo.requests.borrow().is_empty());
    assert_eq!(world.audit_events(), ["allowed", "denied"]);

    let admin = block_on(answer(&world, &settings(), &click(OTHER, &[OPS, ADMIN], "workflow:stop:argo:plan-1")));
    assert!(matches!(admin, Answer::Later { work: Work::Cancel { action: RunAction::Stop, .. }, .. }));
    let owner = click(OWNER, &[OPS], "workflow:terminate:argo:plan-1");
    let Answer::Later { work, .. } = block_on(answer(&world, &settings(), &owner)) else { panic!("deferred") };
    world.argo.answer(|_| Ok(phase("plan-1", "Failed")));
    let message = block_on(perform(&world, &settings(), &owner, work));
    assert_eq!(message.content.as_deref(), Some("Terminated `plan-1`."));
    assert_eq!(
        world.argo.paths(),
        ["GET /api/v1/workflows/argo/plan-1", "PUT /api/v1/workflows/argo/plan-1/terminate"]
    );
    assert_eq!(world.audit_events().last().map(String::as_str), Some("terminated"));
}

#[test]
fn retry_needs_ownership_and_a_failed_run() {
    let world = world_with_run();
    let denied = block_on(answer(&world, &settings(), &slash(OTHER, &[OPS], "retry", "plan-1")));
    assert!(matches!(denied, Answer::Now(_)));
    let owner = slash(OWNER, &[OPS], "retry", "plan-1");
    let Answer::Later { work, .. } = block_on(answer(&world, &settings(), &owner)) else { panic!("deferred") };
    assert_eq!(work, Work::Control { control: Control::Retry, namespace: "argo".into(), name: "plan-1".into() });
    world.argo.answer(|_| Ok(phase("plan-1", "Succeeded")));
    let message = block_on(perform(&world, &settings(), &owner, work.clone()));
    assert_eq!(
        message.content.as_deref(),
        Some("`plan-1` is **Succeeded**: only failed or errored runs can be retried.")
    );
    world.argo.answer(|r| Ok(phase("plan-1", if r.method == Method::Get { "Failed" } else { "Running" })));
    let message = block_on(perform(&world, &settings(), &owner, work));
    assert_eq!(message.content.as_deref(), Some("Retrying `plan-1`: its failed steps run again."));
}

#[test]
fn suspend_resume_and_resubmit_follow_the_ownership_and_phase_rules() {
    let world = world_with_run();
    for verb in ["suspend", "resume", "resubmit"] {
        let denied = block_on(answer(&world, &settings(), &slash(OTHER, &[OPS], verb, "plan-1")));
        let Answer::Now(refusal) = denied else { panic!("{verb}: refused at once") };
        assert!(String::from_utf8(refusal.to_json()).unwrap().contains(&format!("can {verb} it")), "{verb}");
    }
    assert!(world.argo.requests.borrow().is_empty(), "refusals call nothing");

    let run = |verb: &str, phase_now: &'static str, answer_phase: &'static str| {
        let owner = slash(OWNER, &[OPS], verb, "plan-1");
        let Answer::Later { work, .. } = block_on(answer(&world, &settings(), &owner)) else { panic!("deferred") };
        world.argo.answer(move |r| {
            Ok(match r.method {
                Method::Get => phase("plan-1", phase_now),
                _ if r.path.ends_with("/resubmit") => phase("plan-1-x7k2p", answer_phase),
                _ => phase("plan-1", answer_phase),
            })
        });
        world.argo.requests.borrow_mut().clear();
        block_on(perform(&world, &settings(), &owner, work)).content.unwrap_or_default()
    };
    assert_eq!(
        run("suspend", "Succeeded", ""),
        "`plan-1` is **Succeeded**: only a run that has not finished can be suspended."
    );
    assert_eq!(world.argo.paths(), ["GET /api/v1/workflows/argo/plan-1"], "nothing changed");
    assert!(run("suspend", "Running", "Running").starts_with("Suspended `plan-1`"));
    assert_eq!(world.argo.paths()[1], "PUT /api/v1/workflows/argo/plan-1/suspend");
    assert_eq!(world.argo.requests.borrow()[1].0.body, Some(json!({"namespace": "argo", "name": "plan-1"})));
    assert_eq!(run("resume", "Running", "Running"), "Resumed `plan-1`.");
    assert_eq!(
        run("resubmit", "Running", ""),
        "`plan-1` is **Running**: only a finished run can be resubmitted (cancel it first)."
    );
    assert_eq!(run("resubmit", "Failed", "Pending"), "Resubmitted `plan-1` as `plan-1-x7k2p`.");
    assert_eq!(world.argo.paths()[1], "PUT /api/v1/workflows/argo/plan-1/resubmit");
    let events = world.audit_events();
    assert_eq!(events.iter().filter(|e| ["suspended", "resumed", "resubmitted"].contains(&e.as_str())).count(), 3);
    let runs = history::runs(&world.store, OWNER, world.now.get()).unwrap();
    assert_eq!(runs[0].workflow, "plan-1-x7k2p", "the new run is the member's");
}

#[test]
fn buttons_that_are_not_facteurs_are_answered_plainly() {
    let world = Memory::default();
    let Answer::Now(response) = block_on(answer(&world, &settings(), &click(OWNER, &[OPS], "poll:vote"))) else {
        panic!("at once")
    };
    assert!(String::from_utf8(response.to_json()).unwrap().contains("This button is no longer supported."));
}

#[test]
fn refresh_updates_in_place_within_the_inline_deadline() {
    let world = Memory::default();
    world.argo.answer(|_| Ok(phase("plan-1", "Running")));
    let Answer::Now(response) =
        block_on(answer(&world, &settings(), &click(OWNER, &[OPS], "workflow:refresh:argo:plan-1")))
    else {
        panic!("at once")
    };
    let body: Value = serde_json::from_slice(&response.to_json()).unwrap();
    assert_eq!((body["type"].as_u64(), body["data"]["content"].as_str()), (Some(7), Some("`plan-1` is **Running**.")));
    assert_eq!(world.argo.requests.borrow()[0].1, Deadline::Inline);
}

#[test]
fn runs_facteur_did_not_start_are_not_found_and_bad_names_call_nothing() {
    let world = Memory::default();
    world.argo.answer(|_| {
        Ok((200, br#"{"metadata":{"name":"x","namespace":"argo"},"status":{"phase":"Running"}}"#.to_vec()))
    });
    let Answer::Later { work, .. } = block_on(answer(&world, &settings(), &slash(OWNER, &[OPS], "status", "x"))) else {
        panic!("deferred")
    };
    let message = block_on(perform(&world, &settings(), &slash(OWNER, &[OPS], "status", "x"), work));
    assert_eq!(message.content.as_deref(), Some("Workflow `x` was not found in namespace `argo`."));
    let calls = world.argo.requests.borrow().len();
    let bad = block_on(answer(&world, &settings(), &slash(OWNER, &[OPS], "status", "a/../b")));
    let Answer::Now(response) = bad else { panic!("at once") };
    assert!(String::from_utf8(response.to_json()).unwrap().contains("`a/../b` is not a workflow name."));
    assert_eq!(world.argo.requests.borrow().len(), calls, "nothing called");
}

#[test]
fn a_lifecycle_event_is_announced_once_per_phase() {
    let world = world_with_run();
    let event: LifecycleEvent =
        serde_json::from_value(json!({"workflow": "plan-1", "namespace": "argo", "phase": "Succeeded"})).unwrap();
    block_on(announce(&world, "https://argo.example", &event)).unwrap();
    block_on(announce(&world, "https://argo.example", &event)).unwrap();
    assert_eq!(world.discord.edits.borrow().len(), 1);
    assert!(world.logs.borrow()[0].contains("already announced"));
    let unknown: LifecycleEvent =
        serde_json::from_value(json!({"workflow": "nope", "namespace": "argo", "phase": "Failed"})).unwrap();
    block_on(announce(&world, "https://argo.example", &unknown)).unwrap();
    assert!(world.logs.borrow()[1].contains("not a run facteur remembers"));
}

#[test]
fn argo_is_called_with_the_identity_of_the_role_that_grants_the_action() {
    use crate::identities::{Identities, Identity};
    const CANCELLERS: &str = "140000000000000004";
    let world = world_with_run();
    world.argo.answer(|_| Ok(phase("plan-1", "Running")));
    let mut settings = settings();
    let role_map = json!({"workflow": [OPS], "workflow:cancel": [CANCELLERS], "workflow:admin": [ADMIN]});
    settings.policy.role_map = RoleMap::parse(&role_map.to_string()).unwrap();
    let token = |t: &str| Identity { service_account: None, authorization: Some(format!("Bearer {t}")) };
    settings.argo.identities =
        Identities { roles: vec![(OPS.into(), token("ops")), (CANCELLERS.into(), token("cancel"))], commands: vec![] };
    // `workflow:cancel` is listed: the cancel acts as the role it lists; status as `workflow`'s.
    let stop = click(OWNER, &[OPS, CANCELLERS], "workflow:stop:argo:plan-1");
    let Answer::Later { work, .. } = block_on(answer(&world, &settings, &stop)) else { panic!("deferred") };
    block_on(perform(&world, &settings, &stop, work));
    let status = slash(OWNER, &[OPS, CANCELLERS], "status", "plan-1");
    let Answer::Later { work, .. } = block_on(answer(&world, &settings, &status)) else { panic!("deferred") };
    block_on(perform(&world, &settings, &status, work));
    let calls: Vec<(String, Option<String>)> =
        world.argo.paths().into_iter().zip(world.argo.authorizations.borrow().iter().cloned()).collect();
    assert_eq!(
        calls,
        [
            ("GET /api/v1/workflows/argo/plan-1".to_owned(), Some("Bearer cancel".to_owned())),
            ("PUT /api/v1/workflows/argo/plan-1/stop".to_owned(), Some("Bearer cancel".to_owned())),
            ("GET /api/v1/workflows/argo/plan-1".to_owned(), Some("Bearer ops".to_owned())),
        ]
    );
    // A member whose roles name no identity: the configured token (no override).
    let plain = slash(OWNER, &[OPS], "status", "plan-1");
    settings.argo.identities = Identities::default();
    let Answer::Later { work, .. } = block_on(answer(&world, &settings, &plain)) else { panic!("deferred") };
    block_on(perform(&world, &settings, &plain, work));
    assert_eq!(world.argo.authorizations.borrow().last(), Some(&None));
}
