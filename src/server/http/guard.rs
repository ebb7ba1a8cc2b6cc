//! Who may reach what, decided once for every request. Console pages need a
//! signed-in admin; server functions are let through only as the role table
//! (`domain::roles`) says, with a recent proof of identity where it asks for
//! one, and refuse cross-site callers. The sign-in, second-step and join
//! pages are open to the signed out. The public API (`/api/v1`) and static
//! files pass straight through, untouched.
//!
//! Before any session is looked up, a console request must name this console
//! in its `Host` (so a DNS-rebinding page cannot drive it through the admin's
//! browser), and a request carrying the session cookie or calling a server
//! function must say where it comes from (`Origin` or `Sec-Fetch-Site`, which
//! every current browser sends) and come from the console itself.

use crate::db::service::{admins, sessions};
use crate::domain::roles::{self, Need, Refused, Standing};
use crate::rpc::ConsoleError;
use crate::server::caller::Caller;
use crate::server::http::client_ip::{ClientIp, ViaHttps};
use crate::server::http::cookies::{CookiePolicy, cookie};
use crate::server::startup::config::Settings;
use crate::server::state::AppState;
use axum::extract::{Request, State};
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Redirect, Response};
use std::net::{IpAddr, Ipv4Addr};

/// Where an admin who must set up two-factor authentication is sent.
pub const SECURITY_PAGE: &str = "/settings/security";

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Area {
    /// A console page: without a session, go to the sign-in page.
    Page,
    /// The sign-in page and its second step: a signed-in visitor goes on into the console.
    Login,
    /// Joining through an invitation: open to anyone who holds the link.
    Join,
    /// A server function: without a session, 401.
    Rpc,
    /// What needs no session: the public API and the browser bundle's files.
    Open,
}

/// Everything not named open is a console page, so a route added later is
/// protected unless someone decides otherwise here.
fn area(path: &str) -> Area {
    if path.starts_with("/rpc/") {
        Area::Rpc
    } else if path == "/login" || path.starts_with("/login/") {
        Area::Login
    } else if path.starts_with("/join/") {
        Area::Join
    } else if path.starts_with("/api/v1/") || path.starts_with("/pkg/") || path == "/favicon.svg" {
        Area::Open
    } else {
        Area::Page
    }
}

/// Did this request come from the console's own pages? Browsers send `Origin`
/// on every POST and `Sec-Fetch-Site` on every request, so a request with
/// neither is not a browser's and is refused too. A form posted under our
/// `Referrer-Policy: no-referrer` carries `Origin: null`; then only a browser's
/// own `Sec-Fetch-Site: same-origin` (no page can set it) lets it through.
fn same_origin(headers: &HeaderMap, settings: &Settings) -> bool {
    let fetch_site = headers.get("sec-fetch-site");
    if fetch_site.is_some_and(|site| site.as_bytes() != b"same-origin") {
        return false;
    }
    let origin = headers.get(header::ORIGIN).and_then(|v| v.to_str().ok()).filter(|origin| *origin != "null");
    let Some(origin) = origin else {
        return fetch_site.is_some();
    };
    match &settings.public_origin {
        Some(public) => origin.eq_ignore_ascii_case(public),
        None => {
            let host = headers.get(header::HOST).and_then(|v| v.to_str().ok()).unwrap_or_default();
            origin.split_once("://").is_some_and(|(_, rest)| !host.is_empty() && rest.eq_ignore_ascii_case(host))
        }
    }
}

fn refuse(err: ConsoleError) -> Response {
    let status = StatusCode::from_u16(err.status()).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    let mut response = (status, axum::Json(err)).into_response();
    response.headers_mut().insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    response
}

/// `/login`, remembering the page asked for so that sign-in returns to it
/// (checked again there: see `domain::session::return_path`).
fn login_url(asked: &axum::http::Uri) -> String {
    match asked.path_and_query().map(|p| p.as_str()).filter(|p| *p != "/") {
        Some(page) => {
            format!("/login?{}", form_urlencoded::Serializer::new(String::new()).append_pair("next", page).finish())
        }
        None => "/login".to_owned(),
    }
}

