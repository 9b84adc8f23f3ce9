//! Rate limits, caps on runs in flight and identities under real Spin, on its SQLite key-value
//! store (and on Redis, as the cluster's runtime config has it): 64 concurrent `/plan` by one
//! member start exactly the catalog's limit of runs (`wasi:keyvalue` increments shared by
//! Spin's concurrent instances), the others are told when to retry, an `unlimited` role is
//! exempt; concurrent `/dispatch` start exactly its cap of runs in flight, and a run Argo
//! completes frees a place; the granting role's identity picks the ServiceAccount and the Argo
//! token (a secret variable the operator declares and maps into the command's component).

use std::path::PathBuf;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use facteur::catalog::Catalog;
use facteur_harness::spin_up::{SpinBinary, tempdir};
use facteur_harness::support::manifest_path;
use serde_json::{Value, json};

use super::{SpinWorld, content, runtimes, spin_world};
use crate::common::{ADMIN, OPS, USER, next_id, opt, slash, workflow};

const DEPLOYER_TOKEN: &str = "deployer-t0ken";
const DEFAULT_TOKEN: &str = "default-t0ken";

/// spin.toml as an operator adds an identity's token: a secret application variable, mapped
/// into `/plan`'s component. Beside the project's build output (`target` linked).
fn manifest_with_token_variable() -> PathBuf {
    let dir = tempdir("limits").unwrap();
    let manifest = std::fs::read_to_string(manifest_path()).unwrap();
    let manifest = manifest
        .replacen("[variables]\n", "[variables]\nargo_token_deployers = { default = \"\", secret = true }\n", 1)
        .replacen(
            "[component.plan.variables]\n",
            "[component.plan.variables]\nargo_token_deployers = \"{{ argo_token_deployers }}\"\n",
            1,
        )
        .replacen(
            "[component.workflow.variables]\n",
            "[component.workflow.variables]\nargo_token_deployers = \"{{ argo_token_deployers }}\"\n",
            1,
        );
    std::fs::write(dir.join("spin.toml"), manifest).unwrap();
    let target = manifest_path().parent().unwrap().join("target");
    std::os::unix::fs::symlink(target.canonicalize().unwrap(), dir.join("target")).unwrap();
    dir.join("spin.toml")
}

/// `kv_on_redis`: the key-value store on the test Redis, as on the cluster (else SQLite).
async fn world(spin: &SpinBinary, redis: &str, kv_on_redis: bool) -> SpinWorld {
    spin.build().unwrap_or_else(|e| panic!("{e:#}"));
    let manifest = manifest_with_token_variable();
    let kv = format!("[key_value_store.default]\ntype = \"redis\"\nurl = \"{redis}\"\n");
    spin_world(spin, redis, |b| {
        let b = if kv_on_redis { b.runtime_config(&kv) } else { b };
        b.manifest(manifest)
            .variable("role_map", json!({"plan": [OPS, ADMIN], "workflow": [OPS], "unlimited": [ADMIN]}).to_string())
            .variable(
                "role_identities",
                json!({OPS: {"service_account": "deployer", "argo_token": "argo_token_deployers"}}).to_string(),
            )
            .variable("argo_token_deployers", DEPLOYER_TOKEN)
            .variable("argo_token", DEFAULT_TOKEN)
            .variable("argo_service_account", "facteur-workflows")
    })
    .await
}

/// Waits until at least `margin` is left in the current window of `per_secs`, so that a burst
/// falls in one window.
async fn within_one_window(per_secs: u64, margin: u64) {
    let now = SystemTime::now().duration_since(UNIX_EPOCH).unwrap().as_secs();
    let left = per_secs - now % per_secs;
    if left < margin {
        tokio::time::sleep(Duration::from_secs(left + 1)).await;
    }
}

