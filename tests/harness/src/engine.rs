//! The wasmtime side of loading, shared by every app in the process as one `spin up` shares
//! it: one engine, one linker with WASI, wasi:http and the Spin interfaces, and each `.wasm`
//! compiled once.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::{LazyLock, Mutex, OnceLock};

use anyhow::{Context, Result, anyhow};
use wasmtime::Engine;
use wasmtime::component::{Component, InstancePre, Linker};

use crate::host::{SpinHost, State};

/// One engine for every app in the process, as one `spin up` has one.
pub fn engine() -> &'static Engine {
    static ENGINE: OnceLock<Engine> = OnceLock::new();
    ENGINE.get_or_init(|| Engine::new(&wasmtime::Config::new()).expect("a wasmtime engine"))
}

fn linker() -> &'static Linker<State> {
    static LINKER: OnceLock<Linker<State>> = OnceLock::new();
    LINKER.get_or_init(|| {
        let mut linker = Linker::new(engine());
        wasmtime_wasi::p2::add_to_linker_async(&mut linker).expect("WASI links");
        wasmtime_wasi_http::p2::add_only_http_to_linker_async(&mut linker).expect("wasi:http links");
        SpinHost::add_to_linker::<State, wasmtime::component::HasSelf<State>>(&mut linker, |state| state)
            .expect("Spin interfaces link");
        linker
    })
}

/// Compiles each `.wasm` once per process and links it. An import the harness does not
/// provide fails here, with its name.
pub(crate) fn instance_pre(source: &Path) -> Result<InstancePre<State>> {
    static COMPILED: LazyLock<Mutex<HashMap<PathBuf, Component>>> = LazyLock::new(Mutex::default);
    let component = {
        let mut compiled = COMPILED.lock().unwrap();
        match compiled.get(source) {
            Some(component) => component.clone(),
            None => {
                let component = Component::from_file(engine(), source)
                    .map_err(|e| anyhow!("{e:?}"))
                    .with_context(|| format!("compiling {}", source.display()))?;
                compiled.insert(source.to_path_buf(), component.clone());
                component
            }
        }
    };
    linker().instantiate_pre(&component).map_err(|e| anyhow!("{e:?}"))
}
