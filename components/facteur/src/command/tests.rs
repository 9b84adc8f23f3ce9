//! The command use case without wasm: in-memory Argo, Discord, store and clock.

use serde_json::{Value, json};

use super::*;
use crate::argo::{ArgoError, Method};
use crate::audit::Trace;
use crate::catalog::Catalog;
use crate::history;
use crate::policy::RoleMap;
use crate::ports::memory::{Memory, block_on};

const OPS: &str = "140000000000000001";
const USER: &str = "1200000000000000000";

fn settings() -> CommandSettings {
    CommandSettings {
        policy: Policy { role_map: RoleMap::parse(&json!({"plan": [OPS]}).to_string()).unwrap(), ..Policy::default() },
        argo: crate::ports::memory::argo_settings(),
        history_ttl: 3600,
        trace: Trace::default(),
    }
}

fn plan(id: &str, user: &str, roles: &[&str], options: Value) -> Interaction {
    let body = json!({
        "id": id, "application_id": "1170000000000000000", "type": 2, "token": format!("token-{id}"),
        "guild_id": "1100000000000000000", "channel_id": "1110000000000000000",
        "member": {"user": {"id": user, "username": "ada"}, "roles": roles},
        "data": {"name": "plan", "options": options}
    });
    Interaction::parse(body.to_string().as_bytes()).unwrap()
}

fn objective() -> Value {
    json!([{"name": "objective", "type": 3, "value": "Ship the bot"}])
}

fn workflow(name: &str, owner: &str) -> (u16, Vec<u8>) {
    let body = json!({"metadata": {"name": name, "namespace": "argo", "labels": {"facteur.dev/user-id": owner}},
                      "status": {"phase": "Running"}});
    (200, body.to_string().into_bytes())
}

/// The list of the member's `/plan` runs in flight that precedes each submit (the default cap
/// on runs in flight, `crate::limits::in_flight`).
fn in_flight_list() -> String {
    "GET /api/v1/workflows/argo?listOptions.labelSelector=facteur.dev%2Fcommand%3Dplan%2Cfacteur.dev%2Fuser-id%3D\
     1200000000000000000%2Cworkflows.argoproj.io%2Fcompleted%21%3Dtrue&listOptions.limit=11&fields=items.metadata.name"
        .to_owned()
}

/// The submit Argo received, and the `Authorization` it came with.
fn submitted(world: &Memory) -> (crate::argo::ArgoRequest, Option<String>) {
    let requests = world.argo.requests.borrow();
    let i = requests.iter().position(|(r, _)| r.method == Method::Post).expect("a submit");
    (requests[i].0.clone(), world.argo.authorizations.borrow()[i].clone())
}

/// Everything the member reads (content and embeds).
fn text(message: &Message) -> String {
    serde_json::to_string(message).unwrap()
}

fn run(world: &Memory, interaction: &Interaction) -> Message {
    let catalog = Catalog::embedded();
    let command = catalog.command("plan").unwrap();
    let settings = settings();
    let submission = admit(world, &settings.policy, command, interaction).expect("admitted");
    block_on(submit(world, &settings, command, interaction, &submission, world.now.get()))
}

#[test]
fn a_member_without_a_role_is_denied_and_nothing_is_called() {
    let world = Memory::default();
    let catalog = Catalog::embedded();
    let interaction = plan("1", USER, &["9"], objective());
    let refusal = admit(&world, &settings().policy, catalog.command("plan").unwrap(), &interaction).unwrap_err();
    assert_eq!(refusal, "You do not have a role that may run `/plan`. Ask a server admin to grant one.");
    assert_eq!(world.audit_events(), ["denied"]);
    assert!(world.argo.requests.borrow().is_empty());
}

#[test]
fn invalid_options_are_refused_with_the_reason() {
    let world = Memory::default();
    let catalog = Catalog::embedded();
    let interaction = plan("1", USER, &[OPS], json!([]));
    let refusal = admit(&world, &settings().policy, catalog.command("plan").unwrap(), &interaction).unwrap_err();
    assert!(refusal.starts_with("`/plan`: ") && refusal.contains("objective"), "{refusal}");
    assert_eq!(world.audit_events(), ["invalid"]);
}

