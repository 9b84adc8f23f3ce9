//! Queue trust (issue 15): snowflakes agree with a reference; each bridge route admits only its
//! own kind, and an admitted CommandEvent's ids are snowflakes and its token is URL-safe; the
//! age check and the structured-mode secret never panic, whatever the input or the clock.
#![no_main]
use facteur::catalog::Catalog;
use facteur::cloudevents;
use facteur::discord::is_snowflake;
use facteur::events::{Event, Kind, admit_record};
use libfuzzer_sys::fuzz_target;
use std::sync::LazyLock;

static CATALOG: LazyLock<Catalog> = LazyLock::new(Catalog::embedded);

fuzz_target!(|data: &[u8]| {
    if let Ok(text) = std::str::from_utf8(data) {
        let reference = (1..=20).contains(&text.len())
            && text.bytes().all(|b| b.is_ascii_digit())
            && text.parse::<u128>().is_ok_and(|n| n <= u128::from(u64::MAX));
        assert_eq!(is_snowflake(text), reference, "{text:?}");
    }
    for kind in [Kind::Command, Kind::Lifecycle] {
        let Ok(event) = admit_record(kind, data) else { continue };
        assert_eq!(event.kind(), kind);
        if let Event::Command(e) = event {
            assert!(is_snowflake(&e.interaction_id) && is_snowflake(&e.application_id));
            for id in [&e.guild_id, &e.channel_id] {
                assert!(id.is_empty() || is_snowflake(id), "{id:?}");
            }
            for role in e.member.iter().flat_map(|m| &m.roles) {
                assert!(is_snowflake(role), "{role:?}");
            }
            assert!(!e.token.bytes().any(|b| b"/?#%\\".contains(&b) || !b.is_ascii_graphic()));
            let at = e.received_at().unwrap_or(0);
            for (now, max_age) in [(0, 0), (u64::MAX, u64::MAX), (at, 900), (at.saturating_add(901), 900)] {
                if let Ok(age) = e.screen(&CATALOG, now, max_age) {
                    assert!(age <= max_age);
                }
            }
        }
    }
    let _ = cloudevents::body_secret_matches(data, "s3cret");
    let _ = cloudevents::data(Some("application/cloudevents+json"), |_| None, data);
});
