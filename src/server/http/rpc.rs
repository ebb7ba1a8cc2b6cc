//! The one place that gives each server-function failure its HTTP status.
//! (Who is calling, and the request's state, are in `server::caller`.)

use crate::rpc::ConsoleError;
use axum::body::Body;
use axum::extract::Request;
use axum::http::StatusCode;
use axum::http::{HeaderValue, header};
use axum::middleware::Next;
use axum::response::Response;
use server_fn::error::SERVER_FN_ERROR_HEADER;

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
