//! Spin key-value stores as the harness serves them: in memory (what `spin up` gives with no
//! state directory), or on a real Redis server (what the cluster's runtime config gives).
//! Each app gets its own namespace, so tests sharing one Redis do not see each other's keys.
//! A component opens only the stores its `key_value_stores` lists (`fermyon:spin/key-value`).

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
