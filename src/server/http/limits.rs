//! Every request body's cap, in one place, before any handler reads a byte.
//! Server functions take at most 64 KiB (the largest real form, an IP ACL of
//! 100 entries with comments, is about 25 KiB once encoded); the sign-in,
//! second-step and join forms and everything else at most 8 KiB. A larger
//! body is refused with 413 before any of it is parsed, announced or not
//! (chunked bodies are read up to the cap), so a multi-megabyte paste costs
//! nothing but its upload. A request that carries both `Content-Length` and
//! `Transfer-Encoding` (how requests are smuggled past proxies) never reaches
//! here with both: hyper drops the length and reads the chunks (RFC 9112
//! §6.3), and the chunks are held to the same cap as any body, on every route.

use crate::rpc::ConsoleError;
use axum::body::Body;
use axum::extract::Request;
use axum::http::{HeaderValue, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use server_fn::error::SERVER_FN_ERROR_HEADER;

pub const RPC_BODY_LIMIT: usize = 64 * 1024;
/// Far more than a username, a password, a code and a return path take.
pub const FORM_LIMIT: usize = 8 * 1024;
/// How much of a refused body is read and thrown away before answering: a
/// browser that is still sending when the connection closes may never see
/// the answer. Past this the connection is simply closed.
const DRAIN_LIMIT: usize = 8 * 1024 * 1024;

/// The cap for a path.
pub fn limit_for(path: &str) -> usize {
    if path.starts_with("/rpc/") { RPC_BODY_LIMIT } else { FORM_LIMIT }
}

/// Middleware for every route.
pub async fn bodies(request: Request, next: Next) -> Response {
    let headers = request.headers();
    let limit = limit_for(request.uri().path());
    let rpc = request.uri().path().starts_with("/rpc/");
    let announced =
        headers.get(header::CONTENT_LENGTH).and_then(|v| v.to_str().ok()).and_then(|v| v.parse::<u64>().ok());
    let chunked = headers.contains_key(header::TRANSFER_ENCODING);
    match announced {
        Some(length) if length > limit as u64 => {
            drain(request.into_body()).await;
            too_large(limit, rpc)
        }
        Some(_) => next.run(request).await,
        None if !chunked => next.run(request).await,
        None => {
            let (parts, body) = request.into_parts();
            match axum::body::to_bytes(body, limit).await {
                Ok(bytes) => next.run(Request::from_parts(parts, Body::from(bytes))).await,
                Err(_) => too_large(limit, rpc),
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

/// A server function's dialog shows this like any other error of the form;
/// a page's form gets the words.
fn too_large(limit: usize, rpc: bool) -> Response {
    let err = ConsoleError::TooLarge { limit_kib: (limit / 1024) as u64 };
    let mut response = if rpc {
        let mut response = (StatusCode::PAYLOAD_TOO_LARGE, axum::Json(err)).into_response();
        response.headers_mut().insert(SERVER_FN_ERROR_HEADER, HeaderValue::from_static("body-limit"));
        response
    } else {
        (StatusCode::PAYLOAD_TOO_LARGE, format!("{err}\n")).into_response()
    };
    response.headers_mut().insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    response.headers_mut().insert(header::CONNECTION, HeaderValue::from_static("close"));
    response
}
