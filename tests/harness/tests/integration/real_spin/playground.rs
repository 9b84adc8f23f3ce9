//! The first five minutes (issue 20), end to end: the playground `facteur dev` runs (the same
//! `Playground`, started in-process), real `spin up` pointed at it with the variables
//! `facteur dev` prints, and the `facteur interact` binary a newcomer runs, reading what it
//! shows: the reply naming the workflow, Refresh moving the phase, `/workflow logs`, Cancel →
//! Stop, and the final phase arriving through the bridge and the worker.

use std::path::PathBuf;
use std::sync::OnceLock;
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::{Duration, Instant};

use facteur_harness::fakes::argo::Clock;
use facteur_harness::fakes::playground::{ENV, Options, Playground};
use facteur_harness::spin_up::{SpinBinary, SpinUp};
use facteur_harness::support::host_of;

use super::runtimes;

/// The `facteur` binary, built once (`cargo build -p facteur-cli`) in this test's target dir.
fn facteur_binary() -> PathBuf {
    static BUILT: OnceLock<PathBuf> = OnceLock::new();
    BUILT
        .get_or_init(|| {
            // <target>/<profile>/deps/integration-…
            let exe = std::env::current_exe().unwrap();
            let target = exe.ancestors().nth(3).unwrap().to_owned();
            let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".to_owned());
            let status = std::process::Command::new(cargo)
                .args(["build", "-q", "-p", "facteur-cli", "--bin", "facteur", "--target-dir"])
                .arg(&target)
                .current_dir(env!("CARGO_MANIFEST_DIR"))
                .status()
                .unwrap();
            assert!(status.success(), "cargo build -p facteur-cli failed");
            target.join("debug/facteur")
        })
        .clone()
}

/// `facteur interact …` against the app, with `FACTEUR_PLAYGROUND` set as `facteur dev` says;
/// what it printed.
async fn interact(up: &SpinUp, playground: &Playground, args: &[&str]) -> String {
    let output = tokio::process::Command::new(facteur_binary())
        .arg("interact")
        .args(args)
        .args(["--url", &up.url("/interactions")])
        .env(ENV, playground.discord_origin())
        .env_remove("FACTEUR_SIGNING_SEED")
        .stdin(std::process::Stdio::null())
        .output()
        .await
        .unwrap();
    let text = String::from_utf8_lossy(&output.stdout).into_owned();
    assert!(
        output.status.success(),
        "facteur interact {args:?} failed:\n{text}\n{}\nlogs:\n{}",
        String::from_utf8_lossy(&output.stderr),
        up.logs()
    );
    text
}

/// The playground and `spin up` pointed at it, as the printed instructions say.
async fn world(spin: &SpinBinary, redis: &str, clock: Clock) -> (Playground, SpinUp) {
    static N: AtomicU32 = AtomicU32::new(0);
    let playground = Playground::start(Options { clock, ..Options::default() }).await.unwrap();
    let channel = format!("facteur.playground.{}.{}", std::process::id(), N.fetch_add(1, Ordering::SeqCst));
    let mut builder = spin
        .up()
        .variable("redis_host", host_of(redis))
        .variable("events_channel", format!("{channel}.commands"))
        .variable("lifecycle_channel", format!("{channel}.lifecycle"));
    for (name, value) in playground.spin_variables() {
        builder = builder.variable(name, value);
    }
    let up = builder.start().await.unwrap_or_else(|e| panic!("{e:#}"));
    playground.report_to_app(&up.url(""));
    (playground, up)
}

/// The workflow a rendered reply names through its Refresh button.
fn workflow_name(shown: &str) -> String {
    let at = shown.find("workflow:refresh:argo:").unwrap_or_else(|| panic!("no Refresh button in:\n{shown}"));
    shown[at + "workflow:refresh:argo:".len()..].split_whitespace().next().unwrap().to_owned()
}

