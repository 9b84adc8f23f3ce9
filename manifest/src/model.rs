//! The manifest as Spin loads it: the [`Document`] checked for what Spin refuses in the keys
//! facteur uses (variables without a value, templates naming undeclared variables, unknown
//! components in triggers, bad routes and `allowed_outbound_hosts`, routes defined twice),
//! with paths resolved against the manifest's folder and Redis addresses defaulted.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

use anyhow::{Context, Result, anyhow, bail, ensure};

use crate::allowed_hosts::AllowedHosts;
use crate::document::{Document, RouteDecl};
use crate::routes::Route;
use crate::template::{is_variable_name, template_references};

/// An application variable as declared in `[variables]`.
#[derive(Debug, Clone)]
pub struct Variable {
    pub default: Option<String>,
    pub required: bool,
    pub secret: bool,
}

#[derive(Debug, Clone)]
pub struct HttpTrigger {
    pub route: Route,
    pub component: String,
}

#[derive(Debug, Clone)]
pub struct RedisTrigger {
    /// Channel and address may be templates over application variables.
    pub channel: String,
    pub address: String,
    pub component: String,
}

#[derive(Debug, Clone)]
pub struct BuildCommand {
    pub commands: Vec<String>,
    pub workdir: PathBuf,
}

#[derive(Debug, Clone)]
pub struct ComponentDef {
    pub id: String,
    pub source: PathBuf,
    pub allowed_outbound_hosts: Vec<String>,
    pub key_value_stores: Vec<String>,
    /// Component variables: static strings or templates over application variables.
    pub variables: BTreeMap<String, String>,
    pub environment: BTreeMap<String, String>,
    pub build: Option<BuildCommand>,
}

#[derive(Debug, Clone)]
pub struct Manifest {
    pub dir: PathBuf,
    pub name: String,
    pub version: Option<String>,
    pub variables: BTreeMap<String, Variable>,
    pub http_triggers: Vec<HttpTrigger>,
    pub redis_triggers: Vec<RedisTrigger>,
    pub components: BTreeMap<String, ComponentDef>,
}

impl Manifest {
    pub fn load(path: &Path) -> Result<Self> {
        let text = std::fs::read_to_string(path).with_context(|| format!("reading {}", path.display()))?;
        let dir = path.parent().map_or_else(|| PathBuf::from("."), Path::to_path_buf);
        Self::parse(&text, &dir).with_context(|| format!("invalid manifest {}", path.display()))
    }

    pub fn parse(text: &str, dir: &Path) -> Result<Self> {
        Self::from_document(Document::parse(text)?, dir)
    }

    /// Checks `raw` as Spin does at load; `dir` is the manifest's folder.
    pub fn from_document(raw: Document, dir: &Path) -> Result<Self> {
        ensure!(raw.spin_manifest_version == 2, "spin_manifest_version must be 2");

        let mut variables = BTreeMap::new();
        for (name, v) in raw.variables {
            ensure!(
                is_variable_name(&name),
                "variable `{name}`: names are lowercase letters, digits and `_`, starting with a letter"
            );
            match (&v.default, v.required) {
                (Some(_), true) => bail!("variable `{name}`: cannot have a default and be required"),
                (None, false) => bail!("variable `{name}`: needs a default or `required = true`"),
                _ => {}
            }
            variables.insert(name, Variable { default: v.default, required: v.required, secret: v.secret });
        }

        let mut components = BTreeMap::new();
        for (id, c) in raw.component {
            ensure!(is_component_id(&id), "component `{id}`: ids are lowercase words joined by `-`");
            let source = match &c.source {
                toml::Value::String(path) => dir.join(path),
                _ => bail!("component `{id}`: only local file sources are supported by the harness"),
            };
            for (name, value) in &c.variables {
                ensure!(is_variable_name(name), "component `{id}` variable `{name}`: invalid name");
                for reference in template_references(value)? {
                    ensure!(
                        variables.contains_key(&reference),
                        "component `{id}` variable `{name}` refers to undefined variable `{reference}`"
                    );
                }
            }
            for host in &c.allowed_outbound_hosts {
                for reference in template_references(host)? {
                    ensure!(
                        variables.contains_key(&reference),
                        "component `{id}` allowed_outbound_hosts `{host}` refers to undefined variable `{reference}`"
                    );
                }
                if template_references(host)?.is_empty() {
                    AllowedHosts::parse(std::slice::from_ref(host)).with_context(|| format!("component `{id}`"))?;
                }
            }
            let build = c.build.map(|b| BuildCommand {
                commands: b.command.commands(),
                workdir: b.workdir.map_or_else(|| dir.to_path_buf(), |w| dir.join(w)),
            });
            components.insert(
                id.clone(),
                ComponentDef {
                    id,
                    source,
                    allowed_outbound_hosts: c.allowed_outbound_hosts,
                    key_value_stores: c.key_value_stores,
                    variables: c.variables,
                    environment: c.environment,
                    build,
                },
            );
        }

        let mut http_triggers = Vec::new();
        let mut seen_routes = BTreeSet::new();
        for t in raw.trigger.http {
            ensure!(
                components.contains_key(&t.component),
                "HTTP trigger refers to unknown component `{}`",
                t.component
            );
            if let Some(executor) = t.executor {
                let kind = executor.get("type").and_then(toml::Value::as_str).unwrap_or("");
                ensure!(
                    kind == "http" || kind.is_empty(),
                    "component `{}`: executor `{kind}` is not supported by the harness",
                    t.component
                );
            }
            let route = match t.route {
                RouteDecl::Path(path) => Route::parse(&path)?,
                RouteDecl::Private { private: true } => Route::Private,
                RouteDecl::Private { private: false } => {
                    bail!("component `{}`: `route = {{ private = false }}` is not a route", t.component)
                }
            };
            if route != Route::Private {
                ensure!(seen_routes.insert(route.to_string()), "route `{route}` is defined twice");
            }
            http_triggers.push(HttpTrigger { route, component: t.component });
        }

        let app_redis = raw.application.trigger.redis.map(|r| r.address);
        let mut redis_triggers = Vec::new();
        for t in raw.trigger.redis {
            ensure!(
                components.contains_key(&t.component),
                "Redis trigger refers to unknown component `{}`",
                t.component
            );
            let address = t.address.or_else(|| app_redis.clone()).ok_or_else(|| {
                anyhow!("Redis trigger for `{}` has no address and [application.trigger.redis] sets none", t.component)
            })?;
            for value in [&t.channel, &address] {
                for reference in template_references(value)? {
                    ensure!(
                        variables.contains_key(&reference),
                        "Redis trigger `{value}` refers to undefined variable `{reference}`"
                    );
                }
            }
            redis_triggers.push(RedisTrigger { channel: t.channel, address, component: t.component });
        }

        Ok(Self {
            dir: dir.to_path_buf(),
            name: raw.application.name,
            version: raw.application.version,
            variables,
            http_triggers,
            redis_triggers,
            components,
        })
    }
}

