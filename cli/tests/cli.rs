//! The `facteur` binary against a fake Discord API, a harness-served app, and broken configs.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::sync::atomic::{AtomicUsize, Ordering};

use facteur_harness::App;
use facteur_harness::fakes::{FakeServer, Reply};
use facteur_harness::support::manifest_path;
use serde_json::{Value, json};

fn facteur(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_facteur"))
        .args(args)
        .env_remove("FACTEUR_SIGNING_SEED")
        .env_remove("FACTEUR_PLAYGROUND")
        .output()
        .unwrap()
}

fn stdout(output: &Output) -> String {
    String::from_utf8_lossy(&output.stdout).into_owned()
}

fn repo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("..")
}

/// A fake Discord API whose guild already has an outdated /plan and an obsolete /old.
async fn discord(rate_limited: usize) -> FakeServer {
    let limited = AtomicUsize::new(rate_limited);
    FakeServer::start(move |request| {
        if limited.load(Ordering::SeqCst) > 0 {
            limited.fetch_sub(1, Ordering::SeqCst);
            return Reply::json(429, json!({"message": "You are being rate limited.", "retry_after": 0.05, "global": false}));
        }
        if request.header("authorization") != Some("Bot bot-token") {
            return Reply::json(401, json!({"message": "401: Unauthorized", "code": 0}));
        }
        match request.method.as_str() {
            "GET" => Reply::json(
                200,
                json!([
                    {"id": "1", "application_id": "42", "version": "1", "type": 1, "name": "plan", "description": "Old words", "options": []},
                    {"id": "2", "application_id": "42", "version": "1", "type": 1, "name": "old", "description": "Gone"}
                ]),
            ),
            _ => Reply::json(200, request.json()),
        }
    })
    .await
    .unwrap()
}

async fn register(server: &FakeServer, extra: &[&str]) -> Output {
    let api = server.origin();
    let mut args = vec![
        "commands",
        "register",
        "--guild",
        "7",
        "--application-id",
        "42",
        "--bot-token",
        "bot-token",
        "--api-url",
        api.as_str(),
    ];
    args.extend_from_slice(extra);
    let args: Vec<String> = args.into_iter().map(str::to_owned).collect();
    tokio::task::spawn_blocking(move || facteur(&args.iter().map(String::as_str).collect::<Vec<_>>())).await.unwrap()
}

#[tokio::test]
async fn register_dry_run_prints_the_diff_and_sends_no_put() {
    let server = discord(0).await;
    let output = register(&server, &["--dry-run"]).await;
    assert!(output.status.success(), "{}", String::from_utf8_lossy(&output.stderr));
    let text = stdout(&output);
    for line in [
        "+ /help [contexts: guild; integration_types: guild_install; default_member_permissions: everyone]",
        "~ /plan (description, options, contexts: Discord's default → guild, integration_types: Discord's default → guild_install)",
        "+ /workflow",
        "- /old",
        "(dry run: nothing was changed)",
    ] {
        assert!(text.contains(line), "{line} in:\n{text}");
    }
    let requests = server.requests();
    assert_eq!(requests.iter().map(|r| r.method.as_str()).collect::<Vec<_>>(), ["GET"]);
    assert_eq!(requests[0].path, "/api/v10/applications/42/guilds/7/commands");
}

#[tokio::test]
async fn register_overwrites_with_the_catalogs_definitions_after_a_rate_limit() {
    let server = discord(1).await;
    let output = register(&server, &[]).await;
    assert!(output.status.success(), "{}", String::from_utf8_lossy(&output.stderr));
    let puts: Vec<Value> = server.requests().iter().filter(|r| r.method == "PUT").map(|r| r.json()).collect();
    assert_eq!(puts.len(), 1, "one bulk overwrite");
    assert_eq!(puts[0], facteur::catalog::Catalog::embedded().discord_definitions(false));
    let count = facteur::catalog::Catalog::embedded().commands.len();
    assert!(stdout(&output).contains(&format!("Registered {count} commands.")));
}

