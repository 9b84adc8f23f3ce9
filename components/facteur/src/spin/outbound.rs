//! Outbound HTTP with a deadline. spin-sdk 5.2 sends requests without WASI request options,
//! so the deadline is a race against a timer on the monotonic clock, driven by Spin's executor.

use std::future::Future;
use std::pin::{Pin, pin};
use std::task::{Context, Poll};
use std::time::Duration;

use futures::StreamExt;
use futures::future::{Either, select};
use spin_sdk::http::conversions::TryIntoOutgoingRequest;
use spin_sdk::http::{Fields, IncomingResponse, Method, OutgoingRequest, Scheme, send};
use wasi::clocks::monotonic_clock;

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SendFailure {
    Timeout,
    /// The request certainly did not reach the server: no connection was made (refused, no
    /// such host, denied by `allowed_outbound_hosts`).
    NotSent(String),
    /// The exchange failed after the request may have reached the server.
    Failed(String),
}

/// Sends `request` within `timeout`, reading at most `cap` bytes of the answer's body (an answer is
/// untrusted: a larger one is refused, not buffered). The deadline covers the body too.
pub async fn send_capped(request: Outgoing, timeout: Duration, cap: usize) -> Result<(u16, Vec<u8>), SendFailure> {
    let exchange = async {
        let response: IncomingResponse = send(request).await.map_err(|e| {
            use spin_sdk::http::{ErrorCode, SendError};
            let text = e.to_string();
            match e {
                SendError::Http(
                    ErrorCode::ConnectionRefused
                    | ErrorCode::DnsError(_)
                    | ErrorCode::DnsTimeout
                    | ErrorCode::DestinationNotFound
                    | ErrorCode::DestinationUnavailable
                    | ErrorCode::DestinationIpProhibited
                    | ErrorCode::DestinationIpUnroutable
                    | ErrorCode::HttpRequestDenied
                    | ErrorCode::HttpRequestUriInvalid,
                ) => SendFailure::NotSent(text),
                _ => SendFailure::Failed(text),
            }
        })?;
        let status = response.status();
        let mut body = Vec::new();
        let mut stream = response.take_body_stream();
        while let Some(chunk) = stream.next().await {
            body.extend_from_slice(&chunk.map_err(|e| SendFailure::Failed(format!("reading the answer: {e}")))?);
            if body.len() > cap {
                return Err(SendFailure::Failed(format!("the answer exceeds {cap} bytes")));
            }
        }
        Ok((status, body))
    };
    match select(pin!(exchange), pin!(sleep(timeout))).await {
        Either::Left((result, _)) => result,
        Either::Right(_) => Err(SendFailure::Timeout),
    }
}

/// A request facteur sends: spin-sdk's `Request` keeps its headers in a map of lowercased names
/// and parses its URI with the `http` crate, which with the `Response` below cost about 25 KB of
/// every component (Unicode case tables, hashing); and its conversion makes `anyhow` errors, whose
/// `Debug` links std's backtrace printer and demangler (about 50 KB more). BENCHMARKS.md.
pub struct Outgoing {
    method: Method,
    url: String,
    headers: Vec<(String, Vec<u8>)>,
    body: Vec<u8>,
}

impl Outgoing {
    pub fn new(method: Method, url: impl Into<String>) -> Self {
        Self { method, url: url.into(), headers: Vec::new(), body: Vec::new() }
    }

    pub fn header(&mut self, name: &str, value: &str) -> &mut Self {
        self.headers.push((name.to_owned(), value.as_bytes().to_vec()));
        self
    }

    pub fn body(&mut self, body: impl Into<Vec<u8>>) -> &mut Self {
        self.body = body.into();
        self
    }
}

impl TryIntoOutgoingRequest for Outgoing {
    type Error = String;

    fn try_into_outgoing_request(self) -> Result<(OutgoingRequest, Option<Vec<u8>>), String> {
        // Never the URL: a Discord webhook's path holds the interaction token.
        let invalid = |what: &str| format!("the request's {what} is invalid");
        // facteur's URLs are absolute: configured origins (`config::origin`) and service chaining.
        let (scheme, rest) = self.url.split_once("://").ok_or_else(|| invalid("URL"))?;
        let scheme = match scheme {
            "http" => Scheme::Http,
            "https" => Scheme::Https,
            _ => return Err(invalid("scheme")),
        };
        let (authority, path) = rest.split_at(rest.find(['/', '?']).unwrap_or(rest.len()));
        let path = if path.starts_with('/') { path.to_owned() } else { format!("/{path}") };
        let request = OutgoingRequest::new(Fields::from_list(&self.headers).map_err(|_| invalid("headers"))?);
        request.set_method(&self.method).map_err(|()| invalid("method"))?;
        request.set_scheme(Some(&scheme)).map_err(|()| invalid("scheme"))?;
        request.set_authority(Some(authority)).map_err(|()| invalid("authority"))?;
        request.set_path_with_query(Some(&path)).map_err(|()| invalid("path"))?;
        Ok((request, Some(self.body)))
    }
}

/// Resolves after `duration`, without blocking other futures of the component.
pub fn sleep(duration: Duration) -> Sleep {
    let nanos = u64::try_from(duration.as_nanos()).unwrap_or(u64::MAX);
    Sleep { deadline: monotonic_clock::now().saturating_add(nanos) }
}

pub struct Sleep {
    deadline: u64,
}

impl Future for Sleep {
    type Output = ();

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        if monotonic_clock::now() >= self.deadline {
            return Poll::Ready(());
        }
        spin_executor::push_waker(monotonic_clock::subscribe_instant(self.deadline), cx.waker().clone());
        Poll::Pending
    }
}
