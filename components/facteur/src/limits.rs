//! Limits on starting runs, as the catalog declares them (`workflow.limits`): rate limits (how
//! many runs a command may start per fixed window, counted per member, for everyone, and per
//! guild), here, and caps on runs in flight at once ([`in_flight`]).
//!
//! Each count is one atomic increment of a key-value counter (`wasi:keyvalue/atomics`, a
//! transaction under SQLite, `INCRBY` on Redis), so instances racing on the same window agree:
//! the run that takes a count past the limit is refused, and gives its count back, so exactly
//! `runs` pass per window however many arrive at once. A counter's key names the end of its
//! window (`limit:<end>:<command>:<scope>:<id>`); the run history's sweep deletes it after.
//!
//! A rate limit counts runs *started*; nothing is given back when a run ends. What is in flight
//! is Argo's to say, and [`in_flight`] asks it: facteur learns that a run ended only from
//! lifecycle events, which are at most once (Redis pub/sub) and never come for a run without an
//! exit handler, so a count given back on them could be held forever.
//!
//! Members holding a role listed under `unlimited` (every command) or `<command>:unlimited` in
//! the role map are exempt from both. A store (or Argo) that cannot count refuses the run (deny
//! by default).

use crate::catalog::{InFlight, Limits, Rate};
use crate::policy::{Caller, Policy};
use crate::ports::KeyValue;

pub mod in_flight;

/// The limits of a workflow command that declares none: 10 runs per member per minute, and 10
/// of the member's runs in flight at once.
pub const DEFAULT: Limits = Limits {
    member: Some(Rate { runs: 10, per_secs: 60 }),
    command: None,
    guild: None,
    in_flight: Some(InFlight { member: Some(10), command: None, guild: None }),
};

/// The role map key whose roles no limit applies to, for every command.
pub const EXEMPT_KEY: &str = "unlimited";

const PREFIX: &str = "limit:";

/// What a limit counts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Scope {
    /// The invoking member's runs of the command.
    Member,
    /// Everyone's runs of the command.
    Command,
    /// The runs of the command in one guild.
    Guild,
}

impl Scope {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Member => "member",
            Self::Command => "command",
            Self::Guild => "guild",
        }
    }
}

/// Why a run was not started: the limit it would exceed and when that limit's window ends.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Exceeded {
    pub limit: Scope,
    pub runs: u64,
    pub per_secs: u64,
    pub retry_at: u64,
}

/// A refusal: a limit reached, or counts that could not be taken.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Refusal {
    Exceeded(Exceeded),
    /// `cap` runs of `limit`'s scope are in flight already ([`in_flight`]).
    InFlight {
        limit: Scope,
        cap: u32,
    },
    /// Argo did not list the runs in flight.
    Uncounted(crate::argo::ArgoError),
    Unavailable(String),
}

impl Refusal {
    /// The ephemeral text the member reads: which limit, and when to try again (a Discord
    /// relative timestamp, shown in the member's locale as "in 42 seconds").
    pub fn message(&self, command: &str) -> String {
        match self {
            Self::Exceeded(e) => {
                let window = window_words(e.per_secs);
                let whose = match e.limit {
                    Scope::Member => "You have started",
                    Scope::Command => "Everyone together has started",
                    Scope::Guild => "This server has started",
                };
                format!(
                    "`/{command}`: {whose} the {} run{} allowed per {window}. Try again <t:{}:R>.",
                    e.runs,
                    if e.runs == 1 { "" } else { "s" },
                    e.retry_at
                )
            }
            Self::InFlight { limit, cap } => {
                let (whose, ask) = match limit {
                    Scope::Member => ("You have", " (`/workflow list` shows them)"),
                    Scope::Command => ("Everyone together has", ""),
                    Scope::Guild => ("This server has", ""),
                };
                let runs = if *cap == 1 { "run" } else { "runs" };
                format!(
                    "`/{command}`: {whose} {cap} {runs} in flight, the most allowed at once. Try again when one ends{ask}."
                )
            }
            // (A submit explains an uncounted run with Argo's reason and its namespace.)
            Self::Unavailable(_) | Self::Uncounted(_) => {
                format!("`/{command}`: facteur could not check its limits just now. Try again in a minute.")
            }
        }
    }

    /// The audit line's details.
    pub fn details(&self) -> serde_json::Value {
        match self {
            Self::Exceeded(e) => serde_json::json!({
                "limit": e.limit.as_str(), "runs": e.runs, "per_secs": e.per_secs, "retry_at": e.retry_at,
            }),
            Self::InFlight { limit, cap } => serde_json::json!({ "limit": limit.as_str(), "in_flight": cap }),
            Self::Unavailable(error) => serde_json::json!({ "error": error }),
            Self::Uncounted(error) => {
                serde_json::json!({ "error": format!("listing the runs in flight: {}", error.detail()) })
            }
        }
    }
}

