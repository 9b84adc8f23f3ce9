use std::collections::BTreeMap;

use prost::Message as _;

use super::*;
use crate::catalog::Catalog;
use crate::discord::OptionValue;

fn event() -> CommandEvent {
    CommandEvent {
        provider: "discord".into(),
        interaction_id: "1190000000000000001".into(),
        application_id: "2".into(),
        command: "plan".into(),
        token: "tok".into(),
        options: BTreeMap::from([("objective".into(), "Ship".into()), ("dry_run".into(), "true".into())]),
        guild_id: "5".into(),
        channel_id: "6".into(),
        user: Some(DiscordUser { id: "7".into(), username: "ada".into(), ..DiscordUser::default() }),
        member: Some(DiscordMember { id: "7".into(), roles: vec!["140000000000000001".into()] }),
        timestamp: "2026-11-27T08:15:30.123Z".into(),
        ..CommandEvent::default()
    }
}

#[test]
fn protobuf_round_trip_and_interaction() {
    let bytes = event().encode_to_vec();
    let Event::Command(decoded) = decode(&bytes).unwrap() else { panic!("a command") };
    assert_eq!(*decoded, event());
    let interaction = decoded.to_interaction(&Catalog::embedded());
    assert_eq!(interaction.command_name(), Some("plan"));
    assert_eq!(interaction.roles().unwrap(), ["140000000000000001"]);
    assert_eq!(interaction.user_id(), Some("7"));
    assert_eq!(interaction.option("dry_run"), Some(&OptionValue::Boolean(true)));
    assert_eq!(decoded.received_at(), Some(1_795_767_330));
    let submission = Catalog::embedded().command("plan").unwrap().submission(&interaction).unwrap();
    assert!(submission.dry_run);
}

#[test]
fn json_form_in_both_spellings() {
    let camel =
        br#"{"interactionId":"9","applicationId":"2","command":"plan","token":"t","options":{"objective":"Ship"},
                     "member":{"id":"7","roles":["140000000000000001"]},"user":{"id":"7","username":"ada"}}"#;
    let snake =
        br#"{"interaction_id":"9","application_id":"2","command":"plan","token":"t","options":{"objective":"Ship"}}"#;
    for json in [camel.as_slice(), snake.as_slice()] {
        let Event::Command(e) = decode(json).unwrap() else { panic!("a command") };
        assert_eq!((e.interaction_id.as_str(), e.options["objective"].as_str()), ("9", "Ship"));
    }
}

