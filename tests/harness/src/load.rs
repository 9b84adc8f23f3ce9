//! A load generator for loopback HTTP: a fixed number of prepared requests sent by
//! `concurrency` clients on keep-alive connections, each request's latency recorded.

use std::collections::VecDeque;
use std::net::SocketAddr;
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
    let queue = Arc::new(Mutex::new(VecDeque::from(requests)));
    let results = Arc::new(Mutex::new((Vec::new(), Vec::new())));
    let started = Instant::now();
    let mut clients = Vec::new();
    for _ in 0..concurrency {
        let (queue, results) = (queue.clone(), results.clone());
        clients.push(tokio::spawn(async move {
            let stream = tokio::net::TcpStream::connect(addr).await?;
            stream.set_nodelay(true)?;
            let (mut sender, connection) = hyper::client::conn::http1::handshake(TokioIo::new(stream)).await?;
            tokio::spawn(connection);
            loop {
                let Some(mut request) = queue.lock().unwrap().pop_front() else { return anyhow::Ok(()) };
                request.headers_mut().insert(http::header::HOST, addr.to_string().parse()?);
                let sent = Instant::now();
                let response = sender.send_request(request).await?;
                let status = response.status().as_u16();
                response.into_body().collect().await?;
                let mut results = results.lock().unwrap();
                results.0.push(sent.elapsed());
                results.1.push(status);
            }
        }));
    }
    for client in clients {
        client.await??;
    }
    let elapsed = started.elapsed();
    let (latencies, statuses) = Arc::try_unwrap(results).expect("clients are done").into_inner().unwrap();
    Ok(Report { latencies, statuses, elapsed })
}