#[tokio::test]
async fn a_member_starts_exactly_the_limit_under_64_concurrent_plans_with_their_roles_identity() {
    let Some((spins, redis)) = runtimes().await else { return };
    let catalog = Catalog::embedded();
    let limit = catalog.command("plan").unwrap().workflow.as_ref().unwrap().limits.unwrap().member.unwrap();
    let runs = limit.runs as usize;
    for spin in spins {
        let w = world(spin, &redis, false).await;
        within_one_window(limit.per_secs, 20).await;
        let ids: Vec<String> = (0..64).map(|_| next_id()).collect();
        let answers = futures::future::join_all(
            ids.iter().map(|id| w.send(slash(id, "plan", json!([opt("objective", format!("run {id}"))]), &[OPS]))),
        )
        .await;
        let (deferred, refused): (Vec<Value>, Vec<Value>) =
            answers.iter().map(|a| a.json()).partition(|a| *a == json!({"type": 5}));
        assert_eq!(deferred.len(), runs, "spin {}: exactly the limit passes; logs:\n{}", spin.version, w.spin.logs());
        for answer in &refused {
            let text = answer["data"]["content"].as_str().unwrap_or_default();
            assert_eq!((answer["type"].as_u64(), answer["data"]["flags"].as_u64()), (Some(4), Some(64)), "{answer}");
            assert!(
                text.starts_with(&format!(
                    "`/plan`: You have started the {runs} runs allowed per minute. Try again <t:"
                )) && text.ends_with(":R>."),
                "{text}"
            );
        }
        let edits = w.edits(runs).await;
        assert!(edits.iter().all(|e| content(e).contains("started workflow")), "{edits:?}");
        let audit = w.spin.log("plan");
        assert_eq!(audit.matches(r#""audit":"limited""#).count(), 64 - runs, "{audit}");

        // An admin (the same member, with a role listed under `unlimited`) is not counted.
        for _ in 0..3 {
            let id = next_id();
            let answer = w.send(slash(&id, "plan", json!([opt("objective", "as admin")]), &[ADMIN])).await;
            assert_eq!(answer.json(), json!({"type": 5}), "spin {}: the admin is exempt", spin.version);
        }
        w.edits(runs + 3).await;

        let workflows = w.argo.workflows();
        let mut names: Vec<&str> = workflows.iter().filter_map(|wf| wf["metadata"]["name"].as_str()).collect();
        names.sort_unstable();
        names.dedup();
        assert_eq!((workflows.len(), names.len()), (runs + 3, runs + 3), "one workflow each, none twice");

        // The role's identity: its ServiceAccount on the submit, its token on the call; the
        // admin's role has none, so the configured ones.
        for request in w.argo.requests().iter().filter(|r| r.method == "POST") {
            let body = request.json();
            let by_admin = body["submitOptions"]["parameters"].to_string().contains("as admin");
            let (account, token) =
                if by_admin { ("facteur-workflows", DEFAULT_TOKEN) } else { ("deployer", DEPLOYER_TOKEN) };
            assert_eq!(body["submitOptions"]["serviceAccount"], account, "{body}");
            assert_eq!(request.header("authorization"), Some(format!("Bearer {token}").as_str()));
        }
        assert!(w.argo.violations().is_empty(), "spin {}: {:?}", spin.version, w.argo.violations());

        // `/workflow status` by the member: Argo is asked with their role's token too.
        let run = names[0].to_owned();
        let id = next_id();
        let answer = w.send(workflow(&id, "status", json!([opt("name", run.as_str())]), &[OPS])).await;
        assert_eq!(answer.json()["type"], 5, "spin {}", spin.version);
        let status = content(&w.edit_for(&format!("token-{id}")).await);
        let read = w.argo.requests().into_iter().rfind(|r| r.method == "GET" && r.path.ends_with(&run)).unwrap();
        assert_eq!(read.header("authorization"), Some(format!("Bearer {DEPLOYER_TOKEN}").as_str()), "{status}");
        let logs = w.spin.logs();
        assert!(!logs.contains(DEPLOYER_TOKEN) && !logs.contains(DEFAULT_TOKEN), "tokens are never logged");
    }
}

#[tokio::test]
async fn the_limit_holds_with_the_key_value_store_on_redis() {
    let Some((spins, redis)) = runtimes().await else { return };
    let catalog = Catalog::embedded();
    let limit = catalog.command("plan").unwrap().workflow.as_ref().unwrap().limits.unwrap().member.unwrap();
    for (n, spin) in spins.iter().enumerate() {
        let w = world(spin, &redis, true).await;
        // The test Redis is shared: a member of this run alone.
        let member = format!("13{:017}", u64::from(std::process::id()) * 10 + n as u64);
        within_one_window(limit.per_secs, 20).await;
        let answers = futures::future::join_all((0..24).map(|_| {
            let id = next_id();
            let body = slash(&id, "plan", json!([opt("objective", "on redis")]), &[OPS]);
            w.send(String::from_utf8(body).unwrap().replace(USER, &member).into_bytes())
        }))
        .await;
        let deferred = answers.iter().filter(|a| a.json() == json!({"type": 5})).count();
        assert_eq!(deferred, limit.runs as usize, "spin {}: logs:\n{}", spin.version, w.spin.logs());
        w.edits(deferred).await;
        assert_eq!(w.argo.workflows().len(), deferred);
    }
}

#[tokio::test]
async fn concurrent_dispatches_start_exactly_the_caps_in_flight_of_a_member_and_of_everyone() {
    let Some((spins, redis)) = runtimes().await else { return };
    let catalog = Catalog::embedded();
    let limits = catalog.command("dispatch").unwrap().workflow.as_ref().unwrap().limits.unwrap();
    let cap = limits.in_flight.unwrap().member.unwrap() as usize;
    let burst = cap + 5;
    assert!(burst + 2 <= limits.member.unwrap().runs as usize, "the runs stay within the rate limit");
    let capped = format!(
        "`/dispatch`: You have {cap} runs in flight, the most allowed at once. Try again when one ends (`/workflow list` shows them)."
    );
    for (n, spin) in spins.iter().enumerate() {
        spin.build().unwrap_or_else(|e| panic!("{e:#}"));
        // On SQLite (`spin up`), then on Redis (the cluster), where the test Redis is shared: a
        // member of this run alone.
        for kv_on_redis in [false, true] {
            let kv = format!("[key_value_store.default]\ntype = \"redis\"\nurl = \"{redis}\"\n");
            let w = spin_world(spin, &redis, |b| {
                let b = if kv_on_redis { b.runtime_config(&kv) } else { b };
                b.variable("role_map", json!({"dispatch": [OPS]}).to_string())
            })
            .await;
            let member = format!("14{:017}", u64::from(std::process::id()) * 10 + n as u64);
            let dispatch = |id: &str| {
                let options =
                    json!([opt("template", "facteur-dispatch"), opt("parameters", format!("objective=run-{id}"))]);
                String::from_utf8(slash(id, "dispatch", options, &[OPS])).unwrap().replace(USER, &member).into_bytes()
            };
            let at = format!(
                "spin {} with the key-value store on {}",
                spin.version,
                if kv_on_redis { "Redis" } else { "SQLite" }
            );
            within_one_window(limits.member.unwrap().per_secs, 30).await;
            if kv_on_redis {
                forget_hourly_count(&redis, limits.command.unwrap()).await;
            }
            let ids: Vec<String> = (0..burst).map(|_| next_id()).collect();
            let answers = futures::future::join_all(ids.iter().map(|id| w.send(dispatch(id)))).await;
            let answers: Vec<Value> = answers.iter().map(|a| a.json()).collect();
            assert!(answers.iter().all(|a| *a == json!({"type": 5})), "{at}: within the rate limit: {answers:?}");
            let edits = w.edits(burst).await;
            let started = edits.iter().filter(|e| content(e).contains("started workflow")).count();
            let refused = edits.iter().filter(|e| content(e) == capped).count();
            assert_eq!((started, refused), (cap, burst - cap), "{at}: {edits:#?}");
            assert_eq!(w.argo.workflows().len(), cap, "{at}: exactly the cap in Argo");
            let audit = w.spin.log("dispatch");
            assert_eq!(audit.matches(r#""in_flight":3"#).count(), burst - cap, "{audit}");

            // Argo completes one run (its `workflows.argoproj.io/completed` label turns `true`):
            // a place is free, and only one.
            let done = w.argo.workflows()[0]["metadata"]["name"].as_str().unwrap().to_owned();
            w.argo.set_status("argo", &done, json!({"phase": "Succeeded"}));
            for (count, expected) in [(burst + 1, "started workflow"), (burst + 2, capped.as_str())] {
                let id = next_id();
                assert_eq!(w.send(dispatch(&id)).await.json(), json!({"type": 5}));
                w.edits(count).await;
                let reply = content(&w.edit_for(&format!("token-{id}")).await);
                assert!(reply.contains(expected), "{at}: {reply}");
            }
            assert_eq!(w.argo.workflows().len(), cap + 1);

            // 64 members at once, each within their own cap: everyone's cap (the command's)
            // lets exactly its free places pass.
            let everyone = limits.in_flight.unwrap().command.unwrap() as usize;
            let free = everyone - cap;
            let ids: Vec<String> = (0..64).map(|_| next_id()).collect();
            let answers = futures::future::join_all(ids.iter().enumerate().map(|(i, id)| {
                let options = json!([opt("template", "facteur-dispatch"), opt("parameters", "objective=everyone")]);
                let other = format!("15{:06}{n}{i:010}", std::process::id() % 1_000_000);
                w.send(
                    String::from_utf8(slash(id, "dispatch", options, &[OPS]))
                        .unwrap()
                        .replace(USER, &other)
                        .into_bytes(),
                )
            }))
            .await;
            assert!(answers.iter().all(|a| a.json() == json!({"type": 5})), "{at}");
            let edits = w.edits(burst + 2 + 64).await;
            let everyone_capped = format!(
                "`/dispatch`: Everyone together has {everyone} runs in flight, the most allowed at once. Try again when one ends."
            );
            let refused = edits.iter().filter(|e| content(e) == everyone_capped).count();
            assert_eq!((refused, w.argo.workflows().len()), (64 - free, cap + 1 + free), "{at}");
            assert!(w.argo.violations().is_empty(), "{at}: {:?}", w.argo.violations());
        }
    }
}

/// Deletes `/dispatch`'s hourly count for everyone from the shared test Redis: earlier runs of
/// this test within the hour would otherwise have used it up.
async fn forget_hourly_count(redis: &str, rate: facteur::catalog::Rate) {
    let now = SystemTime::now().duration_since(UNIX_EPOCH).unwrap().as_secs();
    let (key, _) = facteur::limits::counter("dispatch", facteur::limits::Scope::Command, "all", rate, now);
    let mut conn = redis::Client::open(redis).unwrap().get_multiplexed_async_connection().await.unwrap();
    let _: () = redis::cmd("DEL").arg(&key).query_async(&mut conn).await.unwrap();
}
