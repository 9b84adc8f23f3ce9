//! Spin's HTTP trigger: requests in-process ([`App::handle`]) or on a loopback port
//! ([`App::serve`]), routed, given Spin's headers, and run in a fresh instance of the
//! component's `wasi:http/incoming-handler`; service chaining enters here too. The response
//! is returned as soon as the handler sets it; the handler goes on in the background and what
//! fails afterwards is only logged, as in Spin.

use std::net::SocketAddr;
use std::sync::Arc;

use anyhow::{Result, anyhow, bail};
use bytes::Bytes;
use http_body_util::BodyExt;
use hyper::body::Body;
use tokio::sync::oneshot;
use wasmtime::Store;
use wasmtime_wasi_http::p2::bindings::http::types::Scheme;
use wasmtime_wasi_http::p2::body::HyperOutgoingBody;
use wasmtime_wasi_http::{WasiHttpView, io::TokioIo};

use crate::app::{App, Shared};
use crate::engine::engine;
use crate::host::State;
use crate::records::Trigger;
use crate::routes::{Route, add_spin_headers, plain, spin_route};

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

impl App {
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

    /// Serves the HTTP trigger on `127.0.0.1:0` for real HTTP clients.
    pub async fn serve(&self) -> Result<Server> {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
        let addr = listener.local_addr()?;
        let shared = self.shared.clone();
        let task = tokio::spawn(async move {
            while let Ok((stream, peer)) = listener.accept().await {
                let shared = shared.clone();
                tokio::spawn(async move {
                    let service =
                        hyper::service::service_fn(move |mut request: hyper::Request<hyper::body::Incoming>| {
                            let shared = shared.clone();
                            request.extensions_mut().insert(crate::routes::ClientAddr(peer.to_string()));
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
}

impl Shared {
    /// The HTTP trigger: route, add Spin's request headers, invoke; failures become 404/500.
    async fn dispatch<B>(self: Arc<Self>, request: http::Request<B>) -> http::Response<HyperOutgoingBody>
    where
        B: Body<Data = Bytes> + Send + 'static,
        B::Error: Into<wasmtime_wasi_http::Error>,
    {
        let path = request.uri().path().to_owned();
        if let Some(response) = spin_route(&path, &self.app_name, self.app_version.as_deref()) {
            return response;
        }
        let Some((route, component)) = self.router.find(&path) else {
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
        self.record_invocation(component, trigger, request.uri().path());
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
}
