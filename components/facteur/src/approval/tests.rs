//! The approval use case without wasm: in-memory Argo, Discord, store and clock.

use std::cell::RefCell;
use std::rc::Rc;

use serde_json::{Value, json};

use super::*;
use crate::answer::Answer;
use crate::audit::Trace;
use crate::catalog::Catalog;
use crate::command::answer;
use crate::policy::{Policy, RoleMap};
use crate::ports::memory::{Memory, block_on};

const OPS: &str = "140000000000000001";
const APPROVERS: &str = "140000000000000004";
const REQUESTER: &str = "1200000000000000000";
const APPROVER: &str = "1200000000000000042";
const REQUEST: &str = "1190000000000000001";

fn settings_with(role_map: Value) -> CommandSettings {
    CommandSettings {
        policy: Policy { role_map: RoleMap::parse(&role_map.to_string()).unwrap(), ..Policy::default() },
        argo: crate::ports::memory::argo_settings(),
        history_ttl: 3600,
        trace: Trace::default(),
    }
}

fn settings() -> CommandSettings {
    settings_with(json!({"release": [OPS], "release:approve": [APPROVERS]}))
}

fn member(id: &str, user: &str, roles: &[&str], kind: u8, data: Value) -> Interaction {
    let body = json!({
        "id": id, "application_id": "1170000000000000000", "type": kind, "token": format!("token-{id}"),
        "guild_id": "1100000000000000000", "channel_id": "1110000000000000000",
        "member": {"user": {"id": user, "username": if user == APPROVER { "grace" } else { "ada" }}, "roles": roles},
        "data": data
    });
    Interaction::parse(body.to_string().as_bytes()).unwrap()
}

fn release(dry_run: bool) -> Interaction {
    let options = json!([
        {"name": "project", "type": 3, "value": "lab"}, {"name": "branch", "type": 3, "value": "main"},
        {"name": "dry_run", "type": 5, "value": dry_run}
    ]);
    member(REQUEST, REQUESTER, &[OPS], 2, json!({"name": "release", "options": options}))
}

fn click(id: &str, user: &str, roles: &[&str], verdict: &str) -> Interaction {
    let custom_id = format!("release:{verdict}:{REQUEST}");
    member(id, user, roles, 3, json!({"custom_id": custom_id, "component_type": 2}))
}

fn json_of(response: &InteractionResponse) -> Value {
    serde_json::from_slice(&response.to_json()).unwrap()
}

fn now_text(answer: Answer<Work>) -> Value {
    let Answer::Now(response) = answer else { panic!("answered at once") };
    json_of(&response)
}

