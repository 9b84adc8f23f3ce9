//! What the use cases (`command`, `runs`) need from the world, as small traits. The Spin
//! adapter (`crate::spin::SpinPorts`) implements them with outbound HTTP, key-value storage,
//! the wall clock and stdout; native tests implement them in memory (`ports::memory`).
//!
//! Components run single-threaded in WebAssembly, so the futures need not be `Send`.
#![allow(async_fn_in_trait)]

use std::time::Duration;

use crate::argo::{ArgoError, ArgoRequest};
use crate::discord::Message;

/// How long an Argo call may take.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Deadline {
    /// `argo_timeout_secs`: for work after the response.
    Configured,
    /// Before answering inline (autocomplete, Refresh): the answer must reach Discord within its
    /// 3 seconds.
    Inline,
}

/// Deadline of Argo calls made before answering inline.
pub const INLINE_DEADLINE: Duration = Duration::from_millis(2000);

pub trait Argo {
    /// Sends one request with the configured token (`argo_token`); its status and body, or why
    /// nothing came back.
    async fn send(&self, request: &ArgoRequest, deadline: Deadline) -> Result<(u16, Vec<u8>), ArgoError> {
        self.send_as(request, deadline, None).await
    }

    /// Sends one request with `authorization` (an `Authorization` value: the member's identity,
    /// `crate::identities`) instead of the configured token when it is set.
    async fn send_as(
        &self,
        request: &ArgoRequest,
        deadline: Deadline,
        authorization: Option<&str>,
    ) -> Result<(u16, Vec<u8>), ArgoError>;
}

pub trait Discord {
    /// Replaces the interaction's original (deferred) response, trying again after what may be
    /// passing (429, 5xx, no answer) until `until` (Unix seconds: when the token expires).
    /// Errors never contain the token.
    async fn edit_original(
        &self,
        application_id: &str,
        token: &str,
        message: &Message,
        until: u64,
    ) -> Result<(), String>;
    /// Posts in a channel with the bot token (once an interaction token has expired).
    async fn post_to_channel(&self, channel_id: &str, message: &Message) -> Result<(), String>;
    /// Posts a new message after the interaction's response, with its token: unlike an edit,
    /// it notifies the members it mentions.
    async fn follow_up(&self, application_id: &str, token: &str, message: &Message) -> Result<(), String>;
    /// The id of the interaction's original response (while its token is valid).
    async fn original_message_id(&self, application_id: &str, token: &str) -> Result<String, String>;
    /// Starts a public thread named `name` in a channel with the bot token, on `message` when
    /// given (its id is then the thread's, even when the thread already existed); the
    /// thread's id, a channel to post in.
    async fn start_thread(&self, channel_id: &str, message: Option<&str>, name: &str) -> Result<String, String>;
}

/// The key-value store (Spin's `default` store: SQLite under `spin up`, Redis on the
/// cluster). `crate::history` keeps the run history in it.
pub trait KeyValue {
    fn get(&self, key: &str) -> Result<Option<Vec<u8>>, String>;
    fn set(&self, key: &str, value: &[u8]) -> Result<(), String>;
    /// Deleting an absent key is not an error.
    fn delete(&self, key: &str) -> Result<(), String>;
    /// Every key (for the sweep, once per slot).
    fn keys(&self) -> Result<Vec<String>, String>;
    /// Adds `delta` to the counter at `key` (absent: 0) atomically across instances, and returns
    /// its new value (`wasi:keyvalue/atomics.increment`). Counters are read only through this:
    /// the backends store them differently (SQLite: 8 bytes little-endian; Redis: decimal text).
    fn increment(&self, key: &str, delta: i64) -> Result<i64, String>;
}

/// The audit trail: one JSON line per decision (see `crate::audit`).
pub trait Audit {
    fn audit(&self, line: String);
}

/// The world of a use case: the ports above, the clock, the audit trail and the log.
pub trait Ports: Audit {
    fn argo(&self) -> &impl Argo;
    fn discord(&self) -> &impl Discord;
    fn store(&self) -> &impl KeyValue;
    /// Unix seconds.
    fn now(&self) -> u64;
    /// An operational message for the component's log.
    fn log(&self, line: String);
    /// Waits (between attempts of a call), without blocking other futures.
    async fn pause(&self, duration: Duration);
}

/// `ports`, with every Argo call that names no `Authorization` sent with `authorization` (a
/// member's identity, `crate::identities`): what a member asks of Argo is asked with their
/// token, so that Kubernetes' RBAC applies to them.
pub struct ActingAs<'a, P> {
    ports: &'a P,
    authorization: Option<String>,
}

impl<'a, P: Ports> ActingAs<'a, P> {
    pub fn new(ports: &'a P, authorization: Option<String>) -> Self {
        Self { ports, authorization }
    }
}

impl<P: Ports> Argo for ActingAs<'_, P> {
    async fn send_as(
        &self,
        request: &ArgoRequest,
        deadline: Deadline,
        authorization: Option<&str>,
    ) -> Result<(u16, Vec<u8>), ArgoError> {
        let authorization = authorization.or(self.authorization.as_deref());
        self.ports.argo().send_as(request, deadline, authorization).await
    }
}

impl<P: Ports> Audit for ActingAs<'_, P> {
    fn audit(&self, line: String) {
        self.ports.audit(line);
    }
}

impl<P: Ports> Ports for ActingAs<'_, P> {
    fn argo(&self) -> &impl Argo {
        self
    }

    fn discord(&self) -> &impl Discord {
        self.ports.discord()
    }

    fn store(&self) -> &impl KeyValue {
        self.ports.store()
    }

    fn now(&self) -> u64 {
        self.ports.now()
    }

    fn log(&self, line: String) {
        self.ports.log(line);
    }

    async fn pause(&self, duration: Duration) {
        self.ports.pause(duration).await;
    }
}

#[cfg(test)]
pub mod memory;
