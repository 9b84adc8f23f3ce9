//! The shipped configuration files validate against their JSON Schemas, and the schemas refuse
//! what the components refuse.

use std::path::PathBuf;

use serde_json::{Value, json};

fn read(path: &str) -> Value {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../..").join(path);
    serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

fn validator(schema: &str) -> jsonschema::Validator {
    jsonschema::validator_for(&read(schema)).unwrap()
}

fn errors(validator: &jsonschema::Validator, document: &Value) -> Vec<String> {
    validator.iter_errors(document).map(|e| format!("{} at {}", e, e.instance_path())).collect()
}

#[test]
fn the_command_catalog_matches_its_schema_and_the_library_agrees() {
    let schema = validator("schemas/facteur-commands.schema.json");
    let catalog = read("config/commands.json");
    assert_eq!(errors(&schema, &catalog), Vec::<String>::new());
    facteur::catalog::Catalog::parse(&catalog.to_string()).unwrap();

    let mut bad = catalog.clone();
    bad["commands"][1].as_object_mut().unwrap().remove("component");
    assert!(!schema.is_valid(&bad));
    assert!(facteur::catalog::Catalog::parse(&bad.to_string()).is_err());
    let mut both = catalog.clone();
    both["commands"][1]["workflow"]["template_option"] = json!("objective");
    assert!(!schema.is_valid(&both), "template and template_option exclude each other");
    assert!(facteur::catalog::Catalog::parse(&both.to_string()).is_err());
}

#[test]
fn the_role_maps_match_the_schema_of_the_original() {
    let schema = validator("schemas/facteur-discord-role-map.schema.json");
    assert!(schema.is_valid(&read("config/role-map.example.json")));
    assert!(schema.is_valid(&json!({})));
    assert!(schema.is_valid(&json!({"dispatch": ["12345678901234567"], "workflow:cancel": ["12345678901234567890"]})));
    for bad in [
        json!({"plan": []}),
        json!({"Plan": ["12345678901234567"]}),
        json!({"plan": ["bot.plan"]}),
        json!({"plan": ["12345678901234567", "12345678901234567"]}),
    ] {
        assert!(!schema.is_valid(&bad), "{bad}");
        assert!(facteur::policy::RoleMap::parse(&bad.to_string()).is_err(), "{bad}");
    }
}

/// Every catalog command has its component in `spin.toml`, on a private route, reachable from
/// the gateway; each workflow entry serves the command it is listed for.
#[test]
fn the_catalog_and_the_manifest_agree() {
    let manifest = facteur_harness::manifest::Manifest::load(&facteur_harness::support::manifest_path()).unwrap();
    let gateway = &manifest.components["interactions"];
    for command in facteur::catalog::Catalog::embedded().commands {
        let id = &command.component;
        let component =
            manifest.components.get(id).unwrap_or_else(|| panic!("`/{}`: no component `{id}`", command.name));
        let trigger = manifest.http_triggers.iter().find(|t| &t.component == id).unwrap();
        assert_eq!(trigger.route, facteur_harness::routes::Route::Private, "`{id}` is reached only by chaining");
        assert!(
            gateway.allowed_outbound_hosts.contains(&format!("http://{id}.spin.internal")),
            "gateway cannot reach `{id}`"
        );
        if command.workflow.is_some() {
            assert_eq!(component.variables.get("command"), Some(&command.name), "`{id}` serves `/{}`", command.name);
        }
    }
}

#[test]
fn lifecycle_events_match_their_schema_and_the_decoder() {
    let schema = validator("schemas/facteur-workflow-lifecycle.schema.json");
    let event = json!({"workflow": "plan-1", "namespace": "argo", "phase": "Failed", "startedAt": "2026-11-27T08:00:00Z", "message": "build failed"});
    assert!(schema.is_valid(&event));
    assert!(matches!(facteur::events::decode(event.to_string().as_bytes()), Ok(facteur::events::Event::Lifecycle(_))));
    let bad = json!({"workflow": "plan-1", "namespace": "argo", "phase": "Done"});
    assert!(!schema.is_valid(&bad), "unknown phase");
    assert_eq!(
        facteur::events::decode(bad.to_string().as_bytes()).unwrap_err(),
        "lifecycle event with an unknown phase `Done`",
        "the decoder refuses what the schema refuses"
    );
}

/// The pinned contract specs are the project's shared ones. Without `../shared/specs` (a
/// clone outside the workplace) there is nothing to compare: skipped loudly, and failed in CI.
#[test]
fn pinned_specs_match_the_shared_specs() {
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../..");
    let shared = root.join("../shared/specs");
    if !shared.is_dir() {
        assert!(std::env::var_os("CI").is_none(), "CI has {} and must compare the pinned specs", shared.display());
        eprintln!("skipping: {} is absent; the pinned specs were not compared", shared.display());
        return;
    }
    for name in ["argo-swagger.json", "spinkube-spinapp-crd.yaml"] {
        let expected =
            std::fs::read(shared.join(name)).unwrap_or_else(|e| panic!("{}: {e}", shared.join(name).display()));
        assert!(
            std::fs::read(root.join("tests/specs").join(name)).unwrap() == expected,
            "tests/specs/{name} differs from {}",
            shared.display()
        );
    }
}