/// A fake Argo that keeps the workflows submitted: a second submit of a name is refused (409).
fn argo_keeping_runs(world: &Memory) -> Rc<RefCell<Vec<Value>>> {
    let runs: Rc<RefCell<Vec<Value>>> = Rc::default();
    let kept = runs.clone();
    world.argo.answer(move |request| {
        let found = |name: &str| kept.borrow().iter().find(|w| w["metadata"]["name"] == name).cloned();
        match &request.body {
            Some(body) if request.path.ends_with("/submit") => {
                let options = &body["submitOptions"];
                let name = options["name"].as_str().unwrap().to_owned();
                if found(&name).is_some() {
                    return Ok((409, br#"{"code":6,"message":"already exists"}"#.to_vec()));
                }
                let labels: serde_json::Map<String, Value> = options["labels"]
                    .as_str()
                    .unwrap()
                    .split(',')
                    .filter_map(|p| p.split_once('='))
                    .map(|(k, v)| (k.to_owned(), v.into()))
                    .collect();
                let workflow = json!({"metadata": {"name": name, "namespace": "argo", "labels": labels,
                    "annotations": options["annotations"]}, "status": {"phase": "Pending"}});
                kept.borrow_mut().push(workflow.clone());
                Ok((200, workflow.to_string().into_bytes()))
            }
            _ => {
                let name = request.path.rsplit('/').next().unwrap();
                Ok(found(name).map_or((404, b"{}".to_vec()), |w| (200, w.to_string().into_bytes())))
            }
        }
    });
    runs
}

fn release_command() -> Command {
    Catalog::embedded().command("release").unwrap().clone()
}

#[test]
fn a_command_that_needs_approval_is_posted_for_it_and_kept_without_its_token() {
    let world = Memory::default();
    let command = release_command();
    let request = now_text(block_on(answer(&world, &settings(), &command, &release(false))));
    assert_eq!(request["type"], 4, "a message in the channel, now: {request}");
    assert!(request["data"].get("flags").is_none(), "approvers must see it: not ephemeral");
    let content = request["data"]["content"].as_str().unwrap();
    assert!(content.starts_with(&format!("<@{REQUESTER}> asks to run `/release`.")), "{content}");
    assert_eq!(request["data"]["allowed_mentions"], json!({"parse": []}), "nobody is pinged");
    let ids: Vec<&str> = request["data"]["components"][0]["components"]
        .as_array()
        .unwrap()
        .iter()
        .map(|b| b["custom_id"].as_str().unwrap())
        .collect();
    assert_eq!(ids, [format!("release:approve:{REQUEST}"), format!("release:reject:{REQUEST}")]);
    assert!(request["data"]["embeds"][0]["fields"][1]["value"].as_str().unwrap().contains("branch=main"));

    let stored = world.store.0.borrow().get(&key("release", REQUEST)).cloned().expect("kept");
    let stored = String::from_utf8(stored).unwrap();
    assert!(!stored.contains("token-"), "no token at rest: {stored}");
    assert!(world.argo.requests.borrow().is_empty(), "nothing submitted before approval");
    assert_eq!(world.audit_events(), ["allowed", "approval_requested"]);
}

#[test]
fn without_an_approver_role_the_command_is_refused_and_a_dry_run_needs_no_approval() {
    let world = Memory::default();
    let command = release_command();
    let refused =
        now_text(block_on(answer(&world, &settings_with(json!({"release": [OPS]})), &command, &release(false))));
    assert!(refused["data"]["content"].as_str().unwrap().contains("no role may approve it"), "{refused}");
    assert_eq!(refused["data"]["flags"], 64);
    assert_eq!(world.audit_events(), ["allowed", "denied"]);
    assert!(!world.store.0.borrow().keys().any(|k| k.starts_with("approval:")), "nothing kept");

    let dry = block_on(answer(&world, &settings(), &command, &release(true)));
    assert!(matches!(dry, Answer::Later { work: Work::Submit(_), .. }), "a dry run is deferred and submitted");
}

#[test]
fn the_requester_and_non_approvers_cannot_approve_and_an_approver_submits_once() {
    let world = Memory::default();
    let runs = argo_keeping_runs(&world);
    let command = release_command();
    block_on(answer(&world, &settings(), &command, &release(false)));

    // The requester's own Approve, even holding an approver role.
    let own =
        now_text(block_on(answer(&world, &settings(), &command, &click("2", REQUESTER, &[OPS, APPROVERS], "approve"))));
    assert_eq!(
        (own["data"]["content"].as_str(), own["data"]["flags"].as_u64()),
        (Some("You cannot approve your own request."), Some(64))
    );
    // A member without an approver role.
    let other = now_text(block_on(answer(&world, &settings(), &command, &click("3", APPROVER, &[OPS], "approve"))));
    assert!(other["data"]["content"].as_str().unwrap().starts_with("Only a member with an approver role"));
    assert!(world.store.0.borrow().contains_key(&key("release", REQUEST)), "still pending");
    assert!(world.argo.requests.borrow().is_empty());

    // An approver: the message is updated now, the submission follows.
    let approve = click("4", APPROVER, &[APPROVERS], "approve");
    let Answer::Later { response, work } = block_on(answer(&world, &settings(), &command, &approve)) else {
        panic!("deferred work")
    };
    let response = json_of(&response);
    assert_eq!(response["type"], 7, "{response}");
    assert_eq!(response["data"]["components"], json!([]), "the buttons are gone");
    assert!(!world.store.0.borrow().contains_key(&key("release", REQUEST)), "claimed");
    let Work::Approved(approved) = work else { panic!("approved work") };
    let message =
        block_on(crate::command::perform(&world, &settings(), &command, &approve, Work::Approved(approved.clone())));
    let content = message.content.clone().unwrap();
    assert_eq!(
        content,
        format!("Approved by <@{APPROVER}>. `/release` started workflow `release-{REQUEST}` in `argo`.")
    );
    let workflow = runs.borrow()[0].clone();
    assert_eq!(workflow["metadata"]["labels"]["facteur.dev/user-id"], REQUESTER, "the requester's run");
    let annotations = workflow["metadata"]["annotations"].as_str().unwrap();
    assert!(annotations.contains(&format!("facteur.dev/approver-id={APPROVER}")), "{annotations}");
    assert!(annotations.contains("facteur.dev/approved-by=grace") && annotations.contains("facteur.dev/username=ada"));
    // The run's reply is the request's message, through the approver's click.
    let reply = history::reply(&world.store, "argo", &format!("release-{REQUEST}"), world.now.get()).unwrap().unwrap();
    assert_eq!(reply.token, "token-4");
    assert_eq!(
        history::runs(&world.store, REQUESTER, world.now.get()).unwrap()[0].workflow,
        format!("release-{REQUEST}")
    );

    // Approve again: nothing is pending any more.
    let again =
        now_text(block_on(answer(&world, &settings(), &command, &click("5", APPROVER, &[APPROVERS], "approve"))));
    assert!(again["data"]["content"].as_str().unwrap().starts_with("This request is no longer pending"));
    // Two approvals that raced past the read: Argo starts the run once, and both say so.
    let raced = block_on(crate::command::perform(&world, &settings(), &command, &approve, Work::Approved(approved)));
    assert!(raced.content.unwrap().contains("already started"));
    assert_eq!(runs.borrow().len(), 1, "one workflow");
    let events = world.audit_events();
    assert_eq!(events.iter().filter(|e| *e == "approved").count(), 1);
    assert_eq!(events.iter().filter(|e| *e == "denied").count(), 2, "{events:?}");
    let approved_line = world.audits.borrow().iter().find(|a| a["audit"] == "approved").cloned().unwrap();
    assert_eq!(
        (approved_line["user_id"].as_str(), approved_line["requester_id"].as_str()),
        (Some(APPROVER), Some(REQUESTER))
    );
}

#[test]
fn reject_ends_the_request_and_submits_nothing_and_the_requester_may_withdraw() {
    let world = Memory::default();
    let command = release_command();
    block_on(answer(&world, &settings(), &command, &release(false)));
    let rejected =
        now_text(block_on(answer(&world, &settings(), &command, &click("2", APPROVER, &[APPROVERS], "reject"))));
    assert_eq!(rejected["type"], 7);
    assert!(rejected["data"]["content"].as_str().unwrap().contains("was rejected by"), "{rejected}");
    let late =
        now_text(block_on(answer(&world, &settings(), &command, &click("3", APPROVER, &[APPROVERS], "approve"))));
    assert!(late["data"]["content"].as_str().unwrap().starts_with("This request is no longer pending"));
    assert!(world.argo.requests.borrow().is_empty(), "nothing submitted");
    assert!(world.audit_events().contains(&"rejected".to_owned()));

    block_on(answer(&world, &settings(), &command, &release(false)));
    let withdrawn = now_text(block_on(answer(&world, &settings(), &command, &click("4", REQUESTER, &[OPS], "reject"))));
    assert_eq!(withdrawn["type"], 7, "{withdrawn}");
}

#[test]
fn of_two_decisions_that_raced_past_the_read_only_the_first_to_claim_acts() {
    let world = Memory::default();
    let command = release_command();
    block_on(answer(&world, &settings(), &command, &release(false)));
    // A Reject claimed the request and is about to delete it when this Approve reads it.
    world.store.increment(&claim_key(&key("release", REQUEST)), 1).unwrap();
    let late =
        now_text(block_on(answer(&world, &settings(), &command, &click("2", APPROVER, &[APPROVERS], "approve"))));
    assert!(late["data"]["content"].as_str().unwrap().starts_with("Someone decided this request"), "{late}");
    assert!(world.argo.requests.borrow().is_empty(), "the losing Approve submits nothing");
    assert!(!world.audit_events().contains(&"approved".to_owned()));
}

#[test]
fn a_button_of_another_command_or_not_an_approval_decides_nothing() {
    let world = Memory::default();
    let command = release_command();
    block_on(answer(&world, &settings(), &command, &release(false)));
    for (custom_id, text) in [
        (format!("plan:approve:{REQUEST}"), "This button belongs to another command."),
        (format!("release:approve:{REQUEST}x"), "This button is no longer supported."),
    ] {
        let data = json!({"custom_id": custom_id, "component_type": 2});
        let stray = member("2", APPROVER, &[APPROVERS], 3, data);
        let refused = now_text(block_on(answer(&world, &settings(), &command, &stray)));
        assert_eq!(refused["data"]["content"], text, "{refused}");
        assert_eq!(refused["data"]["flags"], 64, "ephemeral: {refused}");
    }
    assert!(world.argo.requests.borrow().is_empty());
    let approve = click("3", APPROVER, &[APPROVERS], "approve");
    let Answer::Later { response, .. } = block_on(answer(&world, &settings(), &command, &approve)) else {
        panic!("the request is still pending, and approved now")
    };
    assert_eq!(json_of(&response)["type"], 7);
}

#[test]
fn an_expired_request_cannot_be_approved() {
    let world = Memory::default();
    let command = release_command();
    block_on(answer(&world, &settings(), &command, &release(false)));
    world.now.set(world.now.get() + REQUEST_TTL_SECS);
    let late =
        now_text(block_on(answer(&world, &settings(), &command, &click("2", APPROVER, &[APPROVERS], "approve"))));
    assert!(late["data"]["content"].as_str().unwrap().contains("expired (15 minutes)"), "{late}");
    assert!(world.argo.requests.borrow().is_empty());
}

#[test]
fn a_command_that_needs_approval_cannot_come_through_the_event_pipeline() {
    use crate::events::{CommandEvent, DiscordMember, DiscordUser};
    let world = Memory::default();
    let event = CommandEvent {
        provider: "discord".into(),
        interaction_id: REQUEST.into(),
        application_id: "1170000000000000000".into(),
        command: "release".into(),
        token: "tok".into(),
        options: [("project".to_owned(), "lab".to_owned()), ("branch".to_owned(), "main".to_owned())].into(),
        guild_id: "1100000000000000000".into(),
        channel_id: "1110000000000000000".into(),
        user: Some(DiscordUser { id: REQUESTER.into(), username: "ada".into(), ..DiscordUser::default() }),
        member: Some(DiscordMember { id: REQUESTER.into(), roles: vec![OPS.into(), APPROVERS.into()] }),
        ..CommandEvent::default()
    };
    let outcome = block_on(crate::command::run_event(&world, &settings(), &Catalog::embedded(), &event));
    assert_eq!(outcome.message.content.as_deref(), Some("`/release` cannot be run through the event pipeline."));
    assert!(outcome.refused.is_some());
    assert!(world.argo.requests.borrow().is_empty(), "approval is not bypassed");
}

#[test]
fn a_pending_request_is_swept_once_expired() {
    let world = Memory::default();
    // Mid-slot, so that the next slot's sweep comes before the request expires.
    world.now.set(world.now.get() / history::SLOT_SECS * history::SLOT_SECS + history::SLOT_SECS / 2);
    block_on(answer(&world, &settings(), &release_command(), &release(false)));
    let key = key("release", REQUEST);
    history::sweep(&world.store, world.now.get() + history::SLOT_SECS * 2 / 3).unwrap();
    assert!(world.store.0.borrow().contains_key(&key), "still pending: kept");
    history::sweep(&world.store, world.now.get() + REQUEST_TTL_SECS + 2 * history::SLOT_SECS).unwrap();
    assert!(!world.store.0.borrow().contains_key(&key), "expired: deleted");
}
