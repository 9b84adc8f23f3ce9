//! Runs facteur's real `.wasm` components the way Spin does, for integration tests and
//! benchmarks: it reads the real `spin.toml`, builds the components with its build commands,
//! and hosts them in wasmtime with the Spin interfaces they import, so tests can see inside
//! (invocations, outbound calls, key-value, post-response work). `spin_up` runs the same app
//! under the real `spin` CLI, and the real-Spin suite checks that both give the same answers.

pub mod app;
pub mod host;
pub mod kv;
pub mod load;
pub mod manifest;
pub mod outbound;
pub mod routes;
pub mod scenarios;
pub mod spin_up;
pub mod support;

pub use app::{App, AppBuilder, Invocation, LogLine, OutboundCall, RedisTrigger, Response, Server, Trigger};
/// The stand-ins for Argo and Discord (the `facteur-playground` crate), as the tests' fakes.
pub use facteur_playground as fakes;
pub use kv::KvBackend;
