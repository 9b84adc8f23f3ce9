//! `worker`: a Redis trigger on one of the channels the bridges publish to. One `.wasm`, two
//! entries in spin.toml told apart by the component variable `accepts` (Spin's Redis trigger
//! does not say which channel a message came from):
//!
//! - `worker` (`accepts = "commands"`, channel `events_channel`): a `facteur.v1.CommandEvent`
//!   (protobuf or JSON) runs through the same use case as a slash command (`facteur::command`),
//!   with the event's member roles, once its ids are snowflakes, its options map onto the
//!   command's (the catalog's `kafka` source) and it is younger than `event_max_age_secs`; the
//!   reply edits the interaction's message while its token is valid, else goes to the channel
//!   (bot token).
//! - `lifecycle-worker` (`accepts = "lifecycle"`, channel `lifecycle_channel`): a workflow
//!   lifecycle event updates the run's message the same way, once per phase
//!   (`facteur::runs::announce`). It has no Argo token and cannot start anything.
//!
//! Each refuses the other kind. What is refused (undecodable, the other kind, bad ids, options
//! that do not map, stale; and for commands the role map's and the options' refusals, which
//! the member is told about too) is logged with the reason and written to the Redis stream
//! `dead_letter_key` (`facteur::events::DeadLetter`, never a token); the next message is handled.

use facteur::audit::Level;
use facteur::catalog::Catalog;
use facteur::command::{self, CommandSettings};
use facteur::config::{ArgoSettings, ConfigError};
use facteur::events::{self, DeadLetter, Event, Kind};
use facteur::runs;
use facteur::spin::{SpinPorts, log, variables};
use spin_sdk::redis::{Connection, RedisParameter};
use spin_sdk::redis_component;

/// Entries the dead-letter stream keeps (`XADD … MAXLEN ~`): the latest refusals, bounded.
const DEAD_LETTERS_KEPT: &str = "1000";

#[redis_component]
async fn on_message(payload: Vec<u8>) -> Result<(), String> {
    let vars = variables();
    let configured = (|| {
        let kind = vars.accepts()?;
        let max_age = match kind {
            Kind::Command => vars.event_max_age_secs()?,
            Kind::Lifecycle => 0,
        };
        Ok::<_, ConfigError>((kind, max_age, vars.argo()?, vars.discord()?, vars.dead_letters()?))
    })();
    let (kind, max_age, argo, discord, dead_letters) =
        configured.map_err(|e| format!("worker: configuration error: {e}"))?;
    let component = match kind {
        Kind::Command => "worker",
        Kind::Lifecycle => "lifecycle-worker",
    };
    let ports = SpinPorts::new(component, argo.clone(), discord);
    let catalog = Catalog::embedded();
    let (outcome, refused) = match events::accept(&ports, &catalog, kind, &payload, max_age) {
        Ok(Event::Command(event)) => {
            facteur::spin::about_event(&event);
            let catalog = Catalog::embedded();
            let settings = (|| {
                Ok::<_, ConfigError>(CommandSettings {
                    policy: vars.policy()?,
                    // The worker runs every workflow command: it maps every token variable.
                    argo: ArgoSettings { identities: vars.identities(&catalog.commands)?, ..argo },
                    history_ttl: vars.run_history_ttl_secs()?,
                    trace: event.trace(),
                })
            })()
            .map_err(|e| format!("{component}: configuration error: {e}"))?;
            let done = command::run_event(&ports, &settings, &catalog, &event).await;
            let refused = done.refused.map(|reason| DeadLetter::command(&event, reason));
            (command::deliver(&ports, &done.to, &done.message).await, refused)
        }
        Ok(Event::Lifecycle(event)) => (runs::announce(&ports, &argo.ui_url, &event).await, None),
        Err(refused) => (Ok(()), Some(refused)),
    };
    if let (Some(letter), Some((url, key))) = (refused, dead_letters) {
        keep(&url, &key, &letter).map_err(|e| format!("{component}: {e}"))?;
    }
    outcome.map_err(|e| format!("{component}: {e}"))
}

/// Appends `letter` to the stream `key`, trimmed to about [`DEAD_LETTERS_KEPT`] entries.
fn keep(url: &str, key: &str, letter: &DeadLetter) -> Result<(), String> {
    let text = |s: &str| RedisParameter::Binary(s.as_bytes().to_vec());
    let mut arguments = vec![text(key), text("MAXLEN"), text("~"), text(DEAD_LETTERS_KEPT), text("*")];
    for (field, value) in letter.fields() {
        arguments.extend([text(field), text(&value)]);
    }
    let written = Connection::open(url).and_then(|redis| redis.execute("XADD", &arguments));
    written.map(drop).map_err(|e| {
        let text = format!("could not write a dead letter to `{key}`: {e}; its reason: {}", letter.reason);
        log(Level::Error, "dead_letter_failed", &text);
        text
    })
}
