//! Arbitrary queue messages: decoded or refused with a reason, never a panic; a decoded
//! CommandEvent always converts to an interaction.
#![no_main]
use facteur::events::{Event, decode};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(Event::Command(event)) = decode(data) {
        let interaction = event.to_interaction(&facteur::catalog::Catalog::embedded());
        let _ = interaction.leaf_options();
        let _ = event.received_at();
    }
});
