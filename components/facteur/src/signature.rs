//! Discord request signatures: Ed25519 over `X-Signature-Timestamp` + raw body, checked
//! with the application's public key, plus a freshness window against replays.

use ed25519_dalek::{Signature, VerifyingKey};
use thiserror::Error;

pub const SIGNATURE_HEADER: &str = "x-signature-ed25519";
pub const TIMESTAMP_HEADER: &str = "x-signature-timestamp";

/// Default freshness window: Discord documents none; ±5 minutes is common practice.
pub const DEFAULT_TOLERANCE_SECS: u64 = 300;

/// Why a request was refused. Each maps to 401; the reason is short and safe to show.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum SignatureError {
    #[error("missing X-Signature-Ed25519 header")]
    MissingSignature,
    #[error("missing X-Signature-Timestamp header")]
    MissingTimestamp,
    #[error("malformed signature")]
    MalformedSignature,
    #[error("malformed timestamp")]
    MalformedTimestamp,
    #[error("stale or future timestamp")]
    OutsideWindow,
    #[error("invalid request signature")]
    BadSignature,
}

/// A malformed public key: a configuration error that names the variable to fix.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
#[error("variable `{variable}`: {reason}")]
pub struct KeyError {
    pub variable: &'static str,
    pub reason: &'static str,
}

#[derive(Debug, Clone)]
pub struct Verifier {
    key: VerifyingKey,
    tolerance_secs: u64,
}

impl Verifier {
    /// `hex_key` is the "Public Key" of the Discord application (64 hex characters);
    /// `variable` names where it came from, for the error message.
    pub fn from_hex(variable: &'static str, hex_key: &str, tolerance_secs: u64) -> Result<Self, KeyError> {
        let bytes = hex::decode(hex_key.trim()).map_err(|_| KeyError { variable, reason: "public key is not hex" })?;
        let bytes: [u8; 32] = bytes
            .try_into()
            .map_err(|_| KeyError { variable, reason: "public key must be 32 bytes (64 hex characters)" })?;
        let key = VerifyingKey::from_bytes(&bytes)
            .map_err(|_| KeyError { variable, reason: "public key is not a point of Ed25519's curve" })?;
        Ok(Self { key, tolerance_secs })
    }

    pub fn public_key_hex(&self) -> String {
        hex::encode(self.key.as_bytes())
    }

    /// Whether this is facteur's published development key (`config::DEV_PUBLIC_KEY`), whose
    /// private half anyone has: admission accepts it from this machine only.
    pub fn is_development(&self) -> bool {
        self.public_key_hex() == crate::config::DEV_PUBLIC_KEY
    }

    /// Checks a request's headers and raw body at time `now` (Unix seconds).
    pub fn verify(
        &self,
        signature: Option<&str>,
        timestamp: Option<&str>,
        body: &[u8],
        now: u64,
    ) -> Result<(), SignatureError> {
        let signature = signature.ok_or(SignatureError::MissingSignature)?;
        let timestamp = timestamp.ok_or(SignatureError::MissingTimestamp)?;
        let mut raw = [0u8; Signature::BYTE_SIZE];
        hex::decode_to_slice(signature.trim(), &mut raw).map_err(|_| SignatureError::MalformedSignature)?;
        let sent: u64 = timestamp.parse().map_err(|_| SignatureError::MalformedTimestamp)?;
        if sent.abs_diff(now) > self.tolerance_secs {
            return Err(SignatureError::OutsideWindow);
        }
        let mut message = Vec::with_capacity(timestamp.len() + body.len());
        message.extend_from_slice(timestamp.as_bytes());
        message.extend_from_slice(body);
        // Strict: also refuses small-order keys and nonces and non-canonical encodings, so no
        // signature other than the one the key's owner made is ever accepted.
        self.key.verify_strict(&message, &Signature::from_bytes(&raw)).map_err(|_| SignatureError::BadSignature)
    }
}

/// A private key that signs like Discord does: for the CLI, tests and benchmarks (components
/// only verify).
pub struct SigningKey(ed25519_dalek::SigningKey);

impl SigningKey {
    pub fn from_seed(seed: &[u8; 32]) -> Self {
        Self(ed25519_dalek::SigningKey::from_bytes(seed))
    }

    /// What `discord_public_key` must hold to accept this key's signatures.
    pub fn public_key_hex(&self) -> String {
        hex::encode(self.0.verifying_key().as_bytes())
    }

    pub fn seed_hex(&self) -> String {
        hex::encode(self.0.as_bytes())
    }

