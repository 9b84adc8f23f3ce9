//! `docs/migrating-from-go.md` stays true of the code: every Spin variable its tables name (a
//! `snake_case` name in backticks) is one of `spin.toml`, every file it points to exists, and
//! every KafkaSource, SpinApp and KafkaSink it names is in `kubernetes/`.

use std::path::Path;

use facteur_harness::manifest::Manifest;
use facteur_harness::support::manifest_path;

/// Names in the guide's tables that are not variables: an option of `/plan`.
const NOT_VARIABLES: [&str; 1] = ["dry_run"];

fn guide() -> String {
    std::fs::read_to_string(root().join("docs/migrating-from-go.md")).unwrap()
}

fn root() -> std::path::PathBuf {
    manifest_path().parent().unwrap().to_owned()
}

/// The code spans of the facteur side of each table row (every cell after the first).
fn facteur_cells(guide: &str) -> Vec<String> {
    let rows = guide.lines().filter(|l| l.starts_with('|') && !l.starts_with("|---") && !l.starts_with("| Go"));
    let cells = rows.flat_map(|row| row.split(" | ").skip(1).map(str::to_owned).collect::<Vec<_>>());
    cells.flat_map(|cell| cell.split('`').skip(1).step_by(2).map(str::to_owned).collect::<Vec<_>>()).collect()
}

#[test]
fn the_migration_guide_names_only_variables_files_and_resources_that_exist() {
    let manifest = Manifest::load(&manifest_path()).unwrap();
    let guide = guide();
    let spans = facteur_cells(&guide);
    let snake = |s: &str| s.contains('_') && s.bytes().all(|b| b.is_ascii_lowercase() || b == b'_');
    let variables: Vec<&String> = spans.iter().filter(|s| snake(s) && !NOT_VARIABLES.contains(&s.as_str())).collect();
    assert!(variables.len() > 20, "{variables:?}");
    for name in variables {
        assert!(manifest.variables.contains_key(name.as_str()), "`{name}` is not a variable of spin.toml");
    }
    for path in spans.iter().filter(|s| s.starts_with("kubernetes/") || s.starts_with("config/")) {
        assert!(Path::new(&root().join(path)).exists(), "{path} does not exist");
    }
    let manifests: String = ["kafka.yaml", "spinapp.yaml", "config.yaml", "redis.yaml"]
        .iter()
        .map(|f| std::fs::read_to_string(root().join("kubernetes/base/app").join(f)).unwrap())
        .collect();
    for resource in
        ["facteur-commands", "facteur-completions", "facteur-dead-letter", "facteur-bridge", "facteur-worker"]
    {
        assert!(manifests.contains(&format!("name: {resource}\n")), "{resource}");
    }
    for (value, text) in [("facteur.refused", "dead_letter_key"), ("facteur.dead-letter", "topic")] {
        assert!(manifests.contains(&format!("{text}: {value}")), "{text}: {value}");
    }
    assert!(manifests.contains("consumerGroup: facteur\n") && manifests.contains("initialOffset: latest"));
}
