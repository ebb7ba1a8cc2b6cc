//! What every server function does first: find the shared state and who is
//! calling. And the one place that gives each failure its HTTP status.

use crate::api::ConsoleError;
use crate::db::service::audit::{Action, Entry};
use crate::db::service::{Failure, classify};
use crate::server::http::client_ip::ClientIp;
use crate::server::http::guard::CookiePolicy;
use crate::server::state::AppState;
use axum::body::Body;
use axum::extract::Request;
use axum::http::StatusCode;
use axum::http::request::Parts;
use axum::http::{HeaderValue, header};
use axum::middleware::Next;
use axum::response::Response;
use leptos::prelude::*;
use sea_orm::DbErr;
use server_fn::error::SERVER_FN_ERROR_HEADER;
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
    pub client_ip: IpAddr,
}

impl Caller {
    /// An audit entry for something this admin did.
    pub fn audit<'a>(&'a self, action: Action, subject: Option<&'a str>, detail: Option<String>) -> Entry<'a> {
        Entry {
            account_id: self.account_id,
            admin: &self.username,
            client_ip: self.client_ip.to_string(),
            action,
            subject,
            detail,
        }
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

/// Logs the detail for the operator; the admin gets a short message.
pub fn internal(err: impl std::fmt::Display) -> ConsoleError {
    tracing::error!(error = %err, "server function failed");
    ConsoleError::Internal
}

/// A database failure in the admin's words: unavailable and disk full are
/// worth telling apart (try again shortly; tell the operator), the rest is internal.
pub fn db_error(err: DbErr) -> ConsoleError {
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

/// Times are shown in UTC, the same for every admin wherever they sit: to the
/// minute in tables, to the second in the audit log.
pub fn format_minute(ms: i64) -> String {
    format_utc(ms, "%Y-%m-%d %H:%M UTC")
}

pub fn format_second(ms: i64) -> String {
    format_utc(ms, "%Y-%m-%d %H:%M:%S UTC")
}

fn format_utc(ms: i64, pattern: &str) -> String {
    chrono::DateTime::from_timestamp_millis(ms).map(|t| t.format(pattern).to_string()).unwrap_or_default()
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
    Ok(crate::server::http::guard::cookie(&parts()?.headers, name).map(str::to_owned))
}

/// Where the request came from, as `client_ip::resolve` decided.
pub fn client_ip() -> Result<IpAddr, ConsoleError> {
    parts()?.extensions.get::<ClientIp>().map(|ip| ip.0).ok_or_else(|| {
        tracing::error!("no client address: the client_ip middleware is not installed");
        ConsoleError::Internal
    })
}

/// server_fn answers every error with 500, including arguments it could not
/// decode; this middleware gives each error the status its [`ConsoleError`]
/// names (401, 404, 422, ...), so clients and logs see what happened.
pub async fn error_status(request: Request, next: Next) -> Response {
    let response = next.run(request).await;
    if !response.headers().contains_key(SERVER_FN_ERROR_HEADER) {
        return response;
    }
    let (mut parts, body) = response.into_parts();
    let bytes = axum::body::to_bytes(body, 1024 * 1024).await.unwrap_or_default();
    if let Ok(err) = serde_json::from_slice::<ConsoleError>(&bytes) {
        parts.status = StatusCode::from_u16(err.status()).unwrap_or(parts.status);
        if let Some(secs) = err.retry_after_secs() {
            parts.headers.insert(header::RETRY_AFTER, HeaderValue::from(secs));
        }
    }
    Response::from_parts(parts, Body::from(bytes))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn times_are_utc() {
        assert_eq!(format_minute(0), "1970-01-01 00:00 UTC");
        assert_eq!(format_minute(1_795_838_400_000), "2026-11-28 04:00 UTC");
        assert_eq!(format_second(1_795_838_401_999), "2026-11-28 04:00:01 UTC");
    }
}
