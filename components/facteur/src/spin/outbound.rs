//! Outbound HTTP with a deadline. spin-sdk 5.2 sends requests without WASI request options,
//! so the deadline is a race against a timer on the monotonic clock, driven by Spin's executor.

use std::future::Future;
use std::pin::{Pin, pin};
use std::task::{Context, Poll};
use std::time::Duration;

use futures::future::{Either, select};
use spin_sdk::http::{Request, Response, send};
use wasi::clocks::monotonic_clock;

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SendFailure {
    Timeout,
    /// The host refused or failed the request (connection refused, denied host, …).
    Failed(String),
}

pub async fn send_within(request: Request, timeout: Duration) -> Result<Response, SendFailure> {
    match select(pin!(send::<_, Response>(request)), pin!(sleep(timeout))).await {
        Either::Left((result, _)) => result.map_err(|e| SendFailure::Failed(e.to_string())),
        Either::Right(_) => Err(SendFailure::Timeout),
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
