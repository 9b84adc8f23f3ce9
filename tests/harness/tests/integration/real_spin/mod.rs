//! The real `spin` runtime: `spin build` and `spin up` on the project's own `spin.toml`, a real
//! `redis-server` on loopback, the fake Argo Server and Discord API, and requests signed
//! independently of facteur's code paths (the test's own key). Every scenario runs on each
//! Spin found (4.x, and 3.6 as SpinKube's shim embeds it); see `facteur_harness::spin_up`.

mod agreement;
mod approvals;
mod chaos;
mod commands;
mod corpus;
mod edge;
mod limits;
mod output;
mod pipeline;
mod playground;
mod queue;
mod telemetry;
mod template;

use std::sync::atomic::{AtomicU32, Ordering};
use std::time::Duration;

use facteur_harness::Response;
use facteur_harness::fakes::argo::FakeArgo;
use facteur_harness::fakes::discord::FakeDiscord;
use facteur_harness::spin_up::{SpinBinary, SpinUp, SpinUpBuilder};
use facteur_harness::support::{Signer, eventually, host_of, test_redis};
use serde_json::Value;

use crate::common::{externals, variables};

pub const BRIDGE_SECRET: &str = "bridge-s3cret";
pub const WAIT: Duration = Duration::from_secs(20);

/// One `spin up` of the app with the fakes around it.
pub struct SpinWorld {
    pub spin: SpinUp,
    pub argo: FakeArgo,
    pub discord: FakeDiscord,
    pub signer: Signer,
}

/// The Spins to run on, and the test Redis; `None` (skip, loudly) when either is missing
/// outside CI.
pub async fn runtimes() -> Option<(&'static [SpinBinary], String)> {
    let spins = SpinBinary::all();
    if spins.is_empty() {
        return None;
    }
    Some((spins, test_redis().await?))
}

/// `spin up` on `spin` with the test variables, the worker on a channel of its own (tests
/// share one Redis server), and `configure` for the rest.
pub async fn spin_world(
    spin: &SpinBinary,
    redis: &str,
    configure: impl FnOnce(SpinUpBuilder) -> SpinUpBuilder,
) -> SpinWorld {
    static N: AtomicU32 = AtomicU32::new(0);
    let (argo, discord, signer) = externals().await;
    let channel = format!("facteur.spin.{}.{}", std::process::id(), N.fetch_add(1, Ordering::SeqCst));
    let mut builder = spin
        .up()
        .variable("redis_host", host_of(redis))
        .variable("events_channel", channel)
        .variable("bridge_secret", BRIDGE_SECRET)
        .variable("discord_bot_token", "bot-t0ken");
    for (name, value) in variables(&argo, &discord, &signer) {
        builder = builder.variable(name, value);
    }
    let spin = configure(builder).start().await.unwrap_or_else(|e| panic!("{e:#}"));
    SpinWorld { spin, argo, discord, signer }
}

impl SpinWorld {
    pub async fn send(&self, body: Vec<u8>) -> Response {
        self.spin.handle(self.signer.request(body)).await.unwrap()
    }

    /// The Discord edits once there are `count` of them (the work after the response is
    /// not observable from outside Spin, so wait for its effect).
    pub async fn edits(&self, count: usize) -> Vec<Value> {
        eventually(WAIT, async || {
            let edits = self.discord.edits();
            (edits.len() >= count).then(|| edits.into_iter().map(|e| e.message).collect())
        })
        .await
        .unwrap_or_else(|| panic!("spin {}: expected {count} edits; logs:\n{}", self.spin.version, self.spin.logs()))
    }

    /// The edit of the reply to the interaction with this token, once it arrived.
    pub async fn edit_for(&self, token: &str) -> Value {
        eventually(WAIT, async || self.discord.edits().into_iter().find(|e| e.token == token).map(|e| e.message))
            .await
            .unwrap_or_else(|| panic!("spin {}: no edit for {token}; logs:\n{}", self.spin.version, self.spin.logs()))
    }
}

pub fn content(message: &Value) -> String {
    message["content"].as_str().unwrap_or_default().to_owned()
}
