//! The README's way to add a command, with the real `spin`: `spin templates install --dir .`
//! and `spin add -t facteur-command …` on a copy of the repository, the README's one follow-up
//! step, `spin build`, and `spin up` serving the new command end to end.

use std::path::{Path, PathBuf};
use std::process::Command;

use facteur_harness::spin_up::tempdir;
use serde_json::json;

use super::runtimes;
use crate::common::{OPS, ephemeral_text, next_id, slash};
use facteur_harness::support::{Signer, host_of};

fn repo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../..").canonicalize().unwrap()
}

fn run(command: &mut Command) -> String {
    let output = command.output().unwrap_or_else(|e| panic!("{command:?}: {e}"));
    let text = format!("{}{}", String::from_utf8_lossy(&output.stdout), String::from_utf8_lossy(&output.stderr));
    assert!(output.status.success(), "{command:?} failed:\n{text}");
    text
}

/// The repository as a fresh clone has it: the files git tracks or would track.
fn fresh_copy(to: &Path) {
    let listed = run(Command::new("git").current_dir(repo()).args([
        "ls-files",
        "--cached",
        "--others",
        "--exclude-standard",
        "-z",
    ]));
    for file in listed.split('\0').filter(|f| !f.is_empty()) {
        let from = repo().join(file);
        if from.is_file() {
            let target = to.join(file);
            std::fs::create_dir_all(target.parent().unwrap()).unwrap();
            std::fs::copy(&from, &target).unwrap();
        }
    }
}

#[tokio::test]
async fn spin_add_makes_a_command_that_builds_and_answers_under_spin_up() {
    let Some((spins, redis)) = runtimes().await else { return };
    let spin = &spins[0];
    let app = tempdir("spin-add").unwrap();
    fresh_copy(&app);
    // Spin's template store lives in the user's data dir: use one of the test's own.
    let data = tempdir("spin-data").unwrap();
    let spin_cmd = || {
        let mut command = Command::new(&spin.path);
        command.current_dir(&app).env("XDG_DATA_HOME", &data);
        command
    };

    // The README, verbatim.
    run(spin_cmd().args(["templates", "install", "--dir", "."]));
    run(spin_cmd().args([
        "add",
        "-t",
        "facteur-command",
        "deploy-status",
        "--output",
        "components/deploy-status",
        "--accept-defaults",
    ]));

    // The README's one follow-up step (Spin templates only append to the manifest): the
    // gateway's chaining target. The catalog build picks up the component's command.json.
    let manifest_path = app.join("spin.toml");
    let manifest = std::fs::read_to_string(&manifest_path).unwrap().replacen(
        "  \"http://workflow.spin.internal\",\n",
        "  \"http://workflow.spin.internal\",\n  \"http://deploy-status.spin.internal\",\n",
        1,
    );
    std::fs::write(&manifest_path, manifest).unwrap();

    // `spin build`, in a target directory of its own (kept between runs: the next build is warm).
    let target = repo().join("target/spin-add");
    run(spin_cmd().env("CARGO_TARGET_DIR", &target).arg("build"));
    std::os::unix::fs::symlink(&target, app.join("target")).unwrap();

    let signer = Signer::default();
    let up = spin
        .up()
        .manifest(&manifest_path)
        .variable("discord_public_key", signer.public_key_hex())
        .variable("redis_host", host_of(&redis))
        .variable("role_map", json!({"deploy_status": [OPS]}).to_string())
        .start()
        .await
        .unwrap_or_else(|e| panic!("{e:#}"));
    let answer = up.handle(signer.request(slash(&next_id(), "deploy_status", json!([]), &[OPS]))).await.unwrap();
    assert_eq!(ephemeral_text(&answer), "`/deploy_status` works.", "{}", up.logs());
    let denied = up.handle(signer.request(slash(&next_id(), "deploy_status", json!([]), &["1"]))).await.unwrap();
    assert!(ephemeral_text(&denied).starts_with("You do not have a role"));
    drop(up);
    std::fs::remove_dir_all(&app).unwrap();
    std::fs::remove_dir_all(&data).unwrap();
}