/// Spin's component ids: lowercase words of letters and digits, each starting with a letter,
/// joined by `-` (the rule `facteur::catalog::is_component_id` applies to the catalog).
pub fn is_component_id(id: &str) -> bool {
    !id.is_empty()
        && id.split('-').all(|word| {
            word.as_bytes().first().is_some_and(u8::is_ascii_lowercase)
                && word.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit())
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    const BASE: &str = r#"
        spin_manifest_version = 2
        [application]
        name = "t"
        [variables]
        key = { required = true, secret = true }
        host = { default = "127.0.0.1:9" }
    "#;

    fn parse(extra: &str) -> Result<Manifest> {
        Manifest::parse(&format!("{BASE}{extra}"), Path::new("/app"))
    }

    #[test]
    fn parses_components_triggers_and_variables() {
        let m = parse(
            r#"
            [[trigger.http]]
            route = "/interactions"
            component = "gateway"
            [[trigger.http]]
            route = { private = true }
            component = "help"
            [component.gateway]
            source = "target/gateway.wasm"
            allowed_outbound_hosts = ["http://help.spin.internal", "http://{{ host }}"]
            variables = { k = "{{ key }}", fixed = "x" }
            [component.help]
            source = "target/help.wasm"
            [component.help.build]
            command = "cargo build"
        "#,
        )
        .unwrap();
        assert_eq!(m.components["gateway"].source, Path::new("/app/target/gateway.wasm"));
        assert_eq!(m.http_triggers.len(), 2);
        assert_eq!(m.http_triggers[1].route, Route::Private);
        assert!(m.variables["key"].secret);
        assert_eq!(m.components["help"].build.as_ref().unwrap().commands, ["cargo build"]);
    }

    #[test]
    fn refuses_what_spin_refuses() {
        let unknown = parse("[[trigger.http]]\nroute = \"/x\"\ncomponent = \"nope\"\n").unwrap_err();
        assert!(format!("{unknown:#}").contains("unknown component `nope`"), "{unknown:#}");
        let undefined =
            parse("[component.a]\nsource = \"a.wasm\"\nvariables = { v = \"{{ missing }}\" }\n").unwrap_err();
        assert!(format!("{undefined:#}").contains("undefined variable `missing`"), "{undefined:#}");
        let both = Manifest::parse(&BASE.replace("secret = true", "default = \"k\""), Path::new("/")).unwrap_err();
        assert!(format!("{both:#}").contains("cannot have a default and be required"));
        let typo = parse("[component.a]\nsource = \"a.wasm\"\nallowed_hosts = []\n").unwrap_err();
        assert!(format!("{typo:#}").contains("unknown field `allowed_hosts`"), "{typo:#}");
        let dup = parse("[[trigger.http]]\nroute = \"/x\"\ncomponent = \"a\"\n[[trigger.http]]\nroute = \"/x\"\ncomponent = \"a\"\n[component.a]\nsource = \"a.wasm\"\n").unwrap_err();
        assert!(format!("{dup:#}").contains("defined twice"));
        let no_address =
            parse("[[trigger.redis]]\nchannel = \"c\"\ncomponent = \"a\"\n[component.a]\nsource = \"a.wasm\"\n")
                .unwrap_err();
        assert!(format!("{no_address:#}").contains("has no address"));
        let id = parse("[component.My_app]\nsource = \"a.wasm\"\n").unwrap_err();
        assert!(format!("{id:#}").contains("ids are lowercase words"), "{id:#}");
    }

    #[test]
    fn component_ids() {
        assert!(is_component_id("workflow-plan") && is_component_id("a2"));
        assert!(!is_component_id("Plan") && !is_component_id("my_cmd") && !is_component_id("1abc"));
        assert!(!is_component_id("") && !is_component_id("a--b") && !is_component_id("a-"));
    }
}
