//! Outbound networking as Spin allows it: every outbound HTTP request and Redis connection is
//! checked against the component's `allowed_outbound_hosts` (the rules are the manifest's,
//! [`facteur_manifest::allowed_hosts`]) and recorded; `http://<id>.spin.internal` requests run
//! the component in-process (service chaining); `fermyon:spin/redis` runs on a real Redis.

use std::sync::Arc;

use ::redis::AsyncCommands;
use http_body_util::BodyExt;
use wasmtime::component::Resource;
use wasmtime_wasi_http::{WasiBody, WasiHttpHooks};

pub use facteur_manifest::allowed_hosts::{AllowedHosts, Target};

use crate::app::Shared;
use crate::host::fermyon::spin2_0_0::redis;
use crate::host::{ComponentConfig, State, borrow, own, redis_types};
use crate::records::Trigger;
use crate::routes::Route;

/// Outbound HTTP of one instance: permissions, recording, chaining.
pub(crate) struct Hooks {
    pub(crate) config: Arc<ComponentConfig>,
    pub(crate) app: Arc<Shared>,
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
                let mut request = request;
                request.extensions_mut().insert(crate::routes::ClientAddr("0.0.0.0:0".to_owned()));
                let response = app
                    .invoke_http(component, request, &Route::Wildcard(Vec::new()), Trigger::Chained)
                    .await
                    .map_err(|e| Error::InternalError(Some(format!("{e:#}"))))?;
                return Ok((response, done));
            }
            let (response, io) = wasmtime_wasi_http::default_send_request(request, options).await?;
            Ok((response.map(BodyExt::boxed_unsync), Box::new(io) as IoFuture))
        })
    }
}

impl State {
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
