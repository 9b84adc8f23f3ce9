//! The cluster overlay renders with kustomize, every SpinApp validates against SpinKube's CRD,
//! and the SpinApps agree with spin.toml: variables, components, selective deployment.

use std::collections::BTreeSet;
use std::path::PathBuf;
use std::process::Command;

use facteur_harness::manifest::Manifest;
use facteur_harness::support::manifest_path;
use serde::Deserialize;
use serde_json::Value;

fn repo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// `kubectl kustomize kubernetes/overlays/cluster`, as documents; `None` (skip) without kubectl
/// outside CI.
fn rendered() -> Option<Vec<Value>> {
    let output = match Command::new("kubectl").arg("kustomize").arg(repo().join("kubernetes/overlays/cluster")).output()
    {
        Ok(output) => output,
        Err(e) if std::env::var_os("CI").is_none() => {
            eprintln!("skipping: kubectl is not available ({e})");
            return None;
        }
        Err(e) => panic!("kubectl is required in CI: {e}"),
    };
    assert!(output.status.success(), "kustomize failed: {}", String::from_utf8_lossy(&output.stderr));
    let text = String::from_utf8(output.stdout).unwrap();
    Some(serde_yaml_ng::Deserializer::from_str(&text).map(|doc| Value::deserialize(doc).unwrap()).collect())
}

fn spinapp_schema() -> jsonschema::Validator {
    let path = repo().join("tests/specs/spinkube-spinapp-crd.yaml");
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let crd = serde_yaml_ng::Deserializer::from_str(&text)
        .map(|doc| Value::deserialize(doc).unwrap())
        .find(|doc| doc["kind"] == "CustomResourceDefinition")
        .unwrap();
    let version = crd["spec"]["versions"].as_array().unwrap().iter().find(|v| v["name"] == "v1alpha1").unwrap();
    jsonschema::validator_for(&version["schema"]["openAPIV3Schema"]).unwrap()
}

#[test]
fn the_cluster_overlay_renders_and_its_spinapps_are_valid_and_agree_with_spin_toml() {
    let Some(documents) = rendered() else { return };
    let schema = spinapp_schema();
    let manifest = Manifest::load(&manifest_path()).unwrap();
    let spinapps: Vec<&Value> = documents.iter().filter(|d| d["kind"] == "SpinApp").collect();
    assert_eq!(spinapps.len(), 2);

    let mut deployed = BTreeSet::new();
    for app in &spinapps {
        let name = app["metadata"]["name"].as_str().unwrap();
        let errors: Vec<String> = schema.iter_errors(app).map(|e| format!("{e} at {}", e.instance_path())).collect();
        assert!(errors.is_empty(), "SpinApp {name}: {errors:?}");
        for variable in app["spec"]["variables"].as_array().unwrap() {
            let variable = variable["name"].as_str().unwrap();
            assert!(
                manifest.variables.contains_key(variable),
                "SpinApp {name} sets `{variable}`, which spin.toml does not declare"
            );
        }
        let components: BTreeSet<&str> =
            app["spec"]["components"].as_array().unwrap().iter().map(|c| c.as_str().unwrap()).collect();
        for component in &components {
            let def = manifest
                .components
                .get(*component)
                .unwrap_or_else(|| panic!("SpinApp {name} retains unknown `{component}`"));
            // Selective deployment: every chaining target must be retained with its caller.
            for host in &def.allowed_outbound_hosts {
                if let Some(target) = host.strip_prefix("http://").and_then(|h| h.strip_suffix(".spin.internal")) {
                    assert!(
                        components.contains(target),
                        "SpinApp {name}: `{component}` chains to `{target}`, which it does not retain"
                    );
                }
            }
            // Every variable a retained component reads comes from the cluster.
            for template in def.variables.values() {
                for reference in facteur_harness::manifest::template_references(template).unwrap() {
                    let set = app["spec"]["variables"].as_array().unwrap().iter().any(|v| v["name"] == reference);
                    let secret = manifest.variables[&reference].secret;
                    assert!(set || !secret, "SpinApp {name}: `{component}` needs the secret `{reference}`");
                }
            }
        }
        deployed.extend(components);
    }
    let all: BTreeSet<&str> = manifest.components.keys().map(String::as_str).collect();
    assert_eq!(deployed, all, "every component is deployed exactly by one SpinApp");
    let worker = spinapps.iter().find(|a| a["spec"]["components"][0] == "worker").unwrap();
    assert_eq!(worker["spec"]["replicas"], 1, "one worker per channel");

    let kinds: BTreeSet<&str> = documents.iter().map(|d| d["kind"].as_str().unwrap()).collect();
    for kind in [
        "Redis",
        "KafkaSource",
        "WorkflowTemplate",
        "Role",
        "RoleBinding",
        "ServiceAccount",
        "Ingress",
        "ConfigMap",
        "Secret",
    ] {
        assert!(kinds.contains(kind), "no {kind} rendered");
    }
    let ingress = documents.iter().find(|d| d["kind"] == "Ingress").unwrap();
    let paths: Vec<&str> = ingress["spec"]["rules"][0]["http"]["paths"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["path"].as_str().unwrap())
        .collect();
    assert_eq!(paths, ["/interactions"], "only Discord's endpoint is public");
}
