//! Transport faults, injected by every stand-in ([`crate::FakeServer`]) alike: what a slow or
//! flaky Argo or Discord does to a client. Deterministic, by the server's request count (the
//! n-th request, counted from 1), so that a run can be repeated and its counts predicted:
//!
//! - **late**: the request is handled (it takes effect) and answered after a delay beyond the
//!   client's deadline: the client cannot know whether it took effect;
//! - **dropped**: the request is handled, then the connection is closed without an answer;
//! - **unreachable**: the request is not handled, its connection is closed, and the server stops
//!   listening for a while (connections are refused), then listens again on the same port.
//!
//! When several apply to one request, unreachable wins over dropped, dropped over late.

use std::sync::Mutex;
use std::time::{Duration, Instant};

/// Which requests fail, and how. `None`: never.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Faults {
    /// Every n-th request is answered after this delay.
    pub late: Option<(u64, Duration)>,
    /// Every n-th request gets its connection closed instead of an answer.
    pub dropped: Option<u64>,
    /// Every n-th request makes the server unreachable for this long.
    pub unreachable: Option<(u64, Duration)>,
}

impl Faults {
    /// Parses `late=N:MS,dropped=N,unreachable=N:MS` (any subset; `facteur dev --faults`).
    pub fn parse(text: &str) -> Result<Self, String> {
        let mut faults = Self::default();
        for part in text.split(',').map(str::trim).filter(|p| !p.is_empty()) {
            let (kind, value) = part.split_once('=').ok_or_else(|| format!("`{part}`: expected kind=value"))?;
            let every =
                |n: &str| n.parse::<u64>().ok().filter(|n| *n > 0).ok_or_else(|| format!("`{part}`: N must be ≥ 1"));
            let timed = || -> Result<(u64, Duration), String> {
                let (n, ms) = value.split_once(':').ok_or_else(|| format!("`{part}`: expected N:MILLISECONDS"))?;
                let ms = ms.parse().map_err(|_| format!("`{part}`: milliseconds must be a number"))?;
                Ok((every(n)?, Duration::from_millis(ms)))
            };
            match kind {
                "late" => faults.late = Some(timed()?),
                "dropped" => faults.dropped = Some(every(value)?),
                "unreachable" => faults.unreachable = Some(timed()?),
                _ => return Err(format!("`{kind}`: faults are late, dropped and unreachable")),
            }
        }
        Ok(faults)
    }
}

/// What happens to one request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Fault {
    Late(Duration),
    Dropped,
    Unreachable(Duration),
}

/// The error that makes hyper close a connection without answering.
#[derive(Debug)]
pub struct Cut;

impl std::fmt::Display for Cut {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("connection cut by an injected fault")
    }
}

impl std::error::Error for Cut {}

/// How many requests got each fault.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Injected {
    pub late: u64,
    pub dropped: u64,
    pub unreachable: u64,
    /// Requests refused or cut off while the server was unreachable (connections refused by the
    /// closed port are not seen, so not counted).
    pub refused: u64,
}

/// A server's faults and its request count.
#[derive(Debug, Default)]
pub struct Injector {
    state: Mutex<State>,
}

#[derive(Debug, Default)]
struct State {
    faults: Faults,
    requests: u64,
    /// Unreachable until then.
    down_until: Option<Instant>,
    injected: Injected,
}

impl Injector {
    pub fn set(&self, faults: Faults) {
        let mut state = self.state.lock().unwrap();
        state.faults = faults;
    }

    pub fn injected(&self) -> Injected {
        self.state.lock().unwrap().injected
    }

    /// How much longer the server stays unreachable.
    pub fn down_for(&self) -> Duration {
        let until = self.state.lock().unwrap().down_until;
        until.map_or(Duration::ZERO, |until| until.saturating_duration_since(Instant::now()))
    }

    /// The fault of the next request, if any; counts it.
    pub fn next(&self) -> Option<Fault> {
        let mut state = self.state.lock().unwrap();
        if state.down_until.is_some_and(|until| Instant::now() < until) {
            state.injected.refused += 1;
            return Some(Fault::Unreachable(Duration::ZERO));
        }
        state.requests += 1;
        let n = state.requests;
        let hit = |every: u64| n.is_multiple_of(every);
        let faults = state.faults;
        let fault = if let Some((_, pause)) = faults.unreachable.filter(|(every, _)| hit(*every)) {
            state.down_until = Some(Instant::now() + pause);
            state.injected.unreachable += 1;
            Fault::Unreachable(pause)
        } else if faults.dropped.is_some_and(hit) {
            state.injected.dropped += 1;
            Fault::Dropped
        } else if let Some((_, delay)) = faults.late.filter(|(every, _)| hit(*every)) {
            state.injected.late += 1;
            Fault::Late(delay)
        } else {
            return None;
        };
        Some(fault)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn faults_fall_on_the_nth_requests() {
        let injector = Injector::default();
        injector.set(Faults::parse("late=2:5000, dropped=3").unwrap());
        let seen: Vec<Option<Fault>> = (0..6).map(|_| injector.next()).collect();
        let late = Some(Fault::Late(Duration::from_secs(5)));
        assert_eq!(seen, [None, late, Some(Fault::Dropped), late, None, Some(Fault::Dropped)]);
        assert_eq!(injector.injected(), Injected { late: 2, dropped: 2, ..Injected::default() });
    }

    #[test]
    fn an_unreachable_server_refuses_what_comes_meanwhile() {
        let injector = Injector::default();
        injector.set(Faults { unreachable: Some((1, Duration::from_secs(60))), ..Faults::default() });
        assert_eq!(injector.next(), Some(Fault::Unreachable(Duration::from_secs(60))));
        assert_eq!(injector.next(), Some(Fault::Unreachable(Duration::ZERO)));
        assert_eq!(injector.injected().refused, 1);
    }

    #[test]
    fn parse_refuses_what_it_does_not_know() {
        assert_eq!(Faults::parse("").unwrap(), Faults::default());
        assert!(Faults::parse("slow=3").unwrap_err().contains("late, dropped and unreachable"));
        assert!(Faults::parse("dropped=0").unwrap_err().contains("≥ 1"));
        assert!(Faults::parse("late=10").unwrap_err().contains("N:MILLISECONDS"));
    }

    #[tokio::test]
    async fn a_server_answers_late_drops_and_goes_away_as_told() {
        let server = crate::FakeServer::start(|_| crate::Reply::text(200, "ok")).await.unwrap();
        let pause = Duration::from_millis(300);
        server.inject(Faults {
            late: Some((2, Duration::from_millis(200))),
            dropped: Some(3),
            unreachable: Some((4, pause)),
        });
        let url = server.url("/");
        let timed = async || {
            let started = Instant::now();
            (crate::request("GET", &url, &[], "").await.map(|(status, _)| status).ok(), started.elapsed())
        };
        assert_eq!(timed().await.0, Some(200));
        let (status, took) = timed().await;
        assert!(status == Some(200) && took >= Duration::from_millis(200), "late: {took:?}");
        assert_eq!(timed().await.0, None, "dropped: no answer");
        assert_eq!(timed().await.0, None, "unreachable: cut…");
        assert_eq!(timed().await.0, None, "…and refused while it lasts");
        tokio::time::sleep(pause + Duration::from_millis(100)).await;
        assert_eq!(timed().await.0, Some(200), "listening again");
        assert_eq!(server.requests().len(), 4, "late and dropped requests took effect, cut ones did not");
        assert_eq!(server.injected(), Injected { late: 1, dropped: 1, unreachable: 1, refused: 0 });
    }
}
