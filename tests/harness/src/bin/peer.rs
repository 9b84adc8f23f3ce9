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
//!
//! Needs `spin` (3.x or 4.x), `redis-server`, Node 20 and npm. Its setup runs `npm ci` in
//! `bench/peer` when `node_modules` is missing; it installs nothing else.
//!
//! The load generator is here rather than `wrk`: `/plan` needs a distinct interaction id, so a
//! distinct signed body, per request (a fixed one would hit Argo's 409 after the first), and
//! wrk's Lua can build bodies but not sign them. Bodies are signed before each round (so their
//! timestamps are fresh), and sent over keep-alive connections by hyper on one thread of its
//! own, so the generator takes at most one of the two cores from the servers.

use std::fmt::Write as _;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail, ensure};
use bytes::Bytes;
use facteur_harness::fakes::argo::FakeArgo;
use facteur_harness::fakes::discord::FakeDiscord;
use facteur_harness::spin_up::{SpinBinary, SpinUp};
use facteur_harness::support::{RedisServer, Signer, eventually, free_port, host_of, now};
use http_body_util::{BodyExt, Full};
use hyper_util::rt::TokioIo;
use serde_json::{Value, json};

/// The role the benchmark's member holds; the role map grants it `help` and `plan`.
const ROLE: &str = "150000000000000001";
const BEGIN: &str = "<!-- peer-bench: begin. Written by `cargo run --profile native -p facteur-harness --bin peer`; re-runs replace everything up to the end marker. -->";
const END: &str = "<!-- peer-bench: end -->";
/// Rounds per cell; each side is measured this often, alternating.
const ROUNDS: usize = 2;
const CONCURRENCY: [usize; 3] = [1, 16, 64];
/// Excluded from the figures: the first requests of a round (connections, caches).
const WARM_UP: Duration = Duration::from_millis(500);
/// Signed `/plan` bodies prepared per second of a round (more than either side can take).
const PLAN_BODIES_PER_SEC: usize = 7000;

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Kind {
    Ping,
    Help,
    Plan,
}

impl Kind {
    fn label(self) -> &'static str {
        match self {
            Kind::Ping => "signed PING",
            Kind::Help => "signed `/help` (allowed member)",
            Kind::Plan => "signed `/plan` (deferred)",
        }
    }

    /// What every answer to this request contains (facteur's and the peer's JSON have no spaces).
    fn needle(self) -> &'static str {
        match self {
            Kind::Ping => "\"type\":1",
            Kind::Help => "\"type\":4",
            Kind::Plan => "\"type\":5",
        }
    }

    /// The interaction type of the expected answer.
    fn answer(self) -> u64 {
        match self {
            Kind::Ping => 1,
            Kind::Help => 4,
            Kind::Plan => 5,
        }
    }
}

fn interaction(id: u64, name: &str, options: Value) -> String {
    json!({
        "id": id.to_string(), "application_id": "1170000000000000000", "type": 2, "token": format!("token-{id}"),
        "version": 1, "guild_id": "1100000000000000000", "channel_id": "1110000000000000000", "locale": "en-US",
        "member": {"user": {"id": "1200000000000000000", "username": "bench", "global_name": "Bench"}, "roles": [ROLE]},
        "data": {"id": "1400000000000000000", "name": name, "type": 1, "options": options}
    })
    .to_string()
}

fn body(kind: Kind, id: u64) -> String {
    match kind {
        Kind::Ping => {
            json!({"id": id.to_string(), "application_id": "1170000000000000000", "type": 1, "version": 1}).to_string()
        }
        Kind::Help => interaction(id, "help", json!([])),
        Kind::Plan => interaction(id, "plan", json!([{"name": "objective", "type": 3, "value": format!("run {id}")}])),
    }
}

/// One request as sent: method, extra headers, body.
#[derive(Clone)]
struct Prepared {
    method: http::Method,
    headers: Vec<(&'static str, String)>,
    body: Bytes,
}

impl Prepared {
    fn signed(signer: &Signer, body: String) -> Self {
        let timestamp = now().to_string();
        let signature = signer.sign(&timestamp, body.as_bytes());
        Self {
            method: http::Method::POST,
            headers: vec![
                ("content-type", "application/json".to_owned()),
                ("x-signature-ed25519", signature),
                ("x-signature-timestamp", timestamp),
            ],
            body: Bytes::from(body),
        }
    }

