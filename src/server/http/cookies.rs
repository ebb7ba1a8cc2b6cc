//! The console's cookies: the session, the known-browser note and the
//! pending second step of a sign-in. All HttpOnly and SameSite=Strict;
//! `Secure` with the `__Host-` prefix whenever the browser reached the
//! console over HTTPS.

use axum::http::{HeaderMap, HeaderValue, header};

/// How this request's cookies are named and flagged: `Secure` with the
/// `__Host-` prefix (which also pins a cookie to this host and path, so a
/// sibling subdomain cannot plant one) whenever the browser reached the
/// console over HTTPS, as far as the settings and a trusted proxy tell.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CookiePolicy {
    pub secure: bool,
}

impl CookiePolicy {
    pub fn session_name(self) -> &'static str {
        if self.secure { "__Host-tp_session" } else { "tp_session" }
    }

    pub fn known_browser_name(self) -> &'static str {
        if self.secure { "__Host-tp_browser" } else { "tp_browser" }
    }

    /// `Set-Cookie` for a new session, or (with `None`) one that removes it.
    pub fn session_cookie(self, id: Option<&str>) -> HeaderValue {
        let (value, max_age) = match id {
            Some(id) => (id, (crate::domain::session::ABSOLUTE_TIMEOUT_MS / 1000) as u64),
            None => ("", 0),
        };
        self.cookie(self.session_name(), value, max_age)
    }

    pub fn pending_name(self) -> &'static str {
        if self.secure { "__Host-tp_pending" } else { "tp_pending" }
    }

    /// `Set-Cookie` for the second step of a sign-in, or (with `None`) one that removes it.
    pub fn pending_cookie(self, id: Option<&str>) -> HeaderValue {
        let max_age = (crate::db::service::sessions::CHALLENGE_MS / 1000) as u64;
        match id {
            Some(id) => self.cookie(self.pending_name(), id, max_age),
            None => self.cookie(self.pending_name(), "", 0),
        }
    }

    /// `Set-Cookie` for the known-browser note (see `domain::device`).
    pub fn known_browser_cookie(self, value: &str) -> HeaderValue {
        self.cookie(self.known_browser_name(), value, crate::domain::device::MAX_AGE_SECS)
    }

    fn cookie(self, name: &str, value: &str, max_age: u64) -> HeaderValue {
        let secure = if self.secure { "; Secure" } else { "" };
        let cookie = format!("{name}={value}; Path=/; HttpOnly; SameSite=Strict; Max-Age={max_age}{secure}");
        HeaderValue::from_str(&cookie).expect("cookie values are ASCII")
    }
}

/// The value of one cookie in the request's `Cookie` headers.
pub fn cookie<'a>(headers: &'a HeaderMap, name: &str) -> Option<&'a str> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(k, _)| *k == name)
        .map(|(_, v)| v.trim())
}
