//! The signed requests both sides get: PING, `/help` and distinct-id `/plan` bodies.

use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::time::Duration;

use bytes::Bytes;
use facteur_harness::support::{Signer, now};
use http_body_util::Full;
use serde_json::{Value, json};

use crate::load::WARM_UP;

/// The role the benchmark's member holds; the role map grants it `help` and `plan`.
pub const ROLE: &str = "150000000000000001";
/// Signed `/plan` bodies prepared per second of a round (more than either side can take).
pub const PLAN_BODIES_PER_SEC: usize = 7000;

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum Kind {
    Ping,
    Help,
    Plan,
}

impl Kind {
    pub fn label(self) -> &'static str {
        match self {
            Kind::Ping => "signed PING",
            Kind::Help => "signed `/help` (allowed member)",
            Kind::Plan => "signed `/plan` (deferred)",
        }
    }

    /// What every answer to this request contains (facteur's and the peer's JSON have no spaces).
    pub fn needle(self) -> &'static str {
        match self {
            Kind::Ping => "\"type\":1",
            Kind::Help => "\"type\":4",
            Kind::Plan => "\"type\":5",
        }
    }

    /// The interaction type of the expected answer.
    pub fn answer(self) -> u64 {
        match self {
            Kind::Ping => 1,
            Kind::Help => 4,
            Kind::Plan => 5,
        }
    }
}

pub fn interaction(id: u64, name: &str, options: Value) -> String {
    json!({
        "id": id.to_string(), "application_id": "1170000000000000000", "type": 2, "token": format!("token-{id}"),
        "version": 1, "guild_id": "1100000000000000000", "channel_id": "1110000000000000000", "locale": "en-US",
        "member": {"user": {"id": "1200000000000000000", "username": "bench", "global_name": "Bench"}, "roles": [ROLE]},
        "data": {"id": "1400000000000000000", "name": name, "type": 1, "options": options}
    })
    .to_string()
}

pub fn body(kind: Kind, id: u64) -> String {
    match kind {
        Kind::Ping => {
            json!({"id": id.to_string(), "application_id": "1170000000000000000", "type": 1, "version": 1}).to_string()
        }
        Kind::Help => interaction(id, "help", json!([])),
        Kind::Plan => interaction(id, "plan", json!([{"name": "objective", "type": 3, "value": format!("run {id}")}])),
    }
}

/// One request as sent: method, extra headers, body.
#[derive(Clone)]
pub struct Prepared {
    pub method: http::Method,
    pub headers: Vec<(&'static str, String)>,
    pub body: Bytes,
}

impl Prepared {
    pub fn signed(signer: &Signer, body: String) -> Self {
        let timestamp = now().to_string();
        let signature = signer.sign(&timestamp, body.as_bytes());
        Self {
            method: http::Method::POST,
            headers: vec![
                ("content-type", "application/json".to_owned()),
                ("x-signature-ed25519", signature),
                ("x-signature-timestamp", timestamp),
            ],
            body: Bytes::from(body),
        }
    }

    pub fn request(&self, host: &str) -> http::Request<Full<Bytes>> {
        let mut request =
            http::Request::builder().method(self.method.clone()).uri("/interactions").header("host", host);
        for (name, value) in &self.headers {
            request = request.header(*name, value);
        }
        request.body(Full::new(self.body.clone())).expect("a valid request")
    }
}

/// What the clients take requests from: one repeated request, or distinct ones until they run out.
pub struct Source {
    pub requests: Vec<Prepared>,
    pub repeat: bool,
    pub next: AtomicUsize,
    /// What an answer must contain to count (e.g. `"type":5`; facteur's gateway answers a
    /// component it cannot reach with a 200 ephemeral message, which is a failure here).
    pub answer: Option<&'static str>,
}

impl Source {
    pub fn take(&self) -> Option<&Prepared> {
        let i = self.next.fetch_add(1, Ordering::Relaxed);
        if self.repeat { self.requests.get(i % self.requests.len()) } else { self.requests.get(i) }
    }
}

/// The requests of one round, signed now.
pub fn source(kind: Kind, signer: &Signer, ids: &AtomicU64, duration: Duration) -> Source {
    if kind != Kind::Plan {
        let prepared = Prepared::signed(signer, body(kind, ids.fetch_add(1, Ordering::Relaxed)));
        return Source {
            requests: vec![prepared],
            repeat: true,
            next: AtomicUsize::new(0),
            answer: Some(kind.needle()),
        };
    }
    let count = PLAN_BODIES_PER_SEC * (duration + WARM_UP).as_secs_f64().ceil() as usize;
    let first = ids.fetch_add(count as u64, Ordering::Relaxed);
    let requests = std::thread::scope(|scope| {
        let halves: Vec<_> = [0, count / 2]
            .into_iter()
            .zip([count / 2, count])
            .map(|(from, to)| {
                scope.spawn(move || {
                    (from..to).map(|i| Prepared::signed(signer, body(Kind::Plan, first + i as u64))).collect::<Vec<_>>()
                })
            })
            .collect();
        halves.into_iter().flat_map(|h| h.join().expect("signing does not panic")).collect()
    });
    Source { requests, repeat: false, next: AtomicUsize::new(0), answer: Some(kind.needle()) }
}

/// One request, sent again and again.
pub fn repeat(prepared: Prepared) -> Source {
    Source { requests: vec![prepared], repeat: true, next: AtomicUsize::new(0), answer: None }
}
