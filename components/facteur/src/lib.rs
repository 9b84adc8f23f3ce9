//! facteur's domain library.
//!
//! Everything here is plain Rust: it compiles natively (unit tests, benchmarks, the CLI)
//! and to `wasm32-wasip2`. The components under `components/` are a few lines of wiring
//! around it; the `spin` feature adds the adapter that talks to the Spin host.
//!
//! - Vocabulary: `discord` (interactions, responses), `argo` (requests, answers, errors),
//!   `catalog` (the commands), `history` (runs facteur remembers), `run_button` (custom ids),
//!   `events` and `cloudevents` (the Kafka path), `time`.
//! - Rules: `admission` (method, size, signature, JSON), `signature`, `policy` (the role map),
//!   `limits` (runs started per window), `identities` (who a workflow runs as, with whose Argo
//!   token), `routing`, `config` (Spin variables), `audit`, `replies` (what members read),
//!   `workflow_safety` (templates that would run parameters as code).
//! - Use cases over small ports (`ports`): `command` (admit, submit one workflow per
//!   interaction, tell the member), `approval` (commands a second member approves) and `runs`
//!   (`/workflow`, buttons, lifecycle events), answering through `answer`; `delivery` (where a
//!   reply goes, and what happens when it cannot get there) and `completion` (a finished run
//!   pings its requester alone).
//! - `spin` (feature): the ports on Spin, and reading and answering HTTP requests.

pub mod admission;
pub mod answer;
pub mod approval;
pub mod argo;
pub mod audit;
pub mod catalog;
pub mod cloudevents;
pub mod command;
pub mod completion;
pub mod config;
pub mod delivery;
pub mod discord;
pub mod events;
pub mod history;
pub mod identities;
pub mod limits;
pub mod policy;
pub mod ports;
pub mod replies;
pub mod routing;
pub mod run_button;
pub mod runs;
pub mod signature;
pub mod time;
pub mod workflow_safety;

#[cfg(feature = "spin")]
pub mod spin;