/// Registration against the fake Discord, which checks every body against Discord's spec
/// (`ApplicationCommandUpdateRequest`): who is offered each command goes with it, and a change
/// of it shows in the diff.
#[tokio::test]
async fn register_sends_who_is_offered_each_command_and_shows_its_changes() {
    let discord = facteur_playground::discord::FakeDiscord::start().await.unwrap();
    let run = |extra: &'static [&'static str]| {
        let api = discord.origin();
        tokio::task::spawn_blocking(move || {
            let mut args = vec!["commands", "register", "--guild", "7", "--application-id", "42"];
            args.extend(["--bot-token", "bot-token", "--api-url", api.as_str()]);
            args.extend(extra);
            facteur(&args)
        })
    };
    let first = run(&[]).await.unwrap();
    assert!(first.status.success(), "{}", String::from_utf8_lossy(&first.stderr));
    assert!(discord.violations().is_empty(), "{:?}", discord.violations());
    let plan = discord.commands(Some("7")).into_iter().find(|c| c["name"] == "plan").unwrap();
    assert_eq!((&plan["contexts"], &plan["integration_types"]), (&json!([0]), &json!([0])));
    assert!(
        stdout(&first).contains(
            "+ /plan [contexts: guild; integration_types: guild_install; default_member_permissions: everyone]"
        )
    );

    let dms = run(&["--allow-dms", "--dry-run"]).await.unwrap();
    assert!(stdout(&dms).contains("~ /plan (contexts: guild → guild, bot_dm)"), "{}", stdout(&dms));
    let same = run(&["--dry-run"]).await.unwrap();
    assert!(stdout(&same).contains("Discord's commands already match config/commands.json."), "{}", stdout(&same));
}

#[tokio::test]
async fn interact_gets_pong_and_a_deferred_answer_from_a_served_app() {
    let argo = FakeServer::start(|_| Reply::json(503, json!({"code": 14, "message": "unavailable"}))).await.unwrap();
    let discord = FakeServer::start(|_| Reply::json(200, json!({}))).await.unwrap();
    // The embedded defaults (public development key) with a role map and the fakes.
    let app = App::builder(manifest_path())
        .variable("role_map", json!({"plan": ["140000000000000001"]}).to_string())
        .variable("argo_server_url", argo.origin())
        .variable("discord_api_url", discord.origin())
        .load()
        .await
        .unwrap();
    let server = app.serve().await.unwrap();
    let url = server.url("/interactions");
    let run = |args: Vec<String>| {
        tokio::task::spawn_blocking(move || facteur(&args.iter().map(String::as_str).collect::<Vec<_>>()))
    };
    let ping = run(vec!["interact".into(), "ping".into(), "--url".into(), url.clone()]).await.unwrap();
    assert_eq!(stdout(&ping), "200 OK\n{\"type\":1}\n");
    let plan = run(vec![
        "interact".into(),
        "plan".into(),
        "--option".into(),
        "objective=Try facteur locally".into(),
        "--roles".into(),
        "140000000000000001".into(),
        "--url".into(),
        url,
    ])
    .await
    .unwrap();
    assert_eq!(stdout(&plan), "200 OK\n{\"type\":5}\n", "{}", String::from_utf8_lossy(&plan.stderr));
    app.wait_idle(std::time::Duration::from_secs(20)).await.unwrap();
    assert_eq!(argo.requests().len(), 1, "the /plan reached Argo");
}

/// `facteur interact` against a playground (in-process here, the app in the harness): the reply
/// a member sees, then Refresh pressed by its label.
#[tokio::test(flavor = "multi_thread")]
async fn interact_shows_the_reply_and_presses_its_buttons_against_a_playground() {
    use facteur_playground::argo::Clock;
    use facteur_playground::playground::{Options, Playground};
    let clock = Clock { pending: std::time::Duration::ZERO, running: std::time::Duration::from_secs(60) };
    let playground = Playground::start(Options { clock, ..Options::default() }).await.unwrap();
    let mut builder = App::builder(manifest_path());
    for (name, value) in playground.spin_variables() {
        builder = builder.variable(name, value);
    }
    let app = builder.load().await.unwrap();
    let server = app.serve().await.unwrap();
    let (url, discord) = (server.url("/interactions"), playground.discord_origin());
    let output = tokio::task::spawn_blocking(move || {
        Command::new(env!("CARGO_BIN_EXE_facteur"))
            .args(["interact", "plan", "--option", "objective=Try it", "--click", "Refresh", "--url", &url])
            .env("FACTEUR_PLAYGROUND", discord)
            .env_remove("FACTEUR_SIGNING_SEED")
            .output()
            .unwrap()
    })
    .await
    .unwrap();
    let text = stdout(&output);
    assert!(output.status.success(), "{text}{}", String::from_utf8_lossy(&output.stderr));
    let name = playground.argo.workflows()[0]["metadata"]["name"].as_str().unwrap().to_owned();
    for expected in [
        format!("│ `/plan` started workflow `{name}` in `argo`."),
        format!("│ [Refresh]       workflow:refresh:argo:{name}"),
        format!("click workflow:refresh:argo:{name}: facteur updated the message in place (type 7)"),
        format!("│ `{name}` is **Running**."),
    ] {
        assert!(text.contains(&expected), "{expected} in:\n{text}");
    }
    assert!(playground.discord.violations().is_empty(), "{:?}", playground.discord.violations());
}

