//! The world the command tests run in: the real app, a fake Argo Server, a fake Discord API,
//! and a signer standing in for Discord.

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use facteur_harness::fakes::argo::FakeArgo;
use facteur_harness::fakes::discord::FakeDiscord;
use facteur_harness::support::{Signer, manifest_path};
use facteur_harness::{App, AppBuilder, Response};
use serde_json::{Value, json};

pub const OPS: &str = "140000000000000001";
pub const GUEST: &str = "140000000000000009";
pub const DEV: &str = "140000000000000002";
pub const ADMIN: &str = "140000000000000003";
pub const USER: &str = "1200000000000000000";
pub const GUILD: &str = "1100000000000000000";
pub const CHANNEL: &str = "1110000000000000000";
pub const APP_ID: &str = "1170000000000000000";
pub const IDLE: Duration = Duration::from_secs(20);

pub struct World {
    pub app: App,
    pub argo: FakeArgo,
    pub discord: FakeDiscord,
    pub signer: Signer,
}

pub async fn world(configure: impl FnOnce(AppBuilder) -> AppBuilder) -> World {
    let (argo, discord, signer) = externals().await;
    let mut builder = App::builder(manifest_path());
    for (name, value) in variables(&argo, &discord, &signer) {
        builder = builder.variable(name, value);
    }
    let app = configure(builder).load().await.unwrap();
    World { app, argo, discord, signer }
}

/// What stands outside the app: Argo, Discord, and Discord's signing key.
pub async fn externals() -> (FakeArgo, FakeDiscord, Signer) {
    let argo = FakeArgo::start(&[("argo", "facteur-dispatch"), ("ci", "facteur-dispatch")]).await.unwrap();
    (argo, FakeDiscord::start().await.unwrap(), Signer::default())
}

/// The role map of every test world.
pub fn role_map() -> Value {
    json!({
        "help": [OPS, DEV], "plan": [OPS], "implement": [OPS], "review": [OPS], "dispatch": [OPS],
        "workflow": [OPS, DEV], "workflow:cancel": [OPS, DEV], "workflow:admin": [ADMIN]
    })
}

/// [`role_map`] with `OPS` exempt from limits (`unlimited`): no list of the runs in flight
/// precedes its submits, for the tests of what a submit's own answers do.
pub fn exempt_ops(builder: AppBuilder) -> AppBuilder {
    let mut map = role_map();
    map["unlimited"] = json!([OPS]);
    builder.variable("role_map", map.to_string())
}

/// The app's variables in every test world (harness and real Spin alike).
pub fn variables(argo: &FakeArgo, discord: &FakeDiscord, signer: &Signer) -> Vec<(&'static str, String)> {
    vec![
        ("discord_public_key", signer.public_key_hex()),
        ("role_map", role_map().to_string()),
        ("argo_server_url", argo.origin()),
        ("argo_ui_url", "https://argo.example".to_owned()),
        ("argo_timeout_secs", "2".to_owned()),
        ("discord_api_url", discord.origin()),
    ]
}

/// A fresh interaction id (a snowflake), so each interaction names its own workflow.
pub fn next_id() -> String {
    static NEXT: AtomicU64 = AtomicU64::new(1_190_000_000_000_000_001);
    NEXT.fetch_add(1, Ordering::SeqCst).to_string()
}

pub fn slash(id: &str, name: &str, options: Value, roles: &[&str]) -> Vec<u8> {
    json!({
        "id": id, "application_id": APP_ID, "type": 2, "token": format!("token-{id}"), "version": 1,
        "guild_id": GUILD, "channel_id": CHANNEL, "locale": "en-US",
        "member": {"user": {"id": USER, "username": "ada", "global_name": "Ada"}, "roles": roles},
        "data": {"id": "1400000000000000000", "name": name, "type": 1, "options": options}
    })
    .to_string()
    .into_bytes()
}

pub fn opt(name: &str, value: impl Into<Value>) -> Value {
    let value = value.into();
    let kind = if value.is_boolean() { 5 } else { 3 };
    json!({"name": name, "type": kind, "value": value})
}

impl World {
    pub async fn send(&self, body: Vec<u8>) -> Response {
        self.app.handle(self.signer.request(body)).await.unwrap()
    }

    /// Sends and waits for the work done after the response.
    pub async fn run(&self, body: Vec<u8>) -> Response {
        let response = self.send(body).await;
        self.app.wait_idle(IDLE).await.unwrap();
        response
    }

    pub fn edit_text(&self, index: usize) -> String {
        let edits = self.discord.edits();
        let message = &edits.get(index).unwrap_or_else(|| panic!("no edit #{index}; logs:\n{}", self.logs())).message;
        format!("{} {}", message["content"].as_str().unwrap_or(""), message["embeds"])
    }

    pub fn logs(&self) -> String {
        self.app.logs().into_iter().map(|l| format!("[{} {}] {}\n", l.component, l.stream, l.text)).collect()
    }
}

pub fn ephemeral_text(response: &Response) -> String {
    let body = response.json();
    assert_eq!((body["type"].as_u64(), body["data"]["flags"].as_u64()), (Some(4), Some(64)), "{body}");
    body["data"]["content"].as_str().unwrap().to_owned()
}

/// The same interaction shape from another member.
pub fn from_user(body: Vec<u8>, user: &str) -> Vec<u8> {
    let mut value: Value = serde_json::from_slice(&body).unwrap();
    value["member"]["user"]["id"] = user.into();
    value.to_string().into_bytes()
}

/// `/workflow <action>` with options.
pub fn workflow(id: &str, action: &str, options: Value, roles: &[&str]) -> Vec<u8> {
    slash(id, "workflow", json!([{"name": action, "type": 1, "options": options}]), roles)
}

/// A click on a button of facteur's messages.
pub fn click(id: &str, custom_id: &str, roles: &[&str]) -> Vec<u8> {
    json!({
        "id": id, "application_id": APP_ID, "type": 3, "token": format!("token-{id}"), "version": 1,
        "guild_id": GUILD, "channel_id": CHANNEL,
        "member": {"user": {"id": USER, "username": "ada"}, "roles": roles},
        "message": {"id": "1300000000000000077", "content": "", "components": []},
        "data": {"custom_id": custom_id, "component_type": 2}
    })
    .to_string()
    .into_bytes()
}

/// Autocomplete of `/<command> [sub]` with `option` focused and `typed` so far.
pub fn autocomplete(id: &str, command: &str, sub: Option<&str>, option: &str, typed: &str, roles: &[&str]) -> Vec<u8> {
    let focused = json!([{"name": option, "type": 3, "value": typed, "focused": true}]);
    let options = match sub {
        Some(sub) => json!([{"name": sub, "type": 1, "options": focused}]),
        None => focused,
    };
    let mut body: Value = serde_json::from_slice(&slash(id, command, options, roles)).unwrap();
    body["type"] = 4.into();
    body.to_string().into_bytes()
}
