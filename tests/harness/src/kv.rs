//! Spin key-value stores as the harness serves them: in memory (what `spin up` gives with no
//! state directory), or on a real Redis server (what the cluster's runtime config gives).
//! Each app gets its own namespace, so tests sharing one Redis do not see each other's keys.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::{Arc, Mutex};

use anyhow::Result;
use redis::AsyncCommands;

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
