//! CloudEvents over HTTP (v1.0), as Knative's KafkaSource delivers Kafka records: binary mode
//! (attributes in `ce-*` headers, the record in the body) and structured mode
//! (`application/cloudevents+json`, the record in `data` or `data_base64`).
//!
//! What the bridge decides before it reads a body ([`gate`]): the secret, when a header carries
//! it, and the declared `Content-Length`. The body is then read with a cap ([`read_capped`]);
//! only a structured event without a secret header has its secret checked after that read
//! ([`body_secret_matches`]), because the secret can only be inside it.

use std::collections::BTreeMap;

use base64::Engine;
use serde_json::value::RawValue;

/// The header carrying the bridge's shared secret, or the CloudEvents extension attribute
/// (`ce-facteursecret`) a KafkaSource can set with `ceOverrides`.
pub const SECRET_HEADER: &str = "x-facteur-bridge-secret";
pub const SECRET_EXTENSION: &str = "facteursecret";

/// The largest request body the bridge reads: CommandEvents and lifecycle events are a few
/// hundred bytes, so 64 KiB leaves room and bounds what a sender can make a pod buffer.
pub const MAX_RECORD: usize = 64 * 1024;

/// What the bridge does with a request before reading its body.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Gate {
    /// Answer `status` with `reason` without reading the body.
    Refuse { status: u16, reason: &'static str },
    /// Read the body (at most [`MAX_RECORD`] bytes); `secret_in_body`: the secret is still to
    /// be checked, in the structured event's `facteursecret`.
    Read { secret_in_body: bool },
}

pub const WRONG_SECRET: &str = "missing or wrong bridge secret";
pub const TOO_LARGE: &str = "record exceeds 64 KiB";

/// The checks that need no body, in this order:
/// 1. with a secret to check (`expected`): the `X-Facteur-Bridge-Secret` header, else the
///    binary-mode extension header `ce-facteursecret`, when present, decides (401 if wrong;
///    a `facteursecret` in the body is then ignored). Without either, a structured event
///    (`application/cloudevents+json`) may carry it in its body: read it (capped) and check it
///    there; any other request is refused (401).
/// 2. a declared `Content-Length` above [`MAX_RECORD`]: 413.
pub fn gate(header: impl Fn(&str) -> Option<String>, expected: Option<&str>) -> Gate {
    let mut secret_in_body = false;
    if let Some(expected) = expected {
        match header(SECRET_HEADER).or_else(|| header(&format!("ce-{SECRET_EXTENSION}"))) {
            Some(presented) if same_secret(&presented, expected) => {}
            Some(_) => return Gate::Refuse { status: 401, reason: WRONG_SECRET },
            None if is_structured(header("content-type").as_deref()) => secret_in_body = true,
            None => return Gate::Refuse { status: 401, reason: WRONG_SECRET },
        }
    }
    // Unparseable lengths are left to the capped read.
    if header("content-length").and_then(|v| v.trim().parse::<u64>().ok()).is_some_and(|n| n > MAX_RECORD as u64) {
        return Gate::Refuse { status: 413, reason: TOO_LARGE };
    }
    Gate::Read { secret_in_body }
}

fn is_structured(content_type: Option<&str>) -> bool {
    content_type.is_some_and(|c| c.trim().to_ascii_lowercase().starts_with("application/cloudevents+json"))
}

/// Reads a body stream, stopping once it holds more than `cap` bytes: `Ok(body)` within the cap,
/// `Err(true)` beyond it (the rest is never read), `Err(false)` when the stream failed.
#[cfg(feature = "spin")]
pub async fn read_capped<E>(
    stream: impl futures::Stream<Item = Result<Vec<u8>, E>>,
    cap: usize,
) -> Result<Vec<u8>, bool> {
    use futures::StreamExt;
    let mut stream = std::pin::pin!(stream);
    let mut body = Vec::new();
    while let Some(chunk) = stream.next().await {
        body.extend_from_slice(&chunk.map_err(|_| false)?);
        if body.len() > cap {
            return Err(true);
        }
    }
    Ok(body)
}

