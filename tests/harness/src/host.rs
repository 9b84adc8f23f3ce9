//! What one component instance sees of the host: the bindings of the Spin world
//! (`wit/`), and the data of an instance's store with its WASI context (captured
//! stdout/stderr, the component's environment) and wasi:http context. The Spin interfaces are
//! implemented next to what they serve: `variables.rs`, `kv.rs`, `outbound.rs` (HTTP and
//! Redis).

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;

use wasmtime::component::{Resource, ResourceTable};
use wasmtime_wasi::p2::pipe::MemoryOutputPipe;
use wasmtime_wasi::{WasiCtx, WasiCtxView, WasiView};
use wasmtime_wasi_http::{WasiHttpCtx, WasiHttpCtxView, WasiHttpView};

use crate::app::Shared;
use crate::outbound::{AllowedHosts, Hooks};

wasmtime::component::bindgen!({
    path: "../../wit",
    world: "facteur:harness/spin-host",
    imports: { default: async },
    exports: { default: async },
});

pub use fermyon::spin::redis_types;

/// Captured output of one instance, kept to 1 MiB per stream.
const PIPE_CAPACITY: usize = 1 << 20;

/// A component as loaded for an app: its Spin-visible configuration.
pub struct ComponentConfig {
    pub id: String,
    pub variables: BTreeMap<String, String>,
    pub allowed_hosts: AllowedHosts,
    pub key_value_stores: BTreeSet<String>,
    pub environment: Vec<(String, String)>,
}

/// The data of one instance's `Store`.
pub struct State {
    pub(crate) table: ResourceTable,
    wasi: WasiCtx,
    http: WasiHttpCtx,
    hooks: Hooks,
    pub(crate) config: Arc<ComponentConfig>,
    pub(crate) app: Arc<Shared>,
}

/// stdout and stderr of an instance, read after it finishes.
pub struct Output {
    pub stdout: MemoryOutputPipe,
    pub stderr: MemoryOutputPipe,
}

impl State {
    pub(crate) fn new(config: Arc<ComponentConfig>, app: Arc<Shared>) -> (Self, Output) {
        let output =
            Output { stdout: MemoryOutputPipe::new(PIPE_CAPACITY), stderr: MemoryOutputPipe::new(PIPE_CAPACITY) };
        let mut wasi = WasiCtx::builder();
        wasi.stdout(output.stdout.clone()).stderr(output.stderr.clone());
        for (k, v) in &config.environment {
            wasi.env(k, v);
        }
        let state = Self {
            table: ResourceTable::new(),
            wasi: wasi.build(),
            http: WasiHttpCtx::new(),
            hooks: Hooks { config: config.clone(), app: app.clone() },
            config,
            app,
        };
        (state, output)
    }
}

impl WasiView for State {
    fn ctx(&mut self) -> WasiCtxView<'_> {
        WasiCtxView { ctx: &mut self.wasi, table: &mut self.table }
    }
}

impl WasiHttpView for State {
    fn http(&mut self) -> WasiHttpCtxView<'_> {
        WasiHttpCtxView { ctx: &mut self.http, table: &mut self.table, hooks: &mut self.hooks }
    }
}

// Spin resources are stored in the table under our own types and handed to the guest
// under the generated handle types.
pub(crate) fn own<T: Send + 'static, U: 'static>(table: &mut ResourceTable, value: T) -> wasmtime::Result<Resource<U>> {
    Ok(Resource::new_own(table.push(value)?.rep()))
}

pub(crate) fn borrow<T: 'static, U: 'static>(resource: &Resource<U>) -> Resource<T> {
    Resource::new_borrow(resource.rep())
}
