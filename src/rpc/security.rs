//! Server functions behind Settings › Security (every role has it: the
//! admin's own password, two-factor authentication and sessions), Confirm
//! access, and the second step of signing in.

use super::ConsoleError;
use leptos::prelude::*;
use serde::{Deserialize, Serialize};

/// One of the admin's signed-in browsers.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SessionRow {
    pub id: i32,
    /// "Chrome on Linux".
    pub browser: String,
    pub ip: String,
    pub signed_in: i64,
    pub last_active: i64,
    pub this_browser: bool,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SecurityOverview {
    pub two_factor: bool,
    pub recovery_codes_left: u64,
    /// The account requires two-factor and this admin must set it up before anything else.
    pub must_set_up: bool,
    pub sessions: Vec<SessionRow>,
}

/// What setting up shows: the QR code (an SVG drawn on the server, as a
/// `data:` URL) and the same secret as text.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TwoFactorSetup {
    pub setup_key: String,
    pub qr_code: String,
}

#[server(prefix = "/rpc", endpoint = "security_settings")]
pub async fn security_settings() -> Result<SecurityOverview, ConsoleError> {
    use crate::server::caller as rpc;
    crate::server::console::security::settings(&rpc::state()?, &rpc::caller().await?).await
}

/// Every other session of this admin ends.
#[server(prefix = "/rpc", endpoint = "change_password")]
pub async fn change_password(current: String, new: String, confirm: String) -> Result<(), ConsoleError> {
    use crate::server::caller as rpc;
    crate::server::console::security::change_password(&rpc::state()?, &rpc::caller().await?, &current, &new, &confirm)
        .await
}

/// A new secret to scan; nothing is on until a code from it matches.
#[server(prefix = "/rpc", endpoint = "begin_two_factor_setup")]
pub async fn begin_two_factor_setup() -> Result<TwoFactorSetup, ConsoleError> {
    use crate::server::caller as rpc;
    crate::server::console::security::begin_setup(&rpc::state()?, &rpc::caller().await?).await
}

/// Turns two-factor on with the first code; answers the recovery codes, once.
#[server(prefix = "/rpc", endpoint = "turn_on_two_factor")]
pub async fn turn_on_two_factor(code: String) -> Result<Vec<String>, ConsoleError> {
    use crate::server::caller as rpc;
    crate::server::console::security::turn_on(&rpc::state()?, &rpc::caller().await?, &code).await
}

/// Replaces every recovery code; answers the new ones, once.
#[server(prefix = "/rpc", endpoint = "new_recovery_codes")]
pub async fn new_recovery_codes() -> Result<Vec<String>, ConsoleError> {
    use crate::server::caller as rpc;
    crate::server::console::security::new_recovery_codes(&rpc::state()?, &rpc::caller().await?).await
}

#[server(prefix = "/rpc", endpoint = "turn_off_two_factor")]
pub async fn turn_off_two_factor(password: String) -> Result<(), ConsoleError> {
    use crate::server::caller as rpc;
    crate::server::console::security::turn_off(&rpc::state()?, &rpc::caller().await?, &password).await
}

#[server(prefix = "/rpc", endpoint = "end_session")]
pub async fn end_session(id: i32) -> Result<(), ConsoleError> {
    use crate::server::caller as rpc;
    crate::server::console::security::end_session(&rpc::state()?, &rpc::caller().await?, Some(id)).await
}

#[server(prefix = "/rpc", endpoint = "end_other_sessions")]
pub async fn end_other_sessions() -> Result<(), ConsoleError> {
    use crate::server::caller as rpc;
    crate::server::console::security::end_session(&rpc::state()?, &rpc::caller().await?, None).await
}

/// Proves again who the admin is (the password, or a code when two-factor
/// is on), so that showing tokens, rolling, deleting and changing the team
/// work for `TEXTPEAK_CONFIRM_ACCESS_SECONDS` without asking again.
#[server(prefix = "/rpc", endpoint = "confirm_access")]
pub async fn confirm_access(password: Option<String>, code: Option<String>) -> Result<(), ConsoleError> {
    use crate::server::caller as rpc;
    let (state, caller) = (rpc::state()?, rpc::caller().await?);
    crate::server::console::auth::confirm_access(&state, &caller, password.as_deref(), code.as_deref()).await
}

/// The second step of signing in (for scripts and tests; the page posts its
/// form to `/login/two-factor`): the code, or a recovery code, for the
/// pending sign-in this browser's cookie names.
#[server(prefix = "/rpc", endpoint = "verify_two_factor")]
pub async fn verify_two_factor(
    code: Option<String>,
    recovery_code: Option<String>,
    next: Option<String>,
) -> Result<(), ConsoleError> {
    use crate::domain::session::return_path;
    use crate::server::caller as rpc;
    use crate::server::console::auth::{self, Proof, Visitor};
    use axum::http::header::SET_COOKIE;
    let state = rpc::state()?;
    let policy = rpc::cookie_policy()?;
    let challenge = rpc::cookie(policy.pending_name())?.ok_or(ConsoleError::ChallengeExpired)?;
    let known_browser = rpc::cookie(policy.known_browser_name())?;
    let visitor = Visitor {
        client_ip: rpc::client_ip()?,
        user_agent: rpc::user_agent()?,
        known_browser: known_browser.as_deref(),
    };
    let proof = match (&code, &recovery_code) {
        (_, Some(recovery)) => Proof::RecoveryCode(recovery),
        (Some(code), None) => Proof::Code(code),
        (None, None) => Proof::Code(""),
    };
    let signed_in = auth::verify_second_step(&state, &visitor, &challenge, proof).await?;
    let response = use_context::<leptos_axum::ResponseOptions>().ok_or(ConsoleError::Internal)?;
    response.append_header(SET_COOKIE, policy.pending_cookie(None));
    response.append_header(SET_COOKIE, policy.session_cookie(Some(&signed_in.session_id)));
    response.append_header(SET_COOKIE, policy.known_browser_cookie(&signed_in.known_browser));
    leptos_axum::redirect(next.as_deref().and_then(return_path).unwrap_or("/"));
    Ok(())
}