/// "minute", "hour", "day", or "90 seconds".
fn window_words(secs: u64) -> String {
    match secs {
        60 => "minute".to_owned(),
        3600 => "hour".to_owned(),
        86_400 => "day".to_owned(),
        s if s % 86_400 == 0 => format!("{} days", s / 86_400),
        s if s % 3600 == 0 => format!("{} hours", s / 3600),
        s if s % 60 == 0 => format!("{} minutes", s / 60),
        s => format!("{s} seconds"),
    }
}

/// Whether `caller` holds a role exempt from `command`'s limits.
pub fn exempt(policy: &Policy, command: &str, caller: &Caller) -> bool {
    policy.grants(EXEMPT_KEY, caller) || policy.grants(&format!("{command}:{EXEMPT_KEY}"), caller)
}

/// The counter of `scope`'s `id` for the window of `rate` that contains `now`, and when that
/// window ends (windows are aligned on the Unix epoch, so every instance agrees on them).
pub fn counter(command: &str, scope: Scope, id: &str, rate: Rate, now: u64) -> (String, u64) {
    let end = now - now % rate.per_secs + rate.per_secs;
    (format!("{PREFIX}{end}:{command}:{}:{id}", scope.as_str()), end)
}

/// Whether `key` is a counter whose window ended by `now` (for the sweep).
pub fn expired(key: &str, now: u64) -> bool {
    key.strip_prefix(PREFIX)
        .and_then(|rest| rest.split(':').next())
        .and_then(|end| end.parse::<u64>().ok())
        .is_some_and(|end| end <= now)
}

