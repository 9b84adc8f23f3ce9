//! Stand-ins for the external services facteur talks to, on loopback: the Argo Server API and
//! Discord's API. Each speaks the real service's HTTP contract, checks every request against the
//! service's official OpenAPI spec (a request that does not match is refused and recorded as a
//! violation), and records what it received, so tests assert exact calls.
//!
//! The harness's tests use them as fakes (`facteur_harness::fakes`); `facteur dev` runs them as
//! a playground ([`playground::Playground`]) with runs that move through their phases on a clock.

pub mod argo;
pub mod discord;
pub mod discord_openapi;
pub mod faults;
pub mod multipart;
pub mod openapi;
pub mod playground;

use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use anyhow::{Context, Result};
use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper_util::rt::TokioIo;

/// A request a [`FakeServer`] received.
#[derive(Debug, Clone)]
pub struct Recorded {
    pub method: String,
    /// Path and query.
    pub path: String,
    pub headers: http::HeaderMap,
    pub body: Bytes,
    /// The status the fake answered with.
    pub status: u16,
}

impl Recorded {
    pub fn json(&self) -> serde_json::Value {
        serde_json::from_slice(&self.body).unwrap_or(serde_json::Value::Null)
    }

    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }
}

/// What a fake answers.
#[derive(Debug, Clone)]
pub struct Reply {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    pub body: String,
    /// Wait this long before answering (to exceed a client's deadline).
    pub delay: Duration,
}

impl Reply {
    pub fn json(status: u16, body: serde_json::Value) -> Self {
        Self { status, headers: Vec::new(), body: body.to_string(), delay: Duration::ZERO }
    }

    pub fn text(status: u16, body: impl Into<String>) -> Self {
        Self { status, headers: Vec::new(), body: body.into(), delay: Duration::ZERO }
    }

    pub fn header(mut self, name: &str, value: &str) -> Self {
        self.headers.push((name.to_owned(), value.to_owned()));
        self
    }

    pub fn after(mut self, delay: Duration) -> Self {
        self.delay = delay;
        self
    }
}

type Respond = dyn Fn(&Recorded) -> Reply + Send + Sync;

/// Where a stand-in tells what it did, one human-readable line at a time (`facteur dev` prints them).
pub type Activity = Arc<dyn Fn(&str) + Send + Sync>;

/// An HTTP server on `127.0.0.1:0` that answers with `respond` and records every request,
/// and injects transport faults when told ([`faults`]). It stops when dropped.
pub struct FakeServer {
    pub addr: SocketAddr,
    requests: Arc<Mutex<Vec<Recorded>>>,
    faults: Arc<faults::Injector>,
    task: tokio::task::JoinHandle<()>,
}

impl FakeServer {
    pub async fn start(respond: impl Fn(&Recorded) -> Reply + Send + Sync + 'static) -> Result<Self> {
        Self::start_on(0, respond).await
    }