    fn request(&self, host: &str) -> http::Request<Full<Bytes>> {
        let mut request =
            http::Request::builder().method(self.method.clone()).uri("/interactions").header("host", host);
        for (name, value) in &self.headers {
            request = request.header(*name, value);
        }
        request.body(Full::new(self.body.clone())).expect("a valid request")
    }
}

/// What the clients take requests from: one repeated request, or distinct ones until they run out.
struct Source {
    requests: Vec<Prepared>,
    repeat: bool,
    next: AtomicUsize,
    /// What an answer must contain to count (e.g. `"type":5`; facteur's gateway answers a
    /// component it cannot reach with a 200 ephemeral message, which is a failure here).
    answer: Option<&'static str>,
}

impl Source {
    fn take(&self) -> Option<&Prepared> {
        let i = self.next.fetch_add(1, Ordering::Relaxed);
        if self.repeat { self.requests.get(i % self.requests.len()) } else { self.requests.get(i) }
    }
}

/// What one timed run measured.
#[derive(Debug, Clone, Default)]
struct Run {
    latencies: Vec<Duration>,
    /// Answers other than 200, and connection errors.
    failures: usize,
    /// The first few failures, for the error message.
    failure_examples: Vec<String>,
    /// Answers 200, warm-up included (each `/plan` acknowledged has work after it).
    acknowledged: usize,
    elapsed: Duration,
    /// CPU time the server's processes used during the measured part, all threads.
    cpu: Duration,
    /// CPU time of the load generator's thread during the measured part.
    generator_cpu: Duration,
}

impl Run {
    fn quantile(&self, q: f64) -> Duration {
        let mut sorted = self.latencies.clone();
        sorted.sort();
        sorted.get(((sorted.len() as f64 - 1.0) * q).round() as usize).copied().unwrap_or_default()
    }

    fn throughput(&self) -> f64 {
        self.latencies.len() as f64 / self.elapsed.as_secs_f64().max(1e-9)
    }

    fn cpu_per_request(&self) -> Duration {
        self.cpu.checked_div(self.latencies.len().max(1) as u32).unwrap_or_default()
    }

