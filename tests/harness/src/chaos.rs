//! "Nothing lost" under the real `spin up` while Argo and Discord are slow and flaky: signed
//! `/plan` interactions at a concurrency, the stand-ins injecting transport faults
//! (`fakes::faults`: answers later than facteur's deadlines, connections closed without an
//! answer), then every interaction checked against what Argo and Discord ended up with.
//! `cargo test` runs a small one (`real_spin::chaos`); `--bin load -- --real-spin` the full one.

use std::collections::{BTreeMap, BTreeSet};
use std::time::{Duration, Instant};

use anyhow::{Context, Result, ensure};
use serde_json::{Value, json};

use crate::fakes::argo::FakeArgo;
use crate::fakes::discord::FakeDiscord;
use crate::fakes::faults::{Faults, Injected};
use crate::load;
use crate::scenarios::{ROLE, plan_body};
use crate::spin_up::SpinBinary;
use crate::support::{Signer, host_of};

/// facteur's deadline for each Discord call (`spin::discord`), which late Discord answers exceed.
const DISCORD_DEADLINE: Duration = Duration::from_secs(10);

/// One run: its size, and the faults of each stand-in.
#[derive(Debug, Clone)]
pub struct Chaos {
    pub commands: usize,
    pub concurrency: usize,
    /// `argo_timeout_secs`: late Argo answers come a second after it.
    pub argo_timeout_secs: u64,
    pub argo: Faults,
    pub discord: Faults,
    /// How long to wait for the last reply.
    pub patience: Duration,
    /// `SPIN_MAX_INSTANCE_COUNT` for `spin up` (Spin's default: 1,000 instances at once).
    pub max_instances: Option<u32>,
}

impl Chaos {
    /// Issue #19's mix: every 10th Argo answer and every 10th Discord answer after the client's
    /// deadline (the request took effect), every 100th connection of each closed unanswered.
    pub fn issue_mix(commands: usize, concurrency: usize, argo_timeout_secs: u64) -> Self {
        let late = |deadline: Duration| Some((10, deadline + Duration::from_secs(1)));
        Self {
            commands,
            concurrency,
            argo_timeout_secs,
            argo: Faults { late: late(Duration::from_secs(argo_timeout_secs)), dropped: Some(100), unreachable: None },
            discord: Faults { late: late(DISCORD_DEADLINE), dropped: Some(100), unreachable: None },
            patience: Duration::from_secs(900),
            max_instances: None,
        }
    }
}

/// What a run observed; [`run`] fails unless nothing was lost or doubled.
#[derive(Debug)]
pub struct Outcome {
    pub spin: String,
    pub commands: usize,
    /// Deferred (type 5) acknowledgements; the rest were refused at once.
    pub deferred: usize,
    /// Refused at once: `(status, first bytes of the body)` → count.
    pub refused: BTreeMap<String, usize>,
    /// Replies saying the workflow started, each with its workflow.
    pub started: usize,
    /// Replies saying facteur could not know (the run's name to check), with or without a run.
    pub unknown: (usize, usize),
    /// Replies saying it could not start, none with a workflow.
    pub failed: usize,
    /// Replies posted in the channel (the edit never got through).
    pub channel_posts: usize,
    pub workflows: usize,
    pub acks: load::Report,
    /// From the first request until the last reply reached Discord.
    pub last_reply: Duration,
    pub argo_faults: Injected,
    pub discord_faults: Injected,
    /// Edits Discord took per reply beyond the first (retries after a late or lost answer).
    pub repeated_edits: usize,
    /// Lines where `spin up` said it reached its instance limit.
    pub instance_limit: usize,
    /// What the replies other than "started" said (digits masked) → count.
    pub explanations: BTreeMap<String, usize>,
}

/// A snowflake of now (Discord's epoch, 2015), so that tokens are fresh; `n` keeps them distinct.
pub fn fresh_id(n: u64) -> u64 {
    let ms = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_millis() as u64;
    ((ms - 1_420_070_400_000) << 22) + n
}

