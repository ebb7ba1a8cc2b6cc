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

/// The one server function that works without a session. Wrong username and
/// wrong password get the same answer; repeated failures get 429. `next` is the
/// page the admin was sent here from; only a path on this console is followed.
#[server(prefix = "/rpc")]
pub async fn sign_in(username: String, password: String, next: Option<String>) -> Result<(), ConsoleError> {
    use crate::domain::session::return_path;
    use crate::server::{auth, guard, rpc};
    let state = rpc::state()?;
    let id = auth::sign_in(&state, rpc::client_ip()?, &username, &password).await?;
    let response = use_context::<leptos_axum::ResponseOptions>().ok_or(ConsoleError::Internal)?;
    response.insert_header(axum::http::header::SET_COOKIE, guard::session_cookie(&state.settings, Some(&id)));
    leptos_axum::redirect(next.as_deref().and_then(return_path).unwrap_or("/"));
    Ok(())
}

/// Ends the session on the server (the row is deleted) and in the browser.
#[server(prefix = "/rpc")]
pub async fn sign_out() -> Result<(), ConsoleError> {
    use crate::server::{auth, guard, rpc};
    let caller = rpc::caller().await?;
    let state = rpc::state()?;
    auth::sign_out(&state, &caller).await?;
    let response = use_context::<leptos_axum::ResponseOptions>().ok_or(ConsoleError::Internal)?;
    response.insert_header(axum::http::header::SET_COOKIE, guard::session_cookie(&state.settings, None));
    leptos_axum::redirect("/login");
    Ok(())
}

#[server(prefix = "/rpc")]
pub async fn current_admin() -> Result<SignedInAdmin, ConsoleError> {
    let caller = crate::server::rpc::caller().await?;
    Ok(SignedInAdmin { username: caller.username, account: caller.account_name })
}