    fn generator_cpu_per_request(&self) -> Duration {
        self.generator_cpu.checked_div(self.latencies.len().max(1) as u32).unwrap_or_default()
    }
}

/// Sends requests from `source` on `concurrency` keep-alive connections for `duration`.
async fn drive(addr: SocketAddr, source: Arc<Source>, concurrency: usize, duration: Duration) -> Result<Run> {
    let host = addr.to_string();
    let started = Instant::now();
    let deadline = started + duration;
    let mut clients = Vec::new();
    for _ in 0..concurrency {
        let (source, host) = (source.clone(), host.clone());
        clients.push(tokio::task::spawn_local(async move {
            let mut run = Run::default();
            let mut sender = None;
            let mut last = started;
            while Instant::now() < deadline {
                if sender.is_none() {
                    let stream = tokio::net::TcpStream::connect(addr).await?;
                    stream.set_nodelay(true)?;
                    let (s, connection) = hyper::client::conn::http1::handshake(TokioIo::new(stream)).await?;
                    tokio::task::spawn_local(connection);
                    sender = Some(s);
                }
                let Some(prepared) = source.take() else { break };
                let request = prepared.request(&host);
                let sent = Instant::now();
                let answer = async {
                    let response = sender.as_mut().expect("connected").send_request(request).await?;
                    let status = response.status().as_u16();
                    let body = response.into_body().collect().await?.to_bytes();
                    anyhow::Ok((status, body))
                };
                let expected = |body: &[u8]| {
                    source.answer.is_none_or(|needle| body.windows(needle.len()).any(|w| w == needle.as_bytes()))
                };
                match answer.await {
                    Ok((status, body))
                        if usize::from(status) == EXPECTED.load(Ordering::Relaxed) && expected(&body) =>
                    {
                        last = Instant::now();
                        run.latencies.push(last - sent);
                        run.acknowledged += 1;
                    }
                    Ok((status, body)) => {
                        run.failures += 1;
                        if run.failure_examples.len() < 3 {
                            let body = String::from_utf8_lossy(&body[..body.len().min(160)]).into_owned();
                            run.failure_examples.push(format!("{status} {body}"));
                        }
                    }
                    Err(e) => {
                        run.failures += 1;
                        if run.failure_examples.len() < 3 {
                            run.failure_examples.push(format!("{e:#}"));
                        }
                        sender = None;
                    }
                }
            }
            run.elapsed = last - started;
            anyhow::Ok(run)
        }));
    }
    let mut total = Run::default();
    for client in clients {
        let run = client.await??;
        total.latencies.extend(run.latencies);
        total.failures += run.failures;
        total.failure_examples.extend(run.failure_examples);
        total.acknowledged += run.acknowledged;
        total.elapsed = total.elapsed.max(run.elapsed);
    }
    Ok(total)
}

/// A warm-up, then the measured run, on a thread and runtime of the generator's own.
fn measure(server: &Server, source: Source, concurrency: usize, duration: Duration) -> Result<Run> {
    let (addr, pid) = (server.addr, server.pid);
    let source = Arc::new(source);
    std::thread::scope(|scope| {
        scope
            .spawn(move || {
                let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build()?;
                let local = tokio::task::LocalSet::new();
                local.block_on(&runtime, async {
                    let warm = drive(addr, source.clone(), concurrency, WARM_UP).await?;
                    let (before, generator_before) = (cpu_time(pid), thread_cpu_time());
                    let mut run = drive(addr, source, concurrency, duration).await?;
                    run.cpu = cpu_time(pid).saturating_sub(before);
                    run.generator_cpu = thread_cpu_time().saturating_sub(generator_before);
                    run.acknowledged += warm.acknowledged;
                    run.failures += warm.failures;
                    run.failure_examples.extend(warm.failure_examples);
                    Ok(run)
                })
            })
            .join()
            .expect("the load generator does not panic")
    })
}

/// User + system CPU time of `pid` and its descendants (all threads).
fn cpu_time(pid: u32) -> Duration {
    let ticks: u64 = family(pid).iter().filter_map(|p| stat(*p)).map(|s| s.utime + s.stime).sum();
    from_ticks(ticks)
}

/// User + system CPU time of the calling thread.
fn thread_cpu_time() -> Duration {
    let ticks = std::fs::read_to_string("/proc/thread-self/stat")
        .ok()
        .and_then(|text| parse_stat(&text))
        .map_or(0, |s| s.utime + s.stime);
    from_ticks(ticks)
}

fn from_ticks(ticks: u64) -> Duration {
    static TICK: std::sync::OnceLock<u64> = std::sync::OnceLock::new();
    let tick = *TICK.get_or_init(|| {
        Command::new("getconf")
            .arg("CLK_TCK")
            .output()
            .ok()
            .and_then(|o| String::from_utf8_lossy(&o.stdout).trim().parse().ok())
            .unwrap_or(100)
    });
    Duration::from_micros(ticks * 1_000_000 / tick)
}

struct Stat {
    ppid: u32,
    comm: String,
    utime: u64,
    stime: u64,
}

fn stat(pid: u32) -> Option<Stat> {
    parse_stat(&std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?)
}

fn parse_stat(text: &str) -> Option<Stat> {
    let (head, rest) = text.rsplit_once(')')?;
    let comm = head.split_once('(')?.1.to_owned();
    let fields: Vec<&str> = rest.split_whitespace().collect();
    // After the command: state, ppid, … utime is the 14th field of the line, stime the 15th.
    Some(Stat {
        ppid: fields.get(1)?.parse().ok()?,
        comm,
        utime: fields.get(11)?.parse().ok()?,
        stime: fields.get(12)?.parse().ok()?,
    })
}

fn processes() -> Vec<u32> {
    std::fs::read_dir("/proc")
        .map(|d| d.flatten().filter_map(|e| e.file_name().to_str()?.parse().ok()).collect())
        .unwrap_or_default()
}

/// `pid` and every process below it.
fn family(pid: u32) -> Vec<u32> {
    let all: Vec<(u32, u32)> = processes().into_iter().filter_map(|p| Some((p, stat(p)?.ppid))).collect();
    let mut found = vec![pid];
    let mut i = 0;
    while i < found.len() {
        let parent = found[i];
        found.extend(all.iter().filter(|(_, ppid)| *ppid == parent).map(|(p, _)| *p));
        i += 1;
    }
    found
}

/// Waits (at most `limit`) until the server's processes are idle: its work after the responses is done.
async fn settle(pid: u32, limit: Duration) -> Duration {
    let started = Instant::now();
    let window = Duration::from_millis(250);
    loop {
        let before = cpu_time(pid);
        tokio::time::sleep(window).await;
        // Less than 4% of a core over the window (the tick is 10 ms).
        if cpu_time(pid).saturating_sub(before) <= Duration::from_millis(10) || started.elapsed() > limit {
            return started.elapsed();
        }
    }
}

/// One side of the comparison.
struct Server {
    name: &'static str,
    addr: SocketAddr,
    pid: u32,
}

/// The Node peer; killed when dropped.
struct Peer {
    child: Child,
    addr: SocketAddr,
}

impl Peer {
    async fn start(dir: &Path, public_key: &str, role_map: &str) -> Result<Self> {
        let port = free_port();
        let child = Command::new("node")
            .arg("server.js")
            .arg(port.to_string())
            .current_dir(dir)
            .env("DISCORD_PUBLIC_KEY", public_key)
            .env("ROLE_MAP", role_map)
            .env("NODE_ENV", "production")
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .spawn()
            .context("starting the Node peer (`node`, Node 20)")?;
        let addr: SocketAddr = ([127, 0, 0, 1], port).into();
        let mut peer = Self { child, addr };
        let up = eventually(Duration::from_secs(20), async || {
            if !matches!(peer.child.try_wait(), Ok(None)) {
                return Some(false);
            }
            tokio::net::TcpStream::connect(addr).await.ok().map(|_| true)
        })
        .await;
        ensure!(up == Some(true), "the Node peer did not start (see its stderr above)");
        Ok(peer)
    }
}

impl Drop for Peer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// `npm ci` in `bench/peer` unless its `node_modules` is there.
fn install_peer(dir: &Path) -> Result<()> {
    if dir.join("node_modules").is_dir() {
        return Ok(());
    }
    eprintln!("installing the Node peer: npm ci in {}", dir.display());
    let status = Command::new("npm")
        .args(["ci", "--no-audit", "--no-fund"])
        .current_dir(dir)
        .stdin(Stdio::null())
        .status()
        .context("running `npm ci` (Node 20 and npm are needed for the peer)")?;
    ensure!(status.success(), "`npm ci` in {} failed", dir.display());
    Ok(())
}

fn text(command: &str, args: &[&str], dir: &Path) -> String {
    Command::new(command)
        .args(args)
        .current_dir(dir)
        .output()
        .ok()
        .filter(|o| o.status.success())
        .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_owned())
        .unwrap_or_else(|| "unknown".to_owned())
}

