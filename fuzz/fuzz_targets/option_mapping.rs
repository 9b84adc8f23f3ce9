//! Arbitrary options for every catalog command: validation and mapping either refuse with a
//! message or produce parameters, never panic; `key=value` parsing likewise. The raw text is
//! also `/dispatch parameters:`: whatever it accepts is only the static `action` and keys of the
//! template's allowlist, each once, with values their patterns accept.
#![no_main]
use facteur::catalog::{Catalog, parse_pairs};
use facteur::discord::Interaction;
use libfuzzer_sys::fuzz_target;

fn interaction(name: &str, options: serde_json::Value) -> Option<Interaction> {
    serde_json::from_value(serde_json::json!({
        "id": "1", "application_id": "2", "type": 2, "token": "t",
        "member": {"user": {"id": "3", "username": "u"}, "roles": []},
        "data": {"name": name, "options": options}
    }))
    .ok()
}

fuzz_target!(|data: &[u8]| {
    let catalog = Catalog::embedded();
    if let Ok(text) = std::str::from_utf8(data) {
        let _ = parse_pairs(text);
        let dispatch = catalog.command("dispatch").expect("the catalog ships /dispatch");
        let options = serde_json::json!([
            {"name": "template", "type": 3, "value": "facteur-dispatch"},
            {"name": "parameters", "type": 3, "value": text}
        ]);
        if let Some(interaction) = interaction("dispatch", options)
            && let Ok(submission) = dispatch.submission(&interaction)
        {
            let workflow = dispatch.workflow.as_ref().unwrap();
            let allowlist = workflow.allowlist("facteur-dispatch").expect("an allowlist");
            let (first, pairs) = submission.parameters.split_first().expect("the static parameter");
            assert_eq!(first, &("action".to_owned(), "dispatch".to_owned()));
            for (i, (key, value)) in pairs.iter().enumerate() {
                assert!(pairs[..i].iter().all(|(k, _)| k != key), "{key} twice");
                assert!(allowlist.iter().any(|(k, _)| k == key), "{key} is allowed");
                assert!(dispatch.check_pair("facteur-dispatch", key, value).is_ok(), "{key}={value:?}");
                // What the shipped patterns promise, checked without a regex engine: one line,
                // and names, branches, tickets and dates with no shell metacharacters.
                assert!(!value.is_empty() && !value.contains(['\n', '\r']), "{key}={value:?}");
                if !["objective", "notes", "artifact"].contains(&key.as_str()) {
                    let plain = |c: char| c.is_ascii_alphanumeric() || "#._/:-".contains(c);
                    assert!(value.chars().all(plain), "{key}={value:?}");
                }
            }
        }
    }
    let Ok(options) = serde_json::from_slice::<serde_json::Value>(data) else { return };
    for command in &catalog.commands {
        if let Some(interaction) = interaction(&command.name, options.clone()) {
            let _ = command.values(&interaction);
            if let Ok(submission) = command.submission(&interaction) {
                assert!(submission.parameters.iter().all(|(k, _)| !k.is_empty()));
            }
        }
    }
});