/// Whether a structured event's `facteursecret` is `expected` (constant-time comparison).
pub fn body_secret_matches(body: &[u8], expected: &str) -> bool {
    #[derive(serde::Deserialize)]
    struct Extension {
        #[serde(rename = "facteursecret")]
        secret: Option<String>,
    }
    serde_json::from_slice::<Extension>(body).ok().and_then(|e| e.secret).is_some_and(|s| same_secret(&s, expected))
}

/// The event's payload: the Kafka record's value.
pub fn data(
    content_type: Option<&str>,
    header: impl Fn(&str) -> Option<String>,
    body: &[u8],
) -> Result<Vec<u8>, String> {
    let structured = is_structured(content_type);
    let payload = if structured {
        // `data` is kept as the exact JSON text the producer wrote.
        let event: BTreeMap<String, &RawValue> =
            serde_json::from_slice(body).map_err(|e| format!("structured CloudEvent is not JSON: {e}"))?;
        let text = |name: &str| event.get(name).and_then(|v| serde_json::from_str::<String>(v.get()).ok());
        for attribute in ["specversion", "id", "source", "type"] {
            if text(attribute).is_none_or(|v| v.is_empty()) {
                return Err(format!("CloudEvent attribute `{attribute}` is missing"));
            }
        }
        match (text("data_base64"), event.get("data")) {
            (Some(encoded), _) => base64::engine::general_purpose::STANDARD
                .decode(encoded)
                .map_err(|e| format!("`data_base64` is not base64: {e}"))?,
            (None, Some(raw)) => match serde_json::from_str::<String>(raw.get()) {
                Ok(string) => string.into_bytes(),
                Err(_) => raw.get().as_bytes().to_vec(),
            },
            (None, None) => Vec::new(),
        }
    } else {
        for attribute in ["specversion", "id", "source", "type"] {
            if header(&format!("ce-{attribute}")).is_none_or(|v| v.is_empty()) {
                return Err(format!("CloudEvent header `ce-{attribute}` is missing"));
            }
        }
        body.to_vec()
    };
    if payload.is_empty() {
        return Err("the CloudEvent carries no data".to_owned());
    }
    Ok(payload)
}

