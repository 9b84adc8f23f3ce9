//! Admission of a request to an interactions endpoint, in Discord's order of concerns:
//! method, size, signature, then JSON. The component that acts on an interaction runs all of
//! it; the gateway checks what needs no signature, routes, and verifies only what it answers
//! itself (PING, unknown commands), so each request is verified once.

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
    /// The client's address as Spin saw it (`spin-client-addr`, `ip:port`).
    pub client: Option<&'a str>,
    pub signature: Option<&'a str>,
    pub timestamp: Option<&'a str>,
    pub body: &'a [u8],
}

/// Why a request signed for the development key was refused: its private half is published.
pub const DEV_KEY_REFUSED: &str =
    "the development key (the default `discord_public_key`) is accepted from this machine only; set discord_public_key";

/// Loopback, or Spin's service chaining (`0.0.0.0:0`: a request another component of this app
/// sent, after admitting it itself). No address is not local: deny by default. Spin writes
/// `ip:port` (`[ip]:port` for IPv6) with Rust's formatting, which this reads without a full
/// address parser (it would cost every component kilobytes).
pub fn from_this_machine(client: Option<&str>) -> bool {
    let Some((host, port)) = client.and_then(|c| c.rsplit_once(':')) else { return false };
    if port.is_empty() || !port.bytes().all(|b| b.is_ascii_digit()) {
        return false;
    }
    match host.strip_prefix('[').and_then(|h| h.strip_suffix(']')) {
        Some(v6) => matches!(v6, "::1" | "::"),
        None => {
            let octets: Vec<&str> = host.split('.').collect();
            let numeric = octets.len() == 4
                && octets.iter().all(|o| !o.is_empty() && o.len() <= 3 && o.bytes().all(|b| b.is_ascii_digit()));
            numeric && (octets[0] == "127" || host == "0.0.0.0")
        }
    }
}

/// Method, size, and where a request signed for the development key comes from: what needs
/// no signature check. The gateway runs it before routing; [`admit`] runs it first.
pub fn precheck(received: &Received, verifier: &Verifier) -> Result<(), Rejection> {
    if !received.method.eq_ignore_ascii_case("POST") {
        return Err(Rejection::new(405, "only POST is accepted"));
    }
    if received.body.len() > MAX_BODY {
        return Err(Rejection::new(413, "request body exceeds 64 KiB"));
    }
    if verifier.is_development() && !from_this_machine(received.client) {
        return Err(Rejection::new(401, DEV_KEY_REFUSED));
    }
    Ok(())
}

/// The Ed25519 signature over timestamp and raw body, within the window.
pub fn verify(received: &Received, verifier: &Verifier, now: u64) -> Result<(), Rejection> {
    verifier
        .verify(received.signature, received.timestamp, received.body, now)
        .map_err(|e| Rejection::new(401, e.to_string()))
}

pub fn parse(body: &[u8]) -> Result<Interaction, Rejection> {
    Interaction::parse(body).map_err(|_| Rejection::new(400, "body is not a valid interaction"))
}

/// Everything, in Discord's order: method, size, signature, JSON. What a component that acts
/// on the interaction runs.
pub fn admit(received: &Received, verifier: &Verifier, now: u64) -> Result<Interaction, Rejection> {
    precheck(received, verifier)?;
    verify(received, verifier, now)?;
    parse(received.body)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::signature::SigningKey;

    #[test]
    fn the_development_key_is_accepted_from_this_machine_only() {
        let dev = SigningKey::from_seed(crate::config::DEV_SEED);
        let verifier = Verifier::from_hex("k", crate::config::DEV_PUBLIC_KEY, 300).unwrap();
        assert!(verifier.is_development());
        let body = br#"{"id":"1","application_id":"2","type":1}"#;
        let (ts, sig) = (NOW.to_string(), dev.sign(&NOW.to_string(), body));
        let from = |client| {
            admit(
                &Received { method: "POST", client, signature: Some(&sig), timestamp: Some(&ts), body },
                &verifier,
                NOW,
            )
        };
        for local in ["127.0.0.1:52000", "[::1]:3000", "0.0.0.0:0", "127.3.2.1:1"] {
            assert!(from(Some(local)).is_ok(), "{local}");
        }
        for remote in [
            Some("10.0.0.7:41000"),
            Some("[2001:db8::1]:443"),
            Some("localhost:1"),
            Some("garbage"),
            Some("127.0.0.1"),
            Some("1127.0.0.1:1"),
            Some("127.0.0.1.evil:1"),
            None,
        ] {
            assert_eq!(from(remote).unwrap_err(), Rejection::new(401, DEV_KEY_REFUSED), "{remote:?}");
        }
        // Any other key, from anywhere.
        let (v, sig, ts) = signed(body);
        let remote =
            Received { method: "POST", client: Some("10.0.0.7:1"), signature: Some(&sig), timestamp: Some(&ts), body };
        assert!(admit(&remote, &v, NOW).is_ok());
    }

    const NOW: u64 = 1_790_000_000;

    fn signed(body: &[u8]) -> (Verifier, String, String) {
        let pair = SigningKey::from_seed(&[3; 32]);
        let ts = NOW.to_string();
        let sig = pair.sign(&ts, body);
        (Verifier::from_hex("k", &pair.public_key_hex(), 300).unwrap(), sig, ts)
    }

    fn admit_body(method: &str, body: &[u8]) -> Result<Interaction, Rejection> {
        let (v, sig, ts) = signed(body);
        admit(
            &Received { method, client: Some("127.0.0.1:1"), signature: Some(&sig), timestamp: Some(&ts), body },
            &v,
            NOW,
        )
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
        let r = admit(
            &Received { method: "POST", client: None, signature: None, timestamp: Some(&ts), body: b"{}" },
            &v,
            NOW,
        );
        assert_eq!(r.unwrap_err(), Rejection::new(401, "missing X-Signature-Ed25519 header"));
    }
}
