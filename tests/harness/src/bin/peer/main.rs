//! facteur under real `spin up` beside the Node peer (Discord's `discord-interactions` on
//! express 4, `bench/peer/`), on the same signed requests, in one run; writes the section
//! "Real Spin against the Node peer" of BENCHMARKS.md:
//!
//! `cargo run --profile native -p facteur-harness --bin peer [-- --duration SECS] [-- --quick]`
//!
//! Other modes print and write nothing to BENCHMARKS.md: `-- --only ping|help|plan` measures
//! one request; `-- --variants` measures facteur alone on requests that stop at successive
//! stages of the gateway (405, 401 before verification, 401 after it, PING, unknown command,
//! `/help`): where per-request time goes under Spin; `-- --serve SECS` keeps both sides up with
//! signed wrk scripts, for profiling by hand (`perf record -p <pid>` while wrk runs).
//! `-- --log-files` runs Spin with its log files (`spin up`'s default; SpinKube's shim has none,
//! and neither does this command otherwise), `-- --sqlite` with its SQLite key-value store.
//!
//! Needs `spin` (3.x or 4.x), `redis-server`, Node 20 and npm. Its setup runs `npm ci` in
//! `bench/peer` when `node_modules` is missing; it installs nothing else.
//!
//! The load generator is here rather than `wrk`: `/plan` needs a distinct interaction id, so a
//! distinct signed body, per request (a fixed one would hit Argo's 409 after the first), and
//! wrk's Lua can build bodies but not sign them. Bodies are signed before each round (so their
//! timestamps are fresh), and sent over keep-alive connections by hyper on one thread of its
//! own, so the generator takes at most one of the two cores from the servers.

mod load;
mod node;
mod process;
mod profiling;
mod report;
mod requests;

use std::path::PathBuf;
use std::sync::atomic::AtomicU64;
use std::time::Duration;

use anyhow::{Context, Result, bail, ensure};
use facteur_harness::fakes::argo::FakeArgo;
use facteur_harness::fakes::discord::FakeDiscord;
use facteur_harness::spin_up::SpinBinary;
use facteur_harness::support::{RedisServer, Signer, eventually, free_port, host_of};
use serde_json::json;

use load::{Server, check, measure};
use node::{Peer, install_peer};
use process::{settle, spin_pid};
use report::{Cell, Setting, ms};
use requests::{Kind, ROLE, source};

/// Rounds per cell; each side is measured this often, alternating.
const ROUNDS: usize = 2;
const CONCURRENCY: [usize; 3] = [1, 16, 64];

struct Options {
    duration: Duration,
    quick: bool,
    variants: bool,
    /// Serve both sides for this long and write wrk scripts, for profiling by hand.
    serve: Option<Duration>,
    /// Keep sessions in Spin's default SQLite key-value store (the state dir's disk) instead of
    /// Redis, as on the cluster (`config/runtime-config.cluster.toml`).
    sqlite: bool,
    /// Keep `spin up`'s log files (`--log-files`, and always with `--sqlite`, whose store lives
    /// in the state directory); by default Spin runs without, as SpinKube's shim does.
    log_files: bool,
    /// Measure this request only, and print the figures without writing BENCHMARKS.md.
    only: Option<Kind>,
}

fn options() -> Result<Options> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let quick = args.iter().any(|a| a == "--quick");
    let mut duration = Duration::from_secs(if quick { 2 } else { 10 });
    if let Some(i) = args.iter().position(|a| a == "--duration") {
        let secs: f64 = args.get(i + 1).context("--duration SECS")?.parse()?;
        ensure!((0.5..=10.0).contains(&secs), "--duration is 0.5 to 10 seconds (signatures stay fresh)");
        duration = Duration::from_secs_f64(secs);
    }
    let only = match args.iter().position(|a| a == "--only") {
        Some(i) => Some(match args.get(i + 1).map(String::as_str) {
            Some("ping") => Kind::Ping,
            Some("help") => Kind::Help,
            Some("plan") => Kind::Plan,
            _ => bail!("--only ping|help|plan"),
        }),
        None => None,
    };
    let serve = match args.iter().position(|a| a == "--serve") {
        Some(i) => {
            let secs: u64 = args.get(i + 1).context("--serve SECS")?.parse()?;
            ensure!(secs <= 1800, "--serve is at most 1800 seconds");
            Some(Duration::from_secs(secs))
        }
        None => None,
    };
    let sqlite = args.iter().any(|a| a == "--sqlite");
    let log_files = sqlite || args.iter().any(|a| a == "--log-files");
    Ok(Options { sqlite, log_files, duration, quick, variants: args.iter().any(|a| a == "--variants"), serve, only })
}

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() -> Result<()> {
    let options = options()?;
    // SIGINT, SIGTERM or SIGHUP drop everything started (Spin, Redis, the peer, the fakes) on the way out.
    use tokio::signal::unix::{SignalKind, signal};
    let (mut term, mut hup) = (signal(SignalKind::terminate())?, signal(SignalKind::hangup())?);
    tokio::select! {
        outcome = run(options) => outcome,
        _ = tokio::signal::ctrl_c() => bail!("interrupted"),
        _ = term.recv() => bail!("terminated"),
        _ = hup.recv() => bail!("hung up"),
    }
}

