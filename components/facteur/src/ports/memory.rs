//! In-memory ports for native tests of the use cases: an Argo that answers what the test says
//! and records what it was asked, a Discord that records messages, a key-value map, a clock
//! the test sets, and the audit and log lines.

use std::cell::{Cell, RefCell};
use std::collections::BTreeMap;

use super::{Argo, Audit, Deadline, Discord, KeyValue, Ports};
use crate::argo::{ArgoError, ArgoRequest};
use crate::discord::Message;

type Answer = Result<(u16, Vec<u8>), ArgoError>;
type Responder = Box<dyn Fn(&ArgoRequest) -> Answer>;

pub struct MemoryArgo {
    respond: RefCell<Responder>,
    /// What Argo lists as in flight (`argo::list_names`, the caps on runs in flight): the names,
    /// or why there is no answer. Nothing in flight unless a test says otherwise.
    pub in_flight: RefCell<Result<Vec<String>, ArgoError>>,
    pub requests: RefCell<Vec<(ArgoRequest, Deadline)>>,
    /// The `Authorization` each request was sent with, when not the configured one.
    pub authorizations: RefCell<Vec<Option<String>>>,
}

impl MemoryArgo {
    /// Answers every request with `respond`.
    pub fn answer(&self, respond: impl Fn(&ArgoRequest) -> Answer + 'static) {
        *self.respond.borrow_mut() = Box::new(respond);
    }

    pub fn paths(&self) -> Vec<String> {
        self.requests.borrow().iter().map(|(r, _)| format!("{} {}", r.method.as_str(), r.path)).collect()
    }
}

impl Argo for MemoryArgo {
    async fn send_as(&self, request: &ArgoRequest, deadline: Deadline, authorization: Option<&str>) -> Answer {
        self.requests.borrow_mut().push((request.clone(), deadline));
        self.authorizations.borrow_mut().push(authorization.map(str::to_owned));
        if request.path.contains("fields=items.metadata.name") {
            return self.in_flight.borrow().clone().map(|names| {
                let items: Vec<_> = names.iter().map(|n| serde_json::json!({"metadata": {"name": n}})).collect();
                (200, serde_json::json!({"metadata": {}, "items": items}).to_string().into_bytes())
            });
        }
        (self.respond.borrow())(request)
    }
}

#[derive(Default)]
pub struct MemoryDiscord {
    /// `(application id, token, message)` of each edit.
    pub edits: RefCell<Vec<(String, String, Message)>>,
    /// The `until` of each edit attempt, failed or not.
    pub edit_deadlines: RefCell<Vec<u64>>,
    pub posts: RefCell<Vec<(String, Message)>>,
    /// Edits fail (as after retrying until the token expired).
    pub fail: Cell<bool>,
    /// Channel posts fail as without `discord_bot_token`.
    pub no_bot_token: Cell<bool>,
    /// `(application id, token, message)` of each follow-up.
    pub follow_ups: RefCell<Vec<(String, String, Message)>>,
    /// `(channel, message, name)` of each thread started.
    pub threads: RefCell<Vec<(String, Option<String>, String)>>,
    /// The id answered for the original response instead of [`ORIGINAL_ID`].
    pub original_id: RefCell<Option<String>>,
}

/// The id [`MemoryDiscord`] gives every original response; a thread without a message gets
/// [`THREAD_ID`].
pub const ORIGINAL_ID: &str = "1300000000000000001";
pub const THREAD_ID: &str = "1300000000000000002";

impl Discord for MemoryDiscord {
    async fn edit_original(
        &self,
        application_id: &str,
        token: &str,
        message: &Message,
        until: u64,
    ) -> Result<(), String> {
        self.edit_deadlines.borrow_mut().push(until);
        if self.fail.get() {
            return Err("Discord did not answer in time (gave up after 120 attempts)".to_owned());
        }
        self.edits.borrow_mut().push((application_id.to_owned(), token.to_owned(), message.clone()));
        Ok(())
    }

    async fn post_to_channel(&self, channel_id: &str, message: &Message) -> Result<(), String> {
        if self.no_bot_token.get() {
            return Err("no bot token is configured (`discord_bot_token`)".to_owned());
        }
        self.posts.borrow_mut().push((channel_id.to_owned(), message.clone()));
        Ok(())
    }

    async fn follow_up(&self, application_id: &str, token: &str, message: &Message) -> Result<(), String> {
        self.follow_ups.borrow_mut().push((application_id.to_owned(), token.to_owned(), message.clone()));
        Ok(())
    }

