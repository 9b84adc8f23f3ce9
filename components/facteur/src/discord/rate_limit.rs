//! When to try a Discord request again, and after how long: a 429 says how long (its
//! `retry_after`); a 5xx or no answer in time gets an exponential backoff. Both bounded.

use std::time::Duration;

/// Attempts at one request before giving up (the first one included). A reply is the only
/// answer the member gets, so facteur keeps trying while Discord asks it to wait: a healthy
/// rate limit lets the second attempt through; ten 429s in a row mean something else is wrong.
pub const MAX_ATTEMPTS: u32 = 10;
/// Longest single wait facteur accepts; a longer `retry_after` means giving up now.
pub const MAX_WAIT: Duration = Duration::from_secs(10);
/// Longest total wait for one request, so that no reply holds an instance for long.
pub const MAX_TOTAL_WAIT: Duration = Duration::from_secs(60);

/// For a 429, the wait Discord asks for: `retry_after` (float seconds) from the JSON body,
/// else the `Retry-After` header, else one second. `None` for any other status.
pub fn retry_after(status: u16, header: Option<&str>, body: &[u8]) -> Option<Duration> {
    if status != 429 {
        return None;
    }
    #[derive(serde::Deserialize)]
    struct Body {
        retry_after: f64,
    }
    let seconds = serde_json::from_slice::<Body>(body)
        .map(|b| b.retry_after)
        .ok()
        .or_else(|| header.and_then(super::OptionValue::parse_number))
        .filter(|s| s.is_finite() && *s >= 0.0)
        .unwrap_or(1.0);
    Some(Duration::from_secs_f64(seconds))
}

/// The backoff after the `attempt`th failed try (1-based) of a 5xx or a timeout: 0.5 s, 1 s,
/// 2 s, … at most 8 s.
pub fn backoff(attempt: u32) -> Duration {
    Duration::from_millis(500u64.saturating_mul(1 << attempt.saturating_sub(1).min(4)))
}

/// Whether a status means "not processed, try again": 429 and the gateway-side 5xx (502, 503,
/// 504) for any request; any 5xx for an idempotent one (an edit of `@original`).
pub fn retryable(status: u16, idempotent: bool) -> bool {
    matches!(status, 429 | 502..=504) || (idempotent && (500..600).contains(&status))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_retry_after() {
        let body = br#"{"message": "You are being rate limited.", "retry_after": 0.25, "global": false}"#;
        assert_eq!(retry_after(429, None, body), Some(Duration::from_millis(250)));
        assert_eq!(retry_after(429, Some("2"), b""), Some(Duration::from_secs(2)));
        assert_eq!(retry_after(429, Some("soon"), b"nope"), Some(Duration::from_secs(1)));
        assert_eq!(retry_after(200, Some("2"), body), None);
    }

    #[test]
    fn backs_off_exponentially_within_bounds() {
        let waits: Vec<u128> = (1..=7).map(|a| backoff(a).as_millis()).collect();
        assert_eq!(waits, [500, 1000, 2000, 4000, 8000, 8000, 8000]);
        assert!(retryable(503, false) && retryable(500, true) && !retryable(500, false) && !retryable(404, true));
    }
}
