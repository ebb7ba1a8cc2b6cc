//! A request id on every request: the caller's `x-request-id` when it is a
//! plain one, else a new one; returned on the answer and carried by every
//! log line written while the request is served (a `request` span), so an
//! operator can follow one request across the logs of a proxy and ours.

use axum::extract::Request;
use axum::http::HeaderValue;
use axum::middleware::Next;
use axum::response::Response;
use std::sync::LazyLock;
use std::sync::atomic::{AtomicU64, Ordering};
use tracing::Instrument;

pub const HEADER: &str = "x-request-id";
/// Longer ids, or ids with other characters, are replaced: they reach the
/// logs, and a log line must not be something a stranger wrote.
const MAX_LEN: usize = 64;

/// Unique, not secret: a random start for this process and a counter, so
/// ids from several instances do not collide and no request pays for a
/// call to the system's random source.
static NEXT: LazyLock<(u64, AtomicU64)> = LazyLock::new(|| {
    let mut seed = [0u8; 16];
    let _ = getrandom::fill(&mut seed);
    let [a, b] = [&seed[..8], &seed[8..]].map(|half| u64::from_le_bytes(half.try_into().expect("8 bytes")));
    (a, AtomicU64::new(b))
});

fn generate() -> String {
    let (process, counter) = &*NEXT;
    format!("{process:016x}{:016x}", counter.fetch_add(1, Ordering::Relaxed))
}

/// The caller's id, if it is one we may log and echo.
pub fn acceptable(value: &HeaderValue) -> Option<&str> {
    let id = value.to_str().ok()?;
    let plain = |c: char| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.' | ':');
    (!id.is_empty() && id.len() <= MAX_LEN && id.chars().all(plain)).then_some(id)
}

pub async fn tag(mut request: Request, next: Next) -> Response {
    let id = match request.headers().get(HEADER).and_then(acceptable) {
        Some(id) => id.to_owned(),
        None => generate(),
    };
    let value = HeaderValue::from_str(&id).expect("ids are visible ASCII");
    request.headers_mut().insert(HEADER, value.clone());
    let span = tracing::info_span!("request", id = %id);
    let mut response = next.run(request).instrument(span).await;
    response.headers_mut().insert(HEADER, value);
    response
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plain_ids_are_kept_and_others_replaced() {
        let keep = |s: &str| acceptable(&HeaderValue::from_str(s).unwrap()).map(str::to_owned);
        assert_eq!(keep("3f2a-77b1_c.9:1").as_deref(), Some("3f2a-77b1_c.9:1"));
        assert_eq!(keep(""), None);
        assert_eq!(keep("two words"), None, "a space could forge a log field");
        assert_eq!(keep("a\"quote"), None);
        assert_eq!(keep(&"x".repeat(65)), None);
        assert!(keep(&"x".repeat(64)).is_some());
    }

    #[test]
    fn generated_ids_differ_and_are_acceptable() {
        let (first, second) = (generate(), generate());
        assert_ne!(first, second);
        assert_eq!(first.len(), 32);
        assert!(acceptable(&HeaderValue::from_str(&first).unwrap()).is_some());
    }
}
