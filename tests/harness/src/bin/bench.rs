//! facteur's benchmarks, written to BENCHMARKS.md:
//! `cargo run --profile native -p facteur-harness --bin bench [-- --quick]`
//! (`-- --core` prints the wasm/native figure alone and writes nothing).
//!
//! Every figure comes from the same run on the same machine; compare ratios, not absolutes.

use std::fmt::Write as _;
use std::path::PathBuf;
use std::time::{Duration, Instant};

use anyhow::Result;
use bytes::Bytes;
use facteur::admission::{Received, admit};
use facteur::catalog::Catalog;
use facteur::policy::{Caller, Policy, RoleMap};
use facteur::routing::route;
use facteur::signature::Verifier;
use facteur_harness::scenarios::{ROLE, plan_body};
use facteur_harness::support::{Signer, eventually, manifest_path, now};
use facteur_harness::{App, load, scenarios};
use http_body_util::Full;
use serde_json::json;

/// Nanoseconds per verify + parse + route + role check, natively.
fn native_core(signer: &Signer, iterations: u32) -> f64 {
    let body = plan_body(1);
    let timestamp = now().to_string();
    let signature = signer.sign(&timestamp, body.as_bytes());
    let verifier = Verifier::from_hex("key", &signer.public_key_hex(), 300).unwrap();
    let catalog = Catalog::embedded();
    let policy =
        Policy { role_map: RoleMap::parse(&json!({"plan": [ROLE]}).to_string()).unwrap(), ..Policy::default() };
    let started = Instant::now();
    for _ in 0..iterations {
        let received = Received {
            method: "POST",
            client: Some("127.0.0.1:1"),
            signature: Some(&signature),
            timestamp: Some(&timestamp),
            body: body.as_bytes(),
        };
        let interaction = admit(&received, &verifier, now()).unwrap();
        std::hint::black_box(route(&catalog, &interaction));
        std::hint::black_box(policy.decide("plan", &Caller::of(&interaction)));
    }
    started.elapsed().as_nanos() as f64 / f64::from(iterations)
}

/// The same work inside wasm (the bench-core fixture), nanoseconds per iteration.
async fn wasm_core(app: &App, signer: &Signer, iterations: u32) -> Result<f64> {
    let body = plan_body(1);
    let timestamp = now().to_string();
    let request = http::Request::post("/bench-core")
        .header("x-key", signer.public_key_hex())
        .header("x-signature-ed25519", signer.sign(&timestamp, body.as_bytes()))
        .header("x-signature-timestamp", timestamp)
        .header("x-iterations", iterations.to_string())
        .body(Full::new(Bytes::from(body)))?;
    let text = app.handle(request).await?.text();
    Ok(text.split_whitespace().next().unwrap_or("0").parse()?)
}

struct Row {
    what: &'static str,
    concurrency: usize,
    report: load::Report,
    completion: Option<Duration>,
}

/// Signed PINGs or /plans through the served app over loopback.
async fn end_to_end(plan: bool, requests: usize, concurrency: usize, first_id: u64) -> Result<Row> {
    let served = scenarios::served().await?;
    let bodies: Vec<http::Request<Full<Bytes>>> = (0..requests as u64)
        .map(|i| {
            if plan {
                return scenarios::plan_request(&served, first_id + i);
            }
            let mut request = served
                .signer
                .request(json!({"id": (first_id + i).to_string(), "application_id": "1", "type": 1}).to_string());
            *request.uri_mut() = served.server.url("/interactions").parse().unwrap();
            request
        })
        .collect();
    let started = Instant::now();
    let report = load::run(served.server.addr, bodies, concurrency).await?;
    anyhow::ensure!(report.statuses.iter().all(|s| *s == 200), "all answered 200");
    let completion = if plan {
        eventually(Duration::from_secs(600), async || (served.discord.edits().len() >= requests).then_some(())).await;
        Some(started.elapsed())
    } else {
        None
    };
    served.app.wait_idle(Duration::from_secs(60)).await?;
    Ok(Row {
        what: if plan { "signed /plan (deferred; Argo submit and Discord edit after)" } else { "signed PING" },
        concurrency,
        report,
        completion,
    })
}

/// BENCHMARKS.md keeps what follows this line when the benchmarks rewrite the file.
const HAND_WRITTEN: &str = "<!-- Written by hand below this line";

