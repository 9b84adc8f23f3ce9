//! Under load and faults, nothing is lost (a reduced size; the full 10,000 commands at
//! concurrency 64 is `cargo run --release -p facteur-harness --bin load`).

use facteur_harness::scenarios::nothing_lost;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_command_ends_in_one_workflow_and_one_reply() {
    let outcome = nothing_lost(200, 16, false).await.unwrap();
    assert_eq!((outcome.workflows, outcome.error_replies), (200, 0));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn with_argo_failing_and_discord_throttling_nothing_is_lost_or_doubled() {
    let outcome = nothing_lost(200, 16, true).await.unwrap();
    assert_eq!(outcome.workflows + outcome.error_replies, 200);
    assert_eq!(outcome.error_replies, 40, "every 5th submit failed");
}
