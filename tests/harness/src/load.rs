//! A load generator for loopback HTTP: a fixed number of prepared requests sent by
//! `concurrency` clients on keep-alive connections, each request's latency recorded.

use std::net::SocketAddr;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use anyhow::Result;
use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper_util::rt::TokioIo;

/// What a run measured.
#[derive(Debug, Clone)]
pub struct Report {
    /// Latency of each request, in the order they completed.
    pub latencies: Vec<Duration>,
    /// Status of each answer.
    pub statuses: Vec<u16>,
    /// Each answer's request (its index in the list given to [`run`]), status and body, in the
    /// order they completed.
    pub answers: Vec<(usize, u16, Bytes)>,
    pub elapsed: Duration,
}

impl Report {
    /// The `q`-quantile (0.0–1.0) of the latencies.
    pub fn quantile(&self, q: f64) -> Duration {
        let mut sorted = self.latencies.clone();
        sorted.sort();
        sorted.get(((sorted.len() as f64 - 1.0) * q).round() as usize).copied().unwrap_or_default()
    }

    pub fn throughput(&self) -> f64 {
        self.latencies.len() as f64 / self.elapsed.as_secs_f64()
    }
}

/// Sends every request to `addr` with `concurrency` clients.
pub async fn run(addr: SocketAddr, requests: Vec<http::Request<Full<Bytes>>>, concurrency: usize) -> Result<Report> {
    let count = requests.len();
    let requests = Mutex::new(requests.into_iter().map(Some).collect::<Vec<_>>());
    run_with(addr, count, concurrency, move |index| requests.lock().unwrap()[index].take().expect("sent once")).await
}

/// Sends `count` requests to `addr` with `concurrency` clients, each made by `make(index)` just
/// before it is sent (a signature's timestamp is then fresh however long the run takes).
pub async fn run_with(
    addr: SocketAddr,
    count: usize,
    concurrency: usize,
    make: impl Fn(usize) -> http::Request<Full<Bytes>> + Send + Sync + 'static,
) -> Result<Report> {
    let next = Arc::new(AtomicUsize::new(0));
    let make = Arc::new(make);
    let results = Arc::new(Mutex::new((Vec::new(), Vec::new(), Vec::new())));
    let started = Instant::now();
    let mut clients = Vec::new();
    for _ in 0..concurrency {
        let (next, make, results) = (next.clone(), make.clone(), results.clone());
        clients.push(tokio::spawn(async move {
            let stream = tokio::net::TcpStream::connect(addr).await?;
            stream.set_nodelay(true)?;
            let (mut sender, connection) = hyper::client::conn::http1::handshake(TokioIo::new(stream)).await?;
            tokio::spawn(connection);
            loop {
                let index = next.fetch_add(1, Ordering::SeqCst);
                if index >= count {
                    return anyhow::Ok(());
                }
                let mut request = make(index);
                request.headers_mut().insert(http::header::HOST, addr.to_string().parse()?);
                let sent = Instant::now();
                let response = sender.send_request(request).await?;
                let status = response.status().as_u16();
                let body = response.into_body().collect().await?.to_bytes();
                let mut results = results.lock().unwrap();
                results.0.push(sent.elapsed());
                results.1.push(status);
                results.2.push((index, status, body));
            }
        }));
    }
    for client in clients {
        client.await??;
    }
    let elapsed = started.elapsed();
    let (latencies, statuses, answers) = Arc::try_unwrap(results).expect("clients are done").into_inner().unwrap();
    Ok(Report { latencies, statuses, answers, elapsed })
}
