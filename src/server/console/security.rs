//! An admin's own security: their password, two-factor authentication with
//! recovery codes, and their sessions. Every role has it; nobody acts on
//! another admin here.

use crate::db::service::admins;
use crate::db::service::audit::{self, Action};
use crate::db::service::{known_browsers, sessions};
use crate::domain::password;
use crate::domain::recovery;
use crate::domain::totp::{TotpSecret, qr_svg};
use crate::domain::user_agent;
use crate::rpc::security::{SecurityOverview, SessionRow, TwoFactorSetup};
use crate::rpc::{ConsoleError, Field};
use crate::server::caller::{Caller, internal};
use crate::server::console::auth::{check_own_password, code_error, known_browser, totp_context, totp_secret};
use crate::server::state::AppState;
use base64::Engine as _;

/// Longest code or password input looked at; anything longer is refused unread.
const MAX_INPUT: usize = 4096;

pub async fn settings(state: &AppState, caller: &Caller) -> Result<SecurityOverview, ConsoleError> {
    let now = caller.now;
    let rows = sessions::list(&state.db, caller.admin_id, now).await?;
    Ok(SecurityOverview {
        two_factor: caller.two_factor,
        recovery_codes_left: if caller.two_factor {
            admins::recovery_codes_left(&state.db, caller.admin_id).await?
        } else {
            0
        },
        must_set_up: caller.must_set_up_two_factor,
        sessions: rows
            .into_iter()
            .map(|s| SessionRow {
                id: s.id,
                browser: user_agent::describe(&s.user_agent),
                ip: s.client_ip,
                signed_in: s.created_at,
                last_active: s.last_seen_at,
                this_browser: s.id == caller.session_id,
            })
            .collect(),
    })
}

fn too_long(field: Field) -> ConsoleError {
    ConsoleError::invalid(field, format!("That is too long: at most {MAX_INPUT} characters."))
}

pub async fn change_password(
    state: &AppState,
    caller: &Caller,
    current: &str,
    new: &str,
    confirm: &str,
) -> Result<(), ConsoleError> {
    if current.len() > MAX_INPUT {
        return Err(too_long(Field::Password));
    }
    password::check_new(new).map_err(|e| {
        let message = e.to_string();
        ConsoleError::invalid(Field::NewPassword, format!("{}{}.", message[..1].to_uppercase(), &message[1..]))
    })?;
    if new != confirm {
        return Err(ConsoleError::invalid(Field::ConfirmPassword, "The two new passwords are not the same."));
    }
    let admin = check_own_password(state, caller, current).await?;
    let attempt = crate::server::console::throttle::Attempt::new(&admin.username, None, caller.client_ip);
    let hash = crate::server::console::auth::hash_in_turn(state, &attempt, new).await?;
    let txn = crate::db::begin_write(&state.db).await?;
    admins::set_password_hash(&txn, caller.admin_id, hash).await?;
    let ended = sessions::end_others(&txn, caller.admin_id, Some(caller.session_id)).await?;
    let this_browser = known_browser(state, caller.known_browser.as_deref()).await?;
    known_browsers::revoke_others(&txn, caller.admin_id, this_browser.as_ref()).await?;
    let detail = format!("{ended} other {} ended", if ended == 1 { "session" } else { "sessions" });
    audit::record(&txn, caller.audit(Action::PasswordChanged, None, Some(detail))).await?;
    txn.commit().await?;
    tracing::info!(admin = caller.admin_id, "password changed");
    Ok(())
}

pub async fn begin_setup(state: &AppState, caller: &Caller) -> Result<TwoFactorSetup, ConsoleError> {
    if caller.two_factor {
        return Err(ConsoleError::Conflict("Two-factor authentication is already on.".into()));
    }
    let secret = TotpSecret::generate().map_err(internal)?;
    let sealed = state.master_key.seal(secret.as_bytes(), &totp_context(caller.admin_id)).map_err(internal)?;
    admins::set_pending_totp(&state.db, caller.admin_id, Some(sealed)).await?;
    let svg = qr_svg(&secret.uri(&caller.username));
    Ok(TwoFactorSetup {
        setup_key: secret.base32(),
        qr_code: format!("data:image/svg+xml;base64,{}", base64::engine::general_purpose::STANDARD.encode(svg)),
    })
}

