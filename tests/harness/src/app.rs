//! A Spin application loaded from its manifest, as `spin up --build` loads it: the builder
//! (`spin up`'s flags and runtime config), `spin build`, variables resolved, each component
//! pre-instantiated with its Spin-visible configuration, and the triggers' tables; then the
//! [`App`] the tests hold. The triggers are in `trigger_http.rs` and `trigger_redis.rs`, what
//! tests can look at in `records.rs`.
//!
//! As in Spin, every request or message gets a fresh instance (from a pre-instantiated
//! component), handlers may keep running after they set their response, and what went
//! wrong after a response is only logged.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, LazyLock, Mutex};
use std::time::Duration;

use anyhow::{Context, Result, anyhow, bail};
use wasmtime::Store;
use wasmtime_wasi_http::p2::bindings::ProxyPre;

pub use crate::engine::engine;
use crate::engine::instance_pre;
use crate::host::{ComponentConfig, SpinHostPre, State};
use crate::kv::{KvBackend, KvStore};
use crate::manifest::Manifest;
use crate::outbound::AllowedHosts;
use crate::records::{Inflight, Records};
use crate::routes::Router;
use crate::trigger_redis::RedisSubscription;
use crate::variables::Resolved;

/// A component as loaded: its configuration and what it exports.
pub(crate) struct Loaded {
    pub(crate) config: Arc<ComponentConfig>,
    pub(crate) http: Option<ProxyPre<State>>,
    pub(crate) redis: Option<SpinHostPre<State>>,
}

/// Everything a loaded app shares between its triggers and instances.
pub(crate) struct Shared {
    pub(crate) app_name: String,
    pub(crate) app_version: Option<String>,
    pub(crate) components: HashMap<String, Loaded>,
    pub(crate) router: Router,
    pub(crate) subscriptions: Vec<RedisSubscription>,
    pub(crate) kv: Arc<KvStore>,
    pub(crate) records: Mutex<Records>,
    pub(crate) inflight: Inflight,
    pub(crate) echo_logs: bool,
}

/// Options for loading an app, like `spin up`'s flags and runtime config.
pub struct AppBuilder {
    manifest: PathBuf,
    edit: Option<Box<dyn FnOnce(String) -> String>>,
    variables: BTreeMap<String, String>,
    env: Option<BTreeMap<String, String>>,
    kv: KvBackend,
    kv_stores: BTreeSet<String>,
    build: bool,
}

impl AppBuilder {
    /// `spin up --variable name=value`.
    pub fn variable(mut self, name: &str, value: impl Into<String>) -> Self {
        self.variables.insert(name.to_owned(), value.into());
        self
    }

    /// The environment to read `SPIN_VARIABLE_*` from instead of the process's.
    pub fn env(mut self, env: BTreeMap<String, String>) -> Self {
        self.env = Some(env);
        self
    }

    pub fn kv_backend(mut self, backend: KvBackend) -> Self {
        self.kv = backend;
        self
    }

    /// A key-value store label the runtime config provides besides `default`.
    pub fn kv_store(mut self, label: &str) -> Self {
        self.kv_stores.insert(label.to_owned());
        self
    }

    /// Loads the manifest with `edit` applied to its text, e.g. to simulate a deployment
    /// that differs from the repository's (relative paths stay relative to its folder).
    pub fn edit_manifest(mut self, edit: impl FnOnce(String) -> String + 'static) -> Self {
        self.edit = Some(Box::new(edit));
        self
    }

    /// Skip the manifest's build commands (the `.wasm` files are already built).
    pub fn skip_build(mut self) -> Self {
        self.build = false;
        self
    }

