//! What one component instance sees of the host: WASI, wasi:http (outbound requests checked
//! against `allowed_outbound_hosts`, `*.spin.internal` chained in-process), and the Spin
//! interfaces spin-sdk 5.2 imports: variables, key-value and outbound Redis.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;

use ::redis::AsyncCommands;
use http_body_util::BodyExt;
use wasmtime::component::{Resource, ResourceTable};
use wasmtime_wasi::p2::pipe::MemoryOutputPipe;
use wasmtime_wasi::{WasiCtx, WasiCtxView, WasiView};
use wasmtime_wasi_http::{WasiBody, WasiHttpCtx, WasiHttpCtxView, WasiHttpHooks, WasiHttpView};

use crate::app::Shared;
use crate::outbound::{AllowedHosts, Target};

wasmtime::component::bindgen!({
    path: "../../wit",
    world: "facteur:harness/spin-host",
    imports: { default: async },
    exports: { default: async },
});

pub use fermyon::spin::redis_types;
use fermyon::spin2_0_0::{key_value, redis, variables};

/// Captured output of one instance, kept to 1 MiB per stream.
const PIPE_CAPACITY: usize = 1 << 20;

/// A component as loaded for an app: its Spin-visible configuration.
pub struct ComponentConfig {
    pub id: String,
    pub variables: BTreeMap<String, String>,
    pub allowed_hosts: AllowedHosts,
    pub key_value_stores: BTreeSet<String>,
    pub environment: Vec<(String, String)>,
}

/// The data of one instance's `Store`.
pub struct State {
    table: ResourceTable,
    wasi: WasiCtx,
    http: WasiHttpCtx,
    hooks: Hooks,
    config: Arc<ComponentConfig>,
    app: Arc<Shared>,
}

/// Outbound HTTP: permissions, recording, chaining.
struct Hooks {
    config: Arc<ComponentConfig>,
    app: Arc<Shared>,
}

/// stdout and stderr of an instance, read after it finishes.
pub struct Output {
    pub stdout: MemoryOutputPipe,
    pub stderr: MemoryOutputPipe,
}

impl State {
    pub(crate) fn new(config: Arc<ComponentConfig>, app: Arc<Shared>) -> (Self, Output) {
        let output =
            Output { stdout: MemoryOutputPipe::new(PIPE_CAPACITY), stderr: MemoryOutputPipe::new(PIPE_CAPACITY) };
        let mut wasi = WasiCtx::builder();
        wasi.stdout(output.stdout.clone()).stderr(output.stderr.clone());
        for (k, v) in &config.environment {
            wasi.env(k, v);
        }
        let state = Self {
            table: ResourceTable::new(),
            wasi: wasi.build(),
            http: WasiHttpCtx::new(),
            hooks: Hooks { config: config.clone(), app: app.clone() },
            config,
            app,
        };
        (state, output)
    }
}

impl WasiView for State {
    fn ctx(&mut self) -> WasiCtxView<'_> {
        WasiCtxView { ctx: &mut self.wasi, table: &mut self.table }
    }
}

impl WasiHttpView for State {
    fn http(&mut self) -> WasiHttpCtxView<'_> {
        WasiHttpCtxView { ctx: &mut self.http, table: &mut self.table, hooks: &mut self.hooks }
    }
}

type IoFuture = Box<dyn Future<Output = Result<(), wasmtime_wasi_http::Error>> + Send>;

impl WasiHttpHooks for Hooks {
    fn send_request(
        &mut self,
        request: http::Request<WasiBody>,
        options: Option<wasmtime_wasi_http::RequestOptions>,
        _fut: IoFuture,
    ) -> Box<dyn Future<Output = wasmtime_wasi_http::Result<(http::Response<WasiBody>, IoFuture)>> + Send> {
        let config = self.config.clone();
        let app = self.app.clone();
        Box::new(async move {
            use wasmtime_wasi_http::Error;
            let url = request.uri().to_string();
            let target = Target::parse(&url).map_err(|_| Error::HttpRequestUriInvalid)?;
            let allowed = config.allowed_hosts.allows(&target);
            app.record_outbound(&config.id, request.method().as_str(), &url, allowed);
            if !allowed {
                app.log(
                    &config.id,
                    "host",
                    &format!("outbound request to {url} denied: not in allowed_outbound_hosts"),
                );
                return Err(Error::HttpRequestDenied);
            }
            let done: IoFuture = Box::new(async { Ok(()) });
            if let Some(component) = target.chained_component() {
                let response = app
                    .invoke_http(
                        component,
                        request,
                        &crate::routes::Route::Wildcard(Vec::new()),
                        crate::app::Trigger::Chained,
                    )
                    .await
                    .map_err(|e| Error::InternalError(Some(format!("{e:#}"))))?;
                return Ok((response, done));
            }
            let (response, io) = wasmtime_wasi_http::default_send_request(request, options).await?;
            Ok((response.map(BodyExt::boxed_unsync), Box::new(io) as IoFuture))
        })
    }
}