/// Counts one run of `command` by `user_id` in `guild_id` against each of `limits`, or refuses it
/// with the first limit reached; a refused run gives back the counts it took.
pub fn take(
    store: &impl KeyValue,
    command: &str,
    limits: &Limits,
    user_id: Option<&str>,
    guild_id: Option<&str>,
    now: u64,
) -> Result<(), Refusal> {
    let scopes = [
        (Scope::Member, limits.member, user_id),
        (Scope::Command, limits.command, Some("all")),
        (Scope::Guild, limits.guild, guild_id),
    ];
    let mut taken: Vec<String> = Vec::new();
    let mut refusal = None;
    for (scope, rate, id) in scopes {
        let (Some(rate), Some(id)) = (rate, id) else { continue };
        let (key, end) = counter(command, scope, id, rate, now);
        match store.increment(&key, 1) {
            Ok(count) => {
                taken.push(key);
                if count > i64::try_from(rate.runs).unwrap_or(i64::MAX) {
                    let exceeded = Exceeded { limit: scope, runs: rate.runs, per_secs: rate.per_secs, retry_at: end };
                    refusal = Some(Refusal::Exceeded(exceeded));
                    break;
                }
            }
            Err(e) => {
                refusal = Some(Refusal::Unavailable(e));
                break;
            }
        }
    }
    let Some(refusal) = refusal else { return Ok(()) };
    // Given back so that exactly `runs` pass: a count past the limit would only refuse later
    // runs that the limit allows once some other count is given back.
    for key in taken {
        let _ = store.increment(&key, -1);
    }
    Err(refusal)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::policy::RoleMap;
    use crate::ports::memory::MemoryStore;

    const NOW: u64 = 1_800_000_030;
    const USER: Option<&str> = Some("1200000000000000000");
    const GUILD: Option<&str> = Some("1100000000000000000");

    fn rate(runs: u64, per_secs: u64) -> Option<Rate> {
        Some(Rate { runs, per_secs })
    }

    #[test]
    fn exactly_the_allowed_runs_pass_per_window() {
        let store = MemoryStore::default();
        let limits = Limits { member: rate(3, 60), ..Limits::default() };
        let passed = (0..10).filter(|_| take(&store, "plan", &limits, USER, GUILD, NOW).is_ok()).count();
        assert_eq!(passed, 3);
        let refusal = take(&store, "plan", &limits, USER, GUILD, NOW).unwrap_err();
        let expected = Exceeded { limit: Scope::Member, runs: 3, per_secs: 60, retry_at: 1_800_000_060 };
        assert_eq!(refusal, Refusal::Exceeded(expected));
        assert!(take(&store, "plan", &limits, Some("1200000000000000001"), GUILD, NOW).is_ok(), "another member");
        assert!(take(&store, "review", &limits, USER, GUILD, NOW).is_ok(), "another command");
        assert!(take(&store, "plan", &limits, USER, GUILD, 1_800_000_060).is_ok(), "the next window");
    }

    #[test]
    fn refused_runs_give_their_counts_back() {
        let store = MemoryStore::default();
        let limits = Limits { member: rate(5, 60), command: rate(2, 3600), ..Limits::default() };
        assert!(take(&store, "plan", &limits, USER, GUILD, NOW).is_ok());
        assert!(take(&store, "plan", &limits, USER, GUILD, NOW).is_ok());
        let refusal = take(&store, "plan", &limits, USER, GUILD, NOW).unwrap_err();
        assert!(matches!(refusal, Refusal::Exceeded(Exceeded { limit: Scope::Command, retry_at: 1_800_003_600, .. })));
        let (member, _) = counter("plan", Scope::Member, USER.unwrap(), rate(5, 60).unwrap(), NOW);
        let (command, _) = counter("plan", Scope::Command, "all", rate(2, 3600).unwrap(), NOW);
        assert_eq!(store.increment(&member, 0), Ok(2), "the member's count of the refused run was given back");
        assert_eq!(store.increment(&command, 0), Ok(2));
    }

    #[test]
    fn guild_limits_count_per_guild_and_skip_dms() {
        let store = MemoryStore::default();
        let limits = Limits { guild: rate(1, 60), ..Limits::default() };
        assert!(take(&store, "plan", &limits, USER, GUILD, NOW).is_ok());
        assert!(take(&store, "plan", &limits, Some("1200000000000000001"), GUILD, NOW).is_err(), "same guild");
        assert!(take(&store, "plan", &limits, USER, Some("1100000000000000001"), NOW).is_ok(), "another guild");
        assert!(take(&store, "plan", &limits, USER, None, NOW).is_ok(), "a DM is in no guild");
    }

    #[test]
    fn no_limits_count_nothing() {
        let store = MemoryStore::default();
        assert!((0..100).all(|_| take(&store, "plan", &Limits::default(), USER, GUILD, NOW).is_ok()));
        assert!(store.0.borrow().is_empty());
    }

    #[test]
    fn a_store_that_cannot_count_refuses() {
        let store = MemoryStore::default();
        let limits = Limits { member: rate(3, 60), ..Limits::default() };
        let (key, _) = counter("plan", Scope::Member, USER.unwrap(), rate(3, 60).unwrap(), NOW);
        store.0.borrow_mut().insert(key, b"not a number".to_vec());
        let refusal = take(&store, "plan", &limits, USER, GUILD, NOW).unwrap_err();
        assert!(matches!(refusal, Refusal::Unavailable(_)));
        assert!(refusal.message("plan").contains("could not check its limits"));
    }

    #[test]
    fn the_message_says_when_to_retry() {
        let e = |limit, runs, per_secs| Refusal::Exceeded(Exceeded { limit, runs, per_secs, retry_at: 1_800_000_060 });
        assert_eq!(
            e(Scope::Member, 3, 60).message("plan"),
            "`/plan`: You have started the 3 runs allowed per minute. Try again <t:1800000060:R>."
        );
        assert!(
            e(Scope::Command, 1, 7200)
                .message("plan")
                .contains("Everyone together has started the 1 run allowed per 2 hours")
        );
        assert!(
            e(Scope::Guild, 5, 90)
                .message("plan")
                .contains("This server has started the 5 runs allowed per 90 seconds")
        );
    }

    #[test]
    fn counters_expire_with_their_window() {
        let (key, end) = counter("plan", Scope::Member, "1", Rate { runs: 1, per_secs: 3600 }, NOW);
        assert_eq!(end, 1_800_003_600);
        assert!(!expired(&key, end - 1) && expired(&key, end));
        assert!(!expired("run:argo:plan-1", u64::MAX), "not a counter");
    }

    #[test]
    fn roles_listed_as_unlimited_are_exempt() {
        let (ops, dev) = ("130000000000000001".to_owned(), "130000000000000002".to_owned());
        let policy = Policy {
            role_map: RoleMap::parse(&format!(r#"{{"unlimited": ["{ops}"], "review:unlimited": ["{dev}"]}}"#)).unwrap(),
            ..Policy::default()
        };
        let caller = |roles: &'static [String]| Caller { guild_id: GUILD, channel_id: None, roles: Some(roles) };
        let ops: &'static [String] = Box::leak(Box::new([ops]));
        let dev: &'static [String] = Box::leak(Box::new([dev]));
        assert!(exempt(&policy, "plan", &caller(ops)) && exempt(&policy, "review", &caller(ops)));
        assert!(exempt(&policy, "review", &caller(dev)) && !exempt(&policy, "plan", &caller(dev)));
        let dm = Caller { guild_id: None, channel_id: None, roles: None };
        assert!(!exempt(&policy, "plan", &dm));
    }
}
