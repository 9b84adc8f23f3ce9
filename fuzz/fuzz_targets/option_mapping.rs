//! Arbitrary options for every catalog command: validation and mapping either refuse with a
//! message or produce parameters, never panic; `key=value` parsing likewise.
#![no_main]
use facteur::catalog::{Catalog, parse_pairs};
use facteur::discord::Interaction;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(text) = std::str::from_utf8(data) {
        let _ = parse_pairs(text);
    }
    let Ok(options) = serde_json::from_slice::<serde_json::Value>(data) else { return };
    let catalog = Catalog::embedded();
    for command in &catalog.commands {
        let interaction = serde_json::json!({
            "id": "1", "application_id": "2", "type": 2, "token": "t",
            "member": {"user": {"id": "3", "username": "u"}, "roles": []},
            "data": {"name": command.name, "options": options}
        });
        if let Ok(interaction) = serde_json::from_value::<Interaction>(interaction) {
            let _ = command.values(&interaction);
            if let Ok(submission) = command.submission(&interaction) {
                assert!(submission.parameters.iter().all(|(k, _)| !k.is_empty()));
            }
        }
    }
});