// Spin resources are stored in the table under our own types and handed to the guest
// under the generated handle types.
fn own<T: Send + 'static, U: 'static>(table: &mut ResourceTable, value: T) -> wasmtime::Result<Resource<U>> {
    Ok(Resource::new_own(table.push(value)?.rep()))
}

fn borrow<T: 'static, U: 'static>(resource: &Resource<U>) -> Resource<T> {
    Resource::new_borrow(resource.rep())
}

impl variables::Host for State {
    async fn get(&mut self, name: String) -> Result<String, variables::Error> {
        if name.is_empty() || !name.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_') {
            return Err(variables::Error::InvalidName(name));
        }
        self.config
            .variables
            .get(&name)
            .cloned()
            .ok_or_else(|| variables::Error::Undefined(format!("no variable for {name:?}")))
    }
}

/// An open key-value store: its label, checked against `key_value_stores` at open.
pub struct OpenStore(String);

impl key_value::Host for State {}

impl key_value::HostStore for State {
    async fn open(&mut self, label: String) -> Result<Resource<key_value::Store>, key_value::Error> {
        if !self.config.key_value_stores.contains(&label) {
            return Err(key_value::Error::AccessDenied);
        }
        if !self.app.kv.has_store(&label) {
            return Err(key_value::Error::NoSuchStore);
        }
        own(&mut self.table, OpenStore(label)).map_err(|e| key_value::Error::Other(e.to_string()))
    }

    async fn get(
        &mut self,
        store: Resource<key_value::Store>,
        key: String,
    ) -> Result<Option<Vec<u8>>, key_value::Error> {
        let label = self.label(&store)?;
        self.app.kv.get(&label, &key).await.map_err(kv_error)
    }

    async fn set(
        &mut self,
        store: Resource<key_value::Store>,
        key: String,
        value: Vec<u8>,
    ) -> Result<(), key_value::Error> {
        let label = self.label(&store)?;
        self.app.kv.set(&label, &key, value).await.map_err(kv_error)
    }

    async fn delete(&mut self, store: Resource<key_value::Store>, key: String) -> Result<(), key_value::Error> {
        let label = self.label(&store)?;
        self.app.kv.delete(&label, &key).await.map_err(kv_error)
    }

    async fn exists(&mut self, store: Resource<key_value::Store>, key: String) -> Result<bool, key_value::Error> {
        let label = self.label(&store)?;
        Ok(self.app.kv.get(&label, &key).await.map_err(kv_error)?.is_some())
    }

    async fn get_keys(&mut self, store: Resource<key_value::Store>) -> Result<Vec<String>, key_value::Error> {
        let label = self.label(&store)?;
        self.app.kv.keys(&label).await.map_err(kv_error)
    }

    async fn drop(&mut self, store: Resource<key_value::Store>) -> wasmtime::Result<()> {
        self.table.delete(Resource::<OpenStore>::new_own(store.rep()))?;
        Ok(())
    }
}

impl State {
    fn label(&self, store: &Resource<key_value::Store>) -> Result<String, key_value::Error> {
        self.table
            .get(&borrow::<OpenStore, _>(store))
            .map(|s| s.0.clone())
            .map_err(|e| key_value::Error::Other(e.to_string()))
    }

    fn connection(
        &self,
        conn: &Resource<redis::Connection>,
    ) -> Result<::redis::aio::MultiplexedConnection, redis::Error> {
        self.table
            .get(&borrow::<::redis::aio::MultiplexedConnection, _>(conn))
            .cloned()
            .map_err(|e| redis::Error::Other(e.to_string()))
    }
}

fn kv_error(e: anyhow::Error) -> key_value::Error {
    key_value::Error::Other(format!("{e:#}"))
}

fn redis_error(e: ::redis::RedisError) -> redis::Error {
    redis::Error::Other(e.to_string())
}

impl redis::Host for State {}

