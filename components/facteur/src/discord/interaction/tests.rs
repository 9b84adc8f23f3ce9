use super::*;

// Shapes from Discord's "Interaction Object" examples.
const SLASH_WITH_SUBCOMMAND: &str = r#"{
    "id": "1180000000000000001", "application_id": "1170000000000000000", "type": 2,
    "token": "aW50ZXJhY3Rpb24", "version": 1, "locale": "en-US", "guild_locale": "fr",
    "guild_id": "1100000000000000000", "channel_id": "1110000000000000000",
    "member": {"user": {"id": "1200000000000000000", "username": "ada", "global_name": "Ada"},
               "roles": ["1300000000000000001", "1300000000000000002"], "permissions": "2147483647",
               "nick": null, "joined_at": "2024-01-01T00:00:00+00:00", "deaf": false, "mute": false},
    "app_permissions": "442368", "context": 0,
    "data": {"id": "1400000000000000000", "name": "workflow", "type": 1, "guild_id": "1100000000000000000",
             "options": [{"name": "logs", "type": 1, "options": [
                 {"name": "name", "type": 3, "value": "plan-abc"},
                 {"name": "tail", "type": 4, "value": 50},
                 {"name": "timestamps", "type": 5, "value": true},
                 {"name": "ratio", "type": 10, "value": 0.5}]}]}
}"#;

#[test]
fn parses_slash_command_with_subcommand_and_typed_options() {
    let i = Interaction::parse(SLASH_WITH_SUBCOMMAND.as_bytes()).unwrap();
    assert_eq!(i.kind, InteractionType::ApplicationCommand);
    assert_eq!(i.command_name(), Some("workflow"));
    assert_eq!(i.subcommand_path(), vec!["logs"]);
    assert_eq!(i.option("name"), Some(&OptionValue::String("plan-abc".into())));
    assert_eq!(i.option("tail"), Some(&OptionValue::Integer(50)));
    assert_eq!(i.option("timestamps"), Some(&OptionValue::Boolean(true)));
    assert_eq!(i.option("ratio"), Some(&OptionValue::Number(0.5)));
    assert_eq!(i.user_id(), Some("1200000000000000000"));
    assert_eq!(i.roles().unwrap().len(), 2);
    assert!(!i.is_dm());
}

#[test]
fn parses_subcommand_group() {
    let body = r#"{"id":"1","application_id":"2","type":2,"token":"t",
        "member":{"user":{"id":"3","username":"u"},"roles":[]},
        "data":{"name":"admin","options":[{"name":"roles","type":2,"options":[
            {"name":"add","type":1,"options":[{"name":"role","type":8,"value":"1300000000000000001"}]}]}]}}"#;
    let i = Interaction::parse(body.as_bytes()).unwrap();
    assert_eq!(i.subcommand_path(), vec!["roles", "add"]);
    assert_eq!(i.option("role").and_then(OptionValue::as_str), Some("1300000000000000001"));
}

#[test]
fn parses_autocomplete_with_focused_option() {
    let body = r#"{"id":"1","application_id":"2","type":4,"token":"t",
        "guild_id":"9","member":{"user":{"id":"3","username":"u"},"roles":[]},
        "data":{"id":"5","name":"dispatch","type":1,"options":[
            {"name":"template","type":3,"value":"faci","focused":true},
            {"name":"parameters","type":3,"value":"a=b"}]}}"#;
    let i = Interaction::parse(body.as_bytes()).unwrap();
    assert_eq!(i.kind, InteractionType::Autocomplete);
    let focused = i.focused_option().unwrap();
    assert_eq!(focused.name, "template");
    assert_eq!(focused.value.and_then(OptionValue::as_str), Some("faci"));
}

#[test]
fn parses_button_click() {
    let body = r#"{"id":"1","application_id":"2","type":3,"token":"t","guild_id":"9","channel_id":"8",
        "member":{"user":{"id":"3","username":"u"},"roles":["1300000000000000001"]},
        "message":{"id":"77","content":"Workflow plan-abc submitted","components":[]},
        "data":{"custom_id":"workflow:refresh:argo:plan-abc","component_type":2}}"#;
    let i = Interaction::parse(body.as_bytes()).unwrap();
    assert_eq!(i.kind, InteractionType::MessageComponent);
    assert_eq!(i.custom_id(), Some("workflow:refresh:argo:plan-abc"));
}

// A click on a Components V2 message (flags 32768): components carry numeric ids, and so
// does `data.id`; a string select adds `values` and `resolved`. None of it is read.
#[test]
fn parses_components_v2_click_and_select_with_unread_fields_of_any_type() {
    let click = r#"{"id":"1","application_id":"2","type":3,"token":"t","guild_id":"9","channel_id":"8",
        "member":{"user":{"id":"3","username":"u","avatar_decoration_data":null},"roles":[],"nick":null},
        "message":{"id":"77","flags":32768,"components":[{"type":17,"id":1,"components":[
            {"type":10,"id":2,"content":"Workflow"},{"type":1,"id":3,"components":[
            {"type":2,"id":4,"style":1,"custom_id":"workflow:refresh:argo:plan-abc"}]}]}]},
        "data":{"id":4,"custom_id":"workflow:refresh:argo:plan-abc","component_type":2}}"#;
    let i = Interaction::parse(click.as_bytes()).unwrap();
    assert_eq!(i.custom_id(), Some("workflow:refresh:argo:plan-abc"));
    let select = r#"{"id":"1","application_id":"2","type":3,"token":"t","guild_id":"9",
        "member":{"user":{"id":"3","username":"u"},"roles":[]},
        "data":{"id":7,"custom_id":"poll:vote","component_type":5,"values":["3"],
                "resolved":{"users":{"3":{"id":"3","username":"u"}},"members":{"3":{"roles":[]}}}}}"#;
    assert_eq!(Interaction::parse(select.as_bytes()).unwrap().custom_id(), Some("poll:vote"));
}

#[test]
fn parses_dm_with_user_instead_of_member() {
    let body = r#"{"id":"1","application_id":"2","type":2,"token":"t","channel_id":"8",
        "user":{"id":"3","username":"u"},"context":1,"data":{"name":"help","type":1}}"#;
    let i = Interaction::parse(body.as_bytes()).unwrap();
    assert!(i.is_dm());
    assert_eq!(i.roles(), None);
    assert_eq!(i.user_id(), Some("3"));
    assert_eq!(i.guild_id, None);
}

#[test]
fn keeps_unknown_interaction_types() {
    let i = Interaction::parse(br#"{"id":"1","application_id":"2","type":42}"#).unwrap();
    assert_eq!(i.kind, InteractionType::Other(42));
    assert_eq!(u8::from(i.kind), 42);
}

#[test]
fn ping_parses() {
    let i = Interaction::parse(br#"{"id":"1","application_id":"2","type":1,"token":"t","version":1}"#).unwrap();
    assert_eq!(i.kind, InteractionType::Ping);
}

#[test]
fn debug_never_shows_the_token() {
    let i = Interaction::parse(br#"{"id":"1","application_id":"2","type":1,"token":"aW50ZXJhY3Rpb24","version":1}"#)
        .unwrap();
    let shown = format!("{i:?}");
    assert!(!shown.contains("aW50ZXJhY3Rpb24") && shown.contains("has_token: true"), "{shown}");
}
