use super::*;
use serde_json::json;

fn json_of(r: &InteractionResponse) -> serde_json::Value {
    serde_json::from_slice(&r.to_json()).unwrap()
}

#[test]
fn pong_is_type_1_without_data() {
    assert_eq!(json_of(&InteractionResponse::pong()), json!({"type": 1}));
}

#[test]
fn ephemeral_message_matches_discord_shape() {
    assert_eq!(
        json_of(&InteractionResponse::ephemeral("Unknown command `/nope`.")),
        json!({"type": 4, "data": {
            "content": "Unknown command `/nope`.",
            "allowed_mentions": {"parse": []},
            "flags": 64,
            "components": []
        }})
    );
}

#[test]
fn deferred_responses() {
    assert_eq!(json_of(&InteractionResponse::deferred(true)), json!({"type": 5, "data": {"flags": 64}}));
    assert_eq!(json_of(&InteractionResponse::deferred(false)), json!({"type": 5}));
    assert_eq!(json_of(&InteractionResponse::deferred_update()), json!({"type": 6}));
}

#[test]
fn update_message_with_embed_and_buttons() {
    let message = Message::new("")
        .embed(
            Embed::new("plan-1a2b")
                .url("https://argo/workflows/argo/plan-1a2b")
                .color(0x2ecc71)
                .field("Phase", "Running", true),
        )
        .buttons(vec![
            Button::action(ButtonStyle::Secondary, "Refresh", "workflow:refresh:argo:plan-1a2b").unwrap(),
            Button::link("Open in Argo", "https://argo/workflows/argo/plan-1a2b"),
        ])
        .unwrap();
    assert_eq!(
        json_of(&InteractionResponse::update(message)),
        json!({"type": 7, "data": {
            "content": "",
            "embeds": [{"title": "plan-1a2b", "url": "https://argo/workflows/argo/plan-1a2b", "color": 3066993,
                        "fields": [{"name": "Phase", "value": "Running", "inline": true}]}],
            "allowed_mentions": {"parse": []},
            "components": [{"type": 1, "components": [
                {"type": 2, "style": 2, "label": "Refresh", "custom_id": "workflow:refresh:argo:plan-1a2b"},
                {"type": 2, "style": 5, "label": "Open in Argo", "url": "https://argo/workflows/argo/plan-1a2b"}
            ]}]
        }})
    );
}

#[test]
fn autocomplete_keeps_at_most_25_choices() {
    let r = InteractionResponse::autocomplete((0..40).map(|i| Choice::string(format!("t{i}"), format!("t{i}"))));
    let v = json_of(&r);
    assert_eq!(v["type"], 8);
    assert_eq!(v["data"]["choices"].as_array().unwrap().len(), 25);
    assert_eq!(v["data"]["choices"][0], json!({"name": "t0", "value": "t0"}));
}

#[test]
fn content_is_cut_to_2000_characters() {
    let m = Message::new("é".repeat(2500));
    let content = m.content.unwrap();
    assert_eq!(content.chars().count(), MAX_CONTENT);
    assert!(content.ends_with('…'));
}

#[test]
fn custom_id_over_100_is_refused() {
    assert_eq!(Button::action(ButtonStyle::Primary, "x", "a".repeat(101)), Err(LimitError::CustomId(101)));
    assert_eq!(Button::action(ButtonStyle::Primary, "x", ""), Err(LimitError::CustomId(0)));
    assert!(Button::action(ButtonStyle::Primary, "x", "a".repeat(100)).is_ok());
}

#[test]
fn rows_hold_five_buttons_and_messages_five_rows() {
    let b = || Button::link("x", "https://x");
    assert_eq!(Message::new("").buttons(vec![b(); 6]), Err(LimitError::TooManyButtons));
    let mut m = Message::new("");
    for _ in 0..5 {
        m = m.buttons(vec![b()]).unwrap();
    }
    assert_eq!(m.buttons(vec![b()]), Err(LimitError::TooManyRows));
}

#[test]
fn embeds_stay_within_6000_characters_in_total() {
    let mut m = Message::new("");
    for _ in 0..3 {
        m = m.embed(Embed::new("t").description("d".repeat(4000)));
    }
    let total: usize = m.embeds.iter().map(Embed::text_len).sum();
    assert!(total <= MAX_EMBED_TOTAL, "{total}");
    assert_eq!(m.embeds.len(), 3);
}

#[test]
fn choices_are_cut_to_100_characters() {
    let c = Choice::string("n".repeat(150), "v".repeat(150));
    assert_eq!(c.name.chars().count(), 100);
    assert_eq!(c.value.as_str().unwrap().chars().count(), 100);
}
