//! The `default` key-value store (SQLite under `spin up`, Redis on the cluster).
//!
//! Two interfaces reach the same store: `fermyon:spin/key-value` for values, and
//! `wasi:keyvalue/atomics` (spin-sdk 5.2's `wit::wasi::keyvalue`, served by Spin 3.x and 4.x on
//! every backend: a transaction under SQLite, `INCRBY` on Redis) for counters. Each is opened
//! once per instance, at its first use.

use spin_sdk::key_value::Store;
use spin_sdk::wit::wasi::keyvalue::{atomics, store as wasi};

use crate::ports::KeyValue;

const LABEL: &str = "default";

/// A store that cannot be opened is an error of the call that needed it, and the next call
/// tries again.
#[derive(Default)]
pub struct SpinKeyValue {
    store: std::cell::OnceCell<Store>,
    bucket: std::cell::OnceCell<wasi::Bucket>,
}

impl SpinKeyValue {
    fn open(&self) -> Result<&Store, String> {
        if let Some(store) = self.store.get() {
            return Ok(store);
        }
        let store = Store::open_default().map_err(|e| format!("opening the key-value store: {e}"))?;
        Ok(self.store.get_or_init(|| store))
    }

    fn bucket(&self) -> Result<&wasi::Bucket, String> {
        if let Some(bucket) = self.bucket.get() {
            return Ok(bucket);
        }
        let bucket = wasi::open(LABEL).map_err(|e| format!("opening the key-value store for counters: {e:?}"))?;
        Ok(self.bucket.get_or_init(|| bucket))
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

    fn increment(&self, key: &str, delta: i64) -> Result<i64, String> {
        atomics::increment(self.bucket()?, key, delta).map_err(|e| format!("counting `{key}`: {e:?}"))
    }
}
