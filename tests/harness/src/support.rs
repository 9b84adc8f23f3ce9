//! Helpers for tests and benchmarks: the project's manifest, a Discord-style signer, the test
//! Redis server, and a small HTTP client for loopback servers.

use std::path::PathBuf;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use anyhow::{Context, Result};
use bytes::Bytes;
use facteur::signature::SigningKey;
use http_body_util::{BodyExt, Full};
use hyper_util::rt::TokioIo;

/// The repository's `spin.toml`.
pub fn manifest_path() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../spin.toml")
}

/// Signs requests the way Discord does, with a key generated for the test.
pub struct Signer {
    key: SigningKey,
}

impl Default for Signer {
    fn default() -> Self {
        let mut seed = [0u8; 32];
        getrandom::fill(&mut seed).expect("system randomness");
        Self::from_seed(&seed)
    }
}

impl Signer {
    pub fn from_seed(seed: &[u8; 32]) -> Self {
        Self { key: SigningKey::from_seed(seed) }
    }

    pub fn public_key_hex(&self) -> String {
        self.key.public_key_hex()
    }

    /// Hex signature of `timestamp + body`.
    pub fn sign(&self, timestamp: &str, body: &[u8]) -> String {
        self.key.sign(timestamp, body)
    }

    /// A POST to `/interactions` signed now.
    pub fn request(&self, body: impl Into<Bytes>) -> http::Request<Full<Bytes>> {
        self.request_at(body, now())
    }

    /// A POST to `/interactions` signed with the given Unix timestamp.
    pub fn request_at(&self, body: impl Into<Bytes>, timestamp: u64) -> http::Request<Full<Bytes>> {
        let body = body.into();
        let timestamp = timestamp.to_string();
        http::Request::post("/interactions")
            .header("content-type", "application/json")
            .header("x-signature-ed25519", self.sign(&timestamp, &body))
            .header("x-signature-timestamp", timestamp)
            .body(Full::new(body))
            .expect("a valid request")
    }
}

pub fn now() -> u64 {
    SystemTime::now().duration_since(UNIX_EPOCH).expect("after 1970").as_secs()
}

/// The Redis server tests use: `FACTEUR_TEST_REDIS`, default `redis://127.0.0.1:6379`.
/// Returns `None` (the test should return early) when it is not reachable, unless `CI` is
/// set: there a missing Redis fails the test instead of skipping it.
pub async fn test_redis() -> Option<String> {
    let url = std::env::var("FACTEUR_TEST_REDIS").unwrap_or_else(|_| "redis://127.0.0.1:6379".to_owned());
    let reachable = async {
        let mut conn = redis::Client::open(url.as_str())?.get_multiplexed_async_connection().await?;
        redis::cmd("PING").query_async::<String>(&mut conn).await
    };
    match tokio::time::timeout(Duration::from_secs(2), reachable).await {
        Ok(Ok(_)) => Some(url),
        outcome => {
            let why = match outcome {
                Ok(Err(e)) => e.to_string(),
                _ => "timed out".to_owned(),
            };
            if std::env::var_os("CI").is_some() {
                panic!("Redis at {url} is required in CI and is not reachable: {why}");
            }
            eprintln!(
                "skipping: Redis at {url} is not reachable ({why}); start redis-server or set FACTEUR_TEST_REDIS"
            );
            None
        }
    }
}

/// Polls `check` every 20 ms until it returns `Some`, for at most `timeout`.
pub async fn eventually<T>(timeout: Duration, mut check: impl AsyncFnMut() -> Option<T>) -> Option<T> {
    let deadline = tokio::time::Instant::now() + timeout;
    loop {
        if let Some(value) = check().await {
            return Some(value);
        }
        if tokio::time::Instant::now() >= deadline {
            return None;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// Sends one request over a fresh HTTP/1.1 connection and buffers the answer.
pub async fn send(request: http::Request<Full<Bytes>>) -> Result<crate::Response> {
    let authority = request.uri().authority().context("request needs an absolute URI")?.to_string();
    let stream = tokio::net::TcpStream::connect(&authority).await?;
    let (mut sender, connection) = hyper::client::conn::http1::handshake(TokioIo::new(stream)).await?;
    tokio::spawn(connection);
    let mut request = request;
    request.headers_mut().insert(http::header::HOST, authority.parse()?);
    let response = sender.send_request(request).await?;
    let (parts, body) = response.into_parts();
    Ok(crate::Response {
        status: parts.status.as_u16(),
        headers: parts.headers,
        body: body.collect().await?.to_bytes(),
    })
}

/// A loopback port nobody listens on right now.
pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0").and_then(|l| l.local_addr()).expect("a free loopback port").port()
}

/// A `redis-server` of the test's own, on a loopback port; killed when dropped. `None` (skip)
/// when `redis-server` cannot be started outside CI.
pub struct RedisServer {
    child: std::process::Child,
    pub port: u16,
}

impl RedisServer {
    pub async fn start(port: u16) -> Option<Self> {
        let child = std::process::Command::new("redis-server")
            .args(["--bind", "127.0.0.1", "--port", &port.to_string(), "--save", "", "--appendonly", "no"])
            .stdout(std::process::Stdio::null())
            .spawn();
        let server = match child {
            Ok(child) => Self { child, port },
            Err(e) if std::env::var_os("CI").is_none() => {
                eprintln!("skipping: redis-server cannot be started ({e})");
                return None;
            }
            Err(e) => panic!("redis-server is required in CI: {e}"),
        };
        let url = server.url();
        let up = eventually(Duration::from_secs(15), async || {
            let mut conn = redis::Client::open(url.as_str()).ok()?.get_multiplexed_async_connection().await.ok()?;
            redis::cmd("PING").query_async::<String>(&mut conn).await.ok()
        })
        .await;
        assert!(up.is_some(), "redis-server on {url} did not come up");
        Some(server)
    }

    pub fn url(&self) -> String {
        format!("redis://127.0.0.1:{}", self.port)
    }
}

impl Drop for RedisServer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// `host:port` of a `redis://host:port` URL (the app's `redis_host` variable).
pub fn host_of(url: &str) -> &str {
    url.trim_start_matches("redis://").trim_end_matches('/')
}
