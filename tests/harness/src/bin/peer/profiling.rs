//! The modes that write nothing to BENCHMARKS.md: `--variants` (where the time goes in the
//! gateway) and `--serve` (both sides up with wrk scripts, for profiling by hand).

use std::fmt::Write as _;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use anyhow::Result;
use bytes::Bytes;
use facteur_harness::spin_up::SpinUp;
use facteur_harness::support::Signer;
use serde_json::json;

use crate::ROUNDS;
use crate::load::{Server, measure_status};
use crate::process::settle;
use crate::report::{ms, thousands};
use crate::requests::{Kind, Prepared, Source, body, interaction, repeat, source};

/// facteur alone, on requests that stop at successive stages: where the time goes.
pub async fn variants(
    server: &Server,
    spin: &SpinUp,
    signer: &Signer,
    ids: &AtomicU64,
    duration: Duration,
) -> Result<()> {
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
pub fn spin_messages(output: &str) -> String {
    let lines: Vec<&str> = output.lines().filter(|l| !l.starts_with('{') && !l.trim().is_empty()).collect();
    lines[lines.len().saturating_sub(30)..].join("\n")
}

/// Keeps both sides up for `limit` with wrk scripts of a signed PING and `/help` (re-signed
/// every minute), for profiling and cross-checking by hand.
pub async fn serve(servers: &[Server], signer: &Signer, ids: &AtomicU64, limit: Duration) -> Result<()> {
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
