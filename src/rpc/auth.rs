//! Server functions for signing in and out, and who is signed in.

use super::ConsoleError;
use crate::domain::roles::Role;
use leptos::prelude::*;
use serde::{Deserialize, Serialize};

/// Who the console is signed in as: the header shows it, and pages offer
/// only what the role may do (the server refuses the rest anyway).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SignedInAdmin {
    pub username: String,
    pub account: String,
    pub role: Role,
    pub two_factor: bool,
}

/// The server function that works without a session, for scripts and
/// tests; the sign-in page posts its form to `/login` instead (see
/// `server::http::forms`), and both run `auth::sign_in`. Wrong username
/// and wrong password get the same answer; repeated failures get 429. `next`
/// is the page the admin was sent here from; only a path on this console is
/// followed. With two-factor on, it goes to the second step instead.
#[server(prefix = "/rpc", endpoint = "sign_in")]
pub async fn sign_in(username: String, password: String, next: Option<String>) -> Result<(), ConsoleError> {
    use crate::domain::session::return_path;
    use crate::server::caller as rpc;
    use crate::server::console::auth::{self, SignInStep, Visitor};
    use axum::http::header::SET_COOKIE;
    let state = rpc::state()?;
    let policy = rpc::cookie_policy()?;
    let known_browser = rpc::cookie(policy.known_browser_name())?;
    let visitor = Visitor {
        client_ip: rpc::client_ip()?,
        user_agent: rpc::user_agent()?,
        known_browser: known_browser.as_deref(),
    };
    let step = auth::sign_in(&state, &visitor, &username, &password).await?;
    let response = use_context::<leptos_axum::ResponseOptions>().ok_or(ConsoleError::Internal)?;
    let next = next.as_deref().and_then(return_path);
    match step {
        SignInStep::Done(signed_in) => {
            response.append_header(SET_COOKIE, policy.session_cookie(Some(&signed_in.session_id)));
            response.append_header(SET_COOKIE, policy.known_browser_cookie(&signed_in.known_browser));
            leptos_axum::redirect(next.unwrap_or("/"));
        }
        SignInStep::Code { challenge } => {
            response.append_header(SET_COOKIE, policy.pending_cookie(Some(&challenge)));
            leptos_axum::redirect(&crate::app::second_step_url(next));
        }
    }
    Ok(())
}

/// Ends the session on the server (the row is deleted) and in the browser.
#[server(prefix = "/rpc", endpoint = "sign_out")]
pub async fn sign_out() -> Result<(), ConsoleError> {
    use crate::server::caller as rpc;
    use crate::server::console::auth;
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
    let caller = crate::server::caller::caller().await?;
    Ok(SignedInAdmin {
        username: caller.username,
        account: caller.account_name,
        role: caller.role,
        two_factor: caller.two_factor,
    })
}