#[test]
fn an_admitted_command_is_deferred_then_submitted_once_and_remembered() {
    let world = Memory::default();
    world.argo.answer(|r| Ok(workflow(r.body.as_ref().unwrap()["submitOptions"]["name"].as_str().unwrap(), USER)));
    let catalog = Catalog::embedded();
    let command = catalog.command("plan").unwrap();
    let interaction = plan("1190000000000000001", USER, &[OPS], objective());
    let Answer::Later { response, work } = block_on(answer(&world, &settings(), command, &interaction)) else {
        panic!("deferred")
    };
    assert_eq!(serde_json::from_slice::<Value>(&response.to_json()).unwrap(), json!({"type": 5}));
    assert!(matches!(work, Work::Submit(_)));
    let message = block_on(perform(&world, &settings(), command, &interaction, work));
    assert_eq!(message.content.as_deref(), Some("`/plan` started workflow `plan-1190000000000000001` in `argo`."));
    assert_eq!(world.argo.paths(), [in_flight_list(), "POST /api/v1/workflows/argo/submit".into()]);
    assert_eq!(world.audit_events(), ["allowed", "submitted"]);
    let runs = history::runs(&world.store, USER, world.now.get()).unwrap();
    assert_eq!(runs[0].workflow, "plan-1190000000000000001");
    let reply = history::reply(&world.store, "argo", "plan-1190000000000000001", world.now.get()).unwrap();
    assert_eq!(reply.unwrap().expires_at, world.now.get() + TOKEN_TTL_SECS);
}

#[test]
fn the_request_s_traceparent_is_an_annotation_of_the_workflow() {
    let world = Memory::default();
    world.argo.answer(|r| Ok(workflow(r.body.as_ref().unwrap()["submitOptions"]["name"].as_str().unwrap(), USER)));
    let catalog = Catalog::embedded();
    let command = catalog.command("plan").unwrap();
    let interaction = plan("1190000000000000001", USER, &[OPS], objective());
    let traceparent = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01";
    let settings = CommandSettings { trace: Trace::from_traceparent(Some(traceparent)), ..settings() };
    let work = admit(&world, &settings.policy, command, &interaction).unwrap();
    block_on(submit(&world, &settings, command, &interaction, &work, world.now.get()));
    assert_eq!(
        submitted(&world).0.body.unwrap()["submitOptions"]["annotations"],
        format!(
            "facteur.dev/username=ada,facteur.dev/traceparent={traceparent},facteur.dev/trace-id=4bf92f3577b34da6a3ce929d0e0e4736"
        )
    );
}

#[test]
fn a_redelivery_finds_the_members_own_run_and_records_it() {
    let world = Memory::default();
    world.argo.answer(|r| match r.method {
        Method::Post => Err(ArgoError::AlreadyExists),
        _ => Ok(workflow("plan-7", USER)),
    });
    let message = run(&world, &plan("7", USER, &[OPS], objective()));
    assert_eq!(message.content.as_deref(), Some("`/plan` already started workflow `plan-7` in `argo`."));
    assert_eq!(
        world.argo.paths(),
        [in_flight_list(), "POST /api/v1/workflows/argo/submit".into(), "GET /api/v1/workflows/argo/plan-7".into()]
    );
    assert_eq!(world.audit_events(), ["allowed", "submitted"]);
    assert_eq!(world.audits.borrow()[1]["existing"], true);
    assert_eq!(history::runs(&world.store, USER, world.now.get()).unwrap().len(), 1);
}

#[test]
fn an_existing_run_of_another_member_is_neither_recorded_nor_claimed() {
    let world = Memory::default();
    world.argo.answer(|r| match r.method {
        Method::Post => Err(ArgoError::AlreadyExists),
        _ => Ok(workflow("plan-7", "1200000000000000099")),
    });
    let message = run(&world, &plan("7", USER, &[OPS], objective()));
    assert_eq!(message.content.as_deref(), Some("`/plan` could not start its workflow."));
    assert!(text(&message).contains("A workflow named `plan-7` already exists and is not yours."));
    assert_eq!(world.audit_events(), ["allowed", "failed"]);
    assert!(history::runs(&world.store, USER, world.now.get()).unwrap().is_empty(), "not recorded as theirs");
    assert!(history::run_record(&world.store, "argo", "plan-7", world.now.get()).unwrap().is_none());
}