/// The commit the components were built from, and whether they differ from it.
fn commit(root: &Path) -> String {
    let head = text("git", &["rev-parse", "--short", "HEAD"], root);
    let changed =
        text("git", &["status", "--porcelain", "--", "components", "config", "spin.toml", "Cargo.lock"], root);
    if changed.is_empty() { head } else { format!("{head} with uncommitted changes") }
}

fn package_version(dir: &Path, package: &str) -> String {
    std::fs::read_to_string(dir.join("node_modules").join(package).join("package.json"))
        .ok()
        .and_then(|t| serde_json::from_str::<Value>(&t).ok())
        .and_then(|v| v["version"].as_str().map(str::to_owned))
        .unwrap_or_else(|| "?".to_owned())
}

fn cpu_model() -> String {
    std::fs::read_to_string("/proc/cpuinfo")
        .ok()
        .and_then(|c| {
            c.lines().find(|l| l.starts_with("model name")).map(|l| l.split(':').nth(1).unwrap_or("").trim().to_owned())
        })
        .unwrap_or_else(|| "unknown CPU".to_owned())
}

/// Sends one request on a fresh connection; the status and JSON answer.
async fn once(addr: SocketAddr, prepared: &Prepared) -> Result<(u16, Value)> {
    let stream = tokio::net::TcpStream::connect(addr).await?;
    let (mut sender, connection) = hyper::client::conn::http1::handshake(TokioIo::new(stream)).await?;
    tokio::spawn(connection);
    let response = sender.send_request(prepared.request(&addr.to_string())).await?;
    let status = response.status().as_u16();
    let body = response.into_body().collect().await?.to_bytes();
    Ok((status, serde_json::from_slice(&body).unwrap_or(Value::Null)))
}