#[tokio::test]
async fn plan_then_refresh_logs_and_cancel_stop_as_facteur_interact_shows_them() {
    let Some((spins, redis)) = runtimes().await else { return };
    for spin in spins {
        let clock = Clock { pending: Duration::from_secs(1), running: Duration::from_secs(120) };
        let (playground, up) = world(spin, &redis, clock).await;

        // /plan: deferred, then the edited reply with the workflow, its embed and buttons.
        let shown = interact(&up, &playground, &["plan", "--option", "objective=Try the playground"]).await;
        let name = workflow_name(&shown);
        assert!(name.starts_with("plan-"), "{shown}");
        for expected in [
            "facteur deferred: \"facteur is thinking…\" (type 5)",
            &format!("`/plan` started workflow `{name}` in `argo`."),
            &format!("┃ {}/workflows/argo/{name}", playground.argo.origin()),
            "Template: `facteur-dispatch`",
            "objective=Try the playground",
            &format!("[Cancel]        workflow:cancel:argo:{name}"),
        ] {
            assert!(shown.contains(expected), "spin {}: `{expected}` in:\n{shown}", spin.version);
        }

        // Refresh: the message updated in place, and the phase moves (Pending → Running).
        let deadline = Instant::now() + Duration::from_secs(20);
        let mut phases = Vec::new();
        loop {
            let refreshed = interact(&up, &playground, &["--click", &format!("workflow:refresh:argo:{name}")]).await;
            assert!(refreshed.contains("facteur updated the message in place (type 7)"), "{refreshed}");
            assert!(refreshed.contains(&format!("`{name}` is **")), "{refreshed}");
            let phase = refreshed.split("Phase: ").nth(1).and_then(|p| p.split_whitespace().next()).unwrap().to_owned();
            phases.push(phase.clone());
            if phase == "Running" {
                break;
            }
            assert!(Instant::now() < deadline, "the phase never moved to Running: {phases:?}");
            tokio::time::sleep(Duration::from_millis(300)).await;
        }

        // /workflow logs: the lines the example template prints, fenced, as in Discord.
        let logs =
            interact(&up, &playground, &["workflow", "--sub", "logs", "--option", &format!("name={name}")]).await;
        assert!(logs.contains(&format!("Last lines of `{name}`:")), "{logs}");
        assert!(logs.contains("│ objective: Try the playground") && logs.contains("│ ```"), "{logs}");

        // Cancel → the ephemeral question → Stop (by its label): deferred update, then the edit.
        let cancel = format!("workflow:cancel:argo:{name}");
        let stopped = interact(&up, &playground, &["--click", &cancel, "--click", "Stop"]).await;
        for expected in [
            "facteur answered at once (type 4)",
            "(only you can see this)",
            &format!("[Stop]          workflow:stop:argo:{name}"),
            "a deferred update (type 6)",
            &format!("Stop requested for `{name}`: its exit handlers run, then it ends."),
        ] {
            assert!(stopped.contains(expected), "spin {}: `{expected}` in:\n{stopped}", spin.version);
        }
        let after = interact(&up, &playground, &["--click", &format!("workflow:refresh:argo:{name}")]).await;
        assert!(after.contains(&format!("`{name}` is **Failed**.")), "{after}");
        assert!(playground.argo.violations().is_empty(), "{:?}", playground.argo.violations());
        assert!(playground.discord.violations().is_empty(), "{:?}", playground.discord.violations());
    }
}

#[tokio::test]
async fn the_final_phase_reaches_the_reply_through_the_bridge_and_the_worker() {
    let Some((spins, redis)) = runtimes().await else { return };
    for spin in spins {
        let clock = Clock { pending: Duration::from_millis(500), running: Duration::from_secs(2) };
        let (playground, up) = world(spin, &redis, clock).await;
        let shown =
            interact(&up, &playground, &["plan", "--option", "objective=Watch it end", "--follow", "--wait", "30"])
                .await;
        let name = workflow_name(&shown);
        let edited = shown.split("facteur's reply, edited").nth(1).unwrap_or_else(|| panic!("no edit in:\n{shown}"));
        assert!(edited.contains(&format!("┃ {name}")) && edited.contains("Phase: Succeeded"), "{shown}");
        assert!(playground.argo.violations().is_empty(), "{:?}", playground.argo.violations());
        assert!(playground.discord.violations().is_empty(), "{:?}", playground.discord.violations());
    }
}
