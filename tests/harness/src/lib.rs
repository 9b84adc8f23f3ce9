//! Runs facteur's real `.wasm` components the way Spin does, for integration tests and
//! benchmarks: it reads the real `spin.toml`, builds the components with its build commands,
//! and hosts them in wasmtime with the Spin interfaces they import, so tests can see inside
//! (invocations, outbound calls, key-value, post-response work). `spin_up` runs the same app
//! under the real `spin` CLI, and the real-Spin suite checks that both give the same answers.
//!
//! Files follow the crates of Spin's own workspace:
//!
//! | file | job |
//! |---|---|
//! | `manifest` | `spin.toml`: the `facteur-manifest` crate, shared with the CLI |
//! | `app.rs` | loading (`spin up --build`): [`AppBuilder`], [`App`] |
//! | `engine.rs` | the wasmtime engine and linker, each `.wasm` compiled once |
//! | `host.rs` | an instance's store: Spin world bindings, WASI, wasi:http contexts |
//! | `variables.rs` | variable providers, templates, `fermyon:spin/variables` |
//! | `kv.rs` | key-value stores (memory or Redis), `fermyon:spin/key-value` |
//! | `outbound.rs` | `allowed_outbound_hosts`, outbound HTTP and chaining, outbound Redis |
//! | `routes.rs` | HTTP routing, Spin's own routes, `spin-*` request headers |
//! | `trigger_http.rs` | the HTTP trigger: in-process or on a port |
//! | `trigger_redis.rs` | the Redis trigger |
//! | `records.rs` | invocations, outbound calls, logs, running handlers |

pub mod app;
pub mod chaos;
mod engine;
pub mod host;
pub mod kv;
pub mod load;
pub mod outbound;
pub mod records;
pub mod routes;
pub mod scenarios;
pub mod spin_up;
pub mod support;
pub mod trigger_http;
pub mod trigger_redis;
pub mod variables;

pub use app::{App, AppBuilder};
/// `spin.toml` as Spin reads it (the `facteur-manifest` crate, which the CLI uses too).
pub use facteur_manifest as manifest;
/// The stand-ins for Argo and Discord (the `facteur-playground` crate), as the tests' fakes.
pub use facteur_playground as fakes;
pub use kv::KvBackend;
pub use records::{Invocation, LogLine, OutboundCall, Trigger};
pub use routes::ClientAddr;
pub use trigger_http::{Response, Server};
pub use trigger_redis::RedisTrigger;
