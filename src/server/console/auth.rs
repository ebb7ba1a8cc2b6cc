//! Signing in and out: throttled (see `throttle`), audited, and silent about
//! which half of a wrong username/password pair was wrong.

use crate::api::ConsoleError;
use crate::db::entities::admin;
use crate::db::service::audit::{self, Action, Entry};
use crate::db::service::{admins, now_ms, sessions};
use crate::domain::{password, validation};
use crate::server::console::throttle::{Attempt, seconds};
use crate::server::http::rpc::{Caller, db_error, internal};
use crate::server::state::AppState;
use std::net::IpAddr;

/// What a successful sign-in leaves in the browser.
#[derive(Debug)]
pub struct SignedIn {
    /// The session id, for the session cookie.
    pub session_id: String,
    /// A fresh known-browser cookie value (see `domain::device`).
    pub known_browser: String,
}

/// Checks the credentials and starts a session. `known_browser` is the value
/// of the request's known-browser cookie, if it had one.
pub async fn sign_in(
    state: &AppState,
    client_ip: IpAddr,
    username: &str,
    password: &str,
    known_browser: Option<&str>,
) -> Result<SignedIn, ConsoleError> {
    // A name the form would not accept is no admin's: it never reaches the
    // database, and the throttle counts it with every other made-up name.
    let found = match validation::username(username) {
        Ok(name) => admins::find_by_username(&state.db, &name).await.map_err(db_error)?,
        Err(_) => None,
    };
    let browser = known_browser.and_then(|value| state.device_key.verify(value));
    let attempt = Attempt::new(found.as_ref().map(|(admin, _)| admin.username.as_str()), browser.as_ref(), client_ip);
    let throttle = &state.throttle;
    let too_many = |wait| ConsoleError::TooManyAttempts { retry_after_secs: seconds(wait) };
    if let Some(wait) = throttle.blocked(&state.db, &attempt, now_ms()).await.map_err(db_error)? {
        return Err(too_many(wait));
    }
    let turn = throttle.turn().await.map_err(|_| ConsoleError::Busy { retry_after_secs: 1 })?;
    // Counted before the check: a client that hangs up while Argon2 runs has
    // still spent the attempt.
    let taken = match throttle.take(&state.db, &attempt, now_ms()).await.map_err(db_error)? {
        Ok(taken) => taken,
        Err(wait) => return Err(too_many(wait)),
    };
    let stored = found.as_ref().map(|(admin, _)| admin.password_hash.clone());
    let attempt_password = password.to_owned();
    // Argon2 takes tens of milliseconds of CPU: keep it off the async workers.
    // The turn goes with it, so it is held for as long as the hash runs even
    // if this request is dropped meanwhile.
    let checks = state.throttle.clone();
    let matches = tokio::task::spawn_blocking(move || {
        let _turn = turn;
        checks.check(|| match stored {
            Some(stored) => password::verify(&attempt_password, &stored),
            None => {
                password::verify_against_nothing(&attempt_password);
                false
            }
        })
    })
    .await
    .map_err(internal)?;

    let (admin, account) = match found {
        Some(pair) if matches => pair,
        other => {
            tracing::warn!(%client_ip, known_username = other.is_some(), known_browser = browser.is_some(), "failed sign-in");
            if let Some((admin, _)) = other {
                record_failure_later(state, admin, client_ip);
            }
            return Err(ConsoleError::WrongCredentials);
        }
    };
    if let Err(e) = throttle.refund(&state.db, taken).await {
        // The admin is in; at worst one failure too many stays counted.
        tracing::warn!(error = %e, "could not refund a successful sign-in's attempt");
    }

    let session_id = sessions::start(&state.db, &admin).await.map_err(|e| match e {
        sessions::SessionError::Db(e) => db_error(e),
        other => internal(other),
    })?;
    let entry = Entry {
        account_id: account.id,
        admin: &admin.username,
        client_ip: client_ip.to_string(),
        action: Action::SignIn,
        subject: None,
        detail: None,
    };
    audit::record(&state.db, entry).await.map_err(db_error)?;
    let known_browser = state.device_key.issue(&admin.username).map_err(internal)?;
    tracing::info!(%client_ip, admin = admin.id, account = account.id, "signed in");
    Ok(SignedIn { session_id, known_browser })
}

/// Audits a failed sign-in off the response path: the answer for a real
/// username must take as long as for one that does not exist.
fn record_failure_later(state: &AppState, admin: admin::Model, client_ip: IpAddr) {
    let db = state.db.clone();
    tokio::spawn(async move {
        let entry = Entry {
            account_id: admin.account_id,
            admin: &admin.username,
            client_ip: client_ip.to_string(),
            action: Action::SignInFailed,
            subject: None,
            detail: None,
        };
        if let Err(e) = audit::record(&db, entry).await {
            tracing::error!(error = %e, "could not audit a failed sign-in");
        }
    });
}

pub async fn sign_out(state: &AppState, caller: &Caller) -> Result<(), ConsoleError> {
    sessions::end_by_row(&state.db, caller.session_id).await.map_err(db_error)?;
    audit::record(&state.db, caller.audit(Action::SignOut, None, None)).await.map_err(db_error)?;
    Ok(())
}
