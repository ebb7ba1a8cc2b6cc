//! Who is asking, for every server function and every use case: the
//! signed-in admin the session guard resolved (with their role), the
//! request's shared state and address, and the one conversion of database
//! errors into what an admin is told. Shared vocabulary, so it lives apart
//! from the HTTP plumbing that fills it in.

use crate::db::service::audit::{Action, Entry};
use crate::db::service::{Failure, classify};
use crate::domain::roles::{Need, Role};
use crate::rpc::ConsoleError;
use crate::server::http::client_ip::ClientIp;
use crate::server::http::cookies::CookiePolicy;
use crate::server::state::AppState;
use axum::http::request::Parts;
use leptos::prelude::*;
use sea_orm::DbErr;
use std::net::IpAddr;

/// The signed-in admin a request acts for; every query is scoped to `account_id`.
/// Put in the request's extensions by `guard::sessions` from the session cookie.
#[derive(Debug, Clone)]
pub struct Caller {
    pub session_id: i32,
    pub admin_id: i32,
    pub username: String,
    pub account_id: i32,
    pub account_name: String,
    pub role: Role,
    pub two_factor: bool,
    /// The account requires two-factor authentication and this admin has not set it up.
    pub must_set_up_two_factor: bool,
    /// The session proved who it is within `TEXTPEAK_CONFIRM_ACCESS_SECONDS`.
    pub recently_proved: bool,
    pub client_ip: IpAddr,
    /// The request's known-browser cookie, for throttling this admin's own re-checks.
    pub known_browser: Option<String>,
    /// The request's time on the application's clock: what it changes and
    /// the audit entries that record it carry this one instant.
    pub now: i64,
}

impl Caller {
    /// An audit entry for something this admin did.
    pub fn audit<'a>(&'a self, action: Action, subject: Option<&'a str>, detail: Option<String>) -> Entry<'a> {
        Entry {
            at: self.now,
            account_id: self.account_id,
            admin: &self.username,
            client_ip: self.client_ip.to_string(),
            action,
            subject,
            detail,
        }
    }

    /// The guard has checked the role table already; use cases that change
    /// things check again, so a path that bypasses the guard (a direct call
    /// while a page renders on the server) cannot change anything either.
    pub fn require(&self, need: Need) -> Result<(), ConsoleError> {
        if self.role.may(need) { Ok(()) } else { Err(ConsoleError::NotAllowed { role: self.role }) }
    }

    /// The same second check for what needs a recent proof of identity.
    pub fn require_confirmed(&self, need: Need) -> Result<(), ConsoleError> {
        self.require(need)?;
        if self.recently_proved { Ok(()) } else { Err(ConsoleError::ConfirmAccess) }
    }
}

pub fn state() -> Result<AppState, ConsoleError> {
    use_context::<AppState>().ok_or_else(|| {
        tracing::error!("server function called without AppState in context");
        ConsoleError::Internal
    })
}

fn parts() -> Result<Parts, ConsoleError> {
    use_context::<Parts>().ok_or_else(|| {
        tracing::error!("server function called outside a request");
        ConsoleError::Internal
    })
}

/// The signed-in admin, or `Unauthenticated` (401).
pub async fn caller() -> Result<Caller, ConsoleError> {
    parts()?.extensions.get::<Caller>().cloned().ok_or(ConsoleError::Unauthenticated)
}

/// How this request's cookies are named and flagged, as the guard decided.
pub fn cookie_policy() -> Result<CookiePolicy, ConsoleError> {
    parts()?.extensions.get::<CookiePolicy>().copied().ok_or_else(|| {
        tracing::error!("no cookie policy: the session guard is not installed");
        ConsoleError::Internal
    })
}

/// The value of one of the request's cookies.
pub fn cookie(name: &str) -> Result<Option<String>, ConsoleError> {
    Ok(crate::server::http::cookies::cookie(&parts()?.headers, name).map(str::to_owned))
}

/// The request's User-Agent, clipped for keeping.
pub fn user_agent() -> Result<String, ConsoleError> {
    let parts = parts()?;
    let ua = parts.headers.get(axum::http::header::USER_AGENT).and_then(|v| v.to_str().ok()).unwrap_or_default();
    Ok(crate::domain::user_agent::clip(ua))
}

/// Where the request came from, as `client_ip::resolve` decided.
pub fn client_ip() -> Result<IpAddr, ConsoleError> {
    parts()?.extensions.get::<ClientIp>().map(|ip| ip.0).ok_or_else(|| {
        tracing::error!("no client address: the client_ip middleware is not installed");
        ConsoleError::Internal
    })
}

/// Logs the detail for the operator; the admin gets a short message.
pub fn internal(err: impl std::fmt::Display) -> ConsoleError {
    tracing::error!(error = %err, "server function failed");
    ConsoleError::Internal
}

/// A database failure in the admin's words: unavailable and disk full are
/// worth telling apart (try again shortly; tell the operator), the rest is internal.
impl From<DbErr> for ConsoleError {
    fn from(err: DbErr) -> Self {
        match classify(&err) {
            Failure::Unavailable => {
                tracing::warn!(error = %err, "the database is unavailable");
                ConsoleError::Unavailable
            }
            Failure::StorageFull => {
                tracing::error!(error = %err, "the database's disk is full; nothing was written");
                ConsoleError::StorageFull
            }
            Failure::Other => internal(err),
        }
    }
}