/// Both sides answer each request as Discord expects before anything is measured.
async fn check(servers: &[Server], signer: &Signer, ids: &AtomicU64) -> Result<()> {
    for server in servers {
        for kind in [Kind::Ping, Kind::Help, Kind::Plan] {
            let prepared = Prepared::signed(signer, body(kind, ids.fetch_add(1, Ordering::Relaxed)));
            let (status, answer) = once(server.addr, &prepared).await?;
            ensure!(
                status == 200 && answer["type"].as_u64() == Some(kind.answer()),
                "{} answered {status} {answer} to {}",
                server.name,
                kind.label()
            );
            if kind == Kind::Help {
                let content = answer["data"]["content"].as_str().unwrap_or_default();
                ensure!(
                    answer["data"]["flags"] == 64 && content.contains("/help") && content.contains("/plan"),
                    "{} answered /help with {answer}",
                    server.name
                );
            }
        }
        let mut forged = Prepared::signed(signer, body(Kind::Help, 1));
        forged.headers[1].1 = "00".repeat(64);
        let (status, _) = once(server.addr, &forged).await?;
        ensure!(status == 401, "{} answered {status} to a bad signature", server.name);
    }
    Ok(())
}

/// The requests of one round, signed now.
fn source(kind: Kind, signer: &Signer, ids: &AtomicU64, duration: Duration) -> Source {
    if kind != Kind::Plan {
        let prepared = Prepared::signed(signer, body(kind, ids.fetch_add(1, Ordering::Relaxed)));
        return Source {
            requests: vec![prepared],
            repeat: true,
            next: AtomicUsize::new(0),
            answer: Some(kind.needle()),
        };
    }
    let count = PLAN_BODIES_PER_SEC * (duration + WARM_UP).as_secs_f64().ceil() as usize;
    let first = ids.fetch_add(count as u64, Ordering::Relaxed);
    let requests = std::thread::scope(|scope| {
        let halves: Vec<_> = [0, count / 2]
            .into_iter()
            .zip([count / 2, count])
            .map(|(from, to)| {
                scope.spawn(move || {
                    (from..to).map(|i| Prepared::signed(signer, body(Kind::Plan, first + i as u64))).collect::<Vec<_>>()
                })
            })
            .collect();
        halves.into_iter().flat_map(|h| h.join().expect("signing does not panic")).collect()
    });
    Source { requests, repeat: false, next: AtomicUsize::new(0), answer: Some(kind.needle()) }
}

struct Cell {
    kind: Kind,
    concurrency: usize,
    /// Per side (facteur, peer), one run per round.
    runs: [Vec<Run>; 2],
}

fn ms(d: Duration) -> String {
    let ms = d.as_secs_f64() * 1e3;
    if ms < 10.0 { format!("{ms:.2}") } else { format!("{ms:.1}") }
}

fn thousands(n: f64) -> String {
    let n = n.round() as u64;
    if n >= 1000 { format!("{},{:03}", n / 1000, n % 1000) } else { n.to_string() }
}

fn joined(runs: &[Run], f: impl Fn(&Run) -> String) -> String {
    runs.iter().map(f).collect::<Vec<_>>().join(" / ")
}

fn mean_throughput(runs: &[Run]) -> f64 {
    runs.iter().map(Run::throughput).sum::<f64>() / runs.len().max(1) as f64
}

fn table(cells: &[Cell]) -> String {
    let mut out = String::new();
    out.push_str(
        "| request | conc. | facteur req/s | p50 ms | p99 ms | CPU/req | peer req/s | p50 ms | p99 ms | CPU/req | ratio |\n",
    );
    out.push_str("|---|---|---|---|---|---|---|---|---|---|---|\n");
    for cell in cells {
        let mut row = format!("| {} | {} |", cell.kind.label(), cell.concurrency);
        for runs in &cell.runs {
            let _ = write!(
                row,
                " {} | {} | {} | {} |",
                joined(runs, |r| {
                    let rate = thousands(r.throughput());
                    if r.failures > 0 { format!("{rate} ({} failed)", thousands(r.failures as f64)) } else { rate }
                }),
                joined(runs, |r| ms(r.quantile(0.5))),
                joined(runs, |r| ms(r.quantile(0.99))),
                joined(runs, |r| format!("{:.0} µs", r.cpu_per_request().as_secs_f64() * 1e6)),
            );
        }
        let ratio = mean_throughput(&cell.runs[0]) / mean_throughput(&cell.runs[1]);
        let _ = writeln!(
            row,
            " {}{ratio:.2}×{} |",
            if ratio < 1.0 { "**" } else { "" },
            if ratio < 1.0 { "**" } else { "" }
        );
        out.push_str(&row);
    }
    out
}

