//! Where a run's completion goes, and whom it pings: the requester alone.

use serde_json::json;

use super::*;
use crate::ports::memory::{Memory, ORIGINAL_ID, THREAD_ID, block_on};

const REQUESTER: &str = "1200000000000000000";

fn record() -> RunRecord {
    RunRecord {
        command: "plan".into(),
        interaction_id: "1190000000000000001".into(),
        application_id: "2".into(),
        channel_id: Some("6".into()),
        user_id: Some(REQUESTER.into()),
        expires_at: u64::MAX,
    }
}

fn run<'a>(record: &'a RunRecord, token_valid: bool, phase: &str, threads: bool) -> Run<'a> {
    let reply = token_valid.then(|| Reply { token: "t".into(), expires_at: u64::MAX });
    Run { record, reply, workflow: "plan-1", phase: Phase::parse(phase), threads }
}

fn status() -> Message {
    Message::new("`/plan` run `plan-1` **Failed** <t:1800000000:R>, after 2m 05s.")
}

fn mentions(message: &Message) -> serde_json::Value {
    serde_json::to_value(message).unwrap()["allowed_mentions"].clone()
}

#[test]
fn while_the_token_is_valid_the_message_is_edited_and_a_follow_up_pings_the_requester_only() {
    let world = Memory::default();
    let record = record();
    block_on(tell(&world, run(&record, true, "Failed", false), status())).unwrap();
    let edits = world.discord.edits.borrow();
    assert_eq!(edits.len(), 1);
    assert_eq!(mentions(&edits[0].2), json!({"parse": []}), "an edit pings nobody, so it mentions nobody");
    let follow_ups = world.discord.follow_ups.borrow();
    let ping = &follow_ups[0].2;
    assert_eq!(
        ping.content.as_deref(),
        Some("<@1200000000000000000> `/plan` run `plan-1` **Failed** <t:1800000000:R>, after 2m 05s.")
    );
    assert_eq!(mentions(ping), json!({"parse": [], "users": [REQUESTER]}));
    assert!(world.discord.posts.borrow().is_empty());
}

#[test]
fn after_the_token_the_channel_post_itself_pings_and_running_phases_ping_nobody() {
    let world = Memory::default();
    let record = record();
    block_on(tell(&world, run(&record, false, "Succeeded", false), status())).unwrap();
    let posts = world.discord.posts.borrow();
    assert_eq!((posts.len(), posts[0].0.as_str()), (1, "6"));
    assert_eq!(mentions(&posts[0].1), json!({"parse": [], "users": [REQUESTER]}));
    drop(posts);

    let running = Memory::default();
    block_on(tell(&running, run(&record, true, "Running", false), status())).unwrap();
    assert_eq!(running.discord.edits.borrow().len(), 1);
    assert!(running.discord.follow_ups.borrow().is_empty(), "not final: no ping");
}

#[test]
fn with_threads_the_completion_goes_to_the_runs_thread() {
    let world = Memory::default();
    let record = record();
    block_on(tell(&world, run(&record, true, "Failed", true), status())).unwrap();
    assert_eq!(
        *world.discord.threads.borrow(),
        [("6".to_owned(), Some(ORIGINAL_ID.to_owned()), "plan-1".to_owned())],
        "on the run's message"
    );
    assert_eq!(world.discord.edits.borrow().len(), 1, "the run's message is updated too");
    let posts = world.discord.posts.borrow();
    assert_eq!(posts[0].0, ORIGINAL_ID, "a thread on a message has the message's id");
    assert_eq!(mentions(&posts[0].1), json!({"parse": [], "users": [REQUESTER]}));

    let late = Memory::default();
    block_on(tell(&late, run(&record, false, "Failed", true), status())).unwrap();
    assert_eq!(*late.discord.threads.borrow(), [("6".to_owned(), None, "plan-1".to_owned())], "in the channel");
    assert_eq!(late.discord.posts.borrow()[0].0, THREAD_ID, "only in the thread");
    assert_eq!(late.discord.posts.borrow().len(), 1);
}

#[test]
fn without_a_bot_token_there_is_no_thread_and_the_log_says_so() {
    let world = Memory::default();
    world.discord.no_bot_token.set(true);
    let record = record();
    block_on(tell(&world, run(&record, true, "Succeeded", true), status())).unwrap();
    assert!(world.logs.borrow()[0].contains("no thread for plan-1: no bot token is configured"), "{:?}", world.logs);
    assert_eq!(world.discord.edits.borrow().len(), 1);
    assert_eq!(mentions(&world.discord.follow_ups.borrow()[0].2), json!({"parse": [], "users": [REQUESTER]}));
}

#[test]
fn an_id_discord_answers_that_is_not_a_snowflake_starts_no_thread() {
    let world = Memory::default();
    *world.discord.original_id.borrow_mut() = Some("../../users/@me".into());
    let record = record();
    block_on(tell(&world, run(&record, true, "Failed", true), status())).unwrap();
    assert!(world.discord.threads.borrow().is_empty(), "no bot-token call with that id in its path");
    assert!(world.logs.borrow()[0].contains("no thread for plan-1: Discord answered an id that is not a snowflake"));
    assert_eq!(world.discord.edits.borrow().len(), 1);
    assert_eq!(mentions(&world.discord.follow_ups.borrow()[0].2), json!({"parse": [], "users": [REQUESTER]}));
}

#[test]
fn a_refreshed_finished_run_names_its_requester() {
    let workflow = |phase: &str| -> Workflow {
        serde_json::from_value(json!({
            "metadata": {"name": "plan-1", "namespace": "argo", "labels": {
                "facteur.dev/command": "plan", "facteur.dev/user-id": REQUESTER}},
            "status": {"phase": phase}
        }))
        .unwrap()
    };
    let done = mention_requester(Message::new("`plan-1` is **Succeeded**."), &workflow("Succeeded"));
    assert_eq!(done.content.as_deref(), Some("<@1200000000000000000> `plan-1` is **Succeeded**."));
    assert_eq!(mentions(&done), json!({"parse": [], "users": [REQUESTER]}));
    let running = mention_requester(Message::new("`plan-1` is **Running**."), &workflow("Running"));
    assert_eq!(mentions(&running), json!({"parse": []}));
}
