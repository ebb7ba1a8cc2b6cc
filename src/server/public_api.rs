//! The TextPeak API's own endpoints under `/api/v1`, authenticated by API key.

pub mod cache;
pub mod tokens;
pub mod unknown_tokens;
pub mod verifier;

use crate::db::service::{Failure, classify};
use crate::domain::lifecycle::Refusal;
use crate::server::http::client_ip::ClientIp;
use crate::server::public_api::verifier::{Denied, VerifyError};
use crate::server::state::AppState;
use axum::Json;
use axum::extract::FromRequestParts;
use axum::http::request::Parts;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde_json::json;
use std::net::IpAddr;
use std::sync::Arc;

/// The key a request authenticated with, from an address its IP ACL allows
/// (or reports on). What the caller is told says nothing about the IP ACL:
/// a token holder outside it must not learn which list it is, nor that a
/// report-only list will be enforced later.
#[derive(Debug, Clone)]
pub struct ApiCaller {
    pub key_id: i32,
    pub account_id: i32,
    pub name: Arc<str>,
    /// When this token stops working, if it will.
    pub expires_at: Option<i64>,
}

/// Why the API refused a request; the JSON body names the reason, never the token.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ApiError {
    MissingToken,
    MalformedToken,
    InvalidToken,
    /// A real key's token that may not be used now.
    Refused(Refusal),
    IpNotAllowed(IpAddr),
    TooManyUnknownTokens {
        retry_after_secs: u64,
    },
    NotFound,
    /// The token is not cached and the database cannot be asked: try again.
    Unavailable,
    Internal,
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let (status, code, message) = match self {
            ApiError::MissingToken => (
                StatusCode::UNAUTHORIZED,
                "missing_token",
                "Send the API key's token as: Authorization: Bearer <token>",
            ),
            ApiError::MalformedToken => (
                StatusCode::UNAUTHORIZED,
                "malformed_token",
                "The token is not a TextPeak API key token; check that it was copied whole.",
            ),
            ApiError::InvalidToken => (
                StatusCode::UNAUTHORIZED,
                "invalid_token",
                "The token does not belong to any API key; it may have been deleted.",
            ),
            ApiError::Refused(Refusal::TokenExpired) => (
                StatusCode::UNAUTHORIZED,
                "token_expired",
                "This token was replaced by a newer one of its API key and no longer works; use the new token.",
            ),
            ApiError::Refused(Refusal::KeyDisabled) => (
                StatusCode::UNAUTHORIZED,
                "key_disabled",
                "This API key is disabled; an admin of the account can enable it again.",
            ),
            ApiError::Refused(Refusal::KeyExpired) => (
                StatusCode::UNAUTHORIZED,
                "key_expired",
                "This API key has expired; an admin of the account can extend it.",
            ),
            ApiError::IpNotAllowed(ip) => {
                let body = json!({
                    "error": "ip_not_allowed",
                    "ip": ip.to_string(),
                    "message": "This API key's IP ACL does not allow requests from this address.",
                });
                return (StatusCode::FORBIDDEN, Json(body)).into_response();
            }
            ApiError::TooManyUnknownTokens { retry_after_secs } => {
                let body = json!({
                    "error": "too_many_unknown_tokens",
                    "message": "Too many tokens from this address belong to no API key; wait before trying again.",
                });
                let mut response = (StatusCode::TOO_MANY_REQUESTS, Json(body)).into_response();
                response.headers_mut().insert(header::RETRY_AFTER, HeaderValue::from(retry_after_secs.max(1)));
                return response;
            }
            ApiError::NotFound => (StatusCode::NOT_FOUND, "not_found", "There is no such endpoint."),
            ApiError::Unavailable => {
                let body = json!({
                    "error": "unavailable",
                    "message": "The token could not be checked because the database cannot be reached; try again shortly.",
                });
                let mut response = (StatusCode::SERVICE_UNAVAILABLE, Json(body)).into_response();
                response.headers_mut().insert(header::RETRY_AFTER, HeaderValue::from_static("2"));
                return response;
            }
            ApiError::Internal => {
                (StatusCode::INTERNAL_SERVER_ERROR, "internal", "The server could not check the token; try again.")
            }
        };
        let mut response = (status, Json(json!({ "error": code, "message": message }))).into_response();
        if status == StatusCode::UNAUTHORIZED {
            response
                .headers_mut()
                .insert(header::WWW_AUTHENTICATE, HeaderValue::from_static("Bearer realm=\"TextPeak API\""));
        }
        response
    }
}

impl From<Denied> for ApiError {
    fn from(denied: Denied) -> Self {
        match denied {
            Denied::Malformed => ApiError::MalformedToken,
            Denied::Unknown => ApiError::InvalidToken,
            Denied::Lifecycle(refusal) => ApiError::Refused(refusal),
            Denied::IpNotAllowed(ip) => ApiError::IpNotAllowed(ip),
            Denied::TooManyUnknownTokens { retry_after } => {
                ApiError::TooManyUnknownTokens { retry_after_secs: retry_after.as_secs_f64().ceil() as u64 }
            }
        }
    }
}

/// The bearer token of a request, if it has one in the standard form.
pub fn bearer(parts: &Parts) -> Result<&str, ApiError> {
    let value = parts.headers.get(header::AUTHORIZATION).and_then(|v| v.to_str().ok()).ok_or(ApiError::MissingToken)?;
    let (scheme, token) = value.trim().split_once(' ').ok_or(ApiError::MalformedToken)?;
    if !scheme.eq_ignore_ascii_case("bearer") {
        return Err(ApiError::MalformedToken);
    }
    Ok(token.trim())
}

impl FromRequestParts<AppState> for ApiCaller {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Self::Rejection> {
        let token = bearer(parts)?;
        let Some(&ClientIp(client)) = parts.extensions.get::<ClientIp>() else {
            tracing::error!("no client address: the client_ip middleware is not installed");
            return Err(ApiError::Internal);
        };
        let grant = state.verifier.verify(&state.db, token, client).await.map_err(|e| match e {
            VerifyError::Stale(unheard) => {
                tracing::warn!(?unheard, "refused to answer from memory: the database has not been heard from");
                ApiError::Unavailable
            }
            VerifyError::Db(e) => match classify(&e) {
                Failure::Unavailable => {
                    tracing::warn!(error = %e, "token lookup failed: the database is unavailable");
                    ApiError::Unavailable
                }
                _ => {
                    tracing::error!(error = %e, "token lookup failed");
                    ApiError::Internal
                }
            },
        })??;
        Ok(ApiCaller { key_id: grant.key_id, account_id: grant.account_id, name: grant.name, expires_at: grant.expires_at })
    }
}

/// `GET /api/v1/whoami`: which key the token belongs to, and when the token
/// stops working (RFC 3339, UTC; null if it does not), so software can warn itself.
pub async fn whoami(caller: ApiCaller) -> Response {
    let expires_at = caller
        .expires_at
        .and_then(chrono::DateTime::from_timestamp_millis)
        .map(|at| at.to_rfc3339_opts(chrono::SecondsFormat::Secs, true));
    Json(json!({ "name": &*caller.name, "expires_at": expires_at })).into_response()
}

/// `GET /api/v1/health`: answers without authentication (load balancers, benchmarks).
pub async fn health() -> Json<serde_json::Value> {
    Json(json!({ "status": "ok" }))
}

pub async fn not_found() -> ApiError {
    ApiError::NotFound
}