/// Replaces the section between the markers, or puts it first among the hand-written
/// sections (after `bench`'s marker, which keeps what follows it), or at the end.
fn write_section(path: &Path, section: &str) -> Result<()> {
    let previous = std::fs::read_to_string(path).unwrap_or_default();
    let block = format!("{BEGIN}\n{section}{END}\n");
    let updated = if let (Some(begin), Some(end)) = (previous.find(BEGIN), previous.find(END)) {
        format!("{}{block}\n{}", &previous[..begin], previous[end + END.len()..].trim_start_matches('\n'))
    } else if let Some(at) = previous.find("<!-- Written by hand below this line") {
        let line_end = previous[at..].find('\n').map_or(previous.len(), |n| at + n + 1);
        format!("{}\n{block}\n{}", &previous[..line_end], previous[line_end..].trim_start_matches('\n'))
    } else {
        format!("{}\n\n{block}", previous.trim_end())
    };
    std::fs::write(path, updated)?;
    Ok(())
}

struct Options {
    duration: Duration,
    quick: bool,
    variants: bool,
    /// Serve both sides for this long and write wrk scripts, for profiling by hand.
    serve: Option<Duration>,
    /// Keep sessions in Spin's default SQLite key-value store (the state dir's disk) instead of
    /// Redis, as on the cluster (`config/runtime-config.cluster.toml`).
    sqlite: bool,
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
    Ok(Options { sqlite, duration, quick, variants: args.iter().any(|a| a == "--variants"), serve, only })
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
    let facteur = up
        .variable("discord_public_key", signer.public_key_hex())
        .variable("role_map", role_map.clone())
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
        return variants(&facteur_server, &facteur, &signer, &ids, options.duration).await;
    }

    let peer = Peer::start(&peer_dir, &signer.public_key_hex(), &role_map).await?;
    let servers = [facteur_server, Server { name: "peer", addr: peer.addr, pid: peer.child.id() }];
    check(&servers, &signer, &ids).await?;
    if let Some(limit) = options.serve {
        return serve(&servers, &signer, &ids, limit).await;
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
                            if side == 0 { spin_messages(&facteur.output()) } else { String::new() }
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

    let generator: Vec<f64> = cells
        .iter()
        .flat_map(|c| c.runs.iter().flatten())
        .map(|r| r.generator_cpu_per_request().as_secs_f64() * 1e6)
        .collect();
    let mut section = String::new();
    writeln!(section, "## Real Spin against the Node peer\n")?;
    writeln!(
        section,
        "Produced by `cargo run --profile native -p facteur-harness --bin peer`{} on {} cores ({}): facteur under `spin up` \
         (Spin {}, components built by `spin build` at commit {}) beside the Node peer `bench/peer/server.js` (Node {}, \
         discord-interactions {}, express {}), one after the other on the same machine, each request signed with the \
         same non-development key; facteur keeps sessions in {}. Load: this command's generator (hyper, one thread, keep-alive connections), {} s \
         rounds after a {} ms warm-up, {ROUNDS} rounds per cell, alternating facteur and peer; each cell shows both \
         rounds. CPU/req: CPU time of the server's processes (all threads) per answered request (the generator \
         itself took {:.0}–{:.0} µs per request). Ratio: facteur's mean throughput over the peer's.\n",
        if options.quick { " -- --quick" } else { "" },
        std::thread::available_parallelism().map_or(0, |n| n.get()),
        cpu_model(),
        facteur.version,
        commit(&root),
        text("node", &["--version"], &root).trim_start_matches('v'),
        package_version(&peer_dir, "discord-interactions"),
        package_version(&peer_dir, "express"),
        if options.sqlite {
            "Spin's default SQLite key-value store (`--sqlite`)"
        } else {
            "Redis, as on the cluster (`--sqlite`: Spin's default SQLite store)"
        },
        options.duration.as_secs_f64(),
        WARM_UP.as_millis(),
        generator.iter().copied().fold(f64::MAX, f64::min),
        generator.iter().copied().fold(0.0, f64::max),
    )?;
    section.push_str(&table(&cells));
    if options.only.is_some() {
        print!("{section}");
        return Ok(());
    }
    let plan = cells.iter().find(|c| c.kind == Kind::Plan && c.concurrency == 1).expect("measured");
    writeln!(
        section,
        "\n`/plan` acknowledgement at concurrency 1 under real Spin: p50 {} ms, p99 {} ms (target: p99 < 5 ms). \
         facteur's `/plan` does its work after the response in the same run (Argo submit to a fake Argo, Discord edit \
         to a fake Discord, key-value session; {edits} edits for {plans_acknowledged} acknowledged, none lost), on the \
         same two cores; the peer's work after the response is a no-op. The peer does not check the signature's \
         timestamp (facteur refuses one older than 300 s) and writes no audit line.\n",
        joined(&plan.runs[0], |r| ms(r.quantile(0.5))),
        joined(&plan.runs[0], |r| ms(r.quantile(0.99))),
    )?;
    if !failures.is_empty() {
        // Spin's own reasons, once each, without timestamps.
        let mut reasons: Vec<String> = facteur
            .output()
            .lines()
            .filter(|l| l.contains(" ERROR "))
            .filter_map(|l| l.split_once(" ERROR ").map(|(_, m)| m.trim().to_owned()))
            .collect();
        reasons.sort();
        reasons.dedup();
        writeln!(section, "Failed answers (not counted in req/s or latency):\n")?;
        for failure in &failures {
            writeln!(section, "- {failure}")?;
        }
        for reason in reasons.iter().take(5) {
            writeln!(section, "- `spin up` said: `{reason}`")?;
        }
        writeln!(section)?;
    }
    print!("{section}");
    let path = root.join("BENCHMARKS.md");
    write_section(&path, &section)?;
    eprintln!("wrote {}", path.canonicalize().unwrap_or(path).display());
    drop(peer);
    drop(facteur);
    drop(redis);
    Ok(())
}

