//! Spin key-value stores as the harness serves them: in memory (what `spin up` gives with no
//! state directory), or on a real Redis server (what the cluster's runtime config gives).
//! Each app gets its own namespace, so tests sharing one Redis do not see each other's keys.
//! A component opens only the stores its `key_value_stores` lists, through `fermyon:spin/key-value`
//! or `wasi:keyvalue` (whose `atomics.increment` counts rate limits; compare-and-swap, which facteur
//! does not use, answers an error).

use std::collections::{BTreeMap, BTreeSet};
use std::sync::{Arc, Mutex};

use anyhow::Result;
use redis::AsyncCommands;
use wasmtime::component::Resource;

use crate::host::fermyon::spin2_0_0::key_value;
use crate::host::{State, borrow, own};

/// Which backend serves the stores of an app.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum KvBackend {
    Memory,
    /// A Redis URL such as `redis://127.0.0.1:6379`.
    Redis(String),
}

pub struct KvStore {
    labels: BTreeSet<String>,
    backend: Backend,
}

enum Backend {
    Memory(Mutex<BTreeMap<(String, String), Vec<u8>>>),
    Redis { conn: redis::aio::MultiplexedConnection, prefix: String },
}

impl KvStore {
    /// `labels` are the stores the runtime config provides (`default` always exists).
    pub async fn open(backend: &KvBackend, labels: BTreeSet<String>, namespace: &str) -> Result<Arc<Self>> {
        let backend = match backend {
            KvBackend::Memory => Backend::Memory(Mutex::default()),
            KvBackend::Redis(url) => Backend::Redis {
                conn: redis::Client::open(url.as_str())?.get_multiplexed_async_connection().await?,
                prefix: format!("facteur-harness:{namespace}:"),
            },
        };
        Ok(Arc::new(Self { labels, backend }))
    }

    pub fn has_store(&self, label: &str) -> bool {
        self.labels.contains(label)
    }

    pub async fn get(&self, label: &str, key: &str) -> Result<Option<Vec<u8>>> {
        match &self.backend {
            Backend::Memory(map) => Ok(map.lock().unwrap().get(&(label.to_owned(), key.to_owned())).cloned()),
            Backend::Redis { conn, prefix } => Ok(conn.clone().get(format!("{prefix}{label}:{key}")).await?),
        }
    }

    pub async fn set(&self, label: &str, key: &str, value: Vec<u8>) -> Result<()> {
        match &self.backend {
            Backend::Memory(map) => {
                map.lock().unwrap().insert((label.to_owned(), key.to_owned()), value);
                Ok(())
            }
            Backend::Redis { conn, prefix } => Ok(conn.clone().set(format!("{prefix}{label}:{key}"), value).await?),
        }
    }

    pub async fn delete(&self, label: &str, key: &str) -> Result<()> {
        match &self.backend {
            Backend::Memory(map) => {
                map.lock().unwrap().remove(&(label.to_owned(), key.to_owned()));
                Ok(())
            }
            Backend::Redis { conn, prefix } => Ok(conn.clone().del(format!("{prefix}{label}:{key}")).await?),
        }
    }

    /// Adds `delta` to the counter at `key` (absent: 0) atomically, as Spin's `increment` does:
    /// under a lock in memory, `INCRBY` on Redis (both keep decimal text).
    pub async fn increment(&self, label: &str, key: &str, delta: i64) -> Result<i64> {
        match &self.backend {
            Backend::Memory(map) => {
                let mut map = map.lock().unwrap();
                let entry = map.entry((label.to_owned(), key.to_owned())).or_insert_with(|| b"0".to_vec());
                let value = std::str::from_utf8(entry)?.parse::<i64>()? + delta;
                *entry = value.to_string().into_bytes();
                Ok(value)
            }
            Backend::Redis { conn, prefix } => Ok(conn.clone().incr(format!("{prefix}{label}:{key}"), delta).await?),
        }
    }

    pub async fn keys(&self, label: &str) -> Result<Vec<String>> {
        match &self.backend {
            Backend::Memory(map) => {
                Ok(map.lock().unwrap().keys().filter(|(l, _)| l == label).map(|(_, k)| k.clone()).collect())
            }
            Backend::Redis { conn, prefix } => {
                let scope = format!("{prefix}{label}:");
                let keys: Vec<String> = conn.clone().keys(format!("{scope}*")).await?;
                Ok(keys.into_iter().filter_map(|k| k.strip_prefix(&scope).map(str::to_owned)).collect())
            }
        }
    }
}

/// An open key-value store: its label, checked against `key_value_stores` at open.
pub struct OpenStore(String);

impl key_value::Host for State {}

impl key_value::HostStore for State {
    async fn open(&mut self, label: String) -> Result<Resource<key_value::Store>, key_value::Error> {
        if !self.config.key_value_stores.contains(&label) {
            return Err(key_value::Error::AccessDenied);
        }
        if !self.app.kv.has_store(&label) {
            return Err(key_value::Error::NoSuchStore);
        }
        own(&mut self.table, OpenStore(label)).map_err(|e| key_value::Error::Other(e.to_string()))
    }

    async fn get(
        &mut self,
        store: Resource<key_value::Store>,
        key: String,
    ) -> Result<Option<Vec<u8>>, key_value::Error> {
        let label = self.label(&store)?;
        self.app.kv.get(&label, &key).await.map_err(kv_error)
    }

    async fn set(
        &mut self,
        store: Resource<key_value::Store>,
        key: String,
        value: Vec<u8>,
    ) -> Result<(), key_value::Error> {
        let label = self.label(&store)?;
        self.app.kv.set(&label, &key, value).await.map_err(kv_error)
    }

