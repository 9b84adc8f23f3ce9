//! The cluster overlay renders with kustomize, every SpinApp validates against SpinKube's CRD,
//! and the SpinApps agree with spin.toml: variables, components, selective deployment. Then what
//! a real cluster needs (issue 14): probes on Spin's health path, image overrides that reach
//! every SpinApp, no placeholder left, an Argo Role that covers exactly facteur's calls, Kafka
//! sources that start at `latest` and dead-letter what the bridge refuses, NetworkPolicies,
//! current kustomize only, and WorkflowTemplates that never paste parameters into a shell.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
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
    render(&repo().join("kubernetes/overlays/cluster"))
}

/// `kubectl kustomize <dir>`, as documents; `None` (skip) without kubectl outside CI.
pub fn render(dir: &Path) -> Option<Vec<Value>> {
    let output = match Command::new("kubectl").arg("kustomize").arg(dir).output() {
        Ok(output) => output,
        Err(e) if std::env::var_os("CI").is_none() => {
            eprintln!("skipping: kubectl is not available ({e})");
            return None;
        }
        Err(e) => panic!("kubectl is required in CI: {e}"),
    };
    assert!(output.status.success(), "kustomize {} failed: {}", dir.display(), String::from_utf8_lossy(&output.stderr));
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
    assert_eq!(spinapps.len(), 4, "facteur, facteur-bridge, facteur-lifecycle, facteur-worker");

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
                    // `bridge_auth`/`lifecycle_auth: network` is a bridge route without a secret
                    // (networkpolicies.yaml).
                    let unused = [("bridge_secret", "bridge_auth"), ("lifecycle_secret", "lifecycle_auth")].iter().any(
                        |(secret, auth)| {
                            reference == *secret
                                && app["spec"]["variables"]
                                    .as_array()
                                    .unwrap()
                                    .iter()
                                    .any(|v| v["name"] == *auth && v["value"] == "network")
                        },
                    );
                    assert!(set || !secret || unused, "SpinApp {name}: `{component}` needs the secret `{reference}`");
                }
            }
        }
        // The Redis trigger's address (application-level template) needs its secrets too.
        if components.iter().any(|c| manifest.redis_triggers.iter().any(|t| t.component == *c)) {
            for trigger in &manifest.redis_triggers {
                for reference in facteur_harness::manifest::template_references(&trigger.address).unwrap() {
                    let set = app["spec"]["variables"].as_array().unwrap().iter().any(|v| v["name"] == reference);
                    assert!(set, "SpinApp {name}: the Redis trigger's address needs `{reference}`");
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
        "Namespace",
        "StatefulSet",
        "NetworkPolicy",
        "KafkaSink",
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

/// Every overlay under `kubernetes/overlays`.
fn overlays() -> Vec<PathBuf> {
    let mut dirs: Vec<PathBuf> = std::fs::read_dir(repo().join("kubernetes/overlays"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.join("kustomization.yaml").is_file())
        .collect();
    dirs.sort();
    assert!(!dirs.is_empty());
    dirs
}

/// The probe paths of every SpinApp in `documents`, as `(SpinApp, readiness|liveness, path)`:
/// what a test under real `spin up` should GET (and see 200).
pub fn probe_paths(documents: &[Value]) -> Vec<(String, String, String)> {
    let mut paths = Vec::new();
    for app in documents.iter().filter(|d| d["kind"] == "SpinApp") {
        for check in ["readiness", "liveness"] {
            if let Some(path) = app["spec"]["checks"][check]["httpGet"]["path"].as_str() {
                paths.push((app["metadata"]["name"].as_str().unwrap().to_owned(), check.to_owned(), path.to_owned()));
            }
        }
    }
    paths
}

/// The probe paths of the cluster overlay (see [`probe_paths`]); `None` without kubectl.
pub fn cluster_probe_paths() -> Option<Vec<(String, String, String)>> {
    rendered().map(|documents| probe_paths(&documents))
}

#[test]
fn probes_use_the_health_path_spin_serves() {
    for overlay in overlays() {
        let Some(documents) = render(&overlay) else { return };
        let paths = probe_paths(&documents);
        let manifest = Manifest::load(&manifest_path()).unwrap();
        for app in documents.iter().filter(|d| d["kind"] == "SpinApp") {
            let name = app["metadata"]["name"].as_str().unwrap();
            let http = app["spec"]["components"]
                .as_array()
                .unwrap()
                .iter()
                .any(|c| manifest.http_triggers.iter().any(|t| t.component == c.as_str().unwrap()));
            // The workers' pods run no HTTP trigger, so there is nothing to probe there.
            assert_eq!(
                paths.iter().filter(|(a, _, _)| a == name).count(),
                if http { 2 } else { 0 },
                "{}: SpinApp {name} probes {paths:?}",
                overlay.display()
            );
        }
        for (app, check, path) in &paths {
            assert_eq!(path, "/.well-known/spin/health", "{}: {app} {check}", overlay.display());
        }
    }
}

/// `to` relative to `from` (kustomize refuses absolute resource paths).
fn relative(from: &Path, to: &Path) -> PathBuf {
    let (from, to) = (from.canonicalize().unwrap(), to.canonicalize().unwrap());
    let common = from.components().zip(to.components()).take_while(|(a, b)| a == b).count();
    let mut path: PathBuf = from.components().skip(common).map(|_| "..").collect();
    path.extend(to.components().skip(common));
    path
}

#[test]
fn an_image_override_reaches_every_spinapp() {
    for overlay in overlays() {
        let dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join(format!(
            "kustomize-image-{}-{}",
            std::process::id(),
            overlay.file_name().unwrap().to_str().unwrap()
        ));
        std::fs::create_dir_all(&dir).unwrap();
        let kustomization = format!(
            "apiVersion: kustomize.config.k8s.io/v1beta1\nkind: Kustomization\nresources:\n  - {}\nimages:\n  - name: ghcr.io/facteur-bot/facteur\n    newTag: 9.8.7-test\n",
            relative(&dir, &overlay).display()
        );
        std::fs::write(dir.join("kustomization.yaml"), kustomization).unwrap();
        let documents = render(&dir);
        std::fs::remove_dir_all(&dir).unwrap();
        let Some(documents) = documents else { return };
        let images: Vec<&str> =
            documents.iter().filter(|d| d["kind"] == "SpinApp").map(|d| d["spec"]["image"].as_str().unwrap()).collect();
        assert!(!images.is_empty());
        for image in images {
            assert_eq!(image, "ghcr.io/facteur-bot/facteur:9.8.7-test", "{}", overlay.display());
        }
    }
}

/// Markers of a value someone was supposed to fill in.
const PLACEHOLDERS: &[&str] = &["REPLACE", "CHANGE_ME", "CHANGEME", "PLACEHOLDER", "TODO", "FIXME", "XXX", "<your"];

#[test]
fn no_placeholder_is_left_in_any_rendered_overlay() {
    for overlay in overlays() {
        let Some(documents) = render(&overlay) else { return };
        let text = serde_yaml_ng::to_string(&documents).unwrap();
        for marker in PLACEHOLDERS {
            assert!(
                !text.to_ascii_uppercase().contains(&marker.to_ascii_uppercase()),
                "{} renders the placeholder `{marker}`",
                overlay.display()
            );
        }
    }
}

/// What the Argo Server does with the caller's token (`client` auth mode) for one REST call:
/// `(apiGroup, resource, verb)`. Sources: argoproj/argo-workflows `server/workflow/workflow_server.go`
/// (SubmitWorkflow, GetWorkflow, ListWorkflows, RetryWorkflow, PodLogs, Stop/TerminateWorkflow,
/// Suspend/Resume/ResubmitWorkflow),
/// `workflow/util/util.go` (patchShutdownStrategy: get + merge patch; retry deletes the failed
/// nodes' pods then updates), `util/logs/workflow-logger.go` (watch + list the workflow's pods,
/// then `pods/log`), `server/workflowtemplate/workflow_template_server.go` (list templates).
fn kubernetes_access(method: &str, path: &str) -> Vec<(&'static str, &'static str, &'static str)> {
    const ARGO: &str = "argoproj.io";
    let path = path.split('?').next().unwrap();
    let segments: Vec<&str> = path.trim_start_matches("/api/v1/").split('/').collect();
    match (method, segments.as_slice()) {
        ("POST", ["workflows", _, "submit"]) => vec![(ARGO, "workflowtemplates", "get"), (ARGO, "workflows", "create")],
        ("GET", ["workflows", _]) => vec![(ARGO, "workflows", "list")],
        ("GET", ["workflows", _, _]) => vec![(ARGO, "workflows", "get")],
        ("GET", ["workflows", _, _, "log"]) => {
            vec![(ARGO, "workflows", "get"), ("", "pods", "watch"), ("", "pods", "list"), ("", "pods/log", "get")]
        }
        ("PUT", ["workflows", _, _, "stop" | "terminate"]) => {
            vec![(ARGO, "workflows", "get"), (ARGO, "workflows", "patch")]
        }
        ("PUT", ["workflows", _, _, "retry"]) => {
            vec![(ARGO, "workflows", "get"), (ARGO, "workflows", "update"), ("", "pods", "delete")]
        }
        // util.SuspendWorkflow / util.ResumeWorkflow: get, then update (spec.suspend, suspend nodes).
        ("PUT", ["workflows", _, _, "suspend" | "resume"]) => {
            vec![(ARGO, "workflows", "get"), (ARGO, "workflows", "update")]
        }
        // FormulateResubmitWorkflow then util.SubmitWorkflow (validates the template reference).
        ("PUT", ["workflows", _, _, "resubmit"]) => {
            vec![(ARGO, "workflows", "get"), (ARGO, "workflowtemplates", "get"), (ARGO, "workflows", "create")]
        }
        ("GET", ["workflow-templates", _]) => vec![(ARGO, "workflowtemplates", "list")],
        _ => panic!("facteur calls {method} {path}: map it to what the Argo Server does with the token"),
    }
}

#[test]
fn the_argo_role_covers_exactly_the_calls_facteur_makes() {
    use facteur::argo;
    // Every request builder of the Argo client, called: a new builder must be added here (the
    // check below reads argo/request.rs), and its REST call mapped in `kubernetes_access`.
    let spec = argo::SubmitSpec {
        namespace: "argo".into(),
        template: "facteur-dispatch".into(),
        name: "plan-1".into(),
        parameters: vec![],
        labels: vec![],
        annotations: vec![],
        service_account: None,
        server_dry_run: false,
    };
    let calls: BTreeMap<&str, argo::ArgoRequest> = BTreeMap::from([
        ("submit", argo::submit(&spec)),
        ("get", argo::get("argo", "plan-1")),
        ("stop", argo::stop("argo", "plan-1", "by ada")),
        ("terminate", argo::terminate("argo", "plan-1")),
        ("retry", argo::retry("argo", "plan-1")),
        ("suspend", argo::suspend("argo", "plan-1")),
        ("resume", argo::resume("argo", "plan-1")),
        ("resubmit", argo::resubmit("argo", "plan-1")),
        ("list", argo::list("argo", "facteur.dev/command", Some("plan-"), 25)),
        ("list_names", argo::list_names("argo", "facteur.dev/command=plan", 11)),
        ("templates", argo::templates("argo", "fac")),
        ("logs", argo::logs("argo", "plan-1", 50)),
    ]);
    let source = std::fs::read_to_string(repo().join("components/facteur/src/argo/request.rs")).unwrap();
    let builders: BTreeSet<&str> = source
        .lines()
        .filter(|l| l.starts_with("pub fn ") && l.contains("-> ArgoRequest"))
        .map(|l| l["pub fn ".len()..].split('(').next().unwrap())
        .collect();
    assert_eq!(
        builders,
        calls.keys().copied().collect(),
        "argo/request.rs's request builders and this test's list differ"
    );

    let needed: BTreeSet<(&str, &str, &str)> =
        calls.values().flat_map(|r| kubernetes_access(r.method.as_str(), &r.path)).collect();
    let Some(documents) = rendered() else { return };
    let role = documents
        .iter()
        .find(|d| d["kind"] == "Role" && d["metadata"]["name"] == "facteur-argo")
        .expect("the Role facteur-argo");
    assert_eq!(role["metadata"]["namespace"], "argo");
    let strings = |v: &Value| v.as_array().unwrap().iter().map(|s| s.as_str().unwrap().to_owned()).collect::<Vec<_>>();
    let mut granted = BTreeSet::new();
    for rule in role["rules"].as_array().unwrap() {
        for group in strings(&rule["apiGroups"]) {
            for resource in strings(&rule["resources"]) {
                for verb in strings(&rule["verbs"]) {
                    assert!(group != "*" && resource != "*" && verb != "*", "no wildcard in facteur-argo");
                    granted.insert((group.clone(), resource.clone(), verb));
                }
            }
        }
    }
    let needed: BTreeSet<(String, String, String)> =
        needed.into_iter().map(|(g, r, v)| (g.to_owned(), r.to_owned(), v.to_owned())).collect();
    assert_eq!(granted, needed, "facteur-argo must grant exactly what facteur's calls need");
    let binding =
        documents.iter().find(|d| d["kind"] == "RoleBinding" && d["roleRef"]["name"] == "facteur-argo").unwrap();
    assert_eq!(binding["subjects"][0]["name"], "facteur-argo");
    assert_eq!(binding["subjects"][0]["namespace"], "facteur");

    // The example template's executor may report task results, and nothing else.
    let template = documents.iter().find(|d| d["kind"] == "WorkflowTemplate").unwrap();
    let executor = template["spec"]["executor"]["serviceAccountName"].as_str().expect("an executor ServiceAccount");
    let binding = documents
        .iter()
        .find(|d| d["kind"] == "RoleBinding" && d["subjects"][0]["name"] == executor)
        .expect("the executor's RoleBinding");
    let role =
        documents.iter().find(|d| d["kind"] == "Role" && d["metadata"]["name"] == binding["roleRef"]["name"]).unwrap();
    assert_eq!(role["rules"][0]["resources"][0], "workflowtaskresults");
    assert_eq!(strings(&role["rules"][0]["verbs"]), ["create", "patch"]);
    assert_eq!(template["spec"]["automountServiceAccountToken"], false);
}

#[test]
fn kafka_sources_start_at_latest_and_dead_letter_what_the_bridge_refuses() {
    for overlay in overlays() {
        let Some(documents) = render(&overlay) else { return };
        let sources: Vec<&Value> = documents.iter().filter(|d| d["kind"] == "KafkaSource").collect();
        assert!(!sources.is_empty());
        for source in sources {
            let name = source["metadata"]["name"].as_str().unwrap();
            let spec = &source["spec"];
            assert_eq!(spec["initialOffset"], "latest", "{name}");
            assert!(spec["delivery"]["retry"].as_u64().unwrap() >= 3, "{name} retries");
            assert_eq!(spec["delivery"]["backoffPolicy"], "exponential", "{name}");
            assert!(spec["delivery"]["backoffDelay"].as_str().is_some_and(|d| d.starts_with("PT")), "{name}");
            let dead = &spec["delivery"]["deadLetterSink"]["ref"];
            assert!(
                documents.iter().any(|d| d["kind"] == dead["kind"] && d["metadata"]["name"] == dead["name"]),
                "{name}: its dead-letter sink {dead} is rendered"
            );
            // No credential in the source: the bridge it feeds admits the dispatcher by network.
            assert!(spec["ceOverrides"].is_null(), "{name} carries no secret");
            let uri = spec["sink"]["uri"].as_str().unwrap();
            let (host, path) = uri.trim_start_matches("http://").split_once('/').unwrap();
            let host = host.split('.').next().unwrap();
            // Each topic goes to the route of its kind (the other route refuses it with 422).
            let topics: Vec<&str> = spec["topics"].as_array().unwrap().iter().map(|t| t.as_str().unwrap()).collect();
            let (route, component, auth) = match topics.as_slice() {
                ["discord.commands.incoming"] => ("bridge/kafka", "bridge", "bridge_auth"),
                ["argo.workflows.completions"] => ("bridge/lifecycle", "lifecycle-bridge", "lifecycle_auth"),
                other => panic!("{name}: which route takes {other:?}?"),
            };
            assert_eq!(path, route, "{name} feeds the route of its kind");
            let app = documents.iter().find(|d| d["kind"] == "SpinApp" && d["metadata"]["name"] == host).unwrap();
            assert!(
                app["spec"]["components"].as_array().unwrap().iter().any(|c| c == component),
                "{name}: {host} serves /{route}"
            );
            let auth = app["spec"]["variables"].as_array().unwrap().iter().find(|v| v["name"] == auth).unwrap();
            assert_eq!(auth["value"], "network", "{name} feeds {host}");
        }
    }
}

#[test]
fn network_policies_guard_redis_and_the_app() {
    let Some(documents) = rendered() else { return };
    let policies: Vec<&Value> = documents.iter().filter(|d| d["kind"] == "NetworkPolicy").collect();
    assert!(
        policies.iter().any(|p| p["spec"]["podSelector"] == serde_json::json!({})
            && p["spec"]["ingress"].is_null()
            && p["spec"]["policyTypes"][0] == "Ingress"),
        "ingress is denied by default in facteur's namespace"
    );
    let labels_of = |app: &str| -> Value {
        documents.iter().find(|d| d["kind"] == "SpinApp" && d["metadata"]["name"] == app).unwrap()["spec"]["podLabels"]
            .clone()
    };
    let policy_for = |labels: &Value| -> &Value {
        policies
            .iter()
            .find(|p| {
                let selector = p["spec"]["podSelector"]["matchLabels"].as_object();
                selector.is_some_and(|s| !s.is_empty() && s.iter().all(|(k, v)| &labels[k] == v))
            })
            .unwrap_or_else(|| panic!("no NetworkPolicy selects pods labelled {labels}"))
    };
    // /interactions: the ingress controller alone.
    let app = policy_for(&labels_of("facteur"));
    let from = &app["spec"]["ingress"];
    assert_eq!(from.as_array().unwrap().len(), 1);
    assert!(from[0]["from"][0]["namespaceSelector"].is_object() && from[0]["from"][0]["podSelector"].is_object());
    // Redis: facteur's pods alone, and every SpinApp that talks to Redis is among them.
    let redis =
        documents.iter().find(|d| d["kind"] == "StatefulSet" && d["metadata"]["name"] == "facteur-redis").unwrap();
    let policy = policy_for(&redis["spec"]["template"]["metadata"]["labels"]);
    let clients = &policy["spec"]["ingress"][0]["from"][0];
    assert!(clients["namespaceSelector"].is_null(), "same namespace only");
    for app in documents.iter().filter(|d| d["kind"] == "SpinApp") {
        let labels = &app["spec"]["podLabels"];
        for (k, v) in clients["podSelector"]["matchLabels"].as_object().unwrap() {
            assert_eq!(&labels[k], v, "SpinApp {} may reach Redis", app["metadata"]["name"]);
        }
    }
    // The Kafka bridge (both routes, no secret): the Kafka source dispatcher alone.
    let bridge = policy_for(&labels_of("facteur-bridge"));
    assert_eq!(bridge["spec"]["ingress"].as_array().unwrap().len(), 1);
    assert_eq!(bridge["spec"]["ingress"][0]["from"].as_array().unwrap().len(), 1);
    assert_eq!(
        bridge["spec"]["ingress"][0]["from"][0]["namespaceSelector"]["matchLabels"]["kubernetes.io/metadata.name"],
        "knative-eventing"
    );
    assert!(bridge["spec"]["ingress"][0]["from"][0]["podSelector"]["matchLabels"].is_object());
    // The lifecycle bridge: workflow pods in `argo` alone.
    let lifecycle = policy_for(&labels_of("facteur-lifecycle"));
    assert_eq!(lifecycle["spec"]["ingress"].as_array().unwrap().len(), 1);
    let from = &lifecycle["spec"]["ingress"][0]["from"];
    assert_eq!(from.as_array().unwrap().len(), 1);
    assert_eq!(from[0]["namespaceSelector"]["matchLabels"]["kubernetes.io/metadata.name"], "argo");
    assert!(from[0]["podSelector"].is_object());
}

/// Issue 15: commands and lifecycle events travel apart. In spin.toml: each bridge route and
/// each worker takes one kind (`accepts`), with its own auth, secret and channel, and the
/// workers subscribe to the channel their bridge publishes to. On the cluster: the two channels
/// differ, the two secrets never share a Secret key, the app workflow pods reach serves only
/// the lifecycle route, and the example template's exit handler posts there with the lifecycle
/// secret.
#[test]
fn commands_and_lifecycle_events_travel_apart() {
    let manifest = Manifest::load(&manifest_path()).unwrap();
    let route_of =
        |component: &str| manifest.http_triggers.iter().find(|t| t.component == component).map(|t| t.route.to_string());
    let vars = |component: &str| &manifest.components[component].variables;
    // (component, accepts, route or channel template, secret, auth)
    assert_eq!(route_of("bridge").as_deref(), Some("/bridge/kafka"));
    assert_eq!(route_of("lifecycle-bridge").as_deref(), Some("/bridge/lifecycle"));
    for (component, accepts, secret, auth, channel) in [
        ("bridge", "commands", "bridge_secret", "bridge_auth", "events_channel"),
        ("lifecycle-bridge", "lifecycle", "lifecycle_secret", "lifecycle_auth", "lifecycle_channel"),
    ] {
        let v = vars(component);
        assert_eq!(v["accepts"], accepts, "{component}");
        assert_eq!(v[secret], format!("{{{{ {secret} }}}}"), "{component}");
        assert_eq!(v[auth], format!("{{{{ {auth} }}}}"), "{component}");
        assert_eq!(v[channel], format!("{{{{ {channel} }}}}"), "{component}");
        let others: Vec<&String> = v
            .keys()
            .filter(|k| {
                ["bridge_secret", "lifecycle_secret", "events_channel", "lifecycle_channel"].contains(&k.as_str())
            })
            .collect();
        assert_eq!(others.len(), 2, "{component} reads only its own secret and channel: {others:?}");
    }
    for (component, accepts, channel) in
        [("worker", "commands", "events_channel"), ("lifecycle-worker", "lifecycle", "lifecycle_channel")]
    {
        assert_eq!(vars(component)["accepts"], accepts, "{component}");
        let trigger = manifest.redis_triggers.iter().find(|t| t.component == component).unwrap();
        assert_eq!(trigger.channel, format!("{{{{ {channel} }}}}"), "{component}");
    }
    // The lifecycle worker cannot start anything: no Argo token, Argo not an allowed host.
    let lifecycle = &manifest.components["lifecycle-worker"];
    assert!(!lifecycle.variables.contains_key("argo_token") && !lifecycle.variables.contains_key("role_map"));
    // Discord, and its Redis for the dead letters of what it refuses (`dead_letter_key`).
    assert_eq!(lifecycle.allowed_outbound_hosts, ["{{ discord_api_url }}", "redis://{{ redis_host }}"]);
    assert_ne!(manifest.variables["events_channel"].default, manifest.variables["lifecycle_channel"].default);
    assert_eq!(manifest.variables["event_max_age_secs"].default.as_deref(), Some("900"));

    let Some(documents) = rendered() else { return };
    let config = documents.iter().find(|d| d["kind"] == "ConfigMap" && d["metadata"]["name"] == "facteur-config");
    let config = &config.unwrap()["data"];
    assert_ne!(config["events_channel"], config["lifecycle_channel"], "two channels");
    let app = |name: &str| documents.iter().find(|d| d["kind"] == "SpinApp" && d["metadata"]["name"] == name).unwrap();
    let source_of = |app: &Value, variable: &str| -> Option<Value> {
        let v = app["spec"]["variables"].as_array().unwrap().iter().find(|v| v["name"] == variable)?;
        Some(v["valueFrom"]["secretKeyRef"].clone())
    };
    let lifecycle_app = app("facteur-lifecycle");
    assert_eq!(lifecycle_app["spec"]["components"], serde_json::json!(["lifecycle-bridge"]));
    let lifecycle_secret = source_of(lifecycle_app, "lifecycle_secret").expect("facteur-lifecycle's secret");
    assert!(lifecycle_secret.is_object());
    for other in documents.iter().filter(|d| d["kind"] == "SpinApp") {
        if let Some(commands) = source_of(other, "bridge_secret") {
            assert_ne!(commands, lifecycle_secret, "the commands' secret is not the lifecycle secret");
        }
    }
    let template = documents.iter().find(|d| d["kind"] == "WorkflowTemplate").unwrap();
    let report = template["spec"]["templates"]
        .as_array()
        .unwrap()
        .iter()
        .find(|t| Some(t["name"].as_str().unwrap()) == template["spec"]["onExit"].as_str())
        .expect("the exit handler");
    let script = report["container"]["args"][0].as_str().unwrap();
    assert!(script.contains("http://facteur-lifecycle.facteur.svc.cluster.local/bridge/lifecycle"), "{script}");
    assert!(!script.contains("/bridge/kafka"), "{script}");
    let secret = report["container"]["env"]
        .as_array()
        .unwrap()
        .iter()
        .find_map(|e| e["valueFrom"]["secretKeyRef"].as_object().cloned())
        .expect("the exit handler's secret");
    assert_eq!(Value::Object(secret), lifecycle_secret, "the exit handler presents the lifecycle secret");
}

/// Fields kustomize deprecated (v5 warns or fails on them).
const DEPRECATED_KUSTOMIZE_FIELDS: &[&str] =
    &["bases", "patchesStrategicMerge", "patchesJson6902", "commonLabels", "vars", "imageTags"];

#[test]
fn kustomizations_use_no_deprecated_fields() {
    fn visit(dir: &Path, found: &mut Vec<PathBuf>) {
        for entry in std::fs::read_dir(dir).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                visit(&path, found);
            } else if path.file_name().is_some_and(|n| n == "kustomization.yaml" || n == "kustomization.yml") {
                found.push(path);
            }
        }
    }
    let mut files = Vec::new();
    visit(&repo().join("kubernetes"), &mut files);
    assert!(files.len() >= 4);
    for file in files {
        let kustomization: Value = serde_yaml_ng::from_str(&std::fs::read_to_string(&file).unwrap()).unwrap();
        for field in DEPRECATED_KUSTOMIZE_FIELDS {
            assert!(kustomization.get(field).is_none(), "{} uses the deprecated `{field}`", file.display());
        }
    }
}

#[test]
fn workflow_templates_never_paste_parameters_into_a_shell() {
    use facteur::workflow_safety::{injection, workflow_templates};
    // The check itself catches the shapes of issue 15 (the template this repository shipped).
    let pasted: Value = serde_json::json!({"name": "main", "container": {"image": "alpine", "command": ["sh", "-c"],
        "args": ["echo \"objective: {{workflow.parameters.objective}}\""]}});
    assert!(injection(&pasted).is_some());
    let script: Value = serde_json::json!({"name": "s", "script": {"image": "alpine", "command": ["bash"],
        "source": "echo {{ inputs.parameters.x }}"}});
    assert!(injection(&script).is_some());
    let env: Value = serde_json::json!({"name": "e", "container": {"image": "alpine", "command": ["sh", "-c"],
        "args": ["echo \"$X\""], "env": [{"name": "X", "value": "{{workflow.parameters.x}}"}]}});
    assert_eq!(injection(&env), None, "environment variables are the safe way");
    let argv: Value = serde_json::json!({"name": "a", "container": {"image": "alpine", "command": ["printf", "%s\\n"],
        "args": ["{{inputs.parameters.x}}"]}});
    assert_eq!(injection(&argv), None, "a separate argument of a program that is not a shell is data");

    let mut checked = 0;
    for overlay in overlays() {
        let Some(documents) = render(&overlay) else { return };
        for document in &documents {
            for template in workflow_templates(document) {
                checked += 1;
                if let Some(why) = injection(template) {
                    panic!(
                        "{}: {} {} template `{}`: {why}; pass parameters as environment variables (quoted \"$NAME\") or separate arguments",
                        overlay.display(),
                        document["kind"].as_str().unwrap(),
                        document["metadata"]["name"].as_str().unwrap(),
                        template["name"].as_str().unwrap_or("?")
                    );
                }
            }
        }
    }
    assert!(checked > 0, "no WorkflowTemplate was checked");
}

/// Every overlay has the executor its SpinApps name, in their namespace, with an OTLP endpoint
/// (spin-operator `api/v1alpha1/spinappexecutor_types.go`: `deploymentConfig.otel`), so the
/// shim's Spin exports traces, metrics and logs.
#[test]
fn the_spinapps_executor_exports_otlp() {
    for overlay in overlays() {
        let Some(documents) = render(&overlay) else { return };
        let executors: Vec<&Value> = documents.iter().filter(|d| d["kind"] == "SpinAppExecutor").collect();
        for app in documents.iter().filter(|d| d["kind"] == "SpinApp") {
            let name = app["spec"]["executor"].as_str().unwrap_or_default();
            let executor = executors
                .iter()
                .find(|e| e["metadata"]["name"] == name && e["metadata"]["namespace"] == app["metadata"]["namespace"])
                .unwrap_or_else(|| {
                    panic!("{}: no SpinAppExecutor `{name}` for {}", overlay.display(), app["metadata"]["name"])
                });
            let config = &executor["spec"]["deploymentConfig"];
            assert_eq!(config["runtimeClassName"], "wasmtime-spin-v2", "{}", overlay.display());
            let endpoint = config["otel"]["exporter_otlp_endpoint"].as_str().unwrap_or_default();
            assert!(
                endpoint.starts_with("http://") || endpoint.starts_with("https://"),
                "{}: {endpoint:?}",
                overlay.display()
            );
        }
    }
}