    /// The same on `127.0.0.1:<port>` (0: any free port).
    pub async fn start_on(port: u16, respond: impl Fn(&Recorded) -> Reply + Send + Sync + 'static) -> Result<Self> {
        let listener = tokio::net::TcpListener::bind(("127.0.0.1", port))
            .await
            .with_context(|| format!("listening on 127.0.0.1:{port}"))?;
        let addr = listener.local_addr()?;
        let requests = Arc::new(Mutex::new(Vec::new()));
        let respond: Arc<Respond> = Arc::new(respond);
        let injector = Arc::new(faults::Injector::default());
        // An unreachable fault closes the listener for its pause, then listens again.
        let outage = Arc::new(tokio::sync::Notify::new());
        let (recorded, faults, down) = (requests.clone(), injector.clone(), outage.clone());
        let task = tokio::spawn(async move {
            let mut listener = Some(listener);
            loop {
                let Some(open) = &listener else {
                    // The port stays bound, not listening: connections are refused, and no
                    // outgoing connection is given it as its local port meanwhile (it is one of
                    // the ephemeral ports), which would keep the stand-in away for good.
                    let reserved = tokio::net::TcpSocket::new_v4()
                        .and_then(|socket| socket.set_reuseaddr(true).map(|()| socket))
                        .and_then(|socket| socket.bind(addr).map(|()| socket));
                    tokio::time::sleep(faults.down_for()).await;
                    match reserved.and_then(|socket| socket.listen(1024)) {
                        Ok(reopened) => listener = Some(reopened),
                        Err(_) => tokio::time::sleep(Duration::from_millis(10)).await,
                    }
                    continue;
                };
                let accepted = tokio::select! {
                    accepted = open.accept() => Some(accepted),
                    () = down.notified() => None,
                };
                let stream = match accepted {
                    Some(Ok((stream, _))) => stream,
                    Some(Err(_)) => return,
                    None => {
                        listener = None; // closed here, before the port is reserved again
                        continue;
                    }
                };
                let (recorded, respond, faults, down) =
                    (recorded.clone(), respond.clone(), faults.clone(), down.clone());
                tokio::spawn(async move {
                    let service = hyper::service::service_fn(move |request: hyper::Request<hyper::body::Incoming>| {
                        let (recorded, respond, faults, down) =
                            (recorded.clone(), respond.clone(), faults.clone(), down.clone());
                        async move {
                            let (parts, body) = request.into_parts();
                            let mut request = Recorded {
                                method: parts.method.to_string(),
                                path: parts.uri.path_and_query().map_or("/", |pq| pq.as_str()).to_owned(),
                                headers: parts.headers,
                                body: body.collect().await.map(|b| b.to_bytes()).unwrap_or_default(),
                                status: 0,
                            };
                            let fault = faults.next();
                            if let Some(faults::Fault::Unreachable(pause)) = fault {
                                if !pause.is_zero() {
                                    down.notify_one();
                                }
                                return Err(faults::Cut);
                            }
                            let reply = respond(&request);
                            request.status = reply.status;
                            recorded.lock().unwrap().push(request);
                            match fault {
                                Some(faults::Fault::Dropped) => return Err(faults::Cut),
                                Some(faults::Fault::Late(delay)) => tokio::time::sleep(delay.max(reply.delay)).await,
                                _ => tokio::time::sleep(reply.delay).await,
                            }
                            let mut response = http::Response::builder().status(reply.status);
                            if !reply.headers.iter().any(|(name, _)| name.eq_ignore_ascii_case("content-type")) {
                                response = response.header("content-type", "application/json");
                            }
                            for (name, value) in &reply.headers {
                                response = response.header(name, value);
                            }
                            response.body(Full::new(Bytes::from(reply.body))).map_err(|_| faults::Cut)
                        }
                    });
                    let _ = hyper::server::conn::http1::Builder::new()
                        .serve_connection(TokioIo::new(stream), service)
                        .await;
                });
            }
        });
        Ok(Self { addr, requests, faults: injector, task })
    }

    /// `http://127.0.0.1:<port>`, for variables such as `argo_server_url`.
    pub fn origin(&self) -> String {
        format!("http://{}", self.addr)
    }

    pub fn url(&self, path: &str) -> String {
        format!("http://{}{path}", self.addr)
    }

    pub fn requests(&self) -> Vec<Recorded> {
        self.requests.lock().unwrap().clone()
    }

    /// Injects `faults` from now on (see [`faults`]).
    pub fn inject(&self, faults: faults::Faults) {
        self.faults.set(faults);
    }

    /// How many requests got each fault so far.
    pub fn injected(&self) -> faults::Injected {
        self.faults.injected()
    }
}

impl Drop for FakeServer {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// One request to `url` (`http://` on loopback) over a fresh HTTP/1.1 connection: the status
/// and the body. For the stand-ins' own calls (lifecycle reports) and their tests.
pub async fn request(
    method: &str,
    url: &str,
    headers: &[(&str, &str)],
    body: impl Into<Bytes>,
) -> Result<(u16, Bytes)> {
    let uri: http::Uri = url.parse().with_context(|| format!("not a URL: {url}"))?;
    let authority = uri.authority().context("the URL needs a host")?.to_string();
    let stream = tokio::time::timeout(Duration::from_secs(5), tokio::net::TcpStream::connect(&authority))
        .await
        .context("connecting timed out")??;
    let (mut sender, connection) = hyper::client::conn::http1::handshake(TokioIo::new(stream)).await?;
    tokio::spawn(connection);
    let mut request = http::Request::builder()
        .method(method)
        .uri(uri.path_and_query().map_or("/", |p| p.as_str()))
        .header("host", authority);
    for (name, value) in headers {
        request = request.header(*name, *value);
    }
    let response =
        tokio::time::timeout(Duration::from_secs(10), sender.send_request(request.body(Full::new(body.into()))?))
            .await
            .context("no answer within 10 s")??;
    let status = response.status().as_u16();
    Ok((status, response.into_body().collect().await?.to_bytes()))
}