#[test]
fn argo_failures_are_explained_and_audited() {
    for (failure, explained) in [
        (
            Ok((403, br#"{"code":7,"message":"forbidden"}"#.to_vec())),
            "facteur is not allowed to run `facteur-dispatch` in namespace `argo` (403)",
        ),
        // No answer to the submit nor to the look-up: the outcome is unknown, and said so.
        (Err(ArgoError::Timeout), "facteur cannot tell whether `plan-1` started"),
        (Err(ArgoError::Unreachable("refused".into())), "facteur cannot tell whether `plan-1` started"),
    ] {
        let world = Memory::default();
        world.argo.answer(move |_| failure.clone());
        let message = run(&world, &plan("1", USER, &[OPS], objective()));
        assert!(text(&message).contains(explained), "{}", text(&message));
        assert_eq!(world.audit_events(), ["allowed", "failed"]);
        assert!(history::runs(&world.store, USER, world.now.get()).unwrap().is_empty());
    }
}

#[test]
fn the_wrong_command_and_other_interaction_types_are_answered_at_once() {
    let world = Memory::default();
    let catalog = Catalog::embedded();
    let review = catalog.command("review").unwrap();
    let answer = block_on(answer(&world, &settings(), review, &plan("1", USER, &[OPS], objective())));
    assert!(matches!(answer, Answer::Now(_)));
    assert!(world.argo.requests.borrow().is_empty());
}

/// An Argo that answers each request from a script, in order, per method.
fn scripted(
    world: &Memory,
    submits: Vec<Result<(u16, Vec<u8>), ArgoError>>,
    gets: Vec<Result<(u16, Vec<u8>), ArgoError>>,
) {
    let submits = std::cell::RefCell::new(submits.into_iter());
    let gets = std::cell::RefCell::new(gets.into_iter());
    world.argo.answer(move |r| {
        let next = if r.method == Method::Post { submits.borrow_mut().next() } else { gets.borrow_mut().next() };
        next.expect("no more scripted answers")
    });
}

fn not_found() -> Result<(u16, Vec<u8>), ArgoError> {
    Ok((404, br#"{"code":5,"message":"not found"}"#.to_vec()))
}

#[test]
fn a_submit_without_an_answer_that_reached_argo_is_reported_as_started_not_failed() {
    let world = Memory::default();
    scripted(&world, vec![Err(ArgoError::Timeout)], vec![Ok(workflow("plan-1", USER))]);
    let message = run(&world, &plan("1", USER, &[OPS], objective()));
    assert_eq!(message.content.as_deref(), Some("`/plan` started workflow `plan-1` in `argo`."));
    assert_eq!(
        world.argo.paths(),
        [in_flight_list(), "POST /api/v1/workflows/argo/submit".into(), "GET /api/v1/workflows/argo/plan-1".into()]
    );
    assert_eq!(world.audit_events(), ["allowed", "submitted"]);
    assert_eq!(history::runs(&world.store, USER, world.now.get()).unwrap().len(), 1, "remembered");
}

#[test]
fn a_submit_that_certainly_did_not_reach_argo_is_sent_again() {
    let world = Memory::default();
    scripted(
        &world,
        vec![Err(ArgoError::Unreachable("reset".into())), Ok(workflow("plan-1", USER))],
        vec![not_found()],
    );
    let message = run(&world, &plan("1", USER, &[OPS], objective()));
    assert_eq!(message.content.as_deref(), Some("`/plan` started workflow `plan-1` in `argo`."));
    let submits = world.argo.paths().iter().filter(|p| p.starts_with("POST")).count();
    assert_eq!(submits, 2);
}

#[test]
fn a_retry_that_finds_its_own_first_submit_reports_it_as_started() {
    let world = Memory::default();
    // The first submit reached Argo but its answer was lost, and so was the look-up's.
    scripted(
        &world,
        vec![Err(ArgoError::Timeout), Err(ArgoError::AlreadyExists)],
        vec![Err(ArgoError::Timeout), Ok(workflow("plan-1", USER))],
    );
    let message = run(&world, &plan("1", USER, &[OPS], objective()));
    assert_eq!(
        message.content.as_deref(),
        Some("`/plan` started workflow `plan-1` in `argo`."),
        "not `already started`"
    );
}

#[test]
fn only_a_run_that_certainly_does_not_exist_is_reported_as_not_started() {
    let world = Memory::default();
    scripted(&world, vec![Err(ArgoError::Timeout); 3], vec![not_found(), not_found(), not_found()]);
    let message = run(&world, &plan("1", USER, &[OPS], objective()));
    assert!(text(&message).contains("Argo cannot be reached right now"), "{}", text(&message));
    assert!(!text(&message).contains("may still start"));
    assert!(history::runs(&world.store, USER, world.now.get()).unwrap().is_empty());

    let unknown = Memory::default();
    scripted(&unknown, vec![Err(ArgoError::Timeout); 3], vec![Err(ArgoError::Timeout); 3]);
    let message = run(&unknown, &plan("1", USER, &[OPS], objective()));
    assert!(
        text(&message)
            .contains("facteur cannot tell whether `plan-1` started. Check with `/workflow status name:plan-1`"),
        "{}",
        text(&message)
    );
    assert_eq!(unknown.audit_events(), ["allowed", "failed"]);
}

#[test]
fn the_catalogs_limit_refuses_runs_past_it_with_when_to_retry_and_exempts_unlimited_roles() {
    let world = Memory::default();
    let catalog = Catalog::embedded();
    let command = catalog.command("plan").unwrap();
    let runs = command.workflow.as_ref().unwrap().limits.unwrap().member.unwrap().runs as usize;
    let policy = settings().policy;
    let admitted = (0..runs + 5)
        .filter(|i| admit(&world, &policy, command, &plan(&format!("{}", 10 + i), USER, &[OPS], objective())).is_ok())
        .count();
    assert_eq!(admitted, runs);
    let refusal = admit(&world, &policy, command, &plan("99", USER, &[OPS], objective())).unwrap_err();
    let window_end = world.now.get() - world.now.get() % 60 + 60;
    assert!(refusal.contains(&format!("Try again <t:{window_end}:R>")), "{refusal}");
    let last = world.audits.borrow().last().cloned().unwrap();
    assert_eq!((last["audit"].as_str(), last["limit"].as_str()), (Some("limited"), Some("member")));
    assert!(admit(&world, &policy, command, &plan("100", "1200000000000000001", &[OPS], objective())).is_ok());
    let admin = "140000000000000002";
    let policy = Policy {
        role_map: RoleMap::parse(&json!({"plan": [OPS, admin], "unlimited": [admin]}).to_string()).unwrap(),
        ..Policy::default()
    };
    assert!(admit(&world, &policy, command, &plan("101", USER, &[admin], objective())).is_ok(), "exempt");
}

#[test]
fn the_granting_roles_identity_submits_with_its_service_account_and_token() {
    use crate::identities::{Identities, Identity};
    let world = Memory::default();
    world.argo.answer(|_| Ok(workflow("plan-1", USER)));
    let catalog = Catalog::embedded();
    let command = catalog.command("plan").unwrap();
    let mut settings = settings();
    let deployer = Identity { service_account: Some("deployer".into()), authorization: Some("Bearer dep".into()) };
    settings.argo.identities = Identities { roles: [(OPS.to_owned(), deployer)].into(), ..Identities::default() };
    settings.argo.service_account = Some("facteur-workflows".into());
    let interaction = plan("1", USER, &["9", OPS], objective());
    let submission = admit(&world, &settings.policy, command, &interaction).unwrap();
    block_on(submit(&world, &settings, command, &interaction, &submission, world.now.get()));
    let (request, authorization) = submitted(&world);
    assert_eq!(request.body.unwrap()["submitOptions"]["serviceAccount"], "deployer");
    assert_eq!(authorization.as_deref(), Some("Bearer dep"));
    assert!(world.argo.authorizations.borrow().iter().all(|a| a.as_deref() == Some("Bearer dep")), "the list too");
}

#[test]
fn commands_from_kafka_share_the_members_limit() {
    use crate::events::{CommandEvent, DiscordMember, DiscordUser};
    let world = Memory::default();
    world.argo.answer(|_| Ok(workflow("plan-1", USER)));
    let catalog = Catalog::embedded();
    let runs = catalog.command("plan").unwrap().workflow.as_ref().unwrap().limits.unwrap().member.unwrap().runs;
    let event = |i: u64| CommandEvent {
        provider: "discord".into(),
        interaction_id: (1_190_000_000_000_000_100 + i).to_string(),
        application_id: "1170000000000000000".into(),
        command: "plan".into(),
        token: format!("tok-{i}"),
        options: [("objective".to_owned(), "Ship it".to_owned())].into(),
        guild_id: "1100000000000000000".into(),
        channel_id: "1110000000000000000".into(),
        user: Some(DiscordUser { id: USER.into(), username: "ada".into(), ..DiscordUser::default() }),
        member: Some(DiscordMember { id: USER.into(), roles: vec![OPS.into()] }),
        ..CommandEvent::default()
    };
    // The member already ran it once over HTTP in this window.
    assert!(
        admit(&world, &settings().policy, catalog.command("plan").unwrap(), &plan("9", USER, &[OPS], objective()))
            .is_ok()
    );
    let outcomes: Vec<_> =
        (0..runs + 2).map(|i| block_on(run_event(&world, &settings(), &catalog, &event(i)))).collect();
    let limited = outcomes.iter().filter(|o| text(&o.message).contains("Try again <t:")).count();
    assert_eq!(limited as u64, 3, "the HTTP run and the events count against one limit");
    let submits = world.argo.requests.borrow().iter().filter(|(r, _)| r.method == Method::Post).count();
    assert_eq!(submits as u64, runs - 1);
}

#[test]
fn a_run_that_exists_but_cannot_be_read_is_never_reported_as_not_started() {
    // Under load: the first submit took effect but its answer was late, so was the look-up's;
    // the second submit says it exists (409) and the look-up after it is lost as well.
    let world = Memory::default();
    scripted(
        &world,
        vec![Err(ArgoError::Timeout), Err(ArgoError::AlreadyExists)],
        vec![Err(ArgoError::Timeout), Err(ArgoError::Unreachable("reset".into()))],
    );
    let message = run(&world, &plan("1", USER, &[OPS], objective()));
    assert_eq!(message.content.as_deref(), Some("`/plan` could not confirm whether its workflow started."));
    assert!(text(&message).contains("/workflow status name:plan-1"), "{}", text(&message));
}

#[test]
fn a_member_with_the_cap_s_runs_in_flight_is_told_and_nothing_is_submitted() {
    let world = Memory::default();
    world.argo.answer(|r| Ok(workflow(r.body.as_ref().unwrap()["submitOptions"]["name"].as_str().unwrap(), USER)));
    let running: Vec<String> = (0..10).map(|i| format!("plan-{i}")).collect();
    *world.argo.in_flight.borrow_mut() = Ok(running);
    let message = run(&world, &plan("11", USER, &[OPS], objective()));
    assert_eq!(
        message.content.as_deref(),
        Some(
            "`/plan`: You have 10 runs in flight, the most allowed at once. Try again when one ends (`/workflow list` shows them)."
        )
    );
    assert_eq!(world.argo.paths(), [in_flight_list()], "nothing submitted");
    assert_eq!(world.audit_events(), ["allowed", "limited"]);
    assert_eq!(world.audits.borrow()[1]["in_flight"], 10);
    assert!(history::runs(&world.store, USER, world.now.get()).unwrap().is_empty());
}

#[test]
fn exempt_members_and_dry_runs_are_not_counted_in_flight() {
    let catalog = Catalog::embedded();
    let command = catalog.command("plan").unwrap();
    let mut exempt = settings();
    exempt.policy.role_map = RoleMap::parse(&json!({"plan": [OPS], "unlimited": [OPS]}).to_string()).unwrap();
    let dry = json!([{"name": "objective", "type": 3, "value": "Ship"}, {"name": "dry_run", "type": 5, "value": true}]);
    for (settings, options) in [(exempt, objective()), (settings(), dry)] {
        let world = Memory::default();
        world.argo.answer(|r| Ok(workflow(r.body.as_ref().unwrap()["submitOptions"]["name"].as_str().unwrap(), USER)));
        *world.argo.in_flight.borrow_mut() = Err(ArgoError::Timeout);
        let interaction = plan("12", USER, &[OPS], options);
        let submission = admit(&world, &settings.policy, command, &interaction).unwrap();
        let message = block_on(submit(&world, &settings, command, &interaction, &submission, world.now.get()));
        let content = message.content.unwrap();
        assert!(content.contains("`plan-12`") || content.starts_with("Dry run of `/plan`: Argo accepted"), "{content}");
        assert_eq!(world.argo.paths(), ["POST /api/v1/workflows/argo/submit"]);
    }
}

#[test]
fn when_argo_does_not_list_the_runs_in_flight_nothing_is_submitted_and_argo_s_reason_is_given() {
    for (error, explained) in [
        (
            ArgoError::Timeout,
            "Argo did not answer in time when facteur counted the runs in flight; nothing was started.",
        ),
        (ArgoError::Unreachable("reset".into()), "Argo cannot be reached right now."),
        (
            ArgoError::Rejected { status: 403, message: "forbidden".into() },
            "facteur is not allowed to list workflows in namespace `argo` (403)",
        ),
    ] {
        let world = Memory::default();
        world.argo.answer(|r| Ok(workflow(r.body.as_ref().unwrap()["submitOptions"]["name"].as_str().unwrap(), USER)));
        *world.argo.in_flight.borrow_mut() = Err(error);
        let message = run(&world, &plan("13", USER, &[OPS], objective()));
        assert_eq!(message.content.as_deref(), Some("`/plan` could not start its workflow."));
        assert!(text(&message).contains(explained), "{}", text(&message));
        assert_eq!(world.argo.paths(), [in_flight_list()], "nothing submitted");
        assert_eq!(world.audit_events(), ["allowed", "failed"]);
    }
}
