//! The TextPeak API's own endpoints under `/api/v1`, authenticated by API key.

pub mod cache;
pub mod rate_limits;
pub mod tokens;
pub mod unknown_tokens;
pub mod verifier;

use crate::db::service::{Failure, classify};
use crate::domain::lifecycle::Refusal;
use crate::domain::permissions::{Access, Permission};
use crate::domain::rate_limit::{RateLimit, Verdict};
use crate::server::http::client_ip::ClientIp;
use crate::server::metrics;
use crate::server::public_api::verifier::{Denied, VerifyError};
use crate::server::state::AppState;
use axum::Json;
use axum::body::Bytes;
use axum::extract::FromRequestParts;
use axum::http::request::Parts;
use axum::http::{HeaderName, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde_json::json;
use std::net::IpAddr;
use std::sync::Arc;

/// What whoami and check answer a key's token, rendered when the key is read
/// into the cache rather than on every request: the hot path then sends
/// bytes it already has (a JSON value built and dropped per request was a
/// tenth of whoami's time on the server).
#[derive(Debug, Default, PartialEq, Eq)]
pub struct Answers {
    pub whoami: Bytes,
    pub check: Bytes,
    /// `RateLimit-Limit`, for a key with a limit: a clone per request, not a number formatted and allocated.
    pub limit: Option<HeaderValue>,
}

impl Answers {
    pub fn render(
        key_id: i32,
        account_id: i32,
        name: &str,
        access: Access,
        expires_at: Option<i64>,
        limit: Option<RateLimit>,
    ) -> Self {
        // Fields in the order serde_json's maps gave them before, so the bytes are unchanged.
        #[derive(serde::Serialize)]
        struct WhoAmI<'a> {
            expires_at: Option<&'a str>,
            name: &'a str,
            permissions: &'a [&'static str],
        }
        #[derive(serde::Serialize)]
        struct Checked<'a> {
            account_id: i32,
            expires_at: Option<&'a str>,
            key_id: i32,
            name: &'a str,
            permissions: &'a [&'static str],
        }
        let expires_at = expires_at
            .and_then(chrono::DateTime::from_timestamp_millis)
            .map(|at| at.to_rfc3339_opts(chrono::SecondsFormat::Secs, true));
        let expires_at = expires_at.as_deref();
        let permissions: Vec<&'static str> = access.scopes().iter().map(Permission::code).collect();
        let permissions = permissions.as_slice();
        Answers {
            whoami: json(&WhoAmI { expires_at, name, permissions }),
            check: json(&Checked { account_id, expires_at, key_id, name, permissions }),
            limit: limit.map(|limit| HeaderValue::from(limit.requests)),
        }
    }
}

/// Plain structs of strings and numbers: serialising them cannot fail. The
/// buffer is shrunk to the body (every cached key holds two of them).
fn json(value: &impl serde::Serialize) -> Bytes {
    Bytes::from(serde_json::to_vec(value).unwrap_or_default().into_boxed_slice())
}

/// A JSON body the server already holds.
fn json_bytes(body: Bytes) -> Response {
    ([(header::CONTENT_TYPE, HeaderValue::from_static("application/json"))], body).into_response()
}

/// The key a request authenticated with, from an address its IP ACL allows
/// (or reports on). What the caller is told says nothing about the IP ACL:
/// a token holder outside it must not learn which list it is, nor that a
/// report-only list will be enforced later.
#[derive(Debug, Clone)]
pub struct ApiCaller {
    pub key_id: i32,
    pub account_id: i32,
    pub access: Access,
    /// The key's rate limit, and where this request left it.
    pub limit: Option<(RateLimit, Verdict)>,
    /// What whoami and check answer it (name, permissions, when the token stops working).
    pub answers: Arc<Answers>,
}

impl ApiCaller {
    /// An answer with the key's rate-limit headers, when it has a limit.
    pub fn answer(&self, body: impl IntoResponse) -> Response {
        let mut response = body.into_response();
        if let Some((limit, verdict)) = self.limit {
            let value = self.answers.limit.clone().unwrap_or_else(|| HeaderValue::from(limit.requests));
            rate_limit_headers(response.headers_mut(), value, verdict);
        }
        response
    }
}