async fn run(options: Options) -> Result<()> {
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../..");
    let peer_dir = root.join("bench/peer");
    let Some(spin) = SpinBinary::newest() else {
        bail!("no `spin` found (PATH, ~/.local/bin, FACTEUR_SPIN_BINS): install Spin 3.x or 4.x");
    };
    if !options.variants {
        install_peer(&peer_dir)?;
    }
    let Some(redis) = RedisServer::start(free_port()).await else {
        bail!("`redis-server` is needed (spin up's worker)")
    };
    let argo = FakeArgo::start(&[("argo", "facteur-dispatch")]).await?;
    let discord = FakeDiscord::start().await?;
    // A key of the run's own: with the public development key every request would log a warning.
    let signer = Signer::default();
    let role_map = json!({"help": [ROLE], "plan": [ROLE]}).to_string();
    eprintln!("building and starting facteur under spin {} …", spin.version);
    let mut up = spin.up();
    if !options.sqlite {
        // As on the cluster: sessions in Redis (the same server as the worker's trigger).
        up = up.runtime_config(&format!("[key_value_store.default]\ntype = \"redis\"\nurl = \"{}\"\n", redis.url()));
    }
    if !options.log_files {
        up = up.without_log_files();
    }
    let facteur = up
        .variable("discord_public_key", signer.public_key_hex())
        // facteur's `/plan` without its rate limit (`unlimited`), as the peer has none.
        .variable("role_map", json!({"help": [ROLE], "plan": [ROLE], "unlimited": [ROLE]}).to_string())
        .variable("argo_server_url", argo.origin())
        .variable("argo_ui_url", "https://argo.example")
        .variable("discord_api_url", discord.origin())
        .variable("redis_host", host_of(&redis.url()))
        .start()
        .await?;
    let facteur_server =
        Server { name: "facteur", addr: facteur.url("").trim_start_matches("http://").parse()?, pid: spin_pid()? };
    let ids = AtomicU64::new(1_500_000_000_000_000_000);

    if options.variants {
        return profiling::variants(&facteur_server, &facteur, &signer, &ids, options.duration).await;
    }

    let peer = Peer::start(&peer_dir, &signer.public_key_hex(), &role_map).await?;
    let servers = [facteur_server, Server { name: "peer", addr: peer.addr, pid: peer.child.id() }];
    check(&servers, &signer, &ids).await?;
    if let Some(limit) = options.serve {
        return profiling::serve(&servers, &signer, &ids, limit).await;
    }
    settle(servers[0].pid, Duration::from_secs(10)).await;

    let mut cells = Vec::new();
    let mut plans_acknowledged = 1; // the check's own
    let mut failures = Vec::new();
    for kind in [Kind::Ping, Kind::Help, Kind::Plan] {
        if options.only.is_some_and(|only| only != kind) {
            continue;
        }
        for concurrency in CONCURRENCY {
            let mut cell = Cell { kind, concurrency, runs: [Vec::new(), Vec::new()] };
            for round in 0..ROUNDS {
                for (side, server) in servers.iter().enumerate() {
                    let source = source(kind, &signer, &ids, options.duration);
                    let run = measure(server, source, concurrency, options.duration)?;
                    if run.failures > 0 {
                        failures.push(format!(
                            "{} at {concurrency}, {} round {}: {} failed, e.g. `{}`",
                            kind.label(),
                            server.name,
                            round + 1,
                            run.failures,
                            run.failure_examples.first().map_or("", |e| e.trim())
                        ));
                        eprintln!(
                            "{}: {} failed answers to {} at {concurrency}, e.g. {:?}\n{}",
                            server.name,
                            run.failures,
                            kind.label(),
                            &run.failure_examples[..run.failure_examples.len().min(3)],
                            if side == 0 { profiling::spin_messages(&facteur.output()) } else { String::new() }
                        );
                    }
                    if kind == Kind::Plan && side == 0 {
                        plans_acknowledged += run.acknowledged;
                    }
                    // Let the work after the responses (facteur's Argo submits and Discord edits) finish.
                    let drained = settle(server.pid, Duration::from_secs(120)).await;
                    eprintln!(
                        "{:<32} c={concurrency:<2} round {} {:<7} {:>6.0} req/s  p50 {:>6} ms  p99 {:>6} ms  CPU/req {:>5.0} µs  (generator {:.0} µs/req; settled in {:.1} s)",
                        kind.label(),
                        round + 1,
                        server.name,
                        run.throughput(),
                        ms(run.quantile(0.5)),
                        ms(run.quantile(0.99)),
                        run.cpu_per_request().as_secs_f64() * 1e6,
                        run.generator_cpu_per_request().as_secs_f64() * 1e6,
                        drained.as_secs_f64()
                    );
                    cell.runs[side].push(run);
                }
            }
            cells.push(cell);
        }
    }
    // Every acknowledged /plan did its work: one Discord edit each.
    let edited = eventually(Duration::from_secs(120), async || {
        (discord.server.requests().len() >= plans_acknowledged).then_some(())
    })
    .await;
    let edits = discord.server.requests().len();
    ensure!(edited.is_some(), "{edits} Discord edits for {plans_acknowledged} acknowledged /plan\n{}", facteur.logs());

    let setting = Setting {
        quick: options.quick,
        sqlite: options.sqlite,
        log_files: options.log_files,
        spin_version: &facteur.version,
        root: &root,
        peer_dir: &peer_dir,
        duration: options.duration,
    };
    let mut section = report::heading(&setting, &cells)?;
    if options.only.is_some() {
        print!("{section}");
        return Ok(());
    }
    report::plan_and_failures(&mut section, &cells, (edits, plans_acknowledged), &failures, &facteur.output())?;
    print!("{section}");
    let path = root.join("BENCHMARKS.md");
    report::write_section(&path, &section)?;
    eprintln!("wrote {}", path.canonicalize().unwrap_or(path).display());
    drop(peer);
    drop(facteur);
    drop(redis);
    Ok(())
}
