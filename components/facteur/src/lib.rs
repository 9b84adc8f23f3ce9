//! facteur's domain library.
//!
//! Everything here is plain Rust: it compiles natively (unit tests, benchmarks, the CLI)
//! and to `wasm32-wasip2`. The components under `components/` are thin adapters around it;
//! the `spin` feature adds the small module that talks to the Spin host.

pub mod argo;
pub mod audit;
pub mod catalog;
pub mod cloudevents;
pub mod config;
pub mod discord;
pub mod endpoint;
pub mod events;
pub mod policy;
pub mod replies;
pub mod routing;
pub mod session;
pub mod signature;

#[cfg(feature = "spin")]
pub mod spin;
