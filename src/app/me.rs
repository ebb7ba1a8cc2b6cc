//! The signed-in admin, known at once on both sides: the server writes who
//! the session guard resolved into `<html data-me>`, and the browser reads it
//! back when it starts. The header says who is signed in, and pages offer
//! only what the role may do, without a request or a loading state; the
//! server refuses the rest whatever the page offers.

use crate::domain::roles::{Need, Role};
use leptos::prelude::*;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Me {
    pub username: String,
    pub account: String,
    pub role: Role,
    pub two_factor: bool,
}

impl Me {
    /// The admin of the request being rendered (server only).
    pub fn of_request() -> Option<Me> {
        #[cfg(feature = "ssr")]
        {
            let parts = use_context::<axum::http::request::Parts>()?;
            let caller = parts.extensions.get::<crate::server::caller::Caller>()?;
            Some(Me {
                username: caller.username.clone(),
                account: caller.account_name.clone(),
                role: caller.role,
                two_factor: caller.two_factor,
            })
        }
        #[cfg(not(feature = "ssr"))]
        {
            None
        }
    }

    /// `role|two-factor|username|account`: a username has no `|` (see
    /// `domain::validation::username`), the account name comes last, and a
    /// hand-made line keeps a JSON decoder for this one value out of the wasm.
    pub fn encode(&self) -> String {
        format!("{}|{}|{}|{}", self.role.code(), u8::from(self.two_factor), self.username, self.account)
    }

    #[cfg_attr(not(feature = "hydrate"), allow(dead_code))]
    pub fn decode(line: &str) -> Option<Me> {
        let mut parts = line.splitn(4, '|');
        let role = Role::from_code(parts.next()?)?;
        let two_factor = parts.next()? == "1";
        let username = parts.next()?.to_owned();
        let account = parts.next()?.to_owned();
        Some(Me { username, account, role, two_factor })
    }
}

/// In context for every page; `me` is `None` for the signed out.
#[derive(Debug, Clone, Copy)]
pub struct Session {
    me: StoredValue<Option<Me>>,
    /// Follows the Security page's changes without a reload.
    pub two_factor: RwSignal<bool>,
}

pub fn provide() {
    #[cfg(feature = "ssr")]
    let me = Me::of_request();
    #[cfg(not(feature = "ssr"))]
    let me =
        document().document_element().and_then(|html| html.get_attribute("data-me")).and_then(|line| Me::decode(&line));
    let two_factor = RwSignal::new(me.as_ref().is_some_and(|me| me.two_factor));
    provide_context(Session { me: StoredValue::new(me), two_factor });
}

pub fn session() -> Session {
    use_context::<Session>().unwrap_or(Session { me: StoredValue::new(None), two_factor: RwSignal::new(false) })
}

impl Session {
    pub fn me(&self) -> Option<Me> {
        self.me.get_value()
    }

    /// Whether the signed-in admin's role meets `need`.
    pub fn can(&self, need: Need) -> bool {
        self.me.with_value(|me| me.as_ref().is_some_and(|me| me.role.may(need)))
    }
}

/// Shorthand: may the signed-in admin change keys and IP ACLs, and show tokens?
pub fn manages_keys() -> bool {
    session().can(Need::Manage)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_signed_in_admin_round_trips_through_the_page() {
        let me = Me { username: "alice".into(), account: "Acme | Sons".into(), role: Role::Admin, two_factor: true };
        assert_eq!(me.encode(), "admin|1|alice|Acme | Sons");
        assert_eq!(Me::decode(&me.encode()), Some(me));
        assert_eq!(Me::decode("root|0|x|y"), None);
        assert_eq!(Me::decode("viewer|0"), None);
    }
}