/// `facteur dev` prints the stand-ins, the `spin up` variables and that it is a stand-in, and
/// stops cleanly on Ctrl-C (SIGINT).
#[test]
fn dev_prints_how_to_point_facteur_at_it_and_stops_on_ctrl_c() {
    use std::io::{BufRead, BufReader};
    let mut child = Command::new(env!("CARGO_BIN_EXE_facteur"))
        .args(["dev", "--argo-port", "0", "--discord-port", "0"])
        .stdout(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
    let mut text = String::new();
    for line in lines.by_ref() {
        let line = line.unwrap();
        text.push_str(&line);
        text.push('\n');
        if line.starts_with("Ctrl-C stops the playground") {
            break;
        }
    }
    for expected in [
        "STAND-INS",
        "not Argo and not Discord",
        "--variable argo_server_url=http://127.0.0.1:",
        "--variable discord_api_url=http://127.0.0.1:",
        "--variable argo_ui_url=",
        "--variable role_map=",
        "export FACTEUR_PLAYGROUND=http://127.0.0.1:",
    ] {
        assert!(text.contains(expected), "{expected} in:\n{text}");
    }
    // The stand-in answers while it runs.
    let discord = text.split("export FACTEUR_PLAYGROUND=").nth(1).unwrap().lines().next().unwrap().trim().to_owned();
    assert!(std::net::TcpStream::connect(discord.trim_start_matches("http://")).is_ok());
    assert!(Command::new("kill").args(["-INT", &child.id().to_string()]).status().unwrap().success());
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    let status = loop {
        if let Some(status) = child.try_wait().unwrap() {
            break status;
        }
        assert!(std::time::Instant::now() < deadline, "facteur dev did not stop on SIGINT");
        std::thread::sleep(std::time::Duration::from_millis(50));
    };
    let rest: Vec<String> = lines.map_while(Result::ok).collect();
    assert!(status.success(), "{status}: {rest:?}");
    assert!(rest.iter().any(|l| l.starts_with("Playground stopped. No request broke")), "{rest:?}");
    assert!(std::net::TcpStream::connect(discord.trim_start_matches("http://")).is_err(), "the port is closed");
}

#[test]
fn keygen_prints_a_usable_key_pair() {
    let text = stdout(&facteur(&["keygen"]));
    let key = text.lines().next().unwrap().strip_prefix("discord_public_key = ").unwrap();
    facteur::signature::Verifier::from_hex("discord_public_key", key, 300).unwrap();
}

/// A copy of the repository's configuration in a temporary folder, `edit` applied to one file.
fn broken_copy(file: &str, edit: impl FnOnce(String) -> String) -> PathBuf {
    static N: AtomicUsize = AtomicUsize::new(0);
    let dir =
        std::env::temp_dir().join(format!("facteur-cli-{}-{}", std::process::id(), N.fetch_add(1, Ordering::SeqCst)));
    for path in [
        "spin.toml",
        "config/commands.json",
        "config/role-map.example.json",
        "schemas/facteur-commands.schema.json",
        "schemas/facteur-discord-role-map.schema.json",
    ] {
        let target = dir.join(path);
        std::fs::create_dir_all(target.parent().unwrap()).unwrap();
        std::fs::copy(repo().join(path), &target).unwrap();
    }
    let target = dir.join(file);
    std::fs::write(&target, edit(std::fs::read_to_string(&target).unwrap())).unwrap();
    dir
}

fn validate(dir: &Path) -> (bool, String) {
    let output = facteur(&["config", "validate", "--dir", dir.to_str().unwrap()]);
    (output.status.success(), stdout(&output))
}

#[test]
fn config_validate_passes_on_the_repository() {
    assert_eq!(validate(&repo()), (true, "configuration is valid\n".to_owned()));
}

#[test]
fn config_validate_names_a_broken_catalog() {
    let dir = broken_copy("config/commands.json", |text| {
        text.replacen("\"component\": \"plan\"", "\"component\": \"Plan\"", 1)
    });
    let (ok, text) = validate(&dir);
    assert!(!ok);
    assert!(text.contains("config/commands.json:") && text.contains("\"Plan\" does not match"), "{text}");
}

#[test]
fn config_validate_names_an_identity_token_variable_spin_toml_does_not_declare_or_map() {
    let dir = broken_copy("config/commands.json", |text| {
        text.replacen(
            "\"parameters\": { \"action\": \"plan\" },",
            "\"parameters\": { \"action\": \"plan\" }, \"argo_token\": \"argo_token_planners\",",
            1,
        )
    });
    let (ok, text) = validate(&dir);
    assert!(!ok);
    assert!(
        text.contains("`/plan` names token variable `argo_token_planners`, which [variables] does not declare"),
        "{text}"
    );
    assert!(text.contains("component `plan` does not map `argo_token_planners`"), "{text}");
    assert!(text.contains("component `worker` does not map `argo_token_planners`"), "CommandEvents: {text}");
    let roles = r#"{"130000000000000001": {"argo_token": "argo_token_deployers"}}"#;
    let dir = broken_copy("spin.toml", |text| {
        text.replacen(
            "role_identities = { default = \"{}\"",
            &format!("argo_token_deployers = {{ default = \"\" }}\nrole_identities = {{ default = '{roles}'"),
            1,
        )
    });
    let (ok, text) = validate(&dir);
    assert!(!ok);
    assert!(text.contains("variable `argo_token_deployers` holds an Argo token: declare it `secret = true`"), "{text}");
    assert!(text.contains("component `worker` does not map `argo_token_deployers`"), "{text}");
}

#[test]
fn config_validate_names_a_spin_toml_variable_mismatch() {
    let dir = broken_copy("spin.toml", |text| {
        text.replacen("argo_token = \"{{ argo_token }}\"", "argo_token = \"{{ argo_tokn }}\"", 1)
    });
    let (ok, text) = validate(&dir);
    assert!(!ok);
    assert!(
        text.contains("✗ spin.toml: component `plan` variable `argo_token` refers to `argo_tokn`, which [variables] does not declare"),
        "{text}"
    );
    let dir = broken_copy("spin.toml", |text| text.replacen("  \"http://review.spin.internal\",\n", "", 1));
    let (_, text) = validate(&dir);
    assert!(text.contains("the gateway cannot reach `review`"), "{text}");
}

#[test]
fn config_validate_takes_a_dropped_in_command_and_checks_it() {
    let dir = broken_copy("spin.toml", |text| text);
    std::fs::create_dir_all(dir.join("components/deploy-status")).unwrap();
    let line = dir.join("components/deploy-status/command.json");
    std::fs::write(&line, r#"{"name": "deploy_status", "description": "d", "component": "deploy-status"}"#).unwrap();
    // Part of the catalog now: what is missing is its place in spin.toml.
    let (ok, text) = validate(&dir);
    assert!(!ok);
    assert!(
        text.contains("`/deploy_status` is served by component `deploy-status`, which spin.toml does not define"),
        "{text}"
    );
    assert!(!text.contains("not in config/commands.json"), "{text}");
    std::fs::write(&line, r#"{"name": "Deploy Status", "description": "d", "component": "deploy-status"}"#).unwrap();
    let (ok, text) = validate(&dir);
    assert!(!ok);
    assert!(text.contains("command `Deploy Status`: names are 1 to 32 lowercase letters"), "{text}");
}

#[test]
fn config_validate_flags_a_workflow_template_that_runs_a_parameter_as_code() {
    let dir = broken_copy("spin.toml", |text| text);
    let template = "kubernetes/base/argo/workflowtemplate.yaml";
    std::fs::create_dir_all(dir.join("kubernetes/base/argo")).unwrap();
    let unsafe_template = r#"apiVersion: argoproj.io/v1alpha1
kind: WorkflowTemplate
metadata:
  name: pasted
spec:
  entrypoint: main
  templates:
    - name: main
      container:
        image: alpine
        command: [sh, -c]
        args: ["echo {{workflow.parameters.objective}}"]
"#;
    std::fs::write(dir.join(template), unsafe_template).unwrap();
    let (ok, text) = validate(&dir);
    assert!(!ok);
    assert!(
        text.contains("kubernetes/base/argo/workflowtemplate.yaml: WorkflowTemplate `pasted` template `main`: container runs a shell with {{workflow.parameters.objective}} in its command line"),
        "{text}"
    );
}
