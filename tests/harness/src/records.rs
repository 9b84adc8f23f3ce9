//! What a running app records for tests to look at: invocations (which component, by which
//! trigger), outbound calls (allowed or denied), each component's stdout and stderr, and the
//! handlers still running, so that tests can wait for work done after a response.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use anyhow::{Result, anyhow};
use tokio::sync::Notify;

use crate::app::{App, Shared};
use crate::host::Output;

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
pub(crate) struct Records {
    invocations: Vec<Invocation>,
    outbound: Vec<OutboundCall>,
    logs: Vec<LogLine>,
}

/// Counts running handlers so tests can wait for work done after a response.
#[derive(Default)]
pub(crate) struct Inflight {
    count: AtomicUsize,
    idle: Notify,
}

/// Held while a handler runs, post-response work included.
pub(crate) struct InflightGuard(Arc<Shared>);

impl Drop for InflightGuard {
    fn drop(&mut self) {
        if self.0.inflight.count.fetch_sub(1, Ordering::SeqCst) == 1 {
            self.0.inflight.idle.notify_waiters();
        }
    }
}

impl Shared {
    pub(crate) fn record_invocation(&self, component: &str, trigger: Trigger, target: &str) {
        self.records.lock().unwrap().invocations.push(Invocation {
            component: component.to_owned(),
            trigger,
            target: target.to_owned(),
        });
    }

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

    /// Logs what an instance wrote, once it is done.
    pub(crate) fn collect(&self, component: &str, output: Output) {
        self.log(component, "stdout", &String::from_utf8_lossy(&output.stdout.contents()));
        self.log(component, "stderr", &String::from_utf8_lossy(&output.stderr.contents()));
    }

    /// Counts a handler as running until the guard is dropped.
    pub(crate) fn enter(self: &Arc<Self>) -> InflightGuard {
        self.inflight.count.fetch_add(1, Ordering::SeqCst);
        InflightGuard(self.clone())
    }
}

impl App {
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
}