/// New recovery codes, and their HMACs for the database.
fn recovery_codes(state: &AppState) -> Result<(Vec<String>, Vec<Vec<u8>>), ConsoleError> {
    let codes = recovery::generate().map_err(internal)?;
    let digests = codes
        .iter()
        .map(|code| state.recovery_key.digest(code).ok_or_else(|| internal("a code that is not one")))
        .collect::<Result<_, _>>()?;
    Ok((codes, digests))
}

pub async fn turn_on(state: &AppState, caller: &Caller, code: &str) -> Result<Vec<String>, ConsoleError> {
    if code.len() > MAX_INPUT {
        return Err(too_long(Field::Code));
    }
    let (admin, _) = admins::find_by_id(&state.db, caller.admin_id).await?.ok_or(ConsoleError::Unauthenticated)?;
    if admin.totp_sealed.is_some() {
        return Err(ConsoleError::Conflict("Two-factor authentication is already on.".into()));
    }
    let pending = admin
        .totp_pending_sealed
        .ok_or_else(|| ConsoleError::Conflict("Start again with Set up two-factor authentication.".into()))?;
    let secret = totp_secret(state, admin.id, &pending)?;
    let step = secret.check(code, caller.now, None).map_err(code_error)?;
    let (codes, digests) = recovery_codes(state)?;
    let txn = crate::db::begin_write(&state.db).await?;
    admins::turn_on_totp(&txn, admin.id, pending, step, digests).await?;
    audit::record(&txn, caller.audit(Action::TwoFactorOn, None, None)).await?;
    txn.commit().await?;
    tracing::info!(admin = caller.admin_id, "two-factor authentication turned on");
    Ok(codes)
}

pub async fn new_recovery_codes(state: &AppState, caller: &Caller) -> Result<Vec<String>, ConsoleError> {
    if !caller.two_factor {
        return Err(ConsoleError::Conflict("Turn on two-factor authentication first.".into()));
    }
    let (codes, digests) = recovery_codes(state)?;
    let txn = crate::db::begin_write(&state.db).await?;
    admins::replace_recovery_codes(&txn, caller.admin_id, digests).await?;
    audit::record(&txn, caller.audit(Action::RecoveryCodesReplaced, None, None)).await?;
    txn.commit().await?;
    Ok(codes)
}

pub async fn turn_off(state: &AppState, caller: &Caller, password: &str) -> Result<(), ConsoleError> {
    if password.len() > MAX_INPUT {
        return Err(too_long(Field::Password));
    }
    if !caller.two_factor {
        return Ok(());
    }
    check_own_password(state, caller, password).await?;
    let txn = crate::db::begin_write(&state.db).await?;
    admins::turn_off_totp(&txn, caller.admin_id).await?;
    audit::record(&txn, caller.audit(Action::TwoFactorOff, None, None)).await?;
    txn.commit().await?;
    tracing::info!(admin = caller.admin_id, "two-factor authentication turned off");
    Ok(())
}

/// Ends one of the admin's other sessions (`Some`), or all of them (`None`).
pub async fn end_session(state: &AppState, caller: &Caller, id: Option<i32>) -> Result<(), ConsoleError> {
    let ended = match id {
        Some(id) if id == caller.session_id => {
            return Err(ConsoleError::Conflict("That is this browser's session: use Sign out.".into()));
        }
        Some(id) => u64::from(sessions::end_one(&state.db, caller.admin_id, id).await?),
        None => {
            // The other browsers' known-browser notes go too: a thief's browser
            // that signed in once is not "known" at the next guess.
            let this_browser = known_browser(state, caller.known_browser.as_deref()).await?;
            known_browsers::revoke_others(&state.db, caller.admin_id, this_browser.as_ref()).await?;
            sessions::end_others(&state.db, caller.admin_id, Some(caller.session_id)).await?
        }
    };
    if ended > 0 {
        let detail = format!("{ended} {}", if ended == 1 { "session" } else { "sessions" });
        audit::record(&state.db, caller.audit(Action::SessionsEnded, None, Some(detail))).await?;
    }
    Ok(())
}