/// A page navigation says where it came from with `Sec-Fetch-Site`: the
/// console itself, or the admin typing the address or following a bookmark.
fn navigation_from_here(headers: &HeaderMap) -> bool {
    match headers.get("sec-fetch-site") {
        Some(site) => matches!(site.as_bytes(), b"same-origin" | b"none"),
        None => headers.contains_key(header::ORIGIN),
    }
}

/// The caller a live session stands for.
fn caller_of(
    found: sessions::SignedIn,
    client_ip: IpAddr,
    recently_proved: bool,
    known_browser: Option<String>,
    now: i64,
) -> Caller {
    let two_factor = found.admin.totp_sealed.is_some();
    Caller {
        now,
        recently_proved,
        known_browser,
        session_id: found.session.id,
        admin_id: found.admin.id,
        role: admins::role_of(&found.admin),
        username: found.admin.username,
        account_id: found.account.id,
        account_name: found.account.name,
        two_factor,
        must_set_up_two_factor: found.account.require_two_factor && !two_factor,
        client_ip,
    }
}

/// What the role table's refusal tells the caller.
fn refusal(refused: Refused) -> ConsoleError {
    match refused {
        // An endpoint nobody decided about is closed.
        Refused::Unlisted => ConsoleError::Forbidden,
        Refused::Role(role) => ConsoleError::NotAllowed { role },
        Refused::TwoFactorSetup => ConsoleError::TwoFactorSetupRequired,
        Refused::ConfirmAccess => ConsoleError::ConfirmAccess,
    }
}

