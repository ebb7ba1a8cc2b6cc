//! `POST /login`: the sign-in page's form. The page ships no wasm (see
//! `app::needs_bundle`), so this is how every browser signs in. It runs the
//! same `auth::sign_in` as the `sign_in` server function (throttle, known
//! browser, audit) and answers as a form expects: a success goes on to the
//! page asked for, a failure shows the page again with the message and the
//! username kept, under the status the server function would have given.

use crate::api::ConsoleError;
use crate::app::{SignInFailure, shell};
use crate::domain::session::return_path;
use crate::server::console::auth;
use crate::server::http::client_ip::ClientIp;
use crate::server::http::guard::{self, CookiePolicy};
use crate::server::state::AppState;
use axum::body::Body;
use axum::extract::{Request, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Redirect, Response};
use leptos::prelude::*;

/// Far more than a username, a password and a return path take; a larger body
/// is refused unread.
const FORM_LIMIT: usize = 8 * 1024;

/// The fields of the form; anything else in the body is ignored.
#[derive(Debug, Default, PartialEq, Eq)]
struct Form {
    username: String,
    password: String,
    next: Option<String>,
}

impl Form {
    fn parse(body: &[u8]) -> Form {
        let mut form = Form::default();
        for (key, value) in form_urlencoded::parse(body) {
            match &*key {
                "username" => form.username = value.into_owned(),
                "password" => form.password = value.into_owned(),
                "next" => form.next = Some(value.into_owned()).filter(|next| !next.is_empty()),
                _ => {}
            }
        }
        form
    }
}

/// The handler. `page_context` is what every rendered page gets (its
/// content security policy); the guard has already checked the host and
/// that the form came from this console.
pub async fn submit(
    State(state): State<AppState>,
    page_context: impl Fn() + Clone + Send + Sync + 'static,
    request: Request,
) -> Response {
    let (parts, body) = request.into_parts();
    let (form, outcome) = match axum::body::to_bytes(body, FORM_LIMIT).await {
        Err(_) => (Form::default(), Err(ConsoleError::TooLarge { limit_kib: (FORM_LIMIT / 1024) as u64 })),
        Ok(bytes) => {
            let form = Form::parse(&bytes);
            let outcome = match (parts.extensions.get::<CookiePolicy>(), parts.extensions.get::<ClientIp>()) {
                (Some(policy), Some(ip)) => {
                    let known_browser = guard::cookie(&parts.headers, policy.known_browser_name());
                    auth::sign_in(&state, ip.0, &form.username, &form.password, known_browser)
                        .await
                        .map(|signed_in| (*policy, signed_in))
                }
                _ => {
                    tracing::error!("sign-in form reached without the guard's cookie policy or the client address");
                    Err(ConsoleError::Internal)
                }
            };
            (form, outcome)
        }
    };
    match outcome {
        Ok((policy, signed_in)) => {
            let mut response = Redirect::to(form.next.as_deref().and_then(return_path).unwrap_or("/")).into_response();
            let headers = response.headers_mut();
            headers.append(header::SET_COOKIE, policy.session_cookie(Some(&signed_in.session_id)));
            headers.append(header::SET_COOKIE, policy.known_browser_cookie(&signed_in.known_browser));
            response
        }
        Err(err) => {
            let failure = SignInFailure { username: form.username, next: form.next, message: err.to_string() };
            let options = state.leptos_options.clone();
            let render = leptos_axum::render_app_to_stream_with_context(
                move || {
                    provide_context(state.clone());
                    provide_context(failure.clone());
                    page_context();
                },
                move || shell(options.clone()),
            );
            let mut response = render(Request::from_parts(parts, Body::empty())).await;
            *response.status_mut() = StatusCode::from_u16(err.status()).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
            let headers = response.headers_mut();
            if let Some(secs) = err.retry_after_secs() {
                headers.insert(header::RETRY_AFTER, HeaderValue::from(secs));
            }
            headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
            response
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_form_is_read_field_by_field() {
        let form = Form::parse(b"username=admin&password=a+b%26c&next=%2Fsettings%2Fip-acls&extra=1");
        assert_eq!(
            form,
            Form { username: "admin".into(), password: "a b&c".into(), next: Some("/settings/ip-acls".into()) }
        );
        assert_eq!(Form::parse(b"next=").next, None);
        assert_eq!(Form::parse(b"\xff\xfe=%zz"), Form::default());
    }
}
