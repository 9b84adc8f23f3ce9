//! Integration tests: the real `.wasm` components, run by the harness.

mod config;
mod gateway;
mod host;
mod workflows;
