//! Nothing lost under real Spin while Argo and Discord are slow and flaky: 300 signed `/plan` at
//! concurrency 16, every 10th answer of each stand-in after facteur's deadline (it took effect),
//! every 100th connection closed unanswered, and each stand-in's port closed for 300 ms now and
//! then (`facteur_harness::chaos`; the full 10,000 at 64 is
//! `cargo run --profile native -p facteur-harness --bin load -- --real-spin`).

use std::time::Duration;

use facteur_harness::chaos::{self, Chaos};

use super::runtimes;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_interaction_ends_in_one_truthful_reply_when_argo_and_discord_answer_late_or_not_at_all() {
    let Some((spins, redis)) = runtimes().await else { return };
    for spin in spins {
        let mut mix = Chaos { patience: Duration::from_secs(60), ..Chaos::issue_mix(300, 16, 2) };
        // And now and then each stand-in goes away for a moment (its port closed).
        mix.argo.unreachable = Some((97, Duration::from_millis(300)));
        mix.discord.unreachable = Some((89, Duration::from_millis(300)));
        let outcome = chaos::run(spin, &redis, &mix).await.unwrap_or_else(|e| panic!("{e:#}"));
        eprintln!("{}", outcome.summary());
        assert_eq!(outcome.deferred, 300, "{}", outcome.summary());
        assert_eq!(outcome.started + outcome.unknown.0 + outcome.unknown.1 + outcome.failed, 300);
        assert!(outcome.argo_faults.late >= 1 && outcome.argo_faults.dropped >= 1, "{:?}", outcome.argo_faults);
        assert!(
            outcome.discord_faults.late >= 1 && outcome.discord_faults.dropped >= 1,
            "{:?}",
            outcome.discord_faults
        );
        assert!(outcome.argo_faults.unreachable >= 1 && outcome.discord_faults.unreachable >= 1);
        assert!(outcome.repeated_edits >= 1, "late and lost edits were sent again");
    }
}
