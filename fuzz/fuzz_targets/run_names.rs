//! Names that reach Argo URLs: a button's custom id (it comes back from Discord, untrusted) and
//! names typed by members. Whatever is accepted is a Kubernetes name, and the requests built
//! from it keep their path's shape (no `/`, `?`, `%` or `..` smuggled into a segment). An
//! approval button's request id is a snowflake (it becomes a key and a workflow name).
#![no_main]
use facteur::argo::{get, is_namespace, is_object_name, logs};
use facteur::discord::is_snowflake;
use facteur::run_button::{ApprovalButton, RunButton};
use libfuzzer_sys::fuzz_target;

fn check(namespace: &str, name: &str) {
    assert!(is_namespace(namespace) && is_object_name(name), "{namespace:?} {name:?}");
    for part in [namespace, name] {
        assert!(part.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-' || b == b'.'));
        assert!(part != "." && part != "..");
    }
    assert_eq!(get(namespace, name).path, format!("/api/v1/workflows/{namespace}/{name}"));
    assert!(logs(namespace, name, 10).path.starts_with(&format!("/api/v1/workflows/{namespace}/{name}/log?")));
}

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else { return };
    if let Some(button) = RunButton::parse(text) {
        let namespace = if button.namespace.is_empty() { "argo" } else { &button.namespace };
        check(namespace, &button.name);
        assert_eq!(RunButton::parse(&button.custom_id()), Some(button));
    }
    if let Some(button) = ApprovalButton::parse(text) {
        assert!(is_snowflake(&button.request) && !button.command.contains(':'), "{text:?}");
        assert_eq!(ApprovalButton::parse(&button.custom_id()), Some(button));
    }
    if is_object_name(text) {
        check("argo", text);
    }
});