/// `RateLimit-Limit`, `RateLimit-Remaining`, `RateLimit-Reset` (the IETF
/// RateLimit header fields draft): the allowance, what is left, and the
/// seconds until all of it is back.
fn rate_limit_headers(headers: &mut axum::http::HeaderMap, limit: HeaderValue, verdict: Verdict) {
    // Names made once at compile time: a `&str` name is checked on every insert.
    const LIMIT: HeaderName = HeaderName::from_static("ratelimit-limit");
    const REMAINING: HeaderName = HeaderName::from_static("ratelimit-remaining");
    const RESET: HeaderName = HeaderName::from_static("ratelimit-reset");
    headers.reserve(3);
    headers.insert(LIMIT, limit);
    headers.insert(REMAINING, HeaderValue::from(verdict.remaining));
    headers.insert(RESET, small_number(seconds_up(verdict.reset_nanos)));
}

/// A header value of a number; those up to a minute, the usual `RateLimit-Reset`
/// of a key used below its limit, made once and shared, not allocated per request.
fn small_number(n: u64) -> HeaderValue {
    static SMALL: std::sync::LazyLock<Vec<HeaderValue>> = std::sync::LazyLock::new(|| {
        (0..=60u64).map(|n| HeaderValue::from_static(Box::leak(n.to_string().into_boxed_str()))).collect()
    });
    usize::try_from(n).ok().and_then(|i| SMALL.get(i)).cloned().unwrap_or_else(|| HeaderValue::from(n))
}

fn seconds_up(nanos: u64) -> u64 {
    nanos.div_ceil(1_000_000_000)
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
    /// Over the key's rate limit.
    RateLimited {
        limit: RateLimit,
        verdict: Verdict,
    },
    /// `GET /api/v1/check` without a permission, or with one that does not exist.
    UnknownPermission,
    /// The key may not do what `GET /api/v1/check` asked about.
    PermissionDenied(Permission),
    NotFound,
    /// The token is not cached and the database cannot be asked: try again.
    Unavailable,
    Internal,
}

impl ApiError {
    /// The `error` the JSON body names, and the outcome label in the metrics.
    pub fn code(&self) -> &'static str {
        match self {
            ApiError::MissingToken => "missing_token",
            ApiError::MalformedToken => "malformed_token",
            ApiError::InvalidToken => "invalid_token",
            ApiError::Refused(Refusal::TokenExpired) => "token_expired",
            ApiError::Refused(Refusal::KeyDisabled) => "key_disabled",
            ApiError::Refused(Refusal::KeyExpired) => "key_expired",
            ApiError::IpNotAllowed(_) => "ip_not_allowed",
            ApiError::TooManyUnknownTokens { .. } => "too_many_unknown_tokens",
            ApiError::RateLimited { .. } => "rate_limited",
            ApiError::UnknownPermission => "unknown_permission",
            ApiError::PermissionDenied(_) => "permission_denied",
            ApiError::NotFound => "not_found",
            ApiError::Unavailable => "unavailable",
            ApiError::Internal => "internal",
        }
    }
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
            ApiError::RateLimited { limit, verdict } => {
                let body = json!({
                    "error": "rate_limited",
                    "message": format!("This API key may make {limit} requests; wait before trying again."),
                });
                let mut response = (StatusCode::TOO_MANY_REQUESTS, Json(body)).into_response();
                let headers = response.headers_mut();
                rate_limit_headers(headers, HeaderValue::from(limit.requests), verdict);
                headers.insert(header::RETRY_AFTER, HeaderValue::from(seconds_up(verdict.retry_after_nanos).max(1)));
                return response;
            }
            ApiError::UnknownPermission => (
                StatusCode::BAD_REQUEST,
                "unknown_permission",
                "Ask for one permission: sms:send, sms:read, inbound:read, numbers:read, numbers:write or usage:read.",
            ),
            ApiError::PermissionDenied(permission) => {
                let body = json!({
                    "error": "permission_denied",
                    "required": permission.code(),
                    "message": "This API key may not do this.",
                });
                return (StatusCode::FORBIDDEN, Json(body)).into_response();
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
            Denied::RateLimited { limit, verdict } => ApiError::RateLimited { limit, verdict },
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
        let started = metrics::verification_started();
        let caller = authenticate(parts, state).await;
        metrics::verified(caller.as_ref().map_or_else(ApiError::code, |_| "allowed"), started);
        caller
    }
}