    async fn original_message_id(&self, _application_id: &str, _token: &str) -> Result<String, String> {
        Ok(self.original_id.borrow().clone().unwrap_or_else(|| ORIGINAL_ID.to_owned()))
    }

    async fn start_thread(&self, channel_id: &str, message: Option<&str>, name: &str) -> Result<String, String> {
        if self.no_bot_token.get() {
            return Err("no bot token is configured (`discord_bot_token`)".to_owned());
        }
        self.threads.borrow_mut().push((channel_id.to_owned(), message.map(str::to_owned), name.to_owned()));
        Ok(message.unwrap_or(THREAD_ID).to_owned())
    }
}

#[derive(Default)]
pub struct MemoryStore(pub RefCell<BTreeMap<String, Vec<u8>>>);

impl KeyValue for MemoryStore {
    fn get(&self, key: &str) -> Result<Option<Vec<u8>>, String> {
        Ok(self.0.borrow().get(key).cloned())
    }

    fn set(&self, key: &str, value: &[u8]) -> Result<(), String> {
        self.0.borrow_mut().insert(key.to_owned(), value.to_vec());
        Ok(())
    }

    fn delete(&self, key: &str) -> Result<(), String> {
        self.0.borrow_mut().remove(key);
        Ok(())
    }

    fn keys(&self) -> Result<Vec<String>, String> {
        Ok(self.0.borrow().keys().cloned().collect())
    }

    /// As Redis keeps counters: decimal text.
    fn increment(&self, key: &str, delta: i64) -> Result<i64, String> {
        let mut map = self.0.borrow_mut();
        let current = map.get(key).map_or(Ok(0), |v| {
            std::str::from_utf8(v).ok().and_then(|s| s.parse::<i64>().ok()).ok_or("not a counter")
        })?;
        map.insert(key.to_owned(), (current + delta).to_string().into_bytes());
        Ok(current + delta)
    }
}

pub struct Memory {
    pub argo: MemoryArgo,
    pub discord: MemoryDiscord,
    pub store: MemoryStore,
    pub now: Cell<u64>,
    pub audits: RefCell<Vec<serde_json::Value>>,
    pub logs: RefCell<Vec<String>>,
}

impl Default for Memory {
    fn default() -> Self {
        Self {
            argo: MemoryArgo {
                respond: RefCell::new(Box::new(|_| Err(ArgoError::Unreachable("no answer scripted".into())))),
                in_flight: RefCell::new(Ok(Vec::new())),
                requests: RefCell::default(),
                authorizations: RefCell::default(),
            },
            discord: MemoryDiscord::default(),
            store: MemoryStore::default(),
            now: Cell::new(1_800_000_000),
            audits: RefCell::default(),
            logs: RefCell::default(),
        }
    }
}

impl Memory {
    /// The `audit` field of each audit line, in order.
    pub fn audit_events(&self) -> Vec<String> {
        self.audits.borrow().iter().map(|a| a["audit"].as_str().unwrap_or_default().to_owned()).collect()
    }
}

impl Audit for Memory {
    fn audit(&self, line: String) {
        self.audits.borrow_mut().push(serde_json::from_str(&line).expect("audit lines are JSON"));
    }
}

impl Ports for Memory {
    fn argo(&self) -> &impl Argo {
        &self.argo
    }

    fn discord(&self) -> &impl Discord {
        &self.discord
    }

    fn store(&self) -> &impl KeyValue {
        &self.store
    }

    fn now(&self) -> u64 {
        self.now.get()
    }

    fn log(&self, line: String) {
        self.logs.borrow_mut().push(line);
    }

    /// The clock moves on; nothing waits.
    async fn pause(&self, duration: std::time::Duration) {
        self.now.set(self.now.get() + duration.as_secs());
    }
}

/// Argo settings for tests: a server that the in-memory Argo stands for, namespace `argo`.
pub fn argo_settings() -> crate::config::ArgoSettings {
    crate::config::ArgoSettings {
        server_url: "http://argo.test".into(),
        authorization: None,
        namespace: "argo".into(),
        ui_url: "https://argo.example".into(),
        service_account: None,
        timeout_secs: 10,
        identities: Default::default(),
    }
}

/// Runs a use case's future to completion (the in-memory ports never wait).
pub fn block_on<F: std::future::Future>(future: F) -> F::Output {
    use std::task::{Context, Poll, Waker};
    let mut future = std::pin::pin!(future);
    let mut cx = Context::from_waker(Waker::noop());
    loop {
        if let Poll::Ready(output) = future.as_mut().poll(&mut cx) {
            return output;
        }
    }
}
