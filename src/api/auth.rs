//! Server functions for signing in and out.

use super::ConsoleError;
use leptos::prelude::*;
use serde::{Deserialize, Serialize};

/// Who the console is signed in as, for the header.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SignedInAdmin {
    pub username: String,
    pub account: String,
}

/// The one server function that works without a session, for scripts and
/// tests; the sign-in page posts its form to `/login` instead (see
/// `server::http::login_form`), and both run `auth::sign_in`. Wrong username
/// and wrong password get the same answer; repeated failures get 429. `next`
/// is the page the admin was sent here from; only a path on this console is followed.
#[server(prefix = "/rpc", endpoint = "sign_in")]
pub async fn sign_in(username: String, password: String, next: Option<String>) -> Result<(), ConsoleError> {
    use crate::domain::session::return_path;
    use crate::server::console::auth;
    use crate::server::http::rpc;
    use axum::http::header::SET_COOKIE;
    let state = rpc::state()?;
    let policy = rpc::cookie_policy()?;
    let known_browser = rpc::cookie(policy.known_browser_name())?;
    let signed_in = auth::sign_in(&state, rpc::client_ip()?, &username, &password, known_browser.as_deref()).await?;
    let response = use_context::<leptos_axum::ResponseOptions>().ok_or(ConsoleError::Internal)?;
    response.append_header(SET_COOKIE, policy.session_cookie(Some(&signed_in.session_id)));
    response.append_header(SET_COOKIE, policy.known_browser_cookie(&signed_in.known_browser));
    leptos_axum::redirect(next.as_deref().and_then(return_path).unwrap_or("/"));
    Ok(())
}

/// Ends the session on the server (the row is deleted) and in the browser.
#[server(prefix = "/rpc", endpoint = "sign_out")]
pub async fn sign_out() -> Result<(), ConsoleError> {
    use crate::server::console::auth;
    use crate::server::http::rpc;
    let caller = rpc::caller().await?;
    let state = rpc::state()?;
    auth::sign_out(&state, &caller).await?;
    let response = use_context::<leptos_axum::ResponseOptions>().ok_or(ConsoleError::Internal)?;
    response.insert_header(axum::http::header::SET_COOKIE, rpc::cookie_policy()?.session_cookie(None));
    leptos_axum::redirect("/login");
    Ok(())
}

#[server(prefix = "/rpc", endpoint = "current_admin")]
pub async fn current_admin() -> Result<SignedInAdmin, ConsoleError> {
    let caller = crate::server::http::rpc::caller().await?;
    Ok(SignedInAdmin { username: caller.username, account: caller.account_name })
}
