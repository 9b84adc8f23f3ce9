//! Integration tests: the real `.wasm` components, run by the harness.

mod gateway;
mod host;