/// Who the request's token says it is, and whether it may ask from here.
async fn authenticate(parts: &Parts, state: &AppState) -> Result<ApiCaller, ApiError> {
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
    Ok(ApiCaller {
        key_id: grant.key_id,
        account_id: grant.account_id,
        access: grant.access,
        limit: grant.limit,
        answers: grant.answers,
    })
}

/// `GET /api/v1/whoami`: which key the token belongs to, what it may do, and
/// when the token stops working (RFC 3339, UTC; null if it does not), so
/// software can warn itself.
pub async fn whoami(caller: ApiCaller) -> Response {
    caller.answer(json_bytes(caller.answers.whoami.clone()))
}

/// `GET /api/v1/check?permission=sms:send`: what the TextPeak API's services
/// ask before they act. Every refusal of the token comes first (the same as
/// whoami's, in the same order, the rate limit last); then 400 for a
/// permission that does not exist, 403 for one the key may not use. Each
/// check is counted for the key's "Permissions used".
pub async fn check(
    axum::extract::State(state): axum::extract::State<AppState>,
    caller: ApiCaller,
    query: axum::extract::RawQuery,
) -> Response {
    let asked = query.0.as_deref().and_then(|query| {
        form_urlencoded::parse(query.as_bytes()).find(|(k, _)| k == "permission").map(|(_, v)| v.into_owned())
    });
    let Some(permission) = asked.as_deref().and_then(Permission::from_code) else {
        return caller.answer(ApiError::UnknownPermission);
    };
    let granted = caller.access.allows(permission);
    state.usage.record_check(caller.key_id, state.clock.now_ms(), permission, granted);
    if !granted {
        return caller.answer(ApiError::PermissionDenied(permission));
    }
    caller.answer(json_bytes(caller.answers.check.clone()))
}

/// `GET /api/v1/health`: liveness. The process answers, whatever the database does.
pub async fn health() -> Json<serde_json::Value> {
    Json(json!({ "status": "ok" }))
}

/// How long readiness waits for the database before it says it is not ready.
const READY_WITHIN: std::time::Duration = std::time::Duration::from_secs(2);

/// `GET /api/v1/ready`: whether a load balancer should send this instance
/// traffic: the database answers, its schema is this version's, and (on
/// PostgreSQL) other instances' changes are heard. 503 names the first that fails.
pub async fn ready(axum::extract::State(state): axum::extract::State<AppState>) -> Response {
    match readiness(&state).await {
        Ok(()) => Json(json!({ "status": "ready" })).into_response(),
        Err((reason, message)) => {
            let body = json!({ "status": "not_ready", "reason": reason, "message": message });
            let mut response = (StatusCode::SERVICE_UNAVAILABLE, Json(body)).into_response();
            response.headers_mut().insert(header::RETRY_AFTER, HeaderValue::from_static("2"));
            response
        }
    }
}

async fn readiness(state: &AppState) -> Result<(), (&'static str, String)> {
    use sea_orm::ConnectionTrait;
    use sea_orm_migration::MigratorTrait;
    let unavailable = |e: String| ("database_unavailable", format!("The database does not answer: {e}"));
    match tokio::time::timeout(READY_WITHIN, state.db.execute_unprepared("SELECT 1")).await {
        Ok(Ok(_)) => {}
        Ok(Err(e)) => return Err(unavailable(e.to_string())),
        Err(_) => return Err(unavailable(format!("no answer within {READY_WITHIN:?}"))),
    }
    // Read only: readiness never creates the migrations table. A database
    // migrated by a newer version fails here too (a migration we lack).
    let pending = crate::db::migration::Migrator::get_pending_migrations_read_only(&state.db).await.map_err(|e| {
        ("migrations_unknown", format!("The database's migrations cannot be read as this version's: {e}"))
    })?;
    if !pending.is_empty() {
        let names: Vec<&str> = pending.iter().map(|m| m.name()).collect();
        return Err(("migrations_pending", format!("The database lacks migrations: {}", names.join(", "))));
    }
    if state.db.get_database_backend() == sea_orm::DbBackend::Postgres && !state.verifier.cache().listening() {
        return Err((
            "not_listening",
            "This instance does not hear other instances' changes, so what it remembers may be out of date.".into(),
        ));
    }
    Ok(())
}

