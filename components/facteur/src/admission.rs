//! Admission of a request to an interactions endpoint, in Discord's order of concerns:
//! method, size, signature, then JSON. The gateway runs it, and every command component
//! runs it again, since a private route must not trust its caller blindly.

use crate::discord::Interaction;
use crate::signature::Verifier;

/// Interaction payloads are a few KiB; anything larger is refused before verification.
pub const MAX_BODY: usize = 64 * 1024;

/// A refused request: the HTTP status and a short reason that is safe to send back.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rejection {
    pub status: u16,
    pub reason: String,
}

impl Rejection {
    pub fn new(status: u16, reason: impl Into<String>) -> Self {
        Self { status, reason: reason.into() }
    }
}

/// What arrived: method, the two signature headers and the raw body (read up to
/// `MAX_BODY + 1` bytes, so an oversize body is recognised without reading it all).
pub struct Received<'a> {
    pub method: &'a str,
    pub signature: Option<&'a str>,
    pub timestamp: Option<&'a str>,
    pub body: &'a [u8],
}

pub fn admit(received: &Received, verifier: &Verifier, now: u64) -> Result<Interaction, Rejection> {
    if !received.method.eq_ignore_ascii_case("POST") {
        return Err(Rejection::new(405, "only POST is accepted"));
    }
    if received.body.len() > MAX_BODY {
        return Err(Rejection::new(413, "request body exceeds 64 KiB"));
    }
    verifier
        .verify(received.signature, received.timestamp, received.body, now)
        .map_err(|e| Rejection::new(401, e.to_string()))?;
    Interaction::parse(received.body).map_err(|_| Rejection::new(400, "body is not a valid interaction"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::signature::SigningKey;

    const NOW: u64 = 1_790_000_000;

    fn signed(body: &[u8]) -> (Verifier, String, String) {
        let pair = SigningKey::from_seed(&[3; 32]);
        let ts = NOW.to_string();
        let sig = pair.sign(&ts, body);
        (Verifier::from_hex("k", &pair.public_key_hex(), 300).unwrap(), sig, ts)
    }

    fn admit_body(method: &str, body: &[u8]) -> Result<Interaction, Rejection> {
        let (v, sig, ts) = signed(body);
        admit(&Received { method, signature: Some(&sig), timestamp: Some(&ts), body }, &v, NOW)
    }

    #[test]
    fn order_of_checks() {
        assert_eq!(admit_body("GET", b"{}").unwrap_err().status, 405);
        assert_eq!(admit_body("POST", &vec![b' '; MAX_BODY + 1]).unwrap_err().status, 413);
        assert_eq!(
            admit_body("POST", b"{not json").unwrap_err(),
            Rejection::new(400, "body is not a valid interaction")
        );
        assert!(admit_body("post", br#"{"id":"1","application_id":"2","type":1}"#).is_ok());
    }

    #[test]
    fn unsigned_is_401_with_the_cause() {
        let (v, _, ts) = signed(b"{}");
        let r = admit(&Received { method: "POST", signature: None, timestamp: Some(&ts), body: b"{}" }, &v, NOW);
        assert_eq!(r.unwrap_err(), Rejection::new(401, "missing X-Signature-Ed25519 header"));
    }
}
