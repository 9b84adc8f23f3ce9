use super::*;
use crate::ports::memory::{Memory, block_on};

fn recipient(world: &Memory) -> Recipient {
    Recipient {
        interaction_id: "1".into(),
        command: "plan".into(),
        application_id: "2".into(),
        token: "t".into(),
        token_expires_at: world.now.get() + 1,
        channel_id: Some("8".into()),
        public: true,
    }
}

#[test]
fn the_message_is_edited_while_the_token_lives_and_the_port_retries_until_it_expires() {
    let world = Memory::default();
    let to = recipient(&world);
    block_on(deliver(&world, &to, &Message::new("one"))).unwrap();
    assert_eq!(world.discord.edits.borrow()[0].1, "t");
    assert_eq!(*world.discord.edit_deadlines.borrow(), [to.token_expires_at], "retried until the token expires");
    assert!(world.discord.posts.borrow().is_empty() && world.audits.borrow().is_empty());
}

#[test]
fn an_edit_that_never_got_through_is_posted_in_the_channel_with_the_bot_token() {
    let world = Memory::default();
    world.discord.fail.set(true);
    block_on(deliver(&world, &recipient(&world), &Message::new("started"))).unwrap();
    assert_eq!(world.discord.posts.borrow()[0].0, "8");
    assert!(world.logs.borrow()[0].starts_with("could not edit the reply to interaction 1: "));
    assert!(world.audits.borrow().is_empty(), "delivered: nothing to account for");
}

#[test]
fn once_the_token_expired_the_reply_goes_straight_to_the_channel() {
    let world = Memory::default();
    let to = recipient(&world);
    world.now.set(to.token_expires_at);
    block_on(deliver(&world, &to, &Message::new("two"))).unwrap();
    assert!(world.discord.edit_deadlines.borrow().is_empty(), "no edit with an expired token");
    assert_eq!(world.discord.posts.borrow().len(), 1);
}

/// The audit line of the one undeliverable reply in `world`.
fn undeliverable(world: &Memory) -> serde_json::Value {
    assert_eq!(world.audit_events(), ["undeliverable"]);
    world.audits.borrow()[0].clone()
}

#[test]
fn without_a_bot_token_an_undelivered_reply_is_audited_with_its_interaction_id_never_its_token() {
    let world = Memory::default();
    world.discord.fail.set(true);
    world.discord.no_bot_token.set(true);
    let error = block_on(deliver(&world, &recipient(&world), &Message::new("three"))).unwrap_err();
    let audit = undeliverable(&world);
    assert_eq!((audit["interaction_id"].as_str(), audit["command"].as_str()), (Some("1"), Some("plan")));
    assert_eq!(audit["channel_id"], "8");
    let reasons = audit["error"].as_str().unwrap();
    assert!(reasons.contains("editing the reply: Discord did not answer in time"), "{reasons}");
    assert!(reasons.contains("posting in the channel: no bot token is configured"), "{reasons}");
    assert!(!audit.to_string().contains("\"t\""), "never the token: {audit}");
    assert!(error.contains("could not tell Discord about interaction 1"), "{error}");
}

#[test]
fn an_ephemeral_reply_is_never_posted_in_the_channel() {
    let world = Memory::default();
    world.discord.fail.set(true);
    let to = Recipient { public: false, ..recipient(&world) };
    block_on(deliver(&world, &to, &Message::new("only yours"))).unwrap_err();
    assert!(world.discord.posts.borrow().is_empty());
    assert!(undeliverable(&world)["error"].as_str().unwrap().contains("ephemeral"));
}

#[test]
fn with_neither_token_nor_channel_the_reply_is_audited() {
    let world = Memory::default();
    let to = Recipient { token: String::new(), channel_id: None, ..recipient(&world) };
    block_on(deliver(&world, &to, &Message::new("four"))).unwrap_err();
    let reasons = undeliverable(&world)["error"].as_str().unwrap().to_owned();
    assert_eq!(reasons, "the interaction token expired; no channel to post in");
}

#[test]
fn the_token_expires_15_minutes_after_the_interaction_was_created() {
    // 1190000000000000001 was created at 1703788509 (2023-12-28 18:35:09 UTC).
    let created = 1_703_788_509;
    assert_eq!(issued_at("1190000000000000001", created + 5), created);
    // An id from the future, or older than any token Discord could still send, is not Discord's
    // clock: the receipt time is the bound.
    assert_eq!(issued_at("1190000000000000001", created - 5), created - 5);
    assert_eq!(issued_at("1190000000000000001", created + TOKEN_TTL_SECS), created + TOKEN_TTL_SECS);
    assert_eq!(issued_at("nope", 7), 7);
}

#[test]
fn a_follow_up_is_public_only_for_a_deferred_reply_that_is_not_ephemeral() {
    use crate::discord::InteractionResponse;
    assert!(InteractionResponse::deferred(false).is_public());
    assert!(!InteractionResponse::deferred(true).is_public());
    assert!(!InteractionResponse::deferred_update().is_public());
}