/// The `spin` process this run started (the harness keeps its `Child` to itself).
fn spin_pid() -> Result<u32> {
    let me = std::process::id();
    processes()
        .into_iter()
        .filter_map(|p| stat(p).map(|s| (p, s)))
        .find(|(_, s)| s.ppid == me && s.comm.starts_with("spin"))
        .map(|(p, _)| p)
        .context("the spin process")
}

/// facteur alone, on requests that stop at successive stages: where the time goes.
async fn variants(server: &Server, spin: &SpinUp, signer: &Signer, ids: &AtomicU64, duration: Duration) -> Result<()> {
    let unsigned = |method: http::Method| Prepared {
        method,
        headers: vec![("content-type", "application/json".to_owned())],
        body: Bytes::from(body(Kind::Ping, 1)),
    };
    // A real signature of another body: verification runs to the end and fails (an all-zero
    // signature would be refused before the curve arithmetic).
    let mut forged = Prepared::signed(signer, body(Kind::Ping, 1));
    forged.headers[1].1 = signer.sign(&forged.headers[2].1, b"another body");
    let mut rows = Vec::new();
    for concurrency in [1, 16] {
        for round in 0..ROUNDS {
            let cases: Vec<(&str, u16, Source)> = vec![
                ("GET → 405", 405, repeat(unsigned(http::Method::GET))),
                ("POST, no signature → 401", 401, repeat(unsigned(http::Method::POST))),
                ("POST, bad signature → 401 (one verification)", 401, repeat(forged.clone())),
                ("signed PING → PONG", 200, source(Kind::Ping, signer, ids, duration)),
                (
                    "signed unknown command → ephemeral (gateway only)",
                    200,
                    repeat(Prepared::signed(
                        signer,
                        interaction(ids.fetch_add(1, Ordering::Relaxed), "nope", json!([])),
                    )),
                ),
                ("signed `/help` (gateway + chained help)", 200, source(Kind::Help, signer, ids, duration)),
            ];
            for (label, status, source) in cases {
                let run = measure_status(server, source, concurrency, duration, status)?;
                settle(server.pid, Duration::from_secs(30)).await;
                eprintln!(
                    "c={concurrency:<2} round {} {label:<50} {:>6.0} req/s  p50 {:>6} ms  p99 {:>6} ms  CPU/req {:>5.0} µs",
                    round + 1,
                    run.throughput(),
                    ms(run.quantile(0.5)),
                    ms(run.quantile(0.99)),
                    run.cpu_per_request().as_secs_f64() * 1e6
                );
                rows.push((concurrency, label, run));
            }
        }
    }
    println!(
        "| request (facteur under spin {}) | conc. | req/s | p50 ms | p99 ms | CPU/req |\n|---|---|---|---|---|---|",
        spin.version
    );
    for (concurrency, label, run) in rows {
        println!(
            "| {label} | {concurrency} | {} | {} | {} | {:.0} µs |",
            thousands(run.throughput()),
            ms(run.quantile(0.5)),
            ms(run.quantile(0.99)),
            run.cpu_per_request().as_secs_f64() * 1e6
        );
    }
    Ok(())
}