impl redis::HostConnection for State {
    async fn open(&mut self, address: String) -> Result<Resource<redis::Connection>, redis::Error> {
        let target = Target::parse(&address).map_err(|_| redis::Error::InvalidAddress)?;
        let allowed = self.config.allowed_hosts.allows(&target);
        self.app.record_outbound(&self.config.id, "REDIS", &address, allowed);
        if !allowed {
            self.app.log(
                &self.config.id,
                "host",
                &format!("Redis connection to {address} denied: not in allowed_outbound_hosts"),
            );
            return Err(redis::Error::InvalidAddress);
        }
        let client = ::redis::Client::open(address.as_str()).map_err(|_| redis::Error::InvalidAddress)?;
        let conn = client.get_multiplexed_async_connection().await.map_err(redis_error)?;
        own(&mut self.table, conn).map_err(|e| redis::Error::Other(e.to_string()))
    }

    async fn publish(
        &mut self,
        conn: Resource<redis::Connection>,
        channel: String,
        payload: Vec<u8>,
    ) -> Result<(), redis::Error> {
        let mut c = self.connection(&conn)?;
        c.publish::<_, _, i64>(channel, payload).await.map(drop).map_err(redis_error)
    }

    async fn get(&mut self, conn: Resource<redis::Connection>, key: String) -> Result<Option<Vec<u8>>, redis::Error> {
        let mut c = self.connection(&conn)?;
        c.get(key).await.map_err(redis_error)
    }

    async fn set(
        &mut self,
        conn: Resource<redis::Connection>,
        key: String,
        value: Vec<u8>,
    ) -> Result<(), redis::Error> {
        let mut c = self.connection(&conn)?;
        c.set::<_, _, ()>(key, value).await.map_err(redis_error)
    }

    async fn incr(&mut self, conn: Resource<redis::Connection>, key: String) -> Result<i64, redis::Error> {
        let mut c = self.connection(&conn)?;
        c.incr(key, 1).await.map_err(redis_error)
    }

    async fn del(&mut self, conn: Resource<redis::Connection>, keys: Vec<String>) -> Result<u32, redis::Error> {
        let mut c = self.connection(&conn)?;
        c.del(keys).await.map_err(redis_error)
    }

    async fn sadd(
        &mut self,
        conn: Resource<redis::Connection>,
        key: String,
        values: Vec<String>,
    ) -> Result<u32, redis::Error> {
        let mut c = self.connection(&conn)?;
        c.sadd(key, values).await.map_err(redis_error)
    }

    async fn smembers(&mut self, conn: Resource<redis::Connection>, key: String) -> Result<Vec<String>, redis::Error> {
        let mut c = self.connection(&conn)?;
        c.smembers(key).await.map_err(redis_error)
    }

    async fn srem(
        &mut self,
        conn: Resource<redis::Connection>,
        key: String,
        values: Vec<String>,
    ) -> Result<u32, redis::Error> {
        let mut c = self.connection(&conn)?;
        c.srem(key, values).await.map_err(redis_error)
    }

    async fn execute(
        &mut self,
        conn: Resource<redis::Connection>,
        command: String,
        arguments: Vec<redis::RedisParameter>,
    ) -> Result<Vec<redis::RedisResult>, redis::Error> {
        let mut c = self.connection(&conn)?;
        let mut cmd = ::redis::cmd(&command);
        for argument in arguments {
            match argument {
                redis::RedisParameter::Int64(i) => cmd.arg(i),
                redis::RedisParameter::Binary(b) => cmd.arg(b),
            };
        }
        let value: ::redis::Value = cmd.query_async(&mut c).await.map_err(redis_error)?;
        let mut results = Vec::new();
        flatten(value, &mut results)?;
        Ok(results)
    }

    async fn drop(&mut self, conn: Resource<redis::Connection>) -> wasmtime::Result<()> {
        self.table.delete(Resource::<::redis::aio::MultiplexedConnection>::new_own(conn.rep()))?;
        Ok(())
    }
}

/// Spin's conversion of a Redis reply: arrays are flattened into the result list.
fn flatten(value: ::redis::Value, out: &mut Vec<redis::RedisResult>) -> Result<(), redis::Error> {
    use ::redis::Value as V;
    match value {
        V::Nil => out.push(redis::RedisResult::Nil),
        V::Int(i) => out.push(redis::RedisResult::Int64(i)),
        V::BulkString(b) => out.push(redis::RedisResult::Binary(b)),
        V::SimpleString(s) => out.push(redis::RedisResult::Status(s)),
        V::Okay => out.push(redis::RedisResult::Status("OK".to_owned())),
        V::Array(items) | V::Set(items) => {
            for item in items {
                flatten(item, out)?;
            }
        }
        V::ServerError(e) => return Err(redis::Error::Other(format!("{e:?}"))),
        other => return Err(redis::Error::Other(format!("unsupported Redis reply {other:?}"))),
    }
    Ok(())
}

impl redis_types::Host for State {}
