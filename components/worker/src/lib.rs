//! `worker`: the Redis trigger on the channel the bridge publishes Kafka records to.
//!
//! - A `facteur.v1.CommandEvent` (protobuf or JSON) runs through the same use case as a slash
//!   command (`facteur::command`), with the event's member roles; the reply edits the
//!   interaction's message while its token is valid, else goes to the channel (bot token).
//! - A workflow lifecycle event updates the run's message the same way, once per phase
//!   (`facteur::runs::announce`).
//! - Anything undecodable is logged with the reason and dropped; the next message is handled.

use facteur::catalog::Catalog;
use facteur::command::{self, CommandSettings};
use facteur::config::ConfigError;
use facteur::events::{self, Event};
use facteur::ports::Ports;
use facteur::runs;
use facteur::spin::{SpinPorts, variables};
use spin_sdk::redis_component;

#[redis_component]
async fn on_message(payload: Vec<u8>) -> Result<(), String> {
    let vars = variables();
    let (settings, discord) = (|| {
        let settings =
            CommandSettings { policy: vars.policy()?, argo: vars.argo()?, history_ttl: vars.run_history_ttl_secs()? };
        Ok::<_, ConfigError>((settings, vars.discord()?))
    })()
    .map_err(|e| format!("worker: configuration error: {e}"))?;
    let ports = SpinPorts::new("worker", settings.argo.clone(), discord);
    let outcome = match events::decode(&payload) {
        Ok(Event::Command(event)) => {
            let (message, to) = command::run_event(&ports, &settings, &Catalog::embedded(), &event).await;
            command::deliver(&ports, &to, &message).await
        }
        Ok(Event::Lifecycle(event)) => runs::announce(&ports, &settings.argo.ui_url, &event).await,
        Err(reason) => {
            ports.log(format!("dropped a message of {} bytes: {reason}", payload.len()));
            Ok(())
        }
    };
    outcome.map_err(|e| format!("worker: {e}"))
}