#[test]
fn lifecycle_events() {
    let e =
        decode(br#"{"workflow":"plan-1","namespace":"argo","phase":"Succeeded","finishedAt":"2026-11-27T08:00:00Z"}"#)
            .unwrap();
    assert_eq!(
        e,
        Event::Lifecycle(LifecycleEvent {
            workflow: "plan-1".into(),
            namespace: "argo".into(),
            phase: "Succeeded".into(),
            started_at: None,
            finished_at: Some("2026-11-27T08:00:00Z".into()),
            message: None
        })
    );
}

#[test]
fn undecodable_messages_say_why() {
    assert!(decode(b"\xff\xfe garbage \x00\x01").unwrap_err().starts_with("not a CommandEvent protobuf"));
    assert!(decode(b"{not json").unwrap_err().starts_with("invalid JSON"));
    assert_eq!(decode(br#"{"hello":1}"#).unwrap_err(), "JSON message is neither a CommandEvent nor a lifecycle event");
    assert_eq!(decode(b"").unwrap_err(), "CommandEvent without command or interaction id");
    assert_eq!(
        decode(br#"{"workflow":"","namespace":"a","phase":"x"}"#).unwrap_err(),
        "lifecycle event without workflow, namespace or phase"
    );
}

#[test]
fn subcommand_options_are_nested() {
    let mut e = event();
    e.command = "workflow".into();
    e.options = BTreeMap::from([("logs.name".into(), "plan-1".into()), ("logs.tail".into(), "20".into())]);
    let i = e.to_interaction(&Catalog::embedded());
    assert_eq!(i.subcommand_path(), ["logs"]);
    assert_eq!(i.option("tail"), Some(&OptionValue::Integer(20)));
}

// Queue trust: kinds, ids, age (issue 15, item 2).

fn fresh(now: u64) -> CommandEvent {
    let mut e = event();
    e.application_id = "1170000000000000000".into();
    e.guild_id = "1100000000000000000".into();
    e.channel_id = "1110000000000000000".into();
    e.timestamp = "2026-11-27T08:15:30Z".into();
    assert_eq!(e.received_at(), Some(now - 10));
    e
}

const NOW: u64 = 1_795_767_340;
const LIFECYCLE: &[u8] = br#"{"workflow":"plan-1","namespace":"argo","phase":"Succeeded"}"#;

#[test]
fn kinds_are_named_by_the_accepts_variable() {
    assert_eq!(Kind::parse("commands"), Some(Kind::Command));
    assert_eq!(Kind::parse("lifecycle"), Some(Kind::Lifecycle));
    assert_eq!(Kind::parse("command"), None);
    assert_eq!(Kind::Command.name(), "commands");
    assert_eq!(decode(LIFECYCLE).unwrap().kind(), Kind::Lifecycle);
    assert_eq!(decode(&event().encode_to_vec()).unwrap().kind(), Kind::Command);
}

#[test]
fn every_id_must_be_a_snowflake() {
    assert_eq!(fresh(NOW).check_ids(), Ok(()));
    let refused = |change: fn(&mut CommandEvent)| {
        let mut e = fresh(NOW);
        change(&mut e);
        e.check_ids().unwrap_err().to_string()
    };
    assert_eq!(
        refused(|e| e.channel_id = "../../users/@me".into()),
        "`channel_id` is not a Discord snowflake: `../../users/@me`"
    );
    assert_eq!(refused(|e| e.interaction_id = "1/2".into()), "`interaction_id` is not a Discord snowflake: `1/2`");
    assert_eq!(refused(|e| e.application_id.clear()), "`application_id` is not a Discord snowflake: ``");
    assert_eq!(refused(|e| e.guild_id = "-5".into()), "`guild_id` is not a Discord snowflake: `-5`");
    assert_eq!(
        refused(|e| e.user.as_mut().unwrap().id = "7\nforged log line".into()),
        "`user.id` is not a Discord snowflake: `7?forged log line`"
    );
    assert_eq!(refused(|e| e.member.as_mut().unwrap().id = "x".into()), "`member.id` is not a Discord snowflake: `x`");
    assert_eq!(
        refused(|e| e.member.as_mut().unwrap().roles.push("18446744073709551616".into())),
        "`member.roles` is not a Discord snowflake: `18446744073709551616`"
    );
    let long = refused(|e| e.channel_id = "9".repeat(100));
    assert!(long.ends_with(&format!("`{}…`", "9".repeat(64))), "{long}");
    // Absent optional ids are fine (a DM has no guild; an event may name no channel).
    let mut e = fresh(NOW);
    (e.guild_id, e.channel_id, e.user, e.member) = (String::new(), String::new(), None, None);
    assert_eq!(e.check_ids(), Ok(()));
}

#[test]
fn a_token_that_would_change_a_url_path_is_refused() {
    for token in ["a/b", "..", ".", "t?x=1", "t#f", "t%2F", "t\\u", "t n", "t\n", &"t".repeat(1001)] {
        let mut e = fresh(NOW);
        e.token = token.to_owned();
        assert_eq!(e.check_ids(), Err(Refusal::InvalidToken), "{token:?}");
    }
    for token in ["", "aW50ZXJhY3Rpb246MTE5MDAwMDAwMDAwMDAwMDAwMTpabc_-.~", "token-1190000000000000001"] {
        let mut e = fresh(NOW);
        e.token = token.to_owned();
        assert_eq!(e.check_ids(), Ok(()), "{token:?}");
    }
}

#[test]
fn events_older_than_the_limit_or_without_a_timestamp_are_refused() {
    let e = fresh(NOW);
    assert_eq!(e.check_age(NOW, 900), Ok(10));
    assert_eq!(e.check_age(NOW + 890, 900), Ok(900), "exactly the limit is accepted");
    assert_eq!(e.check_age(NOW + 891, 900), Err(Refusal::TooOld { age: 901, max_age: 900 }));
    assert_eq!(
        e.check_age(NOW + 3590, 900).unwrap_err().to_string(),
        "3600 s old, older than `event_max_age_secs` (900 s)"
    );
    assert_eq!(e.check_age(NOW - 70, 900), Ok(0), "up to a minute of clock skew");
    assert_eq!(e.check_age(NOW - 71, 900), Err(Refusal::FromTheFuture { ahead: 61 }));
    let mut none = fresh(NOW);
    none.timestamp.clear();
    assert_eq!(none.check_age(NOW, 900).unwrap_err().to_string(), "no `timestamp`: its age cannot be checked");
    let mut bad = fresh(NOW);
    bad.timestamp = "yesterday".into();
    assert_eq!(bad.check_age(NOW, 900).unwrap_err().to_string(), "`timestamp` `yesterday` is not an RFC 3339 UTC time");
    // Any clock, any timestamp: no overflow.
    assert_eq!(e.check_age(u64::MAX, u64::MAX), Ok(u64::MAX - (NOW - 10)));
    assert_eq!(e.check_age(0, 0), Err(Refusal::FromTheFuture { ahead: NOW - 10 }));
    // Ids first: an event with a bad id is refused for it whatever its age.
    let mut both = fresh(NOW);
    both.channel_id = "x".into();
    both.timestamp.clear();
    assert!(matches!(both.screen(&Catalog::embedded(), NOW, 900), Err(Refusal::InvalidId { field: "channel_id", .. })));
}

#[test]
fn each_bridge_route_publishes_only_its_kind() {
    let command = fresh(NOW).encode_to_vec();
    assert_eq!(admit_record(Kind::Command, &command).unwrap().kind(), Kind::Command);
    assert_eq!(admit_record(Kind::Lifecycle, LIFECYCLE).unwrap().kind(), Kind::Lifecycle);
    assert_eq!(
        admit_record(Kind::Lifecycle, &command).unwrap_err(),
        "this route takes lifecycle events only, not a CommandEvent"
    );
    assert_eq!(
        admit_record(Kind::Command, LIFECYCLE).unwrap_err(),
        "this route takes CommandEvents only, not a lifecycle event"
    );
    let mut bad = fresh(NOW);
    bad.channel_id = "../../users/@me".into();
    assert_eq!(
        admit_record(Kind::Command, &bad.encode_to_vec()).unwrap_err(),
        "CommandEvent refused: `channel_id` is not a Discord snowflake: `../../users/@me`"
    );
    assert_eq!(
        admit_record(Kind::Command, br#"{"hello":1}"#).unwrap_err(),
        "JSON message is neither a CommandEvent nor a lifecycle event"
    );
    // The producer's contract is: options that do not map onto the command's.
    let mut unmappable = fresh(NOW);
    unmappable.options = BTreeMap::from([("payload".into(), "[1]".into())]);
    assert_eq!(
        admit_record(Kind::Command, &unmappable.encode_to_vec()).unwrap_err(),
        "CommandEvent refused: `payload` is not a JSON object"
    );
    // Not the values: the worker tells the member what is wrong with them.
    unmappable.options = BTreeMap::from([("content".into(), "x".into())]);
    assert!(admit_record(Kind::Command, &unmappable.encode_to_vec()).is_ok());
    // The age is not the bridge's to judge (Knative may hold a record while it retries).
    let mut old = fresh(NOW);
    old.timestamp = "2001-01-01T00:00:00Z".into();
    assert!(admit_record(Kind::Command, &old.encode_to_vec()).is_ok());
}

mod worker {
    use super::*;
    use crate::command::{self, CommandSettings};
    use crate::policy::{Policy, RoleMap};
    use crate::ports::memory::{Memory, block_on};

    /// What the worker component does with a message (components/worker/src/lib.rs): the dead
    /// letter it writes, if any.
    fn handle(world: &Memory, kind: Kind, payload: &[u8]) -> Option<DeadLetter> {
        let settings = CommandSettings {
            policy: Policy {
                role_map: RoleMap::parse(r#"{"plan": ["140000000000000001"]}"#).unwrap(),
                ..Policy::default()
            },
            argo: crate::ports::memory::argo_settings(),
            history_ttl: 3600,
            trace: Default::default(),
        };
        match accept(world, &Catalog::embedded(), kind, payload, 900) {
            Ok(Event::Command(event)) => {
                let settings = CommandSettings { trace: event.trace(), ..settings };
                let done = block_on(command::run_event(world, &settings, &Catalog::embedded(), &event));
                block_on(command::deliver(world, &done.to, &done.message)).unwrap();
                done.refused.map(|reason| DeadLetter::command(&event, reason))
            }
            Ok(Event::Lifecycle(event)) => {
                block_on(crate::runs::announce(world, &settings.argo.ui_url, &event)).unwrap();
                None
            }
            Err(letter) => Some(letter),
        }
    }

    fn world() -> Memory {
        let world = Memory::default();
        world.now.set(NOW);
        world
    }

    /// Argo answers every submit with the run of interaction `1190000000000000001`.
    fn argo_starts_the_plan(world: &Memory) {
        world
            .argo
            .answer(|_| Ok((200, br#"{"metadata":{"name":"plan-1190000000000000001","namespace":"argo"}}"#.to_vec())));
    }

    /// The parameters of the submit Argo received.
    fn submitted_parameters(world: &Memory) -> serde_json::Value {
        let requests = world.argo.requests.borrow();
        let submit = requests.iter().find(|(r, _)| r.method == crate::argo::Method::Post).expect("submitted");
        submit.0.body.as_ref().unwrap()["submitOptions"]["parameters"].clone()
    }

    fn untouched(world: &Memory) {
        assert!(world.argo.requests.borrow().is_empty(), "nothing submitted");
        assert!(world.discord.edits.borrow().is_empty() && world.discord.posts.borrow().is_empty(), "no Discord call");
        assert!(world.store.0.borrow().is_empty(), "nothing stored");
        assert!(world.audits.borrow().is_empty(), "no decision taken");
    }

    #[test]
    fn a_fresh_valid_event_goes_through() {
        let world = world();
        argo_starts_the_plan(&world);
        handle(&world, Kind::Command, &fresh(NOW).encode_to_vec());
        assert_eq!(world.argo.paths(), ["POST /api/v1/workflows/argo/submit"]);
        assert_eq!(world.discord.edits.borrow().len(), 1);
    }

    #[test]
    fn an_event_s_trace_and_correlation_ids_are_annotations_of_its_workflow() {
        let world = world();
        argo_starts_the_plan(&world);
        let mut event = fresh(NOW);
        event.trace_id = "4bf92f3577b34da6a3ce929d0e0e4736".into();
        event.correlation_id = "corr-42".into();
        handle(&world, Kind::Command, &event.encode_to_vec());
        let requests = world.argo.requests.borrow();
        let body = requests[0].0.body.as_ref().unwrap();
        assert_eq!(
            body["submitOptions"]["annotations"],
            "facteur.dev/username=ada,facteur.dev/trace-id=4bf92f3577b34da6a3ce929d0e0e4736,facteur.dev/correlation-id=corr-42"
        );
    }

    #[test]
    fn a_command_event_on_the_lifecycle_channel_is_dropped() {
        let world = world();
        handle(&world, Kind::Lifecycle, &fresh(NOW).encode_to_vec());
        untouched(&world);
        assert_eq!(
            *world.logs.borrow(),
            [
                "refused CommandEvent `1190000000000000001` (`/plan`): it arrived on the lifecycle channel, which carries lifecycle events only; dropped"
            ]
        );
    }

    #[test]
    fn a_lifecycle_event_on_the_commands_channel_is_dropped() {
        let world = world();
        handle(&world, Kind::Command, LIFECYCLE);
        untouched(&world);
        assert_eq!(
            *world.logs.borrow(),
            [
                "refused lifecycle event `argo/plan-1` (Succeeded): it arrived on the commands channel, which carries CommandEvents only; dropped"
            ]
        );
    }

    #[test]
    fn a_stale_event_is_dropped_with_its_id_and_age() {
        let world = world();
        world.now.set(NOW + 3590);
        handle(&world, Kind::Command, &fresh(NOW).encode_to_vec());
        untouched(&world);
        assert_eq!(
            *world.logs.borrow(),
            [
                "refused CommandEvent `1190000000000000001` (`/plan`): 3600 s old, older than `event_max_age_secs` (900 s); dropped"
            ]
        );
    }

    #[test]
    fn an_event_without_a_timestamp_is_dropped() {
        let world = world();
        let mut e = fresh(NOW);
        e.timestamp.clear();
        handle(&world, Kind::Command, &e.encode_to_vec());
        untouched(&world);
        assert!(world.logs.borrow()[0].ends_with("no `timestamp`: its age cannot be checked; dropped"));
    }

    #[test]
    fn a_bad_channel_id_never_reaches_discord() {
        let world = world();
        // Old enough that the reply would go to the channel with the bot token.
        let mut e = fresh(NOW);
        e.channel_id = "../../users/@me".into();
        e.token.clear();
        handle(&world, Kind::Command, &e.encode_to_vec());
        untouched(&world);
        assert_eq!(
            *world.logs.borrow(),
            [
                "refused CommandEvent `1190000000000000001` (`/plan`): `channel_id` is not a Discord snowflake: `../../users/@me`; dropped"
            ]
        );
    }

    #[test]
    fn undecodable_messages_are_dropped_with_the_reason() {
        let world = world();
        handle(&world, Kind::Command, b"{nope");
        untouched(&world);
        assert!(world.logs.borrow()[0].starts_with("dropped a message of 5 bytes: invalid JSON"));
    }

    // The producer's real events, dead letters, correlation (issue 18, item 7).

    /// The producer's `/plan` from its modal: `content` and a JSON `payload`.
    fn modal_plan(now: u64) -> CommandEvent {
        let mut e = fresh(now);
        let payload = r#"{"stage":"implementation","prompt":"Ship it","title":"Ship it","repository":"lab/facteur",
            "issueNumber":"","postToGithub":false,"runId":"1190000000000000001","issuedAt":"2026-11-27T08:15:30Z",
            "guildId":"1100000000000000000","channelId":"1110000000000000000","user":{"id":"7","username":"ada"}}"#;
        e.options = BTreeMap::from([("content".into(), "Ship it".into()), ("payload".into(), payload.into())]);
        e.correlation_id = "corr-42".into();
        e.trace_id = "4bf92f3577b34da6a3ce929d0e0e4736".into();
        e
    }

    #[test]
    fn the_producer_s_longest_modal_content_submits_with_its_lines() {
        // Its modal's paragraph input takes 10 to 4,000 characters, over several lines.
        let world = world();
        argo_starts_the_plan(&world);
        let content = format!("Goal\n{}", "x".repeat(3995));
        let mut event = modal_plan(NOW);
        event.options.insert("content".into(), content.clone());
        assert_eq!(handle(&world, Kind::Command, &event.encode_to_vec()), None);
        assert_eq!(submitted_parameters(&world)[1], format!("objective={content}"));
    }

    #[test]
    fn the_producer_s_plan_submits_the_mapped_parameters_and_replies_with_its_ids() {
        let world = world();
        argo_starts_the_plan(&world);
        assert_eq!(handle(&world, Kind::Command, &modal_plan(NOW).encode_to_vec()), None);
        assert_eq!(
            submitted_parameters(&world),
            serde_json::json!(["action=plan", "objective=Ship it", "project=lab/facteur"])
        );
        let edits = world.discord.edits.borrow();
        assert_eq!(
            edits[0].2.content.as_deref(),
            Some(
                "`/plan` started workflow `plan-1190000000000000001` in `argo`.\n-# correlation `corr-42` · trace `4bf92f3577b34da6a3ce929d0e0e4736`"
            )
        );
    }

    #[test]
    fn what_the_worker_refuses_becomes_a_dead_letter_without_the_token() {
        let world = world();
        let letter = handle(&world, Kind::Command, b"{nope").unwrap();
        assert!(letter.reason.starts_with("invalid JSON"));
        assert_eq!(letter.fields()[1], ("bytes", "5".to_owned()));
        // Stale: kept whole but for the token, in the JSON form the worker reads.
        world.now.set(NOW + 3590);
        let letter = handle(&world, Kind::Command, &modal_plan(NOW).encode_to_vec()).unwrap();
        assert_eq!(letter.reason, "3600 s old, older than `event_max_age_secs` (900 s)");
        let (field, kept) = &letter.fields()[1];
        assert_eq!(*field, "event");
        assert!(!kept.contains("tok"), "{kept}");
        let Event::Command(again) = decode(kept.as_bytes()).unwrap() else { panic!("a CommandEvent") };
        assert_eq!(*again, CommandEvent { token: String::new(), ..modal_plan(NOW) });
        // Unmappable options: refused before anything is done.
        world.now.set(NOW);
        let mut e = modal_plan(NOW);
        e.options.insert("payload".into(), r#"{"action":"delete"}"#.into());
        let letter = handle(&world, Kind::Command, &e.encode_to_vec()).unwrap();
        assert_eq!(letter.reason, "`payload.action` is not an option of `/plan`");
        untouched(&world);
        // Refused by the role map: the member is told, and the refusal kept.
        let mut e = modal_plan(NOW);
        e.member.as_mut().unwrap().roles = vec!["140000000000000009".into()];
        let letter = handle(&world, Kind::Command, &e.encode_to_vec()).unwrap();
        assert_eq!(letter.reason, "You do not have a role that may run `/plan`. Ask a server admin to grant one.");
        assert_eq!(world.discord.edits.borrow().len(), 1);
        assert!(world.argo.requests.borrow().is_empty());
    }
}

#[test]
fn debug_output_has_no_token() {
    assert!(!format!("{:?}", event()).contains("tok"));
}
