//! Runs facteur's real `.wasm` components the way Spin does, for integration tests and
//! benchmarks. The `spin` CLI cannot run on the build machines, so this is how the project
//! proves its components work: it reads the real `spin.toml`, builds the components with
//! its build commands, and hosts them in wasmtime with the Spin interfaces they import.

pub mod app;
pub mod fakes;
pub mod host;
pub mod kv;
pub mod load;
pub mod manifest;
pub mod outbound;
pub mod routes;
pub mod scenarios;
pub mod support;

pub use app::{App, AppBuilder, Invocation, LogLine, OutboundCall, RedisTrigger, Response, Server, Trigger};
pub use kv::KvBackend;
