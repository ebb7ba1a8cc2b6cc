//! Signing in (password, then a code when two-factor is on), signing out,
//! and proving again who one is (Confirm access). Every guess is throttled
//! (see `throttle`), audited, and silent about which half of a wrong
//! username/password pair was wrong.

use crate::db::entities::{account, admin};
use crate::db::service::audit::{self, Action, Entry};
use crate::db::service::{admins, known_browsers, sessions};
use crate::domain::device::KnownBrowser;
use crate::domain::totp::{CodeError, TotpSecret};
use crate::domain::{password, validation};
use crate::rpc::{ConsoleError, Field};
use crate::server::caller::{Caller, internal};
use crate::server::console::throttle::{Attempt, Taken, seconds};
use crate::server::state::AppState;
use std::net::IpAddr;

/// What a finished sign-in leaves in the browser.
#[derive(Debug)]
pub struct SignedIn {
    /// The session id, for the session cookie.
    pub session_id: String,
    /// A fresh known-browser cookie value (see `domain::device`).
    pub known_browser: String,
}

/// After the right password: in, or one more step.
#[derive(Debug)]
pub enum SignInStep {
    Done(SignedIn),
    /// Two-factor is on: the id of the pending second step, for its cookie.
    Code {
        challenge: String,
    },
}

/// Who is signing in, from where.
pub struct Visitor<'a> {
    pub client_ip: IpAddr,
    pub user_agent: String,
    /// The value of the request's known-browser cookie, if it had one.
    pub known_browser: Option<&'a str>,
}

impl Visitor<'_> {
    async fn browser(&self, state: &AppState) -> Result<Option<KnownBrowser>, ConsoleError> {
        known_browser(state, self.known_browser).await
    }
}

/// The browser a known-browser cookie names: signed by this server, under 90
/// days old, and still on the server's list (not revoked).
pub async fn known_browser(state: &AppState, value: Option<&str>) -> Result<Option<KnownBrowser>, ConsoleError> {
    let now = state.clock.now_ms();
    let Some(browser) = value.and_then(|value| state.device_key.verify(value, now)) else { return Ok(None) };
    Ok(known_browsers::is_listed(&state.db, &browser, now).await?.then_some(browser))
}

fn too_many(wait: std::time::Duration) -> ConsoleError {
    ConsoleError::TooManyAttempts { retry_after_secs: seconds(wait) }
}

/// Counts one guess of `attempt` before it is checked (a client that hangs
/// up meanwhile has still spent it); refused at once when its keys have no
/// guess left.
async fn charge(state: &AppState, attempt: &Attempt) -> Result<Taken, ConsoleError> {
    let now = state.clock.now_ms();
    if let Some(wait) = state.throttle.blocked(&state.db, attempt, now).await? {
        return Err(too_many(wait));
    }
    match state.throttle.take(&state.db, attempt, now).await? {
        Ok(taken) => Ok(taken),
        Err(wait) => Err(too_many(wait)),
    }
}

/// A right guess gives its charge back; at worst one failure too many stays counted.
async fn refund(state: &AppState, taken: Taken) {
    if let Err(e) = state.throttle.refund(&state.db, taken).await {
        tracing::warn!(error = %e, "could not refund a successful attempt");
    }
}

/// Checks a password against a stored hash (or against nothing, taking as
/// long) on a blocking thread, in turn with every other check: Argon2 takes
/// tens of milliseconds of CPU and 19 MiB. The turn goes with the thread, so
/// it is held for as long as the hash runs even if the request is dropped.
async fn password_matches(
    state: &AppState,
    attempt: &Attempt,
    stored: Option<String>,
    typed: &str,
) -> Result<bool, ConsoleError> {
    let turn = state.throttle.turn(attempt).await.map_err(|_| ConsoleError::Busy { retry_after_secs: 1 })?;
    let typed = typed.to_owned();
    let checks = state.throttle.clone();
    tokio::task::spawn_blocking(move || {
        let _turn = turn;
        checks.check(|| match stored {
            Some(stored) => password::verify(&typed, &stored),
            None => {
                password::verify_against_nothing(&typed);
                false
            }
        })
    })
    .await
    .map_err(internal)
}