    pub async fn load(mut self) -> Result<App> {
        let manifest = match self.edit.take() {
            None => Manifest::load(&self.manifest)?,
            Some(edit) => {
                let text = std::fs::read_to_string(&self.manifest)
                    .with_context(|| format!("reading {}", self.manifest.display()))?;
                let dir = self.manifest.parent().unwrap_or(Path::new("."));
                Manifest::parse(&edit(text), dir)?
            }
        };
        if self.build {
            build(&manifest)?;
        }
        let values = Resolved::new(&manifest, &self.variables, |name| match &self.env {
            Some(env) => env.get(name).cloned(),
            None => std::env::var(name).ok(),
        })?;

        let mut labels = self.kv_stores.clone();
        labels.insert("default".to_owned());
        let mut components = HashMap::new();
        for (id, def) in &manifest.components {
            for label in &def.key_value_stores {
                if !labels.contains(label) {
                    bail!("component `{id}` uses key-value store `{label}`, which the runtime config does not define");
                }
            }
            let hosts: Vec<String> =
                def.allowed_outbound_hosts.iter().map(|h| values.expand(h)).collect::<Result<_>>()?;
            let config = Arc::new(ComponentConfig {
                id: id.clone(),
                variables: def
                    .variables
                    .iter()
                    .map(|(k, v)| Ok((k.clone(), values.expand(v)?)))
                    .collect::<Result<_>>()?,
                allowed_hosts: AllowedHosts::parse(&hosts).with_context(|| format!("component `{id}`"))?,
                key_value_stores: def.key_value_stores.iter().cloned().collect(),
                environment: def.environment.clone().into_iter().collect(),
            });
            let pre = instance_pre(&def.source).with_context(|| format!("component `{id}`"))?;
            components.insert(
                id.clone(),
                Loaded { config, http: ProxyPre::new(pre.clone()).ok(), redis: SpinHostPre::new(pre).ok() },
            );
        }
        let mut routes = Vec::new();
        for trigger in &manifest.http_triggers {
            if components[&trigger.component].http.is_none() {
                bail!(
                    "component `{}` has an HTTP trigger but does not export wasi:http/incoming-handler",
                    trigger.component
                );
            }
            routes.push((trigger.route.clone(), trigger.component.clone()));
        }
        let mut subscriptions = Vec::new();
        for trigger in &manifest.redis_triggers {
            if components[&trigger.component].redis.is_none() {
                bail!(
                    "component `{}` has a Redis trigger but does not export fermyon:spin/inbound-redis",
                    trigger.component
                );
            }
            subscriptions.push(RedisSubscription {
                address: values.expand(&trigger.address)?,
                channel: values.expand(&trigger.channel)?,
                component: trigger.component.clone(),
            });
        }
        static APPS: AtomicU64 = AtomicU64::new(0);
        let namespace = format!("{}-{}", std::process::id(), APPS.fetch_add(1, Ordering::SeqCst));
        let kv = KvStore::open(&self.kv, labels, &namespace).await.context("opening the key-value backend")?;
        Ok(App {
            shared: Arc::new(Shared {
                app_name: manifest.name.clone(),
                app_version: manifest.version.clone(),
                components,
                router: Router::new(routes),
                subscriptions,
                kv,
                records: Mutex::default(),
                inflight: Inflight::default(),
                echo_logs: std::env::var_os("FACTEUR_HARNESS_LOG").is_some(),
            }),
        })
    }
}

/// A loaded application.
#[derive(Clone)]
pub struct App {
    pub(crate) shared: Arc<Shared>,
}

impl App {
    pub fn builder(manifest: impl AsRef<Path>) -> AppBuilder {
        AppBuilder {
            manifest: manifest.as_ref().to_path_buf(),
            edit: None,
            variables: BTreeMap::new(),
            env: Some(BTreeMap::new()),
            kv: KvBackend::Memory,
            kv_stores: BTreeSet::new(),
            build: true,
        }
    }

    /// Mean time to instantiate `component` in a fresh store, as for every request.
    pub async fn instantiation_cost(&self, component: &str, iterations: u32) -> Result<Duration> {
        let loaded = self.shared.components.get(component).ok_or_else(|| anyhow!("no component `{component}`"))?;
        let started = std::time::Instant::now();
        for _ in 0..iterations {
            let (state, _output) = State::new(loaded.config.clone(), self.shared.clone());
            let mut store = Store::new(engine(), state);
            match (&loaded.http, &loaded.redis) {
                (Some(pre), _) => {
                    pre.instantiate_async(&mut store).await.map_err(|e| anyhow!("{e:?}"))?;
                }
                (None, Some(pre)) => {
                    pre.instantiate_async(&mut store).await.map_err(|e| anyhow!("{e:?}"))?;
                }
                (None, None) => bail!("`{component}` has no trigger export"),
            }
        }
        Ok(started.elapsed() / iterations)
    }

    /// The ids of the loaded components, sorted.
    pub fn components(&self) -> Vec<String> {
        let mut ids: Vec<String> = self.shared.components.keys().cloned().collect();
        ids.sort();
        ids
    }

    /// Reads a key-value entry as the components stored it.
    pub async fn kv_get(&self, label: &str, key: &str) -> Option<Vec<u8>> {
        self.shared.kv.get(label, key).await.ok().flatten()
    }
}

/// `spin build`: runs each component's build command, each distinct command once per process.
fn build(manifest: &Manifest) -> Result<()> {
    static DONE: LazyLock<Mutex<BTreeSet<(PathBuf, String)>>> = LazyLock::new(Mutex::default);
    let mut done = DONE.lock().unwrap();
    for def in manifest.components.values() {
        let Some(build) = &def.build else { continue };
        for command in &build.commands {
            if !done.insert((build.workdir.clone(), command.clone())) {
                continue;
            }
            eprintln!("harness: building `{}`: {command}", def.id);
            let status = std::process::Command::new("sh")
                .arg("-c")
                .arg(command)
                .current_dir(&build.workdir)
                .status()
                .with_context(|| format!("running `{command}`"))?;
            if !status.success() {
                done.remove(&(build.workdir.clone(), command.clone()));
                bail!("build command for `{}` failed ({status}): {command}", def.id);
            }
        }
    }
    Ok(())
}
