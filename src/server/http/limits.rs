//! The largest request body a server function accepts. The largest real
//! form is an IP ACL of 100 entries with comments, about 25 KiB once
//! form-encoded; anything larger is refused with 413 before any of it is
//! parsed, so a multi-megabyte paste costs nothing but its upload.

use crate::rpc::ConsoleError;
use axum::body::Body;
use axum::extract::Request;
use axum::http::{HeaderValue, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use server_fn::error::SERVER_FN_ERROR_HEADER;

pub const RPC_BODY_LIMIT: usize = 64 * 1024;
/// How much of a refused body is read and thrown away before answering: a
/// browser that is still sending when the connection closes may never see
/// the answer. Past this the connection is simply closed.
const DRAIN_LIMIT: usize = 8 * 1024 * 1024;

/// Middleware for `/rpc/…`: refuses a body over [`RPC_BODY_LIMIT`], whether it
/// announces its length or not (chunked bodies are read up to the limit).
pub async fn rpc_body(request: Request, next: Next) -> Response {
    if !request.uri().path().starts_with("/rpc/") {
        return next.run(request).await;
    }
    let announced =
        request.headers().get(header::CONTENT_LENGTH).and_then(|v| v.to_str().ok()).and_then(|v| v.parse::<u64>().ok());
    match announced {
        Some(length) if length > RPC_BODY_LIMIT as u64 => {
            drain(request.into_body()).await;
            too_large()
        }
        Some(_) => next.run(request).await,
        None => {
            let (parts, body) = request.into_parts();
            match axum::body::to_bytes(body, RPC_BODY_LIMIT).await {
                Ok(bytes) => next.run(Request::from_parts(parts, Body::from(bytes))).await,
                Err(_) => too_large(),
            }
        }
    }
}

/// Reads and discards a body, up to [`DRAIN_LIMIT`], without keeping it.
async fn drain(mut body: Body) {
    use http_body_util::BodyExt;
    let mut read = 0usize;
    while let Some(Ok(frame)) = body.frame().await {
        read += frame.data_ref().map_or(0, |data| data.len());
        if read > DRAIN_LIMIT {
            return;
        }
    }
}

/// The dialog shows this like any other error of the form.
fn too_large() -> Response {
    let err = ConsoleError::TooLarge { limit_kib: (RPC_BODY_LIMIT / 1024) as u64 };
    let mut response = (StatusCode::PAYLOAD_TOO_LARGE, axum::Json(err)).into_response();
    response.headers_mut().insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    response.headers_mut().insert(SERVER_FN_ERROR_HEADER, HeaderValue::from_static("body-limit"));
    response.headers_mut().insert(header::CONNECTION, HeaderValue::from_static("close"));
    response
}