fn machine() -> String {
    let cpu = std::fs::read_to_string("/proc/cpuinfo")
        .ok()
        .and_then(|c| {
            c.lines().find(|l| l.starts_with("model name")).map(|l| l.split(':').nth(1).unwrap_or("").trim().to_owned())
        })
        .unwrap_or_else(|| "unknown CPU".to_owned());
    let cores = std::thread::available_parallelism().map_or(0, |n| n.get());
    let rustc = std::process::Command::new("rustc")
        .arg("--version")
        .output()
        .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_owned())
        .unwrap_or_default();
    format!("{cores} cores ({cpu}), {rustc}, wasmtime 48 (Cranelift), host built with `--profile native`")
}

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() -> Result<()> {
    let quick = std::env::args().any(|a| a == "--quick");
    let scale = if quick { 10 } else { 1 };
    let signer = Signer::default();
    let mut out = String::new();
    writeln!(out, "# Benchmarks\n")?;
    writeln!(
        out,
        "Produced by `cargo run --profile native -p facteur-harness --bin bench`{} on {}.",
        if quick { " -- --quick" } else { "" },
        machine()
    )?;
    writeln!(out, "The machine is shared and noisy: read the ratios, and absolute figures only against each other.\n")?;

    // wasm/native for the gateway's domain work: alternate short rounds and keep each side's
    // fastest, since noise on a shared machine only ever adds time.
    let fixtures = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("fixtures/spin.toml");
    let fixture = App::builder(fixtures).variable("redis_list", "unused").load().await?;
    let iterations = 400 / scale as u32;
    let (mut native, mut wasm) = (f64::MAX, f64::MAX);
    for _ in 0..15 {
        native = native.min(native_core(&signer, iterations));
        wasm = wasm.min(wasm_core(&fixture, &signer, iterations).await?);
    }
    writeln!(out, "## Verify + parse + route + role check\n")?;
    writeln!(out, "| | per request | ratio |\n|---|---|---|")?;
    writeln!(out, "| native (Rust, x86_64) | {:.1} µs | 1.00 |", native / 1e3)?;
    writeln!(
        out,
        "| `.wasm` in wasmtime (bench-core fixture, same library code) | {:.1} µs | {:.2} |\n",
        wasm / 1e3,
        wasm / native
    )?;
    if std::env::args().any(|a| a == "--core") {
        print!("{out}");
        return Ok(());
    }

    // Components: size and instantiation.
    let app = App::builder(manifest_path()).load().await?;
    let manifest = facteur_harness::manifest::Manifest::load(&manifest_path())?;
    writeln!(out, "## Components\n")?;
    writeln!(out, "| component | `.wasm` (release) | instantiation (fresh store, pre-instantiated) |\n|---|---|---|")?;
    for id in app.components() {
        let size = std::fs::metadata(&manifest.components[&id].source)?.len();
        let cost = app.instantiation_cost(&id, 200 / scale as u32).await?;
        writeln!(out, "| {id} | {:.0} KiB | {:.0} µs |", size as f64 / 1024.0, cost.as_secs_f64() * 1e6)?;
    }
    writeln!(out)?;

    // End to end over loopback.
    writeln!(out, "## End to end over loopback HTTP (served harness)\n")?;
    writeln!(
        out,
        "Acknowledgement: the HTTP answer Discord waits for (3 s limit). Completion: until the last Discord edit.\n"
    )?;
    writeln!(
        out,
        "| request | concurrency | requests | throughput | ack p50 | ack p99 | completion |\n|---|---|---|---|---|---|---|"
    )?;
    let mut first_id = 1_400_000_000_000_000_000u64;
    for plan in [false, true] {
        for concurrency in [1, 16, 64] {
            let requests = (if plan { 1000 } else { 2000 }) / scale;
            let row = end_to_end(plan, requests, concurrency, first_id).await?;
            first_id += requests as u64;
            writeln!(
                out,
                "| {} | {} | {} | {:.0}/s | {:.2} ms | {:.2} ms | {} |",
                row.what,
                row.concurrency,
                requests,
                row.report.throughput(),
                row.report.quantile(0.5).as_secs_f64() * 1e3,
                row.report.quantile(0.99).as_secs_f64() * 1e3,
                row.completion.map_or("—".to_owned(), |c| format!("{:.2} s", c.as_secs_f64())),
            )?;
        }
    }
    // Figures from other commands (load, fuzzing) and their reading follow the marker, by hand.
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../BENCHMARKS.md");
    let previous = std::fs::read_to_string(&path).unwrap_or_default();
    if let Some(at) = previous.find(HAND_WRITTEN) {
        out.push('\n');
        out.push_str(&previous[at..]);
    }
    std::fs::write(&path, &out)?;
    print!("{out}");
    Ok(())
}
