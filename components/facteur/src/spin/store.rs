//! The `default` key-value store (SQLite under `spin up`, Redis on the cluster).

use spin_sdk::key_value::Store;

use crate::ports::KeyValue;

/// Opens the store on each call: a component instance serves one request, and a store that
/// cannot be opened is an error of that call, not of the component.
pub struct SpinKeyValue;

fn open() -> Result<Store, String> {
    Store::open_default().map_err(|e| format!("opening the key-value store: {e}"))
}

impl KeyValue for SpinKeyValue {
    fn get(&self, key: &str) -> Result<Option<Vec<u8>>, String> {
        open()?.get(key).map_err(|e| e.to_string())
    }

    fn set(&self, key: &str, value: &[u8]) -> Result<(), String> {
        open()?.set(key, value).map_err(|e| e.to_string())
    }

    fn delete(&self, key: &str) -> Result<(), String> {
        open()?.delete(key).map_err(|e| e.to_string())
    }

    fn keys(&self) -> Result<Vec<String>, String> {
        open()?.get_keys().map_err(|e| e.to_string())
    }
}
