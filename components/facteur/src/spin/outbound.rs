//! Outbound HTTP with a deadline. spin-sdk 5.2 sends requests without WASI request options,
//! so the deadline is a race against a timer on the monotonic clock, driven by Spin's executor.

use std::future::Future;
use std::pin::{Pin, pin};
use std::task::{Context, Poll};
use std::time::Duration;

use futures::StreamExt;
use futures::future::{Either, select};
use spin_sdk::http::conversions::TryIntoOutgoingRequest;
use spin_sdk::http::{Fields, IncomingResponse, OutgoingRequest, Request, Scheme, send};
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
pub async fn send_capped(request: Request, timeout: Duration, cap: usize) -> Result<(u16, Vec<u8>), SendFailure> {
    let exchange = async {
        let response: IncomingResponse = send(Outgoing(request)).await.map_err(|e| {
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

/// A request as wasi-http's outgoing request, the way spin-sdk converts one, with its failures as
/// text: spin-sdk's own conversion makes `anyhow::Error`s, whose `Debug` links std's backtrace
/// printer and symbol demangler (about 50 KB of every component, BENCHMARKS.md).
pub struct Outgoing(pub Request);

impl TryIntoOutgoingRequest for Outgoing {
    type Error = String;

    fn try_into_outgoing_request(self) -> Result<(OutgoingRequest, Option<Vec<u8>>), String> {
        let request = self.0;
        let headers: Vec<(String, Vec<u8>)> =
            request.headers().map(|(name, value)| (name.to_owned(), value.as_bytes().to_vec())).collect();
        let outgoing = OutgoingRequest::new(Fields::from_list(&headers).map_err(|e| format!("invalid headers: {e}"))?);
        outgoing.set_method(request.method()).map_err(|()| format!("invalid method {}", request.method()))?;
        // As spin-sdk reads the URI (`Request::parse_uri`, `is_https`, `authority`).
        let uri =
            http::Uri::try_from(request.uri()).or_else(|_| http::Uri::try_from(format!("http://{}", request.uri())));
        let uri = uri.as_ref().ok();
        let path = request.path_and_query();
        outgoing.set_path_with_query(path).map_err(|()| format!("invalid path `{}`", path.unwrap_or_default()))?;
        let https = uri.and_then(|u| u.scheme()).is_none_or(|s| s == &http::uri::Scheme::HTTPS);
        outgoing.set_scheme(Some(if https { &Scheme::Https } else { &Scheme::Http })).map_err(|()| "invalid scheme")?;
        // wasi-http requires an authority.
        let authority = uri.and_then(|u| u.authority()).map_or(if https { ":443" } else { ":80" }, |a| a.as_str());
        outgoing.set_authority(Some(authority)).map_err(|()| format!("invalid authority `{authority}`"))?;
        Ok((outgoing, Some(request.into_body())))
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
