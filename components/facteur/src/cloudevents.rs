//! CloudEvents over HTTP (v1.0), as Knative's KafkaSource delivers Kafka records: binary mode
//! (attributes in `ce-*` headers, the record in the body) and structured mode
//! (`application/cloudevents+json`, the record in `data` or `data_base64`).

use std::collections::BTreeMap;

use base64::Engine;
use serde_json::value::RawValue;

/// The header carrying the bridge's shared secret, or the CloudEvents extension attribute
/// (`ce-facteursecret`) a KafkaSource can set with `ceOverrides`.
pub const SECRET_HEADER: &str = "x-facteur-bridge-secret";
pub const SECRET_EXTENSION: &str = "facteursecret";

/// The event's payload: the Kafka record's value.
pub fn data(
    content_type: Option<&str>,
    header: impl Fn(&str) -> Option<String>,
    body: &[u8],
) -> Result<Vec<u8>, String> {
    let structured = content_type.is_some_and(|c| c.trim().starts_with("application/cloudevents+json"));
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

/// The secret the sender presented: the header, or the extension attribute (binary mode) or
/// field (structured mode).
pub fn presented_secret(header: impl Fn(&str) -> Option<String>, body: &[u8]) -> Option<String> {
    header(SECRET_HEADER).or_else(|| header(&format!("ce-{SECRET_EXTENSION}"))).or_else(|| {
        let event: serde_json::Value = serde_json::from_slice(body).ok()?;
        event.get(SECRET_EXTENSION)?.as_str().map(str::to_owned)
    })
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

    #[test]
    fn secrets() {
        assert_eq!(presented_secret(headers(&[(SECRET_HEADER, "a")]), b"").as_deref(), Some("a"));
        assert_eq!(presented_secret(headers(&[("ce-facteursecret", "b")]), b"").as_deref(), Some("b"));
        assert_eq!(presented_secret(headers(&[]), br#"{"facteursecret":"c"}"#).as_deref(), Some("c"));
        assert_eq!(presented_secret(headers(&[]), b"\x00"), None);
        assert!(same_secret("s3cret", "s3cret"));
        assert!(!same_secret("s3cret", "s3creT") && !same_secret("s3cre", "s3cret"));
    }
}
