//! Integration tests: the real `.wasm` components, run by the harness.

mod common;
mod config;
mod gateway;
mod host;
mod kubernetes;
mod load;
mod migration;
mod operations;
mod real_spin;
mod size;
mod worker;
mod workflows;
