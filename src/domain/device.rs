//! The "known browser" cookie, after OWASP's device-cookie defence against
//! lockout: a browser that signed in as an admin keeps a signed note saying
//! so. Sign-in attempts that carry a valid note for the username they try are
//! limited per (username, browser); only browsers without one share the
//! username's limit, so a stranger's wrong guesses cannot lock the real admin
//! out of a browser they have used before.
//!
//! The value is `v1.<nonce>.<username>.<mac>`, each part URL-safe base64 and
//! the MAC HMAC-SHA256 under a key derived from the master key. The nonce
//! tells two browsers of one admin apart; the cookie grants nothing by
//! itself: the password is still checked.

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use hmac::{Hmac, Mac};
use sha2::Sha256;

/// The derivation label of the MAC key (see `MasterKey::derive`).
pub const KEY_LABEL: &str = "textpeak device cookie v1";
/// A browser stays known for half a year after its last sign-in.
pub const MAX_AGE_SECS: u64 = 180 * 24 * 60 * 60;
const NONCE_LEN: usize = 16;
/// Longer values are not even decoded: a username has at most 64 bytes.
const MAX_COOKIE_LEN: usize = 200;

/// A browser that signed in as `username` before.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KnownBrowser {
    pub username: String,
    pub nonce: [u8; NONCE_LEN],
}

impl KnownBrowser {
    /// What the throttle counts this browser's attempts under.
    pub fn throttle_id(&self) -> String {
        URL_SAFE_NO_PAD.encode(self.nonce)
    }
}

pub struct DeviceKey([u8; 32]);

impl DeviceKey {
    pub fn new(bytes: [u8; 32]) -> Self {
        DeviceKey(bytes)
    }

    /// A new cookie value for a browser that just signed in as `username`.
    pub fn issue(&self, username: &str) -> Result<String, getrandom::Error> {
        let mut nonce = [0u8; NONCE_LEN];
        getrandom::fill(&mut nonce)?;
        let body = format!("v1.{}.{}", URL_SAFE_NO_PAD.encode(nonce), URL_SAFE_NO_PAD.encode(username));
        let tag = URL_SAFE_NO_PAD.encode(self.mac(&body).finalize().into_bytes());
        Ok(format!("{body}.{tag}"))
    }

    /// The browser a cookie value names, if this server signed it.
    pub fn verify(&self, value: &str) -> Option<KnownBrowser> {
        if value.len() > MAX_COOKIE_LEN {
            return None;
        }
        let (body, tag) = value.rsplit_once('.')?;
        let tag = URL_SAFE_NO_PAD.decode(tag).ok()?;
        // Constant-time comparison, inside `verify_slice`.
        self.mac(body).verify_slice(&tag).ok()?;
        let mut parts = body.split('.');
        let (Some("v1"), Some(nonce), Some(username), None) = (parts.next(), parts.next(), parts.next(), parts.next())
        else {
            return None;
        };
        let nonce = URL_SAFE_NO_PAD.decode(nonce).ok()?.try_into().ok()?;
        let username = String::from_utf8(URL_SAFE_NO_PAD.decode(username).ok()?).ok()?;
        Some(KnownBrowser { username, nonce })
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

    #[test]
    fn a_cookie_names_its_browser_and_username() {
        let key = DeviceKey::new([1; 32]);
        let value = key.issue("admin").unwrap();
        let browser = key.verify(&value).unwrap();
        assert_eq!(browser.username, "admin");
        let other = key.verify(&key.issue("admin").unwrap()).unwrap();
        assert_ne!(browser.throttle_id(), other.throttle_id(), "each browser has its own nonce");
    }

    #[test]
    fn forged_altered_or_foreign_cookies_are_refused() {
        let key = DeviceKey::new([1; 32]);
        let value = key.issue("admin").unwrap();
        assert_eq!(DeviceKey::new([2; 32]).verify(&value), None, "signed under another master key");
        let renamed = value.replace(&URL_SAFE_NO_PAD.encode("admin"), &URL_SAFE_NO_PAD.encode("root"));
        assert_eq!(key.verify(&renamed), None);
        let mut tampered = value.clone();
        tampered.pop();
        tampered.push(if value.ends_with('A') { 'B' } else { 'A' });
        assert_eq!(key.verify(&tampered), None);
        for junk in ["", ".", "v1...", "v1.a.b.c.d", &"a".repeat(500)] {
            assert_eq!(key.verify(junk), None, "{junk:?}");
        }
    }
}
