//! Console sessions: a random id in an HttpOnly cookie; the database keeps only
//! its SHA-256 digest, so a leaked database does not hand out live sessions.

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;

/// A session ends after 30 minutes without a request...
pub const IDLE_TIMEOUT_MS: i64 = 30 * 60 * 1000;
/// ...and 12 hours after sign-in, whatever happens.
pub const ABSOLUTE_TIMEOUT_MS: i64 = 12 * 60 * 60 * 1000;
/// `last_seen` is written at most this often, not on every request.
pub const TOUCH_INTERVAL_MS: i64 = 60 * 1000;

/// A new session id: 256 bits from the OS CSPRNG, URL-safe base64.
pub fn new_id() -> Result<String, getrandom::Error> {
    let mut bytes = [0u8; 32];
    getrandom::fill(&mut bytes)?;
    Ok(URL_SAFE_NO_PAD.encode(bytes))
}

/// Is a session with these times still valid at `now`?
pub fn is_live(created_at: i64, last_seen_at: i64, now: i64) -> bool {
    now - last_seen_at < IDLE_TIMEOUT_MS && now - created_at < ABSOLUTE_TIMEOUT_MS
}

/// Should this request write a new `last_seen`?
pub fn needs_touch(last_seen_at: i64, now: i64) -> bool {
    now - last_seen_at >= TOUCH_INTERVAL_MS
}

/// A session id as it may appear in a cookie: anything else is not looked up.
pub fn looks_valid(id: &str) -> bool {
    id.len() == 43 && id.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_are_256_bit_and_distinct() {
        let a = new_id().unwrap();
        assert_eq!(URL_SAFE_NO_PAD.decode(&a).unwrap().len(), 32);
        assert!(looks_valid(&a));
        assert_ne!(a, new_id().unwrap());
    }

    #[test]
    fn idle_and_absolute_timeouts() {
        let t0 = 1_000_000_000_000;
        assert!(is_live(t0, t0, t0 + IDLE_TIMEOUT_MS - 1));
        assert!(!is_live(t0, t0, t0 + IDLE_TIMEOUT_MS));
        // Active all along, but past 12 hours.
        let now = t0 + ABSOLUTE_TIMEOUT_MS;
        assert!(!is_live(t0, now - 1000, now));
        assert!(is_live(t0, now - 1000, now - 1));
    }

    #[test]
    fn touches_are_coalesced() {
        assert!(!needs_touch(0, TOUCH_INTERVAL_MS - 1));
        assert!(needs_touch(0, TOUCH_INTERVAL_MS));
    }

    #[test]
    fn odd_cookie_values_are_not_ids() {
        assert!(!looks_valid(""));
        assert!(!looks_valid(&"a".repeat(44)));
        assert!(!looks_valid(&format!("{}=", "a".repeat(42))));
    }
}