/// Runs `chaos` on `spin` (with the worker on `redis`, as `spin up` serves the whole app).
pub async fn run(spin: &SpinBinary, redis: &str, chaos: &Chaos) -> Result<Outcome> {
    let argo = FakeArgo::start(&[("argo", "facteur-dispatch")]).await?;
    let discord = FakeDiscord::start().await?;
    let signer = std::sync::Arc::new(Signer::default());
    argo.server.inject(chaos.argo);
    discord.server.inject(chaos.discord);
    let mut up = spin.up();
    if let Some(max) = chaos.max_instances {
        up = up.env("SPIN_MAX_INSTANCE_COUNT", max.to_string());
    }
    let up = up
        .variable("discord_public_key", signer.public_key_hex())
        .variable("role_map", json!({ "plan": [ROLE], "unlimited": [ROLE] }).to_string())
        .variable("argo_server_url", argo.origin())
        .variable("argo_timeout_secs", chaos.argo_timeout_secs.to_string())
        .variable("discord_api_url", discord.origin())
        .variable("discord_bot_token", "bot-t0ken")
        .variable("redis_host", host_of(redis))
        .variable("events_channel", format!("facteur.chaos.{}", std::process::id()))
        .start()
        .await?;
    let addr = up.url("").trim_start_matches("http://").parse().context("spin's address")?;
    let first = fresh_id(0);
    let ids: Vec<u64> = (0..chaos.commands as u64).map(|n| first + n).collect();
    let started = Instant::now();
    // Each request signed as it is sent: the signature is good for 300 s (`signature_tolerance_secs`).
    let sign = (signer.clone(), ids.clone());
    let acks =
        load::run_with(addr, ids.len(), chaos.concurrency, move |n| sign.0.request(plan_body(sign.1[n]))).await?;

    // Which interactions were deferred (and so owe a reply), which refused at once.
    let mut deferred = BTreeSet::new();
    let mut refused = BTreeMap::new();
    for (index, status, body) in &acks.answers {
        let answer: Value = serde_json::from_slice(body).unwrap_or(Value::Null);
        if *status == 200 && answer["type"] == 5 {
            deferred.insert(ids[*index]);
        } else {
            let text = String::from_utf8_lossy(body);
            *refused.entry(format!("{status} {}", text.chars().take(120).collect::<String>())).or_default() += 1;
        }
    }
    ensure!(acks.answers.len() == chaos.commands, "every request was answered");

    // Wait until every deferred interaction has its reply (edited, or posted in the channel).
    let replies = |discord: &FakeDiscord| -> BTreeMap<u64, Vec<(bool, String)>> {
        let mut replies: BTreeMap<u64, Vec<(bool, String)>> = BTreeMap::new();
        for edit in discord.edits() {
            if let Some(id) = edit.token.strip_prefix("token-").and_then(|id| id.parse().ok()) {
                replies.entry(id).or_default().push((false, text(&edit.message)));
            }
        }
        for (_, post) in discord.channel_posts() {
            // A channel post names the run; the load's runs are `plan-<id>`.
            let shown = text(&post);
            let id = shown.split("plan-").nth(1).and_then(|rest| {
                rest.split(|c: char| !c.is_ascii_digit()).next().and_then(|digits| digits.parse().ok())
            });
            if let Some(id) = id {
                replies.entry(id).or_default().push((true, shown));
            }
        }
        replies
    };
    let deadline = Instant::now() + chaos.patience;
    let last_reply = loop {
        let replied = replies(&discord);
        let count = deferred.iter().filter(|id| replied.contains_key(id)).count();
        if count == deferred.len() {
            break started.elapsed();
        }
        ensure!(
            Instant::now() < deadline,
            "spin {}: {} of {} deferred interactions have no reply after {:?}",
            up.version,
            deferred.len() - count,
            deferred.len(),
            chaos.patience
        );
        tokio::time::sleep(Duration::from_millis(500)).await;
    };
    // Every reply is in; edits sent again after a late or lost answer come up to a deadline later.
    tokio::time::sleep(DISCORD_DEADLINE + Duration::from_secs(2)).await;

    let workflows: BTreeSet<String> =
        argo.workflows().iter().filter_map(|w| w["metadata"]["name"].as_str().map(str::to_owned)).collect();
    let replies = replies(&discord);
    let (mut started_n, mut unknown, mut failed, mut posts, mut repeated) = (0, (0, 0), 0, 0, 0);
    let mut explanations = BTreeMap::new();
    for id in &ids {
        let name = format!("plan-{id}");
        let exists = workflows.contains(&name);
        let Some(sent) = replies.get(id) else {
            ensure!(!deferred.contains(id), "interaction {id}: deferred, yet no reply");
            ensure!(!exists, "interaction {id}: refused at once, yet workflow {name} exists");
            continue;
        };
        ensure!(deferred.contains(id), "interaction {id}: a reply without a deferral");
        let first = &sent[0].1;
        ensure!(sent.iter().all(|(_, t)| t == first), "interaction {id}: different replies {sent:?}");
        repeated += sent.len() - 1;
        posts += usize::from(sent.iter().any(|(post, _)| *post));
        if !first.contains("started workflow") {
            let masked: String = first.chars().filter(|c| !c.is_ascii_digit()).collect();
            *explanations.entry(masked.replace('\n', " ")).or_default() += 1;
        }
        if first.contains("started workflow") {
            ensure!(exists && first.contains(&name), "interaction {id}: `{first}` without its workflow");
            started_n += 1;
        } else if first.contains("could not confirm") {
            ensure!(first.contains(&name), "interaction {id}: `{first}` does not name the run to check");
            if exists { unknown.0 += 1 } else { unknown.1 += 1 }
        } else {
            ensure!(first.contains("could not start"), "interaction {id}: unexpected reply `{first}`");
            ensure!(!exists, "interaction {id}: `{first}`, yet workflow {name} exists");
            failed += 1;
        }
    }
    let ours: BTreeSet<String> = ids.iter().map(|id| format!("plan-{id}")).collect();
    ensure!(workflows.is_subset(&ours), "only the load's workflows exist");
    ensure!(argo.violations().is_empty(), "Argo's spec: {:?}", argo.violations());
    ensure!(discord.violations().is_empty(), "Discord's spec: {:?}", discord.violations());
    let instance_limit = up.output().matches("maximum concurrent limit").count();
    // `spin up`'s and the components' output, for a closer look.
    if let Some(path) = std::env::var_os("FACTEUR_CHAOS_LOGS") {
        std::fs::write(path, up.logs())?;
    }
    Ok(Outcome {
        spin: up.version.clone(),
        commands: chaos.commands,
        deferred: deferred.len(),
        refused,
        started: started_n,
        unknown,
        failed,
        channel_posts: posts,
        workflows: workflows.len(),
        acks,
        last_reply,
        argo_faults: argo.server.injected(),
        discord_faults: discord.server.injected(),
        repeated_edits: repeated,
        instance_limit,
        explanations,
    })
}

