//! A Spin application loaded from its manifest and run in wasmtime: the HTTP trigger
//! (in-process and on a loopback port), service chaining, and the Redis trigger.
//!
//! As in Spin, every request or message gets a fresh instance (from a pre-instantiated
//! component), handlers may keep running after they set their response, and what went
//! wrong after a response is only logged.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, LazyLock, Mutex, OnceLock};
use std::time::Duration;

use anyhow::{Context, Result, anyhow, bail};
use bytes::Bytes;
use futures::StreamExt;
use http_body_util::{BodyExt, Full};
use hyper::body::Body;
use tokio::sync::{Notify, oneshot};
use wasmtime::component::{Component, InstancePre, Linker};
use wasmtime::{Engine, Store};
use wasmtime_wasi_http::p2::bindings::ProxyPre;
use wasmtime_wasi_http::p2::bindings::http::types::Scheme;
use wasmtime_wasi_http::p2::body::HyperOutgoingBody;
use wasmtime_wasi_http::{WasiHttpView, io::TokioIo};

use crate::host::{ComponentConfig, Output, SpinHost, SpinHostPre, State};
use crate::kv::{KvBackend, KvStore};
use crate::manifest::{Manifest, expand};
use crate::outbound::AllowedHosts;
use crate::routes::Route;

