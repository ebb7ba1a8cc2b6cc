//! Signing in and out: throttled, audited, and silent about which half of a
//! wrong username/password pair was wrong.

use crate::api::ConsoleError;
use crate::db::entities::admin;
use crate::db::service::audit::{self, Action, Entry};
use crate::db::service::{admins, sessions};
use crate::domain::{password, validation};
use crate::server::rpc::{Caller, internal};
use crate::server::state::AppState;
use crate::server::throttle::seconds;
use std::net::IpAddr;

/// Checks the credentials and starts a session; returns the id for the cookie.
pub async fn sign_in(
    state: &AppState,
    client_ip: IpAddr,
    username: &str,
    password: &str,
) -> Result<String, ConsoleError> {
    // The throttle counts the name as sign-in reads it, so " Admin" is "admin".
    let name = validation::username(username).unwrap_or_else(|_| username.trim().to_lowercase());
    let refused = || {
        state
            .throttle
            .wait(&name, client_ip)
            .map(|wait| ConsoleError::TooManyAttempts { retry_after_secs: seconds(wait) })
    };
    // Checked before queueing (a blocked client never holds the turn) and again with the turn.
    if let Some(err) = refused() {
        return Err(err);
    }
    let _turn = state.throttle.turn().await;
    if let Some(err) = refused() {
        return Err(err);
    }
    let found = admins::find_by_username(&state.db, &name).await.map_err(internal)?;
    let stored = found.as_ref().map(|(admin, _)| admin.password_hash.clone());
    let attempt = password.to_owned();
    // Argon2 takes tens of milliseconds of CPU: keep it off the async workers.
    let matches = tokio::task::spawn_blocking(move || match stored {
        Some(stored) => password::verify(&attempt, &stored),
        None => {
            password::verify_against_nothing(&attempt);
            false
        }
    })
    .await
    .map_err(internal)?;

    let (admin, account) = match found {
        Some(pair) if matches => pair,
        other => {
            // Counted before any other work, so no failure goes uncounted.
            state.throttle.failed(&name, client_ip);
            tracing::warn!(%client_ip, known_username = other.is_some(), "failed sign-in");
            if let Some((admin, _)) = other {
                record_failure_later(state, admin, client_ip);
            }
            return Err(ConsoleError::WrongCredentials);
        }
    };

    let id = sessions::start(&state.db, &admin).await.map_err(internal)?;
    let entry = Entry {
        account_id: account.id,
        admin: &admin.username,
        client_ip: client_ip.to_string(),
        action: Action::SignIn,
        subject: None,
        detail: None,
    };
    audit::record(&state.db, entry).await.map_err(internal)?;
    tracing::info!(%client_ip, admin = admin.id, account = account.id, "signed in");
    Ok(id)
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
    sessions::end_by_row(&state.db, caller.session_id).await.map_err(internal)?;
    audit::record(&state.db, caller.audit(Action::SignOut, None, None)).await.map_err(internal)?;
    Ok(())
}
