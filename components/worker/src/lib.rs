//! `worker`: a Redis trigger on one of the channels the bridges publish to. One `.wasm`, two
//! entries in spin.toml told apart by the component variable `accepts` (Spin's Redis trigger
//! does not say which channel a message came from):
//!
//! - `worker` (`accepts = "commands"`, channel `events_channel`): a `facteur.v1.CommandEvent`
//!   (protobuf or JSON) runs through the same use case as a slash command (`facteur::command`),
//!   with the event's member roles, once its ids are snowflakes and it is younger than
//!   `event_max_age_secs`; the reply edits the interaction's message while its token is valid,
//!   else goes to the channel (bot token).
//! - `lifecycle-worker` (`accepts = "lifecycle"`, channel `lifecycle_channel`): a workflow
//!   lifecycle event updates the run's message the same way, once per phase
//!   (`facteur::runs::announce`). It has no Argo token and cannot start anything.
//!
//! Each refuses the other kind. What is refused or undecodable is logged with the reason and
//! dropped (`facteur::events::accept`); the next message is handled.

use facteur::catalog::Catalog;
use facteur::command::{self, CommandSettings};
use facteur::config::ConfigError;
use facteur::events::{self, Event, Kind};
use facteur::runs;
use facteur::spin::{SpinPorts, variables};
use spin_sdk::redis_component;

#[redis_component]
async fn on_message(payload: Vec<u8>) -> Result<(), String> {
    let vars = variables();
    let configured = (|| {
        let kind = vars.accepts()?;
        let max_age = match kind {
            Kind::Command => vars.event_max_age_secs()?,
            Kind::Lifecycle => 0,
        };
        Ok::<_, ConfigError>((kind, max_age, vars.argo()?, vars.discord()?))
    })();
    let (kind, max_age, argo, discord) = configured.map_err(|e| format!("worker: configuration error: {e}"))?;
    let component = match kind {
        Kind::Command => "worker",
        Kind::Lifecycle => "lifecycle-worker",
    };
    let ports = SpinPorts::new(component, argo.clone(), discord);
    let outcome = match events::accept(&ports, kind, &payload, max_age) {
        Some(Event::Command(event)) => {
            facteur::spin::about_event(&event);
            let settings = (|| {
                Ok::<_, ConfigError>(CommandSettings {
                    policy: vars.policy()?,
                    argo,
                    history_ttl: vars.run_history_ttl_secs()?,
                    trace: event.trace(),
                })
            })()
            .map_err(|e| format!("{component}: configuration error: {e}"))?;
            let (message, to) = command::run_event(&ports, &settings, &Catalog::embedded(), &event).await;
            command::deliver(&ports, &to, &message).await
        }
        Some(Event::Lifecycle(event)) => runs::announce(&ports, &argo.ui_url, &event).await,
        None => Ok(()),
    };
    outcome.map_err(|e| format!("{component}: {e}"))
}