/// Hashes a new password in turn with every password check (same cost,
/// same queue), so that no path runs Argon2 outside the throttle's bound.
pub async fn hash_in_turn(state: &AppState, attempt: &Attempt, typed: &str) -> Result<String, ConsoleError> {
    let turn = state.throttle.turn(attempt).await.map_err(|_| ConsoleError::Busy { retry_after_secs: 1 })?;
    let typed = typed.to_owned();
    tokio::task::spawn_blocking(move || {
        let _turn = turn;
        password::hash(&typed)
    })
    .await
    .map_err(internal)?
    .map_err(internal)
}

/// Checks the credentials; starts a session, or the second step when
/// two-factor authentication is on. Counted by outcome for the operator.
pub async fn sign_in(
    state: &AppState,
    visitor: &Visitor<'_>,
    username: &str,
    password: &str,
) -> Result<SignInStep, ConsoleError> {
    let result = check_password(state, visitor, username, password).await;
    crate::server::metrics::sign_in(match &result {
        Ok(_) => "success",
        Err(ConsoleError::WrongCredentials) => "wrong",
        Err(ConsoleError::TooManyAttempts { .. }) => "throttled",
        Err(ConsoleError::Busy { .. }) => "busy",
        Err(_) => "error",
    });
    result
}

async fn check_password(
    state: &AppState,
    visitor: &Visitor<'_>,
    username: &str,
    password: &str,
) -> Result<SignInStep, ConsoleError> {
    // A name the form would not accept is no admin's: it never reaches the
    // database, and the throttle counts it with every other made-up name.
    let found = match validation::username(username) {
        Ok(name) => admins::find_by_username(&state.db, &name).await?,
        Err(_) => None,
    };
    let browser = visitor.browser(state).await?;
    let attempt = Attempt::new(username, browser.as_ref(), visitor.client_ip);
    let taken = charge(state, &attempt).await?;
    let stored = found.as_ref().map(|(admin, _)| admin.password_hash.clone());
    let matches = match password_matches(state, &attempt, stored, password).await {
        Ok(matches) => matches,
        Err(err) => {
            // Busy: nothing was tried, so nothing is counted.
            refund(state, taken).await;
            return Err(err);
        }
    };
    let (admin, account) = match found {
        Some(pair) if matches => pair,
        other => {
            tracing::warn!(client_ip = %visitor.client_ip, known_username = other.is_some(), known_browser = browser.is_some(), "failed sign-in");
            if let Some((admin, _)) = other {
                audit_later(state, &admin, visitor.client_ip, Action::SignInFailed);
            }
            return Err(ConsoleError::WrongCredentials);
        }
    };
    refund(state, taken).await;
    if admin.totp_sealed.is_some() {
        let challenge =
            sessions::start_challenge(&state.db, admin.id, state.clock.now_ms()).await.map_err(session_error)?;
        tracing::info!(client_ip = %visitor.client_ip, admin = admin.id, "password accepted; waiting for the code");
        return Ok(SignInStep::Code { challenge });
    }
    finish(state, visitor, &admin, &account, Action::SignIn).await.map(SignInStep::Done)
}

/// A session for an admin who proved who they are.
async fn finish(
    state: &AppState,
    visitor: &Visitor<'_>,
    admin: &admin::Model,
    account: &account::Model,
    action: Action,
) -> Result<SignedIn, ConsoleError> {
    let now = state.clock.now_ms();
    let origin = sessions::Origin { user_agent: visitor.user_agent.clone(), client_ip: visitor.client_ip.to_string() };
    let session_id = sessions::start(&state.db, admin, &origin, now).await.map_err(session_error)?;
    admins::mark_signed_in(&state.db, admin.id, now).await?;
    let entry = Entry {
        at: now,
        account_id: account.id,
        admin: &admin.username,
        client_ip: visitor.client_ip.to_string(),
        action,
        subject: None,
        detail: None,
    };
    audit::record(&state.db, entry).await?;
    let (known_browser, note) = state.device_key.issue(&admin.username, now).map_err(internal)?;
    known_browsers::remember(&state.db, admin.id, &note).await?;
    tracing::info!(client_ip = %visitor.client_ip, admin = admin.id, account = account.id, "signed in");
    Ok(SignedIn { session_id, known_browser })
}

