//! Spin's Redis trigger: each `[[trigger.redis]]` subscribes its component to a channel on a
//! Redis server; messages are handled one at a time, each by a fresh instance of the
//! component's `fermyon:spin/inbound-redis` handler, and a failing handler is logged while the
//! trigger goes on. When the connection drops, the subscription ends.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;

use anyhow::{Context, Result};
use futures::StreamExt;
use wasmtime::Store;

use crate::app::{App, Shared};
use crate::engine::engine;
use crate::host::{SpinHost, State};
use crate::records::Trigger;

/// One component subscribed to one channel, templates resolved.
pub(crate) struct RedisSubscription {
    pub(crate) address: String,
    pub(crate) channel: String,
    pub(crate) component: String,
}

/// Running Redis subscriptions; they stop when dropped.
pub struct RedisTrigger {
    tasks: Vec<tokio::task::JoinHandle<()>>,
}

impl RedisTrigger {
    /// True once every subscription has ended (Spin exits when its Redis connection drops).
    pub fn is_finished(&self) -> bool {
        self.tasks.iter().all(|t| t.is_finished())
    }
}

impl Drop for RedisTrigger {
    fn drop(&mut self) {
        self.tasks.iter().for_each(|t| t.abort());
    }
}

impl App {
    /// Subscribes the Redis trigger's components to their channels, as `spin up` does at start.
    /// Returns once every subscription is confirmed by the server.
    pub async fn start_redis_trigger(&self) -> Result<RedisTrigger> {
        let mut by_address: BTreeMap<&str, BTreeSet<&str>> = BTreeMap::new();
        for s in &self.shared.subscriptions {
            by_address.entry(&s.address).or_default().insert(&s.channel);
        }
        let mut tasks = Vec::new();
        for (address, channels) in by_address {
            let client = redis::Client::open(address).with_context(|| format!("Redis address {address}"))?;
            let mut pubsub = client.get_async_pubsub().await.with_context(|| format!("connecting to {address}"))?;
            for channel in &channels {
                pubsub.subscribe(*channel).await?;
            }
            let shared = self.shared.clone();
            let address = address.to_owned();
            tasks.push(tokio::spawn(async move {
                let mut messages = pubsub.on_message();
                // One message at a time: the next is read when every handler of this one is done.
                while let Some(message) = messages.next().await {
                    let channel = message.get_channel_name().to_owned();
                    let payload = message.get_payload_bytes().to_vec();
                    let handlers = shared.subscriptions.iter().filter(|s| s.address == address && s.channel == channel);
                    futures::future::join_all(
                        handlers.map(|s| shared.clone().invoke_redis(&s.component, &channel, payload.clone())),
                    )
                    .await;
                }
                shared.log("redis-trigger", "host", &format!("disconnected from {address}"));
            }));
        }
        Ok(RedisTrigger { tasks })
    }
}

impl Shared {
    /// Runs `component`'s `fermyon:spin/inbound-redis` handler on one message, in a fresh
    /// instance. Errors are logged, as Spin logs them, and the trigger goes on.
    async fn invoke_redis(self: Arc<Self>, component: &str, channel: &str, payload: Vec<u8>) {
        let loaded = &self.components[component];
        let pre = loaded.redis.clone().expect("checked at load");
        self.record_invocation(component, Trigger::Redis, channel);
        let _guard = self.enter();
        let (state, output) = State::new(loaded.config.clone(), self.clone());
        let mut store = Store::new(engine(), state);
        let result = async {
            let instance: SpinHost = pre.instantiate_async(&mut store).await?;
            instance.fermyon_spin_inbound_redis().call_handle_message(&mut store, &payload).await
        }
        .await;
        drop(store);
        self.collect(component, output);
        match result {
            Ok(Ok(())) => {}
            Ok(Err(e)) => self.log(component, "host", &format!("handler failed: {e:?}")),
            Err(e) => self.log(component, "host", &format!("handler failed: {e:#}")),
        }
    }
}
