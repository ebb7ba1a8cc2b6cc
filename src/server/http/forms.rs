//! The forms of the pages that ship no wasm (see `app::needs_bundle`):
//! `POST /login`, `POST /login/two-factor` and `POST /join/<token>`. Each runs
//! the same use case as its server function (throttle, known browser,
//! audit) and answers as a form expects: a success goes on with a redirect,
//! a failure shows the page again with the message and what was typed worth
//! keeping, under the status the server function would have given.

use crate::app::{FormFailure, second_step_url, shell};
use crate::domain::session::return_path;
use crate::rpc::ConsoleError;
use crate::server::console::auth::{self, Proof, SignInStep, SignedIn, Visitor};
use crate::server::console::team;
use crate::server::http::client_ip::ClientIp;
use crate::server::http::cookies::{CookiePolicy, cookie};
use crate::server::state::AppState;
use axum::body::Body;
use axum::extract::{Request, State};
use axum::http::request::Parts;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Redirect, Response};
use leptos::prelude::*;

use crate::server::http::limits::FORM_LIMIT;

/// The fields of a form; anything else in the body is ignored.
#[derive(Debug, Default, PartialEq, Eq)]
struct Form {
    username: String,
    password: String,
    confirm: String,
    code: Option<String>,
    recovery_code: Option<String>,
    next: Option<String>,
}

impl Form {
    fn parse(body: &[u8]) -> Form {
        let mut form = Form::default();
        for (key, value) in form_urlencoded::parse(body) {
            match &*key {
                "username" => form.username = value.into_owned(),
                "password" => form.password = value.into_owned(),
                "confirm" => form.confirm = value.into_owned(),
                "code" => form.code = Some(value.into_owned()),
                "recovery_code" => form.recovery_code = Some(value.into_owned()),
                "next" => form.next = Some(value.into_owned()).filter(|next| !next.is_empty()),
                _ => {}
            }
        }
        form
    }
}

/// Which form was posted.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Which {
    SignIn,
    SecondStep,
    Join,
}

/// The handler. `page_context` is what every rendered page gets (its
/// content security policy); the guard has already checked the host and
/// that the form came from this console.
pub async fn submit(
    State(state): State<AppState>,
    which: Which,
    page_context: impl Fn() + Clone + Send + Sync + 'static,
    request: Request,
) -> Response {
    let (parts, body) = request.into_parts();
    let bytes = match axum::body::to_bytes(body, FORM_LIMIT).await {
        Ok(bytes) => bytes,
        Err(_) => {
            let err = ConsoleError::TooLarge { limit_kib: (FORM_LIMIT / 1024) as u64 };
            return render_again(&state, page_context, parts, Form::default(), which, err).await;
        }
    };
    let form = Form::parse(&bytes);
    let (Some(policy), Some(ip)) =
        (parts.extensions.get::<CookiePolicy>().copied(), parts.extensions.get::<ClientIp>())
    else {
        tracing::error!("a form reached without the guard's cookie policy or the client address");
        return render_again(&state, page_context, parts, form, which, ConsoleError::Internal).await;
    };
    let known_browser = cookie(&parts.headers, policy.known_browser_name()).map(str::to_owned);
    let user_agent = parts.headers.get(header::USER_AGENT).and_then(|v| v.to_str().ok()).unwrap_or_default();
    let visitor = Visitor {
        client_ip: ip.0,
        user_agent: crate::domain::user_agent::clip(user_agent),
        known_browser: known_browser.as_deref(),
    };
    let next = form.next.as_deref().and_then(return_path).map(str::to_owned);
    let outcome = match which {
        Which::SignIn => auth::sign_in(&state, &visitor, &form.username, &form.password).await,
        Which::SecondStep => match cookie(&parts.headers, policy.pending_name()) {
            Some(challenge) => {
                let proof = match (&form.recovery_code, &form.code) {
                    (Some(recovery), _) => Proof::RecoveryCode(recovery),
                    (None, code) => Proof::Code(code.as_deref().unwrap_or_default()),
                };
                auth::verify_second_step(&state, &visitor, challenge, proof).await.map(SignInStep::Done)
            }
            None => Err(ConsoleError::ChallengeExpired),
        },
        Which::Join => {
            let token = parts.uri.path().trim_start_matches("/join/").to_owned();
            team::join(&state, &visitor, &token, &form.password, &form.confirm).await.map(SignInStep::Done)
        }
    };
    match outcome {
        Ok(SignInStep::Done(SignedIn { session_id, known_browser })) => {
            if which == Which::Join
                && let Some(old) = cookie(&parts.headers, policy.session_name())
                && let Err(e) = crate::db::service::sessions::end_by_cookie(&state.db, old).await
            {
                // The browser gets the new session either way; the old one times out.
                tracing::warn!(error = %e, "could not end the session a join replaced");
            }
            let to = if which == Which::Join { "/" } else { next.as_deref().unwrap_or("/") };
            let mut response = Redirect::to(to).into_response();
            let headers = response.headers_mut();
            headers.append(header::SET_COOKIE, policy.session_cookie(Some(&session_id)));
            headers.append(header::SET_COOKIE, policy.known_browser_cookie(&known_browser));
            if which == Which::SecondStep {
                headers.append(header::SET_COOKIE, policy.pending_cookie(None));
            }
            response
        }
        Ok(SignInStep::Code { challenge }) => {
            let mut response = Redirect::to(&second_step_url(next.as_deref())).into_response();
            response.headers_mut().append(header::SET_COOKIE, policy.pending_cookie(Some(&challenge)));
            response
        }
        Err(err) => render_again(&state, page_context, parts, form, which, err).await,
    }
}

/// The page again, with the failure in its context.
async fn render_again(
    state: &AppState,
    page_context: impl Fn() + Clone + Send + Sync + 'static,
    parts: Parts,
    form: Form,
    which: Which,
    err: ConsoleError,
) -> Response {
    let failure = FormFailure {
        username: form.username,
        next: form.next,
        message: err.to_string(),
        recovery: form.recovery_code.is_some(),
    };
    let policy = parts.extensions.get::<CookiePolicy>().copied();
    let options = state.leptos_options.clone();
    let state = state.clone();
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
    if let (Which::SecondStep, ConsoleError::ChallengeExpired, Some(policy)) = (which, &err, policy) {
        headers.append(header::SET_COOKIE, policy.pending_cookie(None));
    }
    response
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_form_is_read_field_by_field() {
        let form = Form::parse(b"username=admin&password=a+b%26c&next=%2Fsettings%2Fip-acls&extra=1");
        assert_eq!(form.username, "admin");
        assert_eq!(form.password, "a b&c");
        assert_eq!(form.next.as_deref(), Some("/settings/ip-acls"));
        assert_eq!(Form::parse(b"next=").next, None);
        assert_eq!(Form::parse(b"code=123456").code.as_deref(), Some("123456"));
        assert_eq!(Form::parse(b"\xff\xfe=%zz"), Form::default());
    }
}