    async fn delete(&mut self, store: Resource<key_value::Store>, key: String) -> Result<(), key_value::Error> {
        let label = self.label(&store)?;
        self.app.kv.delete(&label, &key).await.map_err(kv_error)
    }

    async fn exists(&mut self, store: Resource<key_value::Store>, key: String) -> Result<bool, key_value::Error> {
        let label = self.label(&store)?;
        Ok(self.app.kv.get(&label, &key).await.map_err(kv_error)?.is_some())
    }

    async fn get_keys(&mut self, store: Resource<key_value::Store>) -> Result<Vec<String>, key_value::Error> {
        let label = self.label(&store)?;
        self.app.kv.keys(&label).await.map_err(kv_error)
    }

    async fn drop(&mut self, store: Resource<key_value::Store>) -> wasmtime::Result<()> {
        self.table.delete(Resource::<OpenStore>::new_own(store.rep()))?;
        Ok(())
    }
}

impl State {
    fn label(&self, store: &Resource<key_value::Store>) -> Result<String, key_value::Error> {
        self.table
            .get(&borrow::<OpenStore, _>(store))
            .map(|s| s.0.clone())
            .map_err(|e| key_value::Error::Other(e.to_string()))
    }
}

fn kv_error(e: anyhow::Error) -> key_value::Error {
    key_value::Error::Other(format!("{e:#}"))
}

/// `wasi:keyvalue`: the same stores, opened as buckets.
mod wasi_kv {
    use wasmtime::component::Resource;

    use super::{OpenStore, State};
    use crate::host::wasi::keyvalue::{atomics, store};
    use crate::host::{borrow, own};

    fn error(e: impl std::fmt::Display) -> store::Error {
        store::Error::Other(e.to_string())
    }

    impl State {
        fn bucket_label(&self, bucket: &Resource<store::Bucket>) -> Result<String, store::Error> {
            self.table.get(&borrow::<OpenStore, _>(bucket)).map(|s| s.0.clone()).map_err(error)
        }
    }

    impl store::Host for State {
        async fn open(&mut self, identifier: String) -> Result<Resource<store::Bucket>, store::Error> {
            if !self.config.key_value_stores.contains(&identifier) {
                return Err(store::Error::AccessDenied);
            }
            if !self.app.kv.has_store(&identifier) {
                return Err(store::Error::NoSuchStore);
            }
            own(&mut self.table, OpenStore(identifier)).map_err(error)
        }
    }

    impl store::HostBucket for State {
        async fn get(&mut self, bucket: Resource<store::Bucket>, key: String) -> Result<Option<Vec<u8>>, store::Error> {
            let label = self.bucket_label(&bucket)?;
            self.app.kv.get(&label, &key).await.map_err(error)
        }

        async fn set(
            &mut self,
            bucket: Resource<store::Bucket>,
            key: String,
            value: Vec<u8>,
        ) -> Result<(), store::Error> {
            let label = self.bucket_label(&bucket)?;
            self.app.kv.set(&label, &key, value).await.map_err(error)
        }

        async fn delete(&mut self, bucket: Resource<store::Bucket>, key: String) -> Result<(), store::Error> {
            let label = self.bucket_label(&bucket)?;
            self.app.kv.delete(&label, &key).await.map_err(error)
        }

        async fn exists(&mut self, bucket: Resource<store::Bucket>, key: String) -> Result<bool, store::Error> {
            let label = self.bucket_label(&bucket)?;
            Ok(self.app.kv.get(&label, &key).await.map_err(error)?.is_some())
        }

        async fn list_keys(
            &mut self,
            bucket: Resource<store::Bucket>,
            cursor: Option<String>,
        ) -> Result<store::KeyResponse, store::Error> {
            if cursor.is_some() {
                return Err(store::Error::Other("list_keys: cursor not supported".to_owned()));
            }
            let label = self.bucket_label(&bucket)?;
            Ok(store::KeyResponse { keys: self.app.kv.keys(&label).await.map_err(error)?, cursor: None })
        }

        async fn drop(&mut self, bucket: Resource<store::Bucket>) -> wasmtime::Result<()> {
            self.table.delete(Resource::<OpenStore>::new_own(bucket.rep()))?;
            Ok(())
        }
    }

    impl atomics::Host for State {
        async fn increment(
            &mut self,
            bucket: Resource<atomics::Bucket>,
            key: String,
            delta: i64,
        ) -> Result<i64, store::Error> {
            let label = self.bucket_label(&bucket)?;
            self.app.kv.increment(&label, &key, delta).await.map_err(error)
        }

        async fn swap(&mut self, cas: Resource<atomics::Cas>, _value: Vec<u8>) -> Result<(), atomics::CasError> {
            self.table.delete(Resource::<()>::new_own(cas.rep())).ok();
            Err(atomics::CasError::StoreError(store::Error::Other("compare-and-swap is not served".to_owned())))
        }
    }

    impl atomics::HostCas for State {
        async fn new(
            &mut self,
            _bucket: Resource<atomics::Bucket>,
            _key: String,
        ) -> Result<Resource<atomics::Cas>, store::Error> {
            Err(store::Error::Other("compare-and-swap is not served".to_owned()))
        }

        async fn current(&mut self, _cas: Resource<atomics::Cas>) -> Result<Option<Vec<u8>>, store::Error> {
            Err(store::Error::Other("compare-and-swap is not served".to_owned()))
        }

        async fn drop(&mut self, _cas: Resource<atomics::Cas>) -> wasmtime::Result<()> {
            Ok(())
        }
    }
}