/// The text a reply shows: its content and its embeds' titles and descriptions.
fn text(message: &Value) -> String {
    let mut text = message["content"].as_str().unwrap_or_default().to_owned();
    for embed in message["embeds"].as_array().into_iter().flatten() {
        for field in ["title", "description"] {
            text.push('\n');
            text.push_str(embed[field].as_str().unwrap_or_default());
        }
    }
    text
}

impl Outcome {
    /// One line per figure, for the load binary and test failures.
    pub fn summary(&self) -> String {
        let ms = |q: f64| self.acks.quantile(q).as_secs_f64() * 1e3;
        format!(
            "spin {}: {} signed /plan: {} deferred, {} refused at once {:?}; replies: {} started (each with its \
             workflow), {} could-not-confirm ({} with a run, {} without), {} could-not-start (none with a run), \
             {} posted in the channel; {} workflows, none twice, none without a reply; {} repeated edits; \
             acks p50 {:.1} ms, p99 {:.1} ms, {:.0}/s; last reply after {:.1} s; faults Argo {:?}, Discord {:?}; \
             instance-limit lines {}; other replies {:?}",
            self.spin,
            self.commands,
            self.deferred,
            self.refused.values().sum::<usize>(),
            self.refused,
            self.started,
            self.unknown.0 + self.unknown.1,
            self.unknown.0,
            self.unknown.1,
            self.failed,
            self.channel_posts,
            self.workflows,
            self.repeated_edits,
            ms(0.5),
            ms(0.99),
            self.acks.throughput(),
            self.last_reply.as_secs_f64(),
            self.argo_faults,
            self.discord_faults,
            self.instance_limit,
            self.explanations,
        )
    }
}