    /// Hex signature of `timestamp + body`, the value of `X-Signature-Ed25519`.
    pub fn sign(&self, timestamp: &str, body: &[u8]) -> String {
        use ed25519_dalek::Signer as _;
        let mut message = timestamp.as_bytes().to_vec();
        message.extend_from_slice(body);
        hex::encode(self.0.sign(&message).to_bytes())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const NOW: u64 = 1_790_000_000;
    const BODY: &[u8] = br#"{"type":1,"id":"1","application_id":"2","token":"t"}"#;

    fn keys() -> (SigningKey, Verifier) {
        let pair = SigningKey::from_seed(&[7; 32]);
        let verifier =
            Verifier::from_hex("discord_public_key", &pair.public_key_hex(), DEFAULT_TOLERANCE_SECS).unwrap();
        (pair, verifier)
    }

    fn sign(pair: &SigningKey, timestamp: &str, body: &[u8]) -> String {
        pair.sign(timestamp, body)
    }

    #[test]
    fn valid_signature_passes() {
        let (pair, v) = keys();
        let ts = NOW.to_string();
        assert_eq!(v.verify(Some(&sign(&pair, &ts, BODY)), Some(&ts), BODY, NOW), Ok(()));
    }

    #[test]
    fn wrong_key_fails() {
        let (_, v) = keys();
        let other = SigningKey::from_seed(&[8; 32]);
        let ts = NOW.to_string();
        assert_eq!(v.verify(Some(&sign(&other, &ts, BODY)), Some(&ts), BODY, NOW), Err(SignatureError::BadSignature));
    }

    #[test]
    fn one_flipped_body_byte_fails() {
        let (pair, v) = keys();
        let ts = NOW.to_string();
        let sig = sign(&pair, &ts, BODY);
        let mut body = BODY.to_vec();
        body[10] ^= 1;
        assert_eq!(v.verify(Some(&sig), Some(&ts), &body, NOW), Err(SignatureError::BadSignature));
    }

    #[test]
    fn changed_timestamp_fails() {
        let (pair, v) = keys();
        let sig = sign(&pair, &NOW.to_string(), BODY);
        let other = (NOW + 1).to_string();
        assert_eq!(v.verify(Some(&sig), Some(&other), BODY, NOW), Err(SignatureError::BadSignature));
    }

    #[test]
    fn missing_headers_fail() {
        let (pair, v) = keys();
        let ts = NOW.to_string();
        let sig = sign(&pair, &ts, BODY);
        assert_eq!(v.verify(None, Some(&ts), BODY, NOW), Err(SignatureError::MissingSignature));
        assert_eq!(v.verify(Some(&sig), None, BODY, NOW), Err(SignatureError::MissingTimestamp));
    }

    #[test]
    fn non_hex_and_wrong_length_signatures_are_malformed() {
        let (pair, v) = keys();
        let ts = NOW.to_string();
        let sig = sign(&pair, &ts, BODY);
        let non_hex = format!("zz{}", &sig[2..]);
        assert_eq!(v.verify(Some(&non_hex), Some(&ts), BODY, NOW), Err(SignatureError::MalformedSignature));
        assert_eq!(v.verify(Some(&sig[..126]), Some(&ts), BODY, NOW), Err(SignatureError::MalformedSignature));
        let long = format!("{sig}00");
        assert_eq!(v.verify(Some(&long), Some(&ts), BODY, NOW), Err(SignatureError::MalformedSignature));
        assert_eq!(v.verify(Some(""), Some(&ts), BODY, NOW), Err(SignatureError::MalformedSignature));
    }

    #[test]
    fn malformed_timestamp() {
        let (pair, v) = keys();
        let sig = sign(&pair, "soon", BODY);
        assert_eq!(v.verify(Some(&sig), Some("soon"), BODY, NOW), Err(SignatureError::MalformedTimestamp));
        assert_eq!(v.verify(Some(&sig), Some("-5"), BODY, NOW), Err(SignatureError::MalformedTimestamp));
    }

    #[test]
    fn freshness_window_edges() {
        let (pair, v) = keys();
        for (ts, ok) in [
            (NOW - DEFAULT_TOLERANCE_SECS, true),
            (NOW - DEFAULT_TOLERANCE_SECS - 1, false),
            (NOW + DEFAULT_TOLERANCE_SECS, true),
            (NOW + DEFAULT_TOLERANCE_SECS + 1, false),
        ] {
            let ts = ts.to_string();
            let result = v.verify(Some(&sign(&pair, &ts, BODY)), Some(&ts), BODY, NOW);
            assert_eq!(result.is_ok(), ok, "timestamp {ts}: {result:?}");
            if !ok {
                assert_eq!(result, Err(SignatureError::OutsideWindow));
            }
        }
    }

    #[test]
    fn configurable_window() {
        let pair = SigningKey::from_seed(&[7; 32]);
        let v = Verifier::from_hex("k", &pair.public_key_hex(), 10).unwrap();
        let ts = (NOW - 11).to_string();
        assert_eq!(v.verify(Some(&sign(&pair, &ts, BODY)), Some(&ts), BODY, NOW), Err(SignatureError::OutsideWindow));
    }

    #[test]
    fn a_small_order_key_accepts_no_forgery() {
        // With the identity point as key, R = identity and s = 0 satisfy the cofactorless
        // equation for every message; strict verification refuses them.
        let identity = format!("01{}", "00".repeat(31));
        let v = Verifier::from_hex("k", &identity, 300).unwrap();
        let forged = format!("01{}", "00".repeat(63));
        let ts = NOW.to_string();
        assert_eq!(v.verify(Some(&forged), Some(&ts), BODY, NOW), Err(SignatureError::BadSignature));
    }

    #[test]
    fn malformed_keys_name_the_variable() {
        let err = Verifier::from_hex("discord_public_key", "not hex", 300).unwrap_err();
        assert_eq!(err.to_string(), "variable `discord_public_key`: public key is not hex");
        let err = Verifier::from_hex("discord_public_key", "abcd", 300).unwrap_err();
        assert_eq!(err.to_string(), "variable `discord_public_key`: public key must be 32 bytes (64 hex characters)");
    }
}
