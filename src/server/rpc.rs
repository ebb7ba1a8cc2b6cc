//! What every server function does first: find the shared state and the
//! caller. And the one place that gives each failure its HTTP status.

use crate::api::ConsoleError;
use crate::server::state::AppState;
use axum::body::Body;
use axum::extract::Request;
use axum::http::{HeaderValue, StatusCode, header};
use axum::middleware::Next;
use axum::response::Response;
use leptos::prelude::*;
use leptos_axum::ResponseOptions;
use server_fn::error::SERVER_FN_ERROR_HEADER;

/// Who is calling: every query is scoped to this account.
#[derive(Debug, Clone)]
pub struct Caller {
    pub account_id: i32,
}

pub fn state() -> Result<AppState, ConsoleError> {
    use_context::<AppState>().ok_or_else(|| {
        tracing::error!("server function called without AppState in context");
        ConsoleError::Internal
    })
}

/// Resolves the caller. Until sign-in exists every request acts for the
/// install's default account.
pub async fn caller() -> Result<Caller, ConsoleError> {
    let state = state()?;
    Ok(Caller { account_id: state.default_account_id })
}

/// For answers that carry a token: no cache may keep them.
pub fn no_store() {
    if let Some(options) = use_context::<ResponseOptions>() {
        options.insert_header(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    }
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
    let bytes = axum::body::to_bytes(body, 64 * 1024).await.unwrap_or_default();
    if let Ok(err) = serde_json::from_slice::<ConsoleError>(&bytes) {
        parts.status = StatusCode::from_u16(err.status()).unwrap_or(parts.status);
    }
    Response::from_parts(parts, Body::from(bytes))
}
