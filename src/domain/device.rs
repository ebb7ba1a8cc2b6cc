//! The "known browser" cookie, after OWASP's device-cookie defence against
//! lockout: a browser that signed in as an admin keeps a signed note saying
//! so. Sign-in attempts that carry a valid note for the username they try are
//! limited per (username, browser); only browsers without one share the
//! username's limit, so a stranger's wrong guesses cannot lock the real admin
//! out of a browser they have used before.
//!
//! The value is `v2.<nonce>.<username>.<issued>.<mac>`, each part URL-safe
//! base64 (the issue time in ms, decimal) and the MAC HMAC-SHA256 under a key
//! derived from the master key with its own label. The nonce tells two
//! browsers of one admin apart; a note lives 90 days from its issue, and the
//! server also keeps a list of the notes it issued (by the nonce's digest),
//! so that "Sign out everywhere else" and a password change revoke them. The
//! cookie grants nothing by itself: the password is still checked.

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use hmac::{Hmac, Mac};
use sha2::Sha256;

/// The derivation label of the MAC key (see `MasterKey::derive`).
pub const KEY_LABEL: &str = "textpeak known-browser cookie v2";
/// A browser stays known for 90 days after its last sign-in.
pub const MAX_AGE_SECS: u64 = 90 * 24 * 60 * 60;
pub const MAX_AGE_MS: i64 = MAX_AGE_SECS as i64 * 1000;
const NONCE_LEN: usize = 16;
/// Longer values are not even decoded: a username has at most 64 bytes.
const MAX_COOKIE_LEN: usize = 200;

/// A browser that signed in as `username` before.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KnownBrowser {
    pub username: String,
    pub nonce: [u8; NONCE_LEN],
    pub issued_at: i64,
}

impl KnownBrowser {
    /// What the throttle counts this browser's attempts under.
    pub fn throttle_id(&self) -> String {
        URL_SAFE_NO_PAD.encode(self.nonce)
    }

    /// What the server's list keeps of the note.
    pub fn nonce_digest(&self) -> Vec<u8> {
        use sha2::Digest as _;
        Sha256::digest(self.nonce).to_vec()
    }
}

pub struct DeviceKey([u8; 32]);

impl DeviceKey {
    pub fn new(bytes: [u8; 32]) -> Self {
        DeviceKey(bytes)
    }

    /// A new cookie value for a browser that just signed in as `username`, and its note.
    pub fn issue(&self, username: &str, now_ms: i64) -> Result<(String, KnownBrowser), getrandom::Error> {
        let mut nonce = [0u8; NONCE_LEN];
        getrandom::fill(&mut nonce)?;
        let body = format!("v2.{}.{}.{now_ms}", URL_SAFE_NO_PAD.encode(nonce), URL_SAFE_NO_PAD.encode(username));
        let tag = URL_SAFE_NO_PAD.encode(self.mac(&body).finalize().into_bytes());
        Ok((format!("{body}.{tag}"), KnownBrowser { username: username.to_owned(), nonce, issued_at: now_ms }))
    }

    /// The browser a cookie value names, if this server signed it and it is
    /// not older than 90 days (whether it was revoked is the server list's to say).
    pub fn verify(&self, value: &str, now_ms: i64) -> Option<KnownBrowser> {
        if value.len() > MAX_COOKIE_LEN {
            return None;
        }
        let (body, tag) = value.rsplit_once('.')?;
        let tag = URL_SAFE_NO_PAD.decode(tag).ok()?;
        // Constant-time comparison, inside `verify_slice`.
        self.mac(body).verify_slice(&tag).ok()?;
        let mut parts = body.split('.');
        let (Some("v2"), Some(nonce), Some(username), Some(issued_at), None) =
            (parts.next(), parts.next(), parts.next(), parts.next(), parts.next())
        else {
            return None;
        };
        let nonce = URL_SAFE_NO_PAD.decode(nonce).ok()?.try_into().ok()?;
        let username = String::from_utf8(URL_SAFE_NO_PAD.decode(username).ok()?).ok()?;
        let issued_at: i64 = issued_at.parse().ok()?;
        if now_ms - issued_at >= MAX_AGE_MS || issued_at > now_ms + 60_000 {
            return None;
        }
        Some(KnownBrowser { username, nonce, issued_at })
    }

    fn mac(&self, body: &str) -> Hmac<Sha256> {
        let mut mac = <Hmac<Sha256> as Mac>::new_from_slice(&self.0).expect("HMAC takes any key length");
        mac.update(body.as_bytes());
        mac
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const NOW: i64 = 1_795_838_400_000;

    #[test]
    fn a_cookie_names_its_browser_and_username() {
        let key = DeviceKey::new([1; 32]);
        let (value, issued) = key.issue("admin", NOW).unwrap();
        let browser = key.verify(&value, NOW + 1).unwrap();
        assert_eq!((browser.username.as_str(), browser.issued_at), ("admin", NOW));
        assert_eq!(browser, issued);
        let other = key.verify(&key.issue("admin", NOW).unwrap().0, NOW).unwrap();
        assert_ne!(browser.throttle_id(), other.throttle_id(), "each browser has its own nonce");
        assert_ne!(browser.nonce_digest(), other.nonce_digest());
    }

    #[test]
    fn a_cookie_lives_ninety_days() {
        let key = DeviceKey::new([1; 32]);
        let (value, _) = key.issue("admin", NOW).unwrap();
        assert!(key.verify(&value, NOW + MAX_AGE_MS - 1).is_some());
        assert_eq!(key.verify(&value, NOW + MAX_AGE_MS), None);
    }

    #[test]
    fn forged_altered_or_foreign_cookies_are_refused() {
        let key = DeviceKey::new([1; 32]);
        let (value, _) = key.issue("admin", NOW).unwrap();
        assert_eq!(DeviceKey::new([2; 32]).verify(&value, NOW), None, "signed under another master key");
        let renamed = value.replace(&URL_SAFE_NO_PAD.encode("admin"), &URL_SAFE_NO_PAD.encode("root"));
        assert_eq!(key.verify(&renamed, NOW), None);
        let later = value.replace(&format!(".{NOW}."), &format!(".{}.", NOW + 1));
        assert_eq!(key.verify(&later, NOW), None, "the issue time is signed");
        let mut tampered = value.clone();
        tampered.pop();
        tampered.push(if value.ends_with('A') { 'B' } else { 'A' });
        assert_eq!(key.verify(&tampered, NOW), None);
        for junk in ["", ".", "v2....", "v1.a.b.c", "v2.a.b.c.d.e", &"a".repeat(500)] {
            assert_eq!(key.verify(junk, NOW), None, "{junk:?}");
        }
    }
}
