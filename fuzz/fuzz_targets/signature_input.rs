//! Arbitrary signature and timestamp headers with an arbitrary body: refused cleanly, never a
//! panic, and never accepted (the fuzzer does not know the signing key).
#![no_main]
use facteur::admission::{Received, admit};
use facteur::signature::Verifier;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let verifier = Verifier::from_hex("k", facteur::config::DEV_PUBLIC_KEY, 300).unwrap();
    // Layout: signature \n timestamp \n body.
    let mut parts = data.splitn(3, |b| *b == b'\n');
    let signature = parts.next().and_then(|s| std::str::from_utf8(s).ok());
    let timestamp = parts.next().and_then(|s| std::str::from_utf8(s).ok());
    let body = parts.next().unwrap_or_default();
    let received = Received { method: "POST", client: Some("127.0.0.1:1"), signature, timestamp, body };
    let now = timestamp.and_then(|t| t.parse().ok()).unwrap_or(0);
    assert!(admit(&received, &verifier, now).is_err(), "a forged request was accepted");
});
