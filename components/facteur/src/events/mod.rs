//! Messages on the workers' Redis channels, bridged from Kafka:
//! - `facteur.v1.CommandEvent` (`proto/facteur/v1/contract.proto`), as protobuf or its JSON
//!   form: a slash command that an existing pipeline published instead of POSTing it to us;
//! - workflow lifecycle events (JSON, `schemas/facteur-workflow-lifecycle.schema.json`): a
//!   run changed phase.
//!
//! The two kinds travel apart ([`Kind`]): their own bridge route, secret and Redis channel, and
//! each bridge and worker refuses the other kind, so a sender trusted to report a run's phase
//! (a workflow pod) cannot start a command. A CommandEvent is used only once its ids are
//! snowflakes, its options map onto the command's (the catalog's `kafka` source) and it is
//! younger than the configured age ([`CommandEvent::screen`]).
//!
//! - [`decode`]: bytes → an event (`decode.rs`);
//! - [`CommandEvent::screen`]: ids, options, age (`screen.rs`);
//! - [`CommandEvent::to_interaction`]: the interaction a slash command would have been
//!   (`interaction.rs`);
//! - [`admit_record`] (the bridge) and [`accept`] (the worker), with the dead letters of what the
//!   worker refuses (`intake.rs`).

mod decode;
mod intake;
mod interaction;
mod screen;
#[cfg(test)]
mod tests;

pub use decode::*;
pub use intake::*;
pub use screen::*;

/// The catalog source whose names CommandEvents use (`catalog::Command::map_source`).
pub const SOURCE: &str = "kafka";

#[derive(Debug, Clone, PartialEq)]
pub enum Event {
    Command(Box<CommandEvent>),
    Lifecycle(LifecycleEvent),
}

/// Which kind of message a bridge route or a worker's channel carries (the component variable
/// `accepts`: `commands` or `lifecycle`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// `facteur.v1.CommandEvent`: starts a command as the member it names.
    Command,
    /// A workflow lifecycle event: can only report a run's phase.
    Lifecycle,
}

impl Kind {
    pub fn parse(value: &str) -> Option<Self> {
        match value {
            "commands" => Some(Self::Command),
            "lifecycle" => Some(Self::Lifecycle),
            _ => None,
        }
    }

    /// The value of `accepts`.
    pub fn name(self) -> &'static str {
        match self {
            Self::Command => "commands",
            Self::Lifecycle => "lifecycle",
        }
    }

    fn one(self) -> &'static str {
        match self {
            Self::Command => "a CommandEvent",
            Self::Lifecycle => "a lifecycle event",
        }
    }

    fn many(self) -> &'static str {
        match self {
            Self::Command => "CommandEvents",
            Self::Lifecycle => "lifecycle events",
        }
    }
}

impl Event {
    pub fn kind(&self) -> Kind {
        match self {
            Self::Command(_) => Kind::Command,
            Self::Lifecycle(_) => Kind::Lifecycle,
        }
    }
}
