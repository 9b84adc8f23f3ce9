//! The `default` key-value store (SQLite under `spin up`, Redis on the cluster).

use spin_sdk::key_value::Store;

use crate::ports::KeyValue;

/// Opens the store at its first use and keeps it for the instance (one request): a write of
/// the run history is several calls. A store that cannot be opened is an error of the call that
/// needed it, and the next call tries again.
#[derive(Default)]
pub struct SpinKeyValue(std::cell::OnceCell<Store>);

impl SpinKeyValue {
    fn open(&self) -> Result<&Store, String> {
        if let Some(store) = self.0.get() {
            return Ok(store);
        }
        let store = Store::open_default().map_err(|e| format!("opening the key-value store: {e}"))?;
        Ok(self.0.get_or_init(|| store))
    }
}

impl KeyValue for SpinKeyValue {
    fn get(&self, key: &str) -> Result<Option<Vec<u8>>, String> {
        self.open()?.get(key).map_err(|e| e.to_string())
    }

    fn set(&self, key: &str, value: &[u8]) -> Result<(), String> {
        self.open()?.set(key, value).map_err(|e| e.to_string())
    }

    fn delete(&self, key: &str) -> Result<(), String> {
        self.open()?.delete(key).map_err(|e| e.to_string())
    }

    fn keys(&self) -> Result<Vec<String>, String> {
        self.open()?.get_keys().map_err(|e| e.to_string())
    }
}
