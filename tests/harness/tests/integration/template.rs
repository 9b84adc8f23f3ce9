//! The `spin add -t facteur-command` template renders the way Spin renders it (Liquid
//! placeholders and filters substituted, `{% raw %}` kept literal), and what it renders builds
//! for wasm32-wasip2, joins the manifest, and joins the catalog.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;

use facteur_harness::manifest::Manifest;

fn repo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../..").canonicalize().unwrap()
}

/// Spin's substitution for what the template uses: `{{ name }}`, `{{ name | kebab_case }}`,
/// `{{ name | snake_case }}`, and `{% raw %}…{% endraw %}` left as it is.
fn render(text: &str, values: &BTreeMap<&str, &str>) -> String {
    let mut out = String::new();
    let mut rest = text;
    while let Some(start) = rest.find("{{").into_iter().chain(rest.find("{% raw %}")).min() {
        out.push_str(&rest[..start]);
        if rest[start..].starts_with("{% raw %}") {
            let body = &rest[start + "{% raw %}".len()..];
            let end = body.find("{% endraw %}").expect("closed raw block");
            out.push_str(&body[..end]);
            rest = &body[end + "{% endraw %}".len()..];
            continue;
        }
        let body = &rest[start + 2..];
        let end = body.find("}}").expect("closed placeholder");
        let mut parts = body[..end].split('|').map(str::trim);
        let value = values[parts.next().unwrap()];
        let value = match parts.next() {
            Some("kebab_case") => value.to_lowercase().replace(['_', ' '], "-"),
            Some("snake_case") => value.to_lowercase().replace(['-', ' '], "_"),
            None => value.to_owned(),
            Some(other) => panic!("filter {other} is not used by the template"),
        };
        out.push_str(&value);
        rest = &body[end + 2..];
    }
    out.push_str(rest);
    out
}

fn render_tree(from: &Path, to: &Path, values: &BTreeMap<&str, &str>) {
    std::fs::create_dir_all(to).unwrap();
    for entry in std::fs::read_dir(from).unwrap() {
        let entry = entry.unwrap();
        let target = to.join(render(&entry.file_name().to_string_lossy(), values));
        if entry.file_type().unwrap().is_dir() {
            render_tree(&entry.path(), &target, values);
        } else {
            std::fs::write(&target, render(&std::fs::read_to_string(entry.path()).unwrap(), values)).unwrap();
        }
    }
}

#[test]
fn the_command_template_renders_and_builds() {
    let repo = repo();
    let template = repo.join("templates/facteur-command");
    let values = BTreeMap::from([
        ("project-name", "deploy-status"),
        ("project-description", "Show what is deployed where"),
        ("output-path", "components/deploy-status"),
    ]);
    // A workspace like facteur's, with the rendered component dropped into components/.
    let app = std::env::temp_dir().join(format!("facteur-template-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&app);
    render_tree(&template.join("content"), &app.join("components/deploy-status"), &values);
    // facteur's own workspace file, with only components/* as members and the library by path.
    let mut workspace: toml::Table = std::fs::read_to_string(repo.join("Cargo.toml")).unwrap().parse().unwrap();
    let ws = workspace["workspace"].as_table_mut().unwrap();
    ws.insert("members".into(), toml::Value::Array(vec!["components/*".into()]));
    ws.remove("default-members");
    ws["dependencies"]["facteur"]["path"] = repo.join("components/facteur").display().to_string().into();
    // The same release profile (so the build reuses the main artifacts), not the host-only ones.
    let profiles = workspace["profile"].as_table_mut().unwrap();
    profiles.retain(|name, _| name == "release");
    let workspace = toml::to_string(&workspace).unwrap();
    std::fs::write(app.join("Cargo.toml"), workspace).unwrap();
    std::fs::copy(repo.join("Cargo.lock"), app.join("Cargo.lock")).unwrap(); // the same versions, nothing to fetch

    // The manifest with the snippet `spin add` appends.
    let snippet = render(&std::fs::read_to_string(template.join("metadata/snippets/component.txt")).unwrap(), &values);
    let manifest_text = format!("{}{snippet}", std::fs::read_to_string(repo.join("spin.toml")).unwrap());
    let manifest = Manifest::parse(&manifest_text, &app).expect("the snippet joins spin.toml");
    let component = &manifest.components["deploy-status"];
    assert_eq!(component.variables["role_map"], "{{ role_map }}", "manifest templates stay literal");
    assert!(component.source.ends_with("target/wasm32-wasip2/release/deploy_status.wasm"));

    // Its catalog line joins the catalog.
    let line: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(app.join("components/deploy-status/command.json")).unwrap())
            .unwrap();
    let mut catalog: serde_json::Value = serde_json::from_str(facteur::catalog::EMBEDDED).unwrap();
    catalog["commands"].as_array_mut().unwrap().push(line);
    let catalog = facteur::catalog::Catalog::parse(&catalog.to_string()).unwrap();
    assert_eq!(catalog.command("deploy_status").unwrap().component, "deploy-status");

    // And it builds, with the build command the snippet gives.
    let build = &component.build.as_ref().unwrap().commands[0];
    let status = Command::new("sh")
        .arg("-c")
        .arg(build)
        .current_dir(&app)
        .env("CARGO_TARGET_DIR", repo.join("target"))
        .status()
        .unwrap();
    assert!(status.success(), "`{build}` failed");
    assert!(repo.join("target/wasm32-wasip2/release/deploy_status.wasm").exists());
    std::fs::remove_dir_all(&app).unwrap();
}
