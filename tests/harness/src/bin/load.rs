//! The full "nothing lost" run: `cargo run --profile native -p facteur-harness --bin load -- [commands]
//! [concurrency]` (default 10,000 at 64), clean and with faults (Argo 500 on every 5th submit,
//! Discord 429 on every 10th edit). Exits non-zero if anything was lost or doubled.

use facteur_harness::scenarios::nothing_lost;

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let mut args = std::env::args().skip(1);
    let commands = args.next().map_or(Ok(10_000), |a| a.parse())?;
    let concurrency = args.next().map_or(Ok(64), |a| a.parse())?;
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