/// Compares secrets in time independent of where they differ.
pub fn same_secret(presented: &str, expected: &str) -> bool {
    presented.len() == expected.len()
        && presented.bytes().zip(expected.bytes()).fold(0u8, |acc, (a, b)| acc | (a ^ b)) == 0
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    fn headers(pairs: &[(&str, &str)]) -> impl Fn(&str) -> Option<String> {
        let map: HashMap<String, String> = pairs.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect();
        move |name: &str| map.get(name).cloned()
    }

    const BINARY: &[(&str, &str)] = &[
        ("ce-specversion", "1.0"),
        ("ce-id", "p0-o42"),
        ("ce-source", "/kafkasources/facteur#discord.commands.incoming"),
        ("ce-type", "dev.knative.kafka.event"),
    ];

    #[test]
    fn binary_mode_passes_the_body() {
        assert_eq!(
            data(Some("application/x-protobuf"), headers(BINARY), b"\x0a\x07discord").unwrap(),
            b"\x0a\x07discord"
        );
        assert_eq!(
            data(None, headers(&BINARY[1..]), b"x").unwrap_err(),
            "CloudEvent header `ce-specversion` is missing"
        );
        assert_eq!(data(None, headers(BINARY), b"").unwrap_err(), "the CloudEvent carries no data");
    }

    #[test]
    fn structured_mode_reads_data_or_data_base64() {
        let json =
            br#"{"specversion":"1.0","id":"1","source":"s","type":"t","data":{"workflow":"w","phase":"Succeeded"}}"#;
        assert_eq!(
            data(Some("application/cloudevents+json; charset=utf-8"), headers(&[]), json).unwrap(),
            br#"{"workflow":"w","phase":"Succeeded"}"#
        );
        let b64 = br#"{"specversion":"1.0","id":"1","source":"s","type":"t","data_base64":"CgdkaXNjb3Jk"}"#;
        assert_eq!(data(Some("application/cloudevents+json"), headers(&[]), b64).unwrap(), b"\x0a\x07discord");
        let missing = br#"{"specversion":"1.0","source":"s","type":"t","data":"x"}"#;
        assert_eq!(
            data(Some("application/cloudevents+json"), headers(&[]), missing).unwrap_err(),
            "CloudEvent attribute `id` is missing"
        );
    }

    const REFUSED: Gate = Gate::Refuse { status: 401, reason: WRONG_SECRET };
    const READ: Gate = Gate::Read { secret_in_body: false };

    #[test]
    fn a_header_secret_decides_before_the_body_is_read() {
        let secret = Some("s3cret");
        assert_eq!(gate(headers(&[(SECRET_HEADER, "s3cret")]), secret), READ);
        assert_eq!(gate(headers(&[("ce-facteursecret", "s3cret")]), secret), READ);
        assert_eq!(gate(headers(&[(SECRET_HEADER, "wrong")]), secret), REFUSED);
        assert_eq!(gate(headers(&[(SECRET_HEADER, "")]), secret), REFUSED);
        // The header wins over the extension header, and over anything in the body.
        assert_eq!(gate(headers(&[(SECRET_HEADER, "wrong"), ("ce-facteursecret", "s3cret")]), secret), REFUSED);
        let structured = ("content-type", "application/cloudevents+json");
        assert_eq!(gate(headers(&[(SECRET_HEADER, "wrong"), structured]), secret), REFUSED);
        // No secret header: only a structured event can carry it, in its body.
        assert_eq!(gate(headers(&[]), secret), REFUSED);
        assert_eq!(gate(headers(&[("content-type", "application/json")]), secret), REFUSED);
        assert_eq!(gate(headers(&[structured]), secret), Gate::Read { secret_in_body: true });
        assert_eq!(
            gate(headers(&[("content-type", "Application/CloudEvents+JSON; charset=utf-8")]), secret),
            Gate::Read { secret_in_body: true }
        );
        // `bridge_auth = network`: no secret.
        assert_eq!(gate(headers(&[]), None), READ);
    }

    #[test]
    fn a_declared_length_beyond_the_cap_is_refused_before_reading() {
        let too_large = Gate::Refuse { status: 413, reason: TOO_LARGE };
        let length = |n: usize| n.to_string();
        let with = |len: &str| gate(headers(&[(SECRET_HEADER, "s"), ("content-length", len)]), Some("s"));
        assert_eq!(with(&length(MAX_RECORD)), READ);
        assert_eq!(with(&length(MAX_RECORD + 1)), too_large);
        assert_eq!(with("99999999999999999999999"), READ, "unparseable: left to the capped read");
        // The secret is checked first: a stranger learns nothing about the limit.
        assert_eq!(gate(headers(&[(SECRET_HEADER, "x"), ("content-length", "999999999")]), Some("s")), REFUSED);
        assert_eq!(gate(headers(&[("content-length", "999999999")]), None), too_large);
    }

    #[test]
    fn secrets() {
        assert!(body_secret_matches(br#"{"specversion":"1.0","facteursecret":"c"}"#, "c"));
        assert!(!body_secret_matches(br#"{"facteursecret":"d"}"#, "c"));
        assert!(!body_secret_matches(br#"{"facteursecret":7}"#, "c"));
        assert!(!body_secret_matches(br#"{}"#, "c"));
        assert!(!body_secret_matches(b"\x00", "c"));
        assert!(same_secret("s3cret", "s3cret"));
        assert!(!same_secret("s3cret", "s3creT") && !same_secret("s3cre", "s3cret"));
    }
}