/// The last lines of `spin up`'s output that are not the components' JSON audit lines.
fn spin_messages(output: &str) -> String {
    let lines: Vec<&str> = output.lines().filter(|l| !l.starts_with('{') && !l.trim().is_empty()).collect();
    lines[lines.len().saturating_sub(30)..].join("\n")
}

fn repeat(prepared: Prepared) -> Source {
    Source { requests: vec![prepared], repeat: true, next: AtomicUsize::new(0), answer: None }
}

/// [`measure`] for requests whose expected answer is `status`, not 200.
fn measure_status(server: &Server, source: Source, concurrency: usize, duration: Duration, status: u16) -> Result<Run> {
    if status == 200 {
        let run = measure(server, source, concurrency, duration)?;
        ensure!(run.failures == 0, "{} failures", run.failures);
        return Ok(run);
    }
    // Count the expected refusal as the answer: measure on a copy of the generator that
    // accepts it (the refusals are the point here).
    EXPECTED.store(status as usize, Ordering::Relaxed);
    let run = measure(server, source, concurrency, duration);
    EXPECTED.store(200, Ordering::Relaxed);
    let run = run?;
    ensure!(run.failures == 0, "{} failures", run.failures);
    Ok(run)
}

/// The status the generator counts as an answer (200, or a refusal in `--variants`).
static EXPECTED: AtomicUsize = AtomicUsize::new(200);

/// Keeps both sides up for `limit` with wrk scripts of a signed PING and `/help` (re-signed
/// every minute), for profiling and cross-checking by hand.
async fn serve(servers: &[Server], signer: &Signer, ids: &AtomicU64, limit: Duration) -> Result<()> {
    let dir = facteur_harness::spin_up::tempdir("peer-serve")?;
    for server in servers {
        eprintln!("{}: http://{}/interactions (pid {})", server.name, server.addr, server.pid);
    }
    eprintln!("public key: {}", signer.public_key_hex());
    eprintln!(
        "wrk scripts (re-signed every minute): {0}/ping.lua, {0}/help.lua; e.g.\n  \
         wrk -t2 -c64 -d10s --latency -s {0}/help.lua http://{1}/interactions",
        dir.display(),
        servers[0].addr
    );
    let started = Instant::now();
    while started.elapsed() < limit {
        for kind in [Kind::Ping, Kind::Help] {
            let prepared = Prepared::signed(signer, body(kind, ids.fetch_add(1, Ordering::Relaxed)));
            let mut lua =
                format!("wrk.method = \"POST\"\nwrk.body = [==[{}]==]\n", String::from_utf8_lossy(&prepared.body));
            for (name, value) in &prepared.headers {
                let _ = writeln!(lua, "wrk.headers[\"{name}\"] = \"{value}\"");
            }
            let name = if kind == Kind::Ping { "ping.lua" } else { "help.lua" };
            std::fs::write(dir.join(format!("{name}.tmp")), lua)?;
            std::fs::rename(dir.join(format!("{name}.tmp")), dir.join(name))?;
        }
        tokio::time::sleep(Duration::from_secs(60).min(limit.saturating_sub(started.elapsed()))).await;
    }
    let _ = std::fs::remove_dir_all(&dir);
    Ok(())
}