/// Middleware: checks the host, resolves the session and enforces the rules above.
pub async fn sessions(State(state): State<AppState>, mut request: Request, next: Next) -> Response {
    let path = request.uri().path().to_owned();
    let area = area(&path);
    if area == Area::Open {
        return next.run(request).await;
    }
    let settings = &state.settings;
    let host = request.headers().get(header::HOST).and_then(|v| v.to_str().ok()).unwrap_or_default();
    if !settings.host_allowed(host) {
        tracing::warn!(
            host = %host.chars().take(100).collect::<String>(),
            "refused a request for a host this console does not answer to; if it is the console's \
             public address, set TEXTPEAK_PUBLIC_URL to it"
        );
        return (StatusCode::MISDIRECTED_REQUEST, "This console does not answer to that host name.\n").into_response();
    }
    if area == Area::Rpc && !same_origin(request.headers(), settings) {
        tracing::warn!(%path, "refused a cross-site server function call");
        return refuse(ConsoleError::Forbidden);
    }
    // A sign-in or join form posted from another site would sign the admin's
    // browser in to whatever account that site chose.
    if matches!(area, Area::Login | Area::Join)
        && request.method() == Method::POST
        && !same_origin(request.headers(), settings)
    {
        tracing::warn!(%path, "refused a cross-site form");
        return (StatusCode::FORBIDDEN, format!("{}\n", ConsoleError::Forbidden)).into_response();
    }

    let via_https = request.extensions().get::<ViaHttps>().is_some_and(|v| v.0);
    let policy = CookiePolicy { secure: settings.secure_cookies_for(via_https) };
    request.extensions_mut().insert(policy);
    let cookie_id = cookie(request.headers(), policy.session_name()).map(str::to_owned);
    if cookie_id.is_some() && area != Area::Rpc && !navigation_from_here(request.headers()) {
        tracing::warn!(%path, "refused a page request that carried the session cookie but not its origin");
        return (StatusCode::FORBIDDEN, "This request was refused because it did not come from the console.\n")
            .into_response();
    }
    let now = state.clock.now_ms();
    let signed_in = match &cookie_id {
        Some(id) => match sessions::resume(&state.db, id, now).await {
            Ok(found) => found,
            Err(e) => {
                let err = ConsoleError::from(e);
                return match area {
                    Area::Rpc => refuse(err),
                    _ => {
                        let status = StatusCode::from_u16(err.status()).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
                        (status, format!("{err}\n")).into_response()
                    }
                };
            }
        },
        None => None,
    };
    let client_ip = request.extensions().get::<ClientIp>().map(|c| c.0).unwrap_or(IpAddr::V4(Ipv4Addr::UNSPECIFIED));
    let confirm_ms = settings.confirm_access_secs as i64 * 1000;
    let known_browser = cookie(request.headers(), policy.known_browser_name()).map(str::to_owned);
    let caller = signed_in.map(|found| {
        let recently_proved = now - found.session.proved_at <= confirm_ms;
        caller_of(found, client_ip, recently_proved, known_browser, now)
    });

    match (&caller, area) {
        (Some(_), Area::Login) if request.method() == Method::GET => {
            let next = request.uri().query().and_then(|query| {
                form_urlencoded::parse(query.as_bytes()).find(|(k, _)| k == "next").map(|(_, v)| v.into_owned())
            });
            return Redirect::to(next.as_deref().and_then(crate::domain::session::return_path).unwrap_or("/"))
                .into_response();
        }
        (None, Area::Page) => {
            let mut response = Redirect::to(&login_url(request.uri())).into_response();
            if cookie_id.is_some() {
                // The session ended (expired, signed out elsewhere, removed): drop the stale cookie.
                response.headers_mut().insert(header::SET_COOKIE, policy.session_cookie(None));
            }
            return response;
        }
        (Some(caller), Area::Page) if caller.must_set_up_two_factor && path != SECURITY_PAGE => {
            return Redirect::to(SECURITY_PAGE).into_response();
        }
        (_, Area::Rpc) => {
            let endpoint = path.trim_start_matches("/rpc/");
            let open = roles::rule_for(endpoint).is_some_and(|rule| rule.need == Need::Nobody);
            match &caller {
                None if open => {}
                None => {
                    if roles::rule_for(endpoint).is_none() {
                        tracing::warn!(%endpoint, "refused a server function that is not in the role table");
                        return refuse(ConsoleError::Forbidden);
                    }
                    return refuse(ConsoleError::Unauthenticated);
                }
                Some(caller) => {
                    let standing = Standing {
                        role: caller.role,
                        must_set_up_two_factor: caller.must_set_up_two_factor,
                        recently_proved: caller.recently_proved,
                    };
                    if let Err(refused) = roles::decide(endpoint, standing) {
                        tracing::info!(%endpoint, admin = caller.admin_id, ?refused, "refused a server function");
                        return refuse(refusal(refused));
                    }
                }
            }
        }
        _ => {}
    }
    if let Some(caller) = caller {
        request.extensions_mut().insert(caller);
    }
    let mut response = next.run(request).await;
    if area != Area::Open {
        // Every console answer carries account data, and sometimes a token.
        response.headers_mut().insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    }
    response
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn areas() {
        assert_eq!(area("/"), Area::Page);
        assert_eq!(area("/settings/api-keys"), Area::Page);
        assert_eq!(area("/login"), Area::Login);
        assert_eq!(area("/login/two-factor"), Area::Login);
        assert_eq!(area("/loginx"), Area::Page);
        assert_eq!(area("/join/abc"), Area::Join);
        assert_eq!(area("/rpc/list_api_keys123"), Area::Rpc);
        assert_eq!(area("/api/v1/whoami"), Area::Open);
        assert_eq!(area("/pkg/textpeak.wasm"), Area::Open);
        assert_eq!(area("/favicon.svg"), Area::Open);
        assert_eq!(area("/settings/some-future-page"), Area::Page);
        assert_eq!(area("/anything-else"), Area::Page);
    }
}
