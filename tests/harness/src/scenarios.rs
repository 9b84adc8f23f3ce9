//! End-to-end scenarios shared by the test suite (reduced sizes) and the load binary (full
//! sizes): real components served on loopback, fake Argo and Discord, signed requests.

use std::collections::{BTreeMap, BTreeSet};
use std::time::{Duration, Instant};

use anyhow::{Context, Result, ensure};
use serde_json::json;

use crate::fakes::Reply;
use crate::fakes::argo::FakeArgo;
use crate::fakes::discord::FakeDiscord;
use crate::support::{Signer, eventually, manifest_path};
use crate::{App, load};

/// The role the scenarios' member holds, granted `/plan` without its rate limit.
pub const ROLE: &str = "150000000000000001";

/// The real app served on loopback, with fake Argo and Discord and a signer.
pub struct Served {
    pub app: App,
    pub server: crate::Server,
    pub argo: FakeArgo,
    pub discord: FakeDiscord,
    pub signer: Signer,
}

pub async fn served() -> Result<Served> {
    let argo = FakeArgo::start(&[("argo", "facteur-dispatch")]).await?;
    let discord = FakeDiscord::start().await?;
    let signer = Signer::default();
    let app = App::builder(manifest_path())
        .variable("discord_public_key", signer.public_key_hex())
        // Exempt from `/plan`'s rate limit: the load sends hundreds of runs as one member.
        .variable("role_map", json!({"plan": [ROLE], "unlimited": [ROLE]}).to_string())
        .variable("argo_server_url", argo.origin())
        .variable("discord_api_url", discord.origin())
        .load()
        .await?;
    let server = app.serve().await?;
    Ok(Served { app, server, argo, discord, signer })
}

/// The body of a `/plan` interaction `id` from a member holding [`ROLE`].
pub fn plan_body(id: u64) -> String {
    json!({
        "id": id.to_string(), "application_id": "1170000000000000000", "type": 2, "token": format!("token-{id}"), "version": 1,
        "guild_id": "1100000000000000000", "channel_id": "1110000000000000000",
        "member": {"user": {"id": "1200000000000000000", "username": "load"}, "roles": [ROLE]},
        "data": {"name": "plan", "type": 1, "options": [{"name": "objective", "type": 3, "value": format!("run {id}")}]}
    })
    .to_string()
}

/// A signed `/plan` request for interaction `id`, addressed to the served app.
pub fn plan_request(served: &Served, id: u64) -> http::Request<http_body_util::Full<bytes::Bytes>> {
    let mut request = served.signer.request(plan_body(id));
    *request.uri_mut() = served.server.url("/interactions").parse().expect("a valid URL");
    request
}

const FIRST_ID: u64 = 1_300_000_000_000_000_000;

/// What `nothing_lost` observed.
#[derive(Debug)]
pub struct Outcome {
    pub commands: usize,
    pub workflows: usize,
    pub error_replies: usize,
    /// Acknowledgements (the deferred responses) as the clients measured them.
    pub acks: load::Report,
    /// From the first request until the last Discord edit.
    pub completion: Duration,
}

/// Sends `commands` signed `/plan` interactions at `concurrency` and waits until every one has
/// its Discord edit. With `faults`, Argo answers 500 to every 5th submit and Discord 429 to
/// every 10th edit. Fails unless every interaction ended with exactly one workflow or exactly
/// one error reply, and no workflow was started twice.
pub async fn nothing_lost(commands: usize, concurrency: usize, faults: bool) -> Result<Outcome> {
    let served = served().await?;
    let Served { app, server, argo, discord, .. } = &served;
    if faults {
        argo.fail_every(5, Reply::json(500, json!({"code": 13, "message": "injected failure"})));
        discord.rate_limit_every(10, 0.01);
    }
    let requests = (0..commands).map(|i| plan_request(&served, FIRST_ID + i as u64)).collect();
    let started = Instant::now();
    let acks = load::run(server.addr, requests, concurrency).await?;
    ensure!(acks.statuses.iter().all(|s| *s == 200), "every request is acknowledged with 200");
    let edited = eventually(Duration::from_secs(600), async || (discord.edits().len() >= commands).then_some(())).await;
    let completion = started.elapsed();
    edited.with_context(|| format!("only {} of {commands} replies arrived", discord.edits().len()))?;
    app.wait_idle(Duration::from_secs(60)).await?;

    // Every interaction: exactly one successful edit, saying either "started" or "could not start".
    let mut replies: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for edit in discord.edits() {
        replies.entry(edit.token).or_default().push(edit.message["content"].as_str().unwrap_or_default().to_owned());
    }
    let workflows: Vec<String> =
        argo.workflows().iter().map(|w| w["metadata"]["name"].as_str().unwrap_or_default().to_owned()).collect();
    let unique: BTreeSet<&String> = workflows.iter().collect();
    ensure!(unique.len() == workflows.len(), "no workflow twice");
    let mut error_replies = 0;
    for i in 0..commands {
        let id = FIRST_ID + i as u64;
        let token = format!("token-{id}");
        let successful = replies.get(&token).map_or(&[][..], Vec::as_slice);
        ensure!(successful.len() == 1, "interaction {id}: {} replies", successful.len());
        let started = unique.contains(&format!("plan-{id}"));
        if successful[0].contains("could not start") {
            ensure!(!started, "interaction {id}: an error reply, yet a workflow");
            error_replies += 1;
        } else {
            ensure!(
                started && successful[0].contains("started workflow"),
                "interaction {id}: `{}` without its workflow",
                successful[0]
            );
        }
    }
    ensure!(unique.len() + error_replies == commands, "every command ends in one workflow or one error reply");
    Ok(Outcome { commands, workflows: unique.len(), error_replies, acks, completion })
}
