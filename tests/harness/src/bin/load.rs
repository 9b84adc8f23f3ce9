//! The full "nothing lost" runs.
//!
//! `cargo run --profile native -p facteur-harness --bin load -- [commands] [concurrency]`
//! (default 10,000 at 64) through the served harness, clean and with faults (Argo 500 on every
//! 5th submit, Discord 429 on every 10th edit).
//!
//! `… --bin load -- --real-spin [commands] [concurrency] [argo_timeout_secs] [--max-instances N]`
//! under the real `spin up` (the newest Spin found; `FACTEUR_SPIN_BINS` picks another) with slow
//! and flaky stand-ins: every 10th Argo and Discord answer after facteur's deadline, every 100th
//! connection of each closed unanswered (`facteur_harness::chaos`). `--max-instances` sets
//! `SPIN_MAX_INSTANCE_COUNT` (Spin's default: 1,000 instances at once).
//!
//! Exits non-zero if anything was lost or doubled.

use facteur_harness::chaos::{self, Chaos};
use facteur_harness::scenarios::nothing_lost;
use facteur_harness::spin_up::SpinBinary;
use facteur_harness::support::test_redis;

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let mut args: Vec<String> = std::env::args().skip(1).collect();
    let real_spin = args.first().is_some_and(|a| a == "--real-spin");
    if real_spin {
        args.remove(0);
    }
    let max_instances = match args.iter().position(|a| a == "--max-instances") {
        Some(at) => Some(args.drain(at..at + 2).nth(1).unwrap_or_default().parse::<u32>()?),
        None => None,
    };
    let mut args = args.into_iter();
    let commands = args.next().map_or(Ok(10_000), |a| a.parse())?;
    let concurrency = args.next().map_or(Ok(64), |a| a.parse())?;
    if real_spin {
        let argo_timeout_secs = args.next().map_or(Ok(2), |a| a.parse())?;
        let spin = SpinBinary::newest().ok_or_else(|| anyhow::anyhow!("no `spin` found"))?;
        let redis = test_redis().await.ok_or_else(|| anyhow::anyhow!("no Redis (FACTEUR_TEST_REDIS)"))?;
        let chaos = Chaos { max_instances, ..Chaos::issue_mix(commands, concurrency, argo_timeout_secs) };
        let outcome = chaos::run(spin, &redis, &chaos).await?;
        println!("{}", outcome.summary());
        return Ok(());
    }
    for faults in [false, true] {
        let o = nothing_lost(commands, concurrency, faults).await?;
        println!(
            "{} commands at concurrency {concurrency}{}: {} workflows + {} error replies, none lost or doubled; \
             acks p50 {:.2} ms, p99 {:.2} ms, {:.0}/s; all replies after {:.1} s",
            o.commands,
            if faults { " with faults" } else { "" },
            o.workflows,
            o.error_replies,
            o.acks.quantile(0.5).as_secs_f64() * 1e3,
            o.acks.quantile(0.99).as_secs_f64() * 1e3,
            o.acks.throughput(),
            o.completion.as_secs_f64(),
        );
    }
    Ok(())
}