/// How an invocation reached a component.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Trigger {
    Http,
    Chained,
    Redis,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Invocation {
    pub component: String,
    pub trigger: Trigger,
    /// The request path, or the Redis channel.
    pub target: String,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OutboundCall {
    pub component: String,
    pub method: String,
    pub url: String,
    pub allowed: bool,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LogLine {
    pub component: String,
    /// `stdout`, `stderr`, or `host` for what the harness says about the component.
    pub stream: String,
    pub text: String,
}

#[derive(Default)]
struct Records {
    invocations: Vec<Invocation>,
    outbound: Vec<OutboundCall>,
    logs: Vec<LogLine>,
}

/// Counts running handlers so tests can wait for work done after a response.
#[derive(Default)]
struct Inflight {
    count: AtomicUsize,
    idle: Notify,
}

struct InflightGuard(Arc<Shared>);

impl Drop for InflightGuard {
    fn drop(&mut self) {
        if self.0.inflight.count.fetch_sub(1, Ordering::SeqCst) == 1 {
            self.0.inflight.idle.notify_waiters();
        }
    }
}

struct Loaded {
    config: Arc<ComponentConfig>,
    http: Option<ProxyPre<State>>,
    redis: Option<SpinHostPre<State>>,
}

struct RedisSubscription {
    address: String,
    channel: String,
    component: String,
}

pub(crate) struct Shared {
    app_name: String,
    app_version: Option<String>,
    components: HashMap<String, Loaded>,
    routes: Vec<(Route, String)>,
    subscriptions: Vec<RedisSubscription>,
    pub(crate) kv: Arc<KvStore>,
    records: Mutex<Records>,
    inflight: Inflight,
    echo_logs: bool,
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
        let lookup_env = |name: &str| match &self.env {
            Some(env) => env.get(name).cloned(),
            None => std::env::var(name).ok(),
        };
        for name in self.variables.keys() {
            if !manifest.variables.contains_key(name) {
                bail!("--variable `{name}` is not declared in [variables]");
            }
        }
        // Spin's order: --variable, then the environment provider, then the default.
        let mut values = BTreeMap::new();
        for (name, var) in &manifest.variables {
            let value = self
                .variables
                .get(name)
                .cloned()
                .or_else(|| lookup_env(&format!("SPIN_VARIABLE_{}", name.to_uppercase())))
                .or_else(|| var.default.clone());
            match value {
                Some(v) => {
                    values.insert(name.clone(), v);
                }
                None => bail!("no provider resolved required variable `{name}`"),
            }
        }
        let resolve = |template: &str| {
            expand(template, |name| values.get(name).cloned().ok_or_else(|| anyhow!("undefined variable `{name}`")))
        };

        let mut labels = self.kv_stores.clone();
        labels.insert("default".to_owned());
        let mut components = HashMap::new();
        for (id, def) in &manifest.components {
            for label in &def.key_value_stores {
                if !labels.contains(label) {
                    bail!("component `{id}` uses key-value store `{label}`, which the runtime config does not define");
                }
            }
            let hosts: Vec<String> = def.allowed_outbound_hosts.iter().map(|h| resolve(h)).collect::<Result<_>>()?;
            let config = Arc::new(ComponentConfig {
                id: id.clone(),
                variables: def.variables.iter().map(|(k, v)| Ok((k.clone(), resolve(v)?))).collect::<Result<_>>()?,
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
                address: resolve(&trigger.address)?,
                channel: resolve(&trigger.channel)?,
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
                routes,
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
    shared: Arc<Shared>,
}

/// A buffered HTTP response.
#[derive(Debug, Clone)]
pub struct Response {
    pub status: u16,
    pub headers: http::HeaderMap,
    pub body: Bytes,
}

impl Response {
    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }

    pub fn json(&self) -> serde_json::Value {
        serde_json::from_slice(&self.body).unwrap_or_else(|e| panic!("response is not JSON ({e}): {}", self.text()))
    }
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

    /// Sends a request through the HTTP trigger, in-process, and buffers the response.
    /// The handler may still be running afterwards; see [`App::wait_idle`].
    pub async fn handle<B>(&self, request: http::Request<B>) -> Result<Response>
    where
        B: Body<Data = Bytes> + Send + 'static,
        B::Error: Into<wasmtime_wasi_http::Error>,
    {
        let response = self.shared.clone().dispatch(request).await;
        let (parts, body) = response.into_parts();
        let body = body.collect().await.map_err(|e| anyhow!("reading the response body: {e:?}"))?.to_bytes();
        Ok(Response { status: parts.status.as_u16(), headers: parts.headers, body })
    }

    /// Waits until no handler is running (post-response work included), at most `timeout`.
    pub async fn wait_idle(&self, timeout: Duration) -> Result<()> {
        tokio::time::timeout(timeout, async {
            loop {
                let idle = self.shared.inflight.idle.notified();
                if self.shared.inflight.count.load(Ordering::SeqCst) == 0 {
                    return;
                }
                idle.await;
            }
        })
        .await
        .map_err(|_| anyhow!("handlers still running after {timeout:?}"))
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

    pub fn invocations(&self) -> Vec<Invocation> {
        self.shared.records.lock().unwrap().invocations.clone()
    }

    pub fn outbound(&self) -> Vec<OutboundCall> {
        self.shared.records.lock().unwrap().outbound.clone()
    }

    pub fn logs(&self) -> Vec<LogLine> {
        self.shared.records.lock().unwrap().logs.clone()
    }

    /// Everything `component` wrote, one line per log line.
    pub fn log_text(&self, component: &str) -> String {
        self.logs().into_iter().filter(|l| l.component == component).map(|l| l.text + "\n").collect()
    }

    /// Serves the HTTP trigger on `127.0.0.1:0` for real HTTP clients.
    pub async fn serve(&self) -> Result<Server> {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
        let addr = listener.local_addr()?;
        let shared = self.shared.clone();
        let task = tokio::spawn(async move {
            while let Ok((stream, _)) = listener.accept().await {
                let shared = shared.clone();
                tokio::spawn(async move {
                    let service = hyper::service::service_fn(move |request: hyper::Request<hyper::body::Incoming>| {
                        let shared = shared.clone();
                        async move { Ok::<_, std::convert::Infallible>(shared.dispatch(request).await) }
                    });
                    let _ = hyper::server::conn::http1::Builder::new()
                        .keep_alive(true)
                        .serve_connection(TokioIo::new(stream), service)
                        .await;
                });
            }
        });
        Ok(Server { addr, task })
    }

    /// Subscribes the Redis trigger's components to their channels, as `spin up` does at start.
    /// Returns once every subscription is confirmed by the server.
    pub async fn start_redis_trigger(&self) -> Result<RedisTrigger> {
        let mut by_address: BTreeMap<&str, BTreeSet<&str>> = BTreeMap::new();
        for s in &self.shared.subscriptions {
            by_address.entry(&s.address).or_default().insert(&s.channel);
        }
        let mut tasks = Vec::new();
        for (address, channels) in by_address {
            let client = redis::Client::open(address).with_context(|| format!("Redis address {address}"))?;
            let mut pubsub = client.get_async_pubsub().await.with_context(|| format!("connecting to {address}"))?;
            for channel in &channels {
                pubsub.subscribe(*channel).await?;
            }
            let shared = self.shared.clone();
            let address = address.to_owned();
            tasks.push(tokio::spawn(async move {
                let mut messages = pubsub.on_message();
                // One message at a time: the next is read when every handler of this one is done.
                while let Some(message) = messages.next().await {
                    let channel = message.get_channel_name().to_owned();
                    let payload = message.get_payload_bytes().to_vec();
                    let handlers = shared.subscriptions.iter().filter(|s| s.address == address && s.channel == channel);
                    futures::future::join_all(
                        handlers.map(|s| shared.clone().invoke_redis(&s.component, &channel, payload.clone())),
                    )
                    .await;
                }
                shared.log("redis-trigger", "host", &format!("disconnected from {address}"));
            }));
        }
        Ok(RedisTrigger { tasks })
    }
}

/// The HTTP trigger served on a loopback port; stops when dropped.
pub struct Server {
    pub addr: SocketAddr,
    task: tokio::task::JoinHandle<()>,
}

impl Server {
    pub fn url(&self, path: &str) -> String {
        format!("http://{}{path}", self.addr)
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// Running Redis subscriptions; they stop when dropped.
pub struct RedisTrigger {
    tasks: Vec<tokio::task::JoinHandle<()>>,
}

impl RedisTrigger {
    /// True once every subscription has ended (Spin exits when its Redis connection drops).
    pub fn is_finished(&self) -> bool {
        self.tasks.iter().all(|t| t.is_finished())
    }
}

impl Drop for RedisTrigger {
    fn drop(&mut self) {
        self.tasks.iter().for_each(|t| t.abort());
    }
}

impl Shared {
    pub(crate) fn record_outbound(&self, component: &str, method: &str, url: &str, allowed: bool) {
        self.records.lock().unwrap().outbound.push(OutboundCall {
            component: component.to_owned(),
            method: method.to_owned(),
            url: url.to_owned(),
            allowed,
        });
    }

    pub(crate) fn log(&self, component: &str, stream: &str, text: &str) {
        let mut records = self.records.lock().unwrap();
        for line in text.lines() {
            if self.echo_logs {
                eprintln!("[{component} {stream}] {line}");
            }
            records.logs.push(LogLine {
                component: component.to_owned(),
                stream: stream.to_owned(),
                text: line.to_owned(),
            });
        }
    }

    fn collect(&self, component: &str, output: Output) {
        self.log(component, "stdout", &String::from_utf8_lossy(&output.stdout.contents()));
        self.log(component, "stderr", &String::from_utf8_lossy(&output.stderr.contents()));
    }

    fn enter(self: &Arc<Self>) -> InflightGuard {
        self.inflight.count.fetch_add(1, Ordering::SeqCst);
        InflightGuard(self.clone())
    }

    /// The HTTP trigger: route, add Spin's request headers, invoke; failures become 404/500.
    async fn dispatch<B>(self: Arc<Self>, request: http::Request<B>) -> http::Response<HyperOutgoingBody>
    where
        B: Body<Data = Bytes> + Send + 'static,
        B::Error: Into<wasmtime_wasi_http::Error>,
    {
        let path = request.uri().path().to_owned();
        // Routes Spin's HTTP trigger answers itself, before the app's (Spin 3.6 and 4.0).
        match path.as_str() {
            "/.well-known/spin/health" => return plain(200, "OK"),
            "/.well-known/spin/info" => {
                let info = serde_json::json!({"name": self.app_name, "version": self.app_version});
                let body = serde_json::to_vec_pretty(&info).expect("JSON");
                let mut response =
                    http::Response::new(Full::new(Bytes::from(body)).map_err(|never| match never {}).boxed_unsync());
                response.headers_mut().insert("content-type", http::HeaderValue::from_static("application/json"));
                return response;
            }
            _ => {}
        }
        let Some((route, component)) = self
            .routes
            .iter()
            .filter_map(|(route, component)| route.rank(&path).map(|rank| (rank, route, component)))
            .max_by_key(|(rank, ..)| *rank)
            .map(|(_, route, component)| (route.clone(), component.clone()))
        else {
            return plain(404, "");
        };
        match self.clone().invoke_http(&component, request, &route, Trigger::Http).await {
            Ok(response) => response,
            Err(e) => {
                self.log(&component, "host", &format!("request failed: {e:#}"));
                plain(500, "Internal Server Error")
            }
        }
    }

    /// Runs `component`'s `wasi:http/incoming-handler` in a fresh instance and returns its
    /// response as soon as it is set; the handler goes on in the background. `route` is what
    /// matched (service chaining counts as a match of `/...`, as in Spin).
    pub(crate) async fn invoke_http<B>(
        self: Arc<Self>,
        component: &str,
        mut request: http::Request<B>,
        route: &Route,
        trigger: Trigger,
    ) -> Result<http::Response<HyperOutgoingBody>>
    where
        B: Body<Data = Bytes> + Send + 'static,
        B::Error: Into<wasmtime_wasi_http::Error>,
    {
        add_spin_headers(&mut request, route);
        let loaded = self.components.get(component).ok_or_else(|| anyhow!("no component `{component}`"))?;
        let pre = loaded.http.clone().ok_or_else(|| anyhow!("component `{component}` does not serve HTTP"))?;
        self.records.lock().unwrap().invocations.push(Invocation {
            component: component.to_owned(),
            trigger,
            target: request.uri().path().to_owned(),
        });
        let (state, output) = State::new(loaded.config.clone(), self.clone());
        let mut store = Store::new(engine(), state);
        let request = store.data_mut().http().new_incoming_request(Scheme::Http, request)?;
        let (sender, receiver) = oneshot::channel();
        let out = store.data_mut().http().new_response_outparam(sender)?;
        let guard = self.enter();
        let shared = self.clone();
        let id = component.to_owned();
        let task = tokio::spawn(async move {
            let result = async {
                let proxy = pre.instantiate_async(&mut store).await?;
                proxy.wasi_http_incoming_handler().call_handle(&mut store, request, out).await
            }
            .await;
            drop(store);
            shared.collect(&id, output);
            drop(guard);
            result
        });
        match receiver.await {
            Ok(Ok(response)) => {
                let shared = self.clone();
                let id = component.to_owned();
                // What fails after the response is sent can only be logged, as in Spin.
                tokio::spawn(async move {
                    if let Ok(Err(e)) = task.await {
                        shared.log(&id, "host", &format!("component error after response started: {e:#}"));
                    }
                });
                Ok(response)
            }
            Ok(Err(code)) => bail!("component `{component}` answered with error {code:?}"),
            Err(_) => match task.await {
                Ok(Ok(())) => bail!("component `{component}` returned without setting a response"),
                Ok(Err(e)) => bail!("component `{component}` failed before responding: {e:?}"),
                Err(e) => Err(anyhow!("component `{component}` panicked: {e}")),
            },
        }
    }

    /// Runs `component`'s `fermyon:spin/inbound-redis` handler on one message, in a fresh
    /// instance. Errors are logged, as Spin logs them, and the trigger goes on.
    async fn invoke_redis(self: Arc<Self>, component: &str, channel: &str, payload: Vec<u8>) {
        let loaded = &self.components[component];
        let pre = loaded.redis.clone().expect("checked at load");
        self.records.lock().unwrap().invocations.push(Invocation {
            component: component.to_owned(),
            trigger: Trigger::Redis,
            target: channel.to_owned(),
        });
        let _guard = self.enter();
        let (state, output) = State::new(loaded.config.clone(), self.clone());
        let mut store = Store::new(engine(), state);
        let result = async {
            let instance: SpinHost = pre.instantiate_async(&mut store).await?;
            instance.fermyon_spin_inbound_redis().call_handle_message(&mut store, &payload).await
        }
        .await;
        drop(store);
        self.collect(component, output);
        match result {
            Ok(Ok(())) => {}
            Ok(Err(e)) => self.log(component, "host", &format!("handler failed: {e:?}")),
            Err(e) => self.log(component, "host", &format!("handler failed: {e:#}")),
        }
    }
}

/// The request headers Spin's HTTP trigger adds, with an absolute URI as Spin passes it.
fn add_spin_headers<B>(request: &mut http::Request<B>, route: &Route) {
    let path = request.uri().path().to_owned();
    if request.uri().authority().is_none() {
        let host = request
            .headers()
            .get(http::header::HOST)
            .and_then(|h| h.to_str().ok())
            .unwrap_or("127.0.0.1:3000")
            .to_owned();
        let pq = request.uri().path_and_query().map_or("/", |pq| pq.as_str()).to_owned();
        *request.uri_mut() = format!("http://{host}{pq}").parse().expect("a valid URI");
    }
    let full_url = request.uri().to_string();
    let matched = route.to_string();
    let base = match route {
        Route::Wildcard(prefix) => format!("/{}", prefix.join("/")),
        _ => matched.clone(),
    };
    let path_info = path.strip_prefix(base.trim_end_matches('/')).unwrap_or("").to_owned();
    for (name, value) in [
        ("spin-full-url", full_url),
        ("spin-path-info", path_info),
        ("spin-matched-route", matched.clone()),
        ("spin-component-route", matched.clone()),
        ("spin-raw-component-route", matched),
        ("spin-base-path", "/".to_owned()),
        ("spin-client-addr", "127.0.0.1:0".to_owned()),
    ] {
        request.headers_mut().insert(name, value.parse().expect("a valid header value"));
    }
}

fn plain(status: u16, text: &'static str) -> http::Response<HyperOutgoingBody> {
    http::Response::builder()
        .status(status)
        .body(Full::new(Bytes::from_static(text.as_bytes())).map_err(|never| match never {}).boxed_unsync())
        .expect("a valid response")
}

/// One engine for every app in the process, as one `spin up` has one.
pub fn engine() -> &'static Engine {
    static ENGINE: OnceLock<Engine> = OnceLock::new();
    ENGINE.get_or_init(|| Engine::new(&wasmtime::Config::new()).expect("a wasmtime engine"))
}

fn linker() -> &'static Linker<State> {
    static LINKER: OnceLock<Linker<State>> = OnceLock::new();
    LINKER.get_or_init(|| {
        let mut linker = Linker::new(engine());
        wasmtime_wasi::p2::add_to_linker_async(&mut linker).expect("WASI links");
        wasmtime_wasi_http::p2::add_only_http_to_linker_async(&mut linker).expect("wasi:http links");
        SpinHost::add_to_linker::<State, wasmtime::component::HasSelf<State>>(&mut linker, |state| state)
            .expect("Spin interfaces link");
        linker
    })
}

/// Compiles each `.wasm` once per process and links it. An import the harness does not
/// provide fails here, with its name.
fn instance_pre(source: &Path) -> Result<InstancePre<State>> {
    static COMPILED: LazyLock<Mutex<HashMap<PathBuf, Component>>> = LazyLock::new(Mutex::default);
    let component = {
        let mut compiled = COMPILED.lock().unwrap();
        match compiled.get(source) {
            Some(component) => component.clone(),
            None => {
                let component = Component::from_file(engine(), source)
                    .map_err(|e| anyhow!("{e:?}"))
                    .with_context(|| format!("compiling {}", source.display()))?;
                compiled.insert(source.to_path_buf(), component.clone());
                component
            }
        }
    };
    linker().instantiate_pre(&component).map_err(|e| anyhow!("{e:?}"))
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
