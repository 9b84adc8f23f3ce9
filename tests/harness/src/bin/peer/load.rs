//! The load generator: keep-alive connections driven by hyper on a thread of its own, and
//! what one timed run measured.

use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use anyhow::{Result, ensure};
use facteur_harness::support::Signer;
use http_body_util::BodyExt;
use hyper_util::rt::TokioIo;
use serde_json::Value;

use crate::process::{cpu_time, thread_cpu_time};
use crate::requests::{Kind, Prepared, Source, body};

/// Excluded from the figures: the first requests of a round (connections, caches).
pub const WARM_UP: Duration = Duration::from_millis(500);

/// One side of the comparison.
pub struct Server {
    pub name: &'static str,
    pub addr: SocketAddr,
    pub pid: u32,
}

/// What one timed run measured.
#[derive(Debug, Clone, Default)]
pub struct Run {
    pub latencies: Vec<Duration>,
    /// Answers other than 200, and connection errors.
    pub failures: usize,
    /// The first few failures, for the error message.
    pub failure_examples: Vec<String>,
    /// Answers 200, warm-up included (each `/plan` acknowledged has work after it).
    pub acknowledged: usize,
    pub elapsed: Duration,
    /// CPU time the server's processes used during the measured part, all threads.
    pub cpu: Duration,
    /// CPU time of the load generator's thread during the measured part.
    pub generator_cpu: Duration,
}

impl Run {
    pub fn quantile(&self, q: f64) -> Duration {
        let mut sorted = self.latencies.clone();
        sorted.sort();
        sorted.get(((sorted.len() as f64 - 1.0) * q).round() as usize).copied().unwrap_or_default()
    }

    pub fn throughput(&self) -> f64 {
        self.latencies.len() as f64 / self.elapsed.as_secs_f64().max(1e-9)
    }

    pub fn cpu_per_request(&self) -> Duration {
        self.cpu.checked_div(self.latencies.len().max(1) as u32).unwrap_or_default()
    }

    pub fn generator_cpu_per_request(&self) -> Duration {
        self.generator_cpu.checked_div(self.latencies.len().max(1) as u32).unwrap_or_default()
    }
}

/// Sends requests from `source` on `concurrency` keep-alive connections for `duration`.
pub async fn drive(addr: SocketAddr, source: Arc<Source>, concurrency: usize, duration: Duration) -> Result<Run> {
    let host = addr.to_string();
    let started = Instant::now();
    let deadline = started + duration;
    let mut clients = Vec::new();
    for _ in 0..concurrency {
        let (source, host) = (source.clone(), host.clone());
        clients.push(tokio::task::spawn_local(async move {
            let mut run = Run::default();
            let mut sender = None;
            let mut last = started;
            while Instant::now() < deadline {
                if sender.is_none() {
                    let stream = tokio::net::TcpStream::connect(addr).await?;
                    stream.set_nodelay(true)?;
                    let (s, connection) = hyper::client::conn::http1::handshake(TokioIo::new(stream)).await?;
                    tokio::task::spawn_local(connection);
                    sender = Some(s);
                }
                let Some(prepared) = source.take() else { break };
                let request = prepared.request(&host);
                let sent = Instant::now();
                let answer = async {
                    let response = sender.as_mut().expect("connected").send_request(request).await?;
                    let status = response.status().as_u16();
                    let body = response.into_body().collect().await?.to_bytes();
                    anyhow::Ok((status, body))
                };
                let expected = |body: &[u8]| {
                    source.answer.is_none_or(|needle| body.windows(needle.len()).any(|w| w == needle.as_bytes()))
                };
                match answer.await {
                    Ok((status, body))
                        if usize::from(status) == EXPECTED.load(Ordering::Relaxed) && expected(&body) =>
                    {
                        last = Instant::now();
                        run.latencies.push(last - sent);
                        run.acknowledged += 1;
                    }
                    Ok((status, body)) => {
                        run.failures += 1;
                        if run.failure_examples.len() < 3 {
                            let body = String::from_utf8_lossy(&body[..body.len().min(160)]).into_owned();
                            run.failure_examples.push(format!("{status} {body}"));
                        }
                    }
                    Err(e) => {
                        run.failures += 1;
                        if run.failure_examples.len() < 3 {
                            run.failure_examples.push(format!("{e:#}"));
                        }
                        sender = None;
                    }
                }
            }
            run.elapsed = last - started;
            anyhow::Ok(run)
        }));
    }
    let mut total = Run::default();
    for client in clients {
        let run = client.await??;
        total.latencies.extend(run.latencies);
        total.failures += run.failures;
        total.failure_examples.extend(run.failure_examples);
        total.acknowledged += run.acknowledged;
        total.elapsed = total.elapsed.max(run.elapsed);
    }
    Ok(total)
}