/// What the second step was given: a code from the app, or a recovery code.
#[derive(Debug, Clone, Copy)]
pub enum Proof<'a> {
    Code(&'a str),
    RecoveryCode(&'a str),
}

/// The second step of a sign-in: the code (or a recovery code) for the
/// challenge the password opened.
pub async fn verify_second_step(
    state: &AppState,
    visitor: &Visitor<'_>,
    challenge: &str,
    proof: Proof<'_>,
) -> Result<SignedIn, ConsoleError> {
    let now = state.clock.now_ms();
    let Some((admin, account)) = sessions::challenge(&state.db, challenge, now).await? else {
        return Err(ConsoleError::ChallengeExpired);
    };
    let browser = visitor.browser(state).await?;
    let attempt = Attempt::new(&admin.username, browser.as_ref(), visitor.client_ip);
    let taken = charge(state, &attempt).await?;
    // The challenge is claimed and the code spent in one transaction: of two
    // requests racing on one challenge, the second finds it gone and spends nothing.
    let txn = crate::db::begin_write(&state.db).await?;
    if !sessions::lock_challenge(&txn, challenge, now).await? {
        return Err(ConsoleError::ChallengeExpired);
    }
    if let Err(err) = check_proof(state, &txn, &admin, proof).await {
        drop(txn);
        audit_later(state, &admin, visitor.client_ip, Action::TwoFactorFailed);
        return Err(err);
    }
    sessions::end_challenge(&txn, challenge).await?;
    if let Proof::RecoveryCode(_) = proof {
        let left = admins::recovery_codes_left(&txn, admin.id).await?;
        let entry = Entry {
            at: now,
            account_id: account.id,
            admin: &admin.username,
            client_ip: visitor.client_ip.to_string(),
            action: Action::RecoveryCodeUsed,
            subject: None,
            detail: Some(format!("{left} recovery codes left")),
        };
        audit::record(&txn, entry).await?;
    }
    txn.commit().await?;
    refund(state, taken).await;
    finish(state, visitor, &admin, &account, Action::SignIn).await
}

/// The sealed TOTP secret of an admin, opened (bound to the admin: a secret
/// copied onto another admin's row does not open).
pub fn totp_secret(state: &AppState, admin_id: i32, sealed: &[u8]) -> Result<TotpSecret, ConsoleError> {
    let plain = state.master_key.open(sealed, &totp_context(admin_id)).map_err(internal)?;
    TotpSecret::from_bytes(plain).ok_or_else(|| internal("a stored two-factor secret has the wrong length"))
}

pub fn totp_context(admin_id: i32) -> Vec<u8> {
    format!("totp:{admin_id}").into_bytes()
}

/// Checks a code or a recovery code of `admin`, spending it.
async fn check_proof(
    state: &AppState,
    db: &impl sea_orm::ConnectionTrait,
    admin: &admin::Model,
    proof: Proof<'_>,
) -> Result<(), ConsoleError> {
    match proof {
        Proof::Code(code) => {
            let sealed = admin.totp_sealed.as_deref().ok_or_else(|| code_error(CodeError::Wrong))?;
            let secret = totp_secret(state, admin.id, sealed)?;
            let step = secret.check(code, state.clock.now_ms(), admin.totp_last_step).map_err(code_error)?;
            // Two requests with one code at once: the database lets one through.
            if !admins::accept_totp_step(db, admin.id, step).await? {
                return Err(code_error(CodeError::Replayed));
            }
            Ok(())
        }
        Proof::RecoveryCode(code) => {
            let wrong =
                || ConsoleError::invalid(Field::RecoveryCode, "That recovery code is not right, or was used already.");
            let digest = state.recovery_key.digest(code).ok_or_else(wrong)?;
            if admins::use_recovery_code(db, admin.id, digest, state.clock.now_ms()).await? {
                Ok(())
            } else {
                Err(wrong())
            }
        }
    }
}

pub fn code_error(err: CodeError) -> ConsoleError {
    ConsoleError::invalid(Field::Code, err.to_string())
}

/// Confirm access: the signed-in admin proves again who they are, with the
/// password, or with a code when two-factor is on; throttled like a sign-in.
pub async fn confirm_access(
    state: &AppState,
    caller: &Caller,
    password: Option<&str>,
    code: Option<&str>,
) -> Result<(), ConsoleError> {
    let (admin, _) = admins::find_by_id(&state.db, caller.admin_id).await?.ok_or(ConsoleError::Unauthenticated)?;
    let attempt = own_attempt(state, caller, &admin).await?;
    let taken = charge(state, &attempt).await?;
    let outcome = if admin.totp_sealed.is_some() {
        check_proof(state, &state.db, &admin, Proof::Code(code.unwrap_or_default())).await
    } else {
        match password_matches(state, &attempt, Some(admin.password_hash.clone()), password.unwrap_or_default()).await {
            Ok(true) => Ok(()),
            Ok(false) => Err(ConsoleError::invalid(Field::Password, "That is not your password.")),
            Err(busy) => {
                refund(state, taken).await;
                return Err(busy);
            }
        }
    };
    if let Err(err) = outcome {
        audit::record(&state.db, caller.audit(Action::AccessRefused, None, None)).await?;
        return Err(err);
    }
    refund(state, taken).await;
    sessions::prove(&state.db, caller.session_id, caller.now).await?;
    audit::record(&state.db, caller.audit(Action::AccessConfirmed, None, None)).await?;
    Ok(())
}

/// A signed-in admin's own re-check, counted like a sign-in from their
/// browser: strangers failing at `/login` cannot lock them out of it.
async fn own_attempt(state: &AppState, caller: &Caller, admin: &admin::Model) -> Result<Attempt, ConsoleError> {
    let browser = known_browser(state, caller.known_browser.as_deref()).await?;
    Ok(Attempt::new(&admin.username, browser.as_ref(), caller.client_ip))
}

/// Checks the signed-in admin's current password (throttled, counted like a
/// sign-in): for changing it, and for turning two-factor off.
pub async fn check_own_password(state: &AppState, caller: &Caller, typed: &str) -> Result<admin::Model, ConsoleError> {
    let (admin, _) = admins::find_by_id(&state.db, caller.admin_id).await?.ok_or(ConsoleError::Unauthenticated)?;
    let attempt = own_attempt(state, caller, &admin).await?;
    let taken = charge(state, &attempt).await?;
    let matches = match password_matches(state, &attempt, Some(admin.password_hash.clone()), typed).await {
        Ok(matches) => matches,
        Err(busy) => {
            refund(state, taken).await;
            return Err(busy);
        }
    };
    if !matches {
        audit::record(&state.db, caller.audit(Action::AccessRefused, None, Some("wrong current password".into())))
            .await?;
        return Err(ConsoleError::invalid(Field::Password, "That is not your current password."));
    }
    refund(state, taken).await;
    // A right password is a fresh proof, unless two-factor asks for a code as well.
    if admin.totp_sealed.is_none() {
        sessions::prove(&state.db, caller.session_id, caller.now).await?;
    }
    Ok(admin)
}

/// Audits a failure off the response path: the answer for a real username
/// must take as long as for one that does not exist.
fn audit_later(state: &AppState, admin: &admin::Model, client_ip: IpAddr, action: Action) {
    let db = state.db.clone();
    let at = state.clock.now_ms();
    let (account_id, username) = (admin.account_id, admin.username.clone());
    tokio::spawn(async move {
        let entry = Entry {
            at,
            account_id,
            admin: &username,
            client_ip: client_ip.to_string(),
            action,
            subject: None,
            detail: None,
        };
        if let Err(e) = audit::record(&db, entry).await {
            tracing::error!(error = %e, "could not audit a failed sign-in");
        }
    });
}

fn session_error(err: sessions::SessionError) -> ConsoleError {
    match err {
        sessions::SessionError::Db(e) => e.into(),
        other => internal(other),
    }
}

pub async fn sign_out(state: &AppState, caller: &Caller) -> Result<(), ConsoleError> {
    sessions::end_by_row(&state.db, caller.session_id).await?;
    audit::record(&state.db, caller.audit(Action::SignOut, None, None)).await?;
    Ok(())
}
