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

/// Where sign-in may send the admin back to: a path on this console, as the
/// guard recorded it when it sent them to `/login`. Anything that a browser
/// could read as another site (`//host`, `/\host`, `https:`), or that is
/// not a plain path, gives `None`, and sign-in goes to the overview instead.
pub fn return_path(next: &str) -> Option<&str> {
    let plain = next.starts_with('/')
        && !next.starts_with("//")
        && next.len() <= 2048
        && !next.bytes().any(|b| b == b'\\' || b.is_ascii_control() || b == b' ');
    let path = next.split(['?', '#']).next().unwrap_or_default();
    (plain && path != "/login").then_some(next)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sign_in_returns_only_to_pages_of_this_console() {
        assert_eq!(return_path("/settings/api-keys"), Some("/settings/api-keys"));
        assert_eq!(return_path("/settings/audit-log?page=2"), Some("/settings/audit-log?page=2"));
        for elsewhere in [
            "",
            "settings",
            "//evil.example/",
            "/\\evil.example",
            "/\\/evil.example",
            "https://evil.example/",
            "javascript:alert(1)",
            "/\tfoo",
            "/foo\nbar",
            "/login",
            "/login?next=/",
        ] {
            assert_eq!(return_path(elsewhere), None, "{elsewhere:?}");
        }
        assert_eq!(return_path(&format!("/{}", "a".repeat(3000))), None);
    }

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

#[cfg(test)]
mod properties {
    use super::*;
    use proptest::prelude::*;

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(10_000))]

        /// Whatever `next` holds, sign-in returns only to a plain path of this
        /// console, never to another site and never to the sign-in page.
        #[test]
        fn a_return_path_is_always_a_same_site_path(next in prop_oneof![any::<String>(), "[/\\\\a-z:.?#%@ \\t]{0,40}"]) {
            if let Some(path) = return_path(&next) {
                prop_assert_eq!(path, next.as_str());
                prop_assert!(path.starts_with('/') && !path.starts_with("//"));
                prop_assert!(!path.bytes().any(|b| b == b'\\' || b.is_ascii_control() || b == b' '));
                prop_assert_ne!(path.split(['?', '#']).next(), Some("/login"));
            }
        }
    }
}