/// A warm-up, then the measured run, on a thread and runtime of the generator's own.
pub fn measure(server: &Server, source: Source, concurrency: usize, duration: Duration) -> Result<Run> {
    let (addr, pid) = (server.addr, server.pid);
    let source = Arc::new(source);
    std::thread::scope(|scope| {
        scope
            .spawn(move || {
                let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build()?;
                let local = tokio::task::LocalSet::new();
                local.block_on(&runtime, async {
                    let warm = drive(addr, source.clone(), concurrency, WARM_UP).await?;
                    let (before, generator_before) = (cpu_time(pid), thread_cpu_time());
                    let mut run = drive(addr, source, concurrency, duration).await?;
                    run.cpu = cpu_time(pid).saturating_sub(before);
                    run.generator_cpu = thread_cpu_time().saturating_sub(generator_before);
                    run.acknowledged += warm.acknowledged;
                    run.failures += warm.failures;
                    run.failure_examples.extend(warm.failure_examples);
                    Ok(run)
                })
            })
            .join()
            .expect("the load generator does not panic")
    })
}

/// [`measure`] for requests whose expected answer is `status`, not 200.
pub fn measure_status(
    server: &Server,
    source: Source,
    concurrency: usize,
    duration: Duration,
    status: u16,
) -> Result<Run> {
    if status == 200 {
        let run = measure(server, source, concurrency, duration)?;
        ensure!(run.failures == 0, "{} failures", run.failures);
        return Ok(run);
    }
    // Count the expected refusal as the answer: measure on a copy of the generator that
    // accepts it (the refusals are the point here).
    EXPECTED.store(status as usize, Ordering::Relaxed);
    let run = measure(server, source, concurrency, duration);
    EXPECTED.store(200, Ordering::Relaxed);
    let run = run?;
    ensure!(run.failures == 0, "{} failures", run.failures);
    Ok(run)
}

/// The status the generator counts as an answer (200, or a refusal in `--variants`).
pub static EXPECTED: AtomicUsize = AtomicUsize::new(200);

/// Sends one request on a fresh connection; the status and JSON answer.
pub async fn once(addr: SocketAddr, prepared: &Prepared) -> Result<(u16, Value)> {
    let stream = tokio::net::TcpStream::connect(addr).await?;
    let (mut sender, connection) = hyper::client::conn::http1::handshake(TokioIo::new(stream)).await?;
    tokio::spawn(connection);
    let response = sender.send_request(prepared.request(&addr.to_string())).await?;
    let status = response.status().as_u16();
    let body = response.into_body().collect().await?.to_bytes();
    Ok((status, serde_json::from_slice(&body).unwrap_or(Value::Null)))
}

/// Both sides answer each request as Discord expects before anything is measured.
pub async fn check(servers: &[Server], signer: &Signer, ids: &AtomicU64) -> Result<()> {
    for server in servers {
        for kind in [Kind::Ping, Kind::Help, Kind::Plan] {
            let prepared = Prepared::signed(signer, body(kind, ids.fetch_add(1, Ordering::Relaxed)));
            let (status, answer) = once(server.addr, &prepared).await?;
            ensure!(
                status == 200 && answer["type"].as_u64() == Some(kind.answer()),
                "{} answered {status} {answer} to {}",
                server.name,
                kind.label()
            );
            if kind == Kind::Help {
                let content = answer["data"]["content"].as_str().unwrap_or_default();
                ensure!(
                    answer["data"]["flags"] == 64 && content.contains("/help") && content.contains("/plan"),
                    "{} answered /help with {answer}",
                    server.name
                );
            }
        }
        let mut forged = Prepared::signed(signer, body(Kind::Help, 1));
        forged.headers[1].1 = "00".repeat(64);
        let (status, _) = once(server.addr, &forged).await?;
        ensure!(status == 401, "{} answered {status} to a bad signature", server.name);
    }
    Ok(())
}