pub async fn not_found() -> ApiError {
    ApiError::NotFound
}

#[cfg(test)]
mod tests {
    use super::*;
    use http_body_util::BodyExt;

    /// Rendered once per cache fill, the bodies are the API's documented
    /// shape, escaping and all, and the same bytes the per-request JSON gave.
    #[test]
    fn answers_are_the_api_shape() {
        use crate::domain::permissions::Scopes;
        let restricted = Access::Restricted(Scopes::of([Permission::SmsSend, Permission::SmsRead]));
        let limit = RateLimit { requests: 5, per: crate::domain::rate_limit::Period::Minute };
        let answers = Answers::render(7, 3, "Billing \"prod\"", restricted, Some(1_795_838_400_000), Some(limit));
        assert_eq!(answers.limit, Some(HeaderValue::from_static("5")));
        let text = |b: &Bytes| String::from_utf8(b.to_vec()).unwrap();
        assert_eq!(
            text(&answers.whoami),
            r#"{"expires_at":"2026-11-28T04:00:00Z","name":"Billing \"prod\"","permissions":["sms:send","sms:read"]}"#
        );
        assert_eq!(
            text(&answers.check),
            r#"{"account_id":3,"expires_at":"2026-11-28T04:00:00Z","key_id":7,"name":"Billing \"prod\"","permissions":["sms:send","sms:read"]}"#
        );
        let full = Answers::render(1, 1, "k", Access::Full, None, None);
        assert_eq!(full.limit, None);
        let before = json!({ "name": "k", "permissions": Access::Full.scopes().iter().map(Permission::code).collect::<Vec<_>>(), "expires_at": null });
        assert_eq!(full.whoami, serde_json::to_vec(&before).unwrap());
    }

    #[test]
    fn small_numbers_read_as_any_other_number() {
        for n in [0u64, 1, 59, 60, 61, 3600, u64::MAX] {
            assert_eq!(small_number(n), HeaderValue::from(n), "{n}");
        }
    }

    /// The outcome label an operator alerts on is the code a client reads.
    #[tokio::test]
    async fn each_error_code_is_the_one_its_body_names() {
        let limit = RateLimit { requests: 5, per: crate::domain::rate_limit::Period::Minute };
        let verdict = Verdict { allowed: false, remaining: 0, reset_nanos: 1, retry_after_nanos: 1 };
        let every = [
            ApiError::MissingToken,
            ApiError::MalformedToken,
            ApiError::InvalidToken,
            ApiError::Refused(Refusal::TokenExpired),
            ApiError::Refused(Refusal::KeyDisabled),
            ApiError::Refused(Refusal::KeyExpired),
            ApiError::IpNotAllowed("192.0.2.1".parse().unwrap()),
            ApiError::TooManyUnknownTokens { retry_after_secs: 3 },
            ApiError::RateLimited { limit, verdict },
            ApiError::UnknownPermission,
            ApiError::PermissionDenied(Permission::SmsSend),
            ApiError::NotFound,
            ApiError::Unavailable,
            ApiError::Internal,
        ];
        for error in every {
            let code = error.code();
            let body = error.into_response().into_body().collect().await.unwrap().to_bytes();
            let body: serde_json::Value = serde_json::from_slice(&body).unwrap();
            assert_eq!(body["error"], code);
            let counted = ["unknown_permission", "permission_denied", "not_found"];
            assert!(metrics::OUTCOMES.contains(&code) || counted.contains(&code), "{code} has no outcome label");
        }
    }
}
