//! The team of an account: who is in it with which role, invitations, and
//! the two-factor policy. Owners change it (the guard's role table says so,
//! and each change checks again); everyone reads it.

use crate::db::service::admins::{self, TeamError};
use crate::db::service::audit::{self, Action};
use crate::db::service::invitations::{self, AcceptError, InviteError};
use crate::db::service::{accounts, sessions};
use crate::domain::password;
use crate::domain::roles::{Need, Role};
use crate::rpc::team::{CreatedInvitation, Invitation, PendingInvitation, Team, TeamMember};
use crate::rpc::{ConsoleError, Field};
use crate::server::caller::{Caller, internal};
use crate::server::console::auth::{SignedIn, Visitor};
use crate::server::console::format_minute;
use crate::server::state::AppState;

pub async fn list(state: &AppState, caller: &Caller) -> Result<Team, ConsoleError> {
    let now = caller.now;
    let members = admins::team(&state.db, caller.account_id).await?;
    let invitations = invitations::list_pending(&state.db, caller.account_id, now).await?;
    let account = accounts::find_by_id(&state.db, caller.account_id).await?.ok_or(ConsoleError::Unauthenticated)?;
    Ok(Team {
        members: members
            .into_iter()
            .map(|admin| TeamMember {
                id: admin.id,
                role: admins::role_of(&admin),
                two_factor: admin.totp_sealed.is_some(),
                last_signed_in: admin.last_sign_in_at,
                you: admin.id == caller.admin_id,
                username: admin.username,
            })
            .collect(),
        invitations: invitations
            .into_iter()
            .map(|i| PendingInvitation {
                id: i.id,
                role: Role::from_code(&i.role).unwrap_or(Role::Viewer),
                expires_at: i.expires_at,
                username: i.username,
            })
            .collect(),
        require_two_factor: account.require_two_factor,
        your_role: caller.role,
        you_have_two_factor: caller.two_factor,
    })
}

fn role(code: &str) -> Result<Role, ConsoleError> {
    Role::from_code(code).ok_or_else(|| ConsoleError::invalid(Field::Role, "Choose a role: Owner, Admin or Viewer."))
}

pub async fn invite(
    state: &AppState,
    caller: &Caller,
    username: &str,
    role_code: &str,
) -> Result<CreatedInvitation, ConsoleError> {
    caller.require(Need::Own)?;
    let role = role(role_code)?;
    let now = caller.now;
    let txn = crate::db::begin_write(&state.db).await?;
    let created = invitations::create(&txn, caller.account_id, username, role, &caller.username, now).await.map_err(
        |e| match e {
            InviteError::Username(e) => ConsoleError::invalid(Field::Username, capitalized(&e.to_string())),
            // One answer for both: usernames are unique across accounts, and
            // an Owner of one account learns no more than that it is not free.
            InviteError::Taken | InviteError::AlreadyInvited => {
                ConsoleError::invalid(Field::Username, "That username cannot be invited; choose another one.")
            }
            InviteError::TooMany => ConsoleError::Conflict(e.to_string()),
            InviteError::Db(e) => e.into(),
            InviteError::Random => internal(e),
        },
    )?;
    let detail = format!("as {}; the link works until {}", role.label(), format_minute(created.invitation.expires_at));
    audit::record(&txn, caller.audit(Action::InvitationCreated, Some(&created.invitation.username), Some(detail)))
        .await?;
    txn.commit().await?;
    tracing::info!(account = caller.account_id, invitation = created.invitation.id, "admin invited");
    Ok(CreatedInvitation {
        username: created.invitation.username,
        link: format!("{}/join/{}", state.settings.public_origin_or(&request_origin()?), created.secret),
    })
}

/// `http://host:port` of the request, as the browser addressed the console
/// (the guard has checked the host is this console's).
fn request_origin() -> Result<String, ConsoleError> {
    let parts = leptos::prelude::use_context::<axum::http::request::Parts>().ok_or(ConsoleError::Internal)?;
    let host = parts.headers.get(axum::http::header::HOST).and_then(|h| h.to_str().ok()).unwrap_or("localhost");
    let https = parts.extensions.get::<crate::server::http::client_ip::ViaHttps>().is_some_and(|v| v.0);
    Ok(format!("{}://{host}", if https { "https" } else { "http" }))
}

fn capitalized(message: &str) -> String {
    let mut chars = message.chars();
    chars.next().map(|first| first.to_uppercase().chain(chars).collect()).unwrap_or_default()
}

pub async fn cancel(state: &AppState, caller: &Caller, id: i32) -> Result<(), ConsoleError> {
    caller.require(Need::Own)?;
    let cancelled = invitations::cancel(&state.db, caller.account_id, id, caller.now)
        .await?
        .ok_or_else(|| ConsoleError::NotFound("This invitation is no longer pending.".into()))?;
    audit::record(&state.db, caller.audit(Action::InvitationCancelled, Some(&cancelled.username), None)).await?;
    Ok(())
}

fn team_error(err: TeamError) -> ConsoleError {
    match err {
        TeamError::NotFound => ConsoleError::NotFound(err.to_string()),
        TeamError::LastOwner => ConsoleError::Conflict(err.to_string()),
        TeamError::Db(e) => e.into(),
    }
}

/// Takes effect on the admin's next request, on every instance: the guard
/// reads the role from the database with the session each time.
pub async fn change_role(state: &AppState, caller: &Caller, id: i32, role_code: &str) -> Result<(), ConsoleError> {
    caller.require(Need::Own)?;
    let role = role(role_code)?;
    let txn = crate::db::begin_write(&state.db).await?;
    let (before, after) = admins::set_role(&txn, caller.account_id, id, role).await.map_err(team_error)?;
    if admins::role_of(&before) == Role::Owner && role != Role::Owner {
        // Their invitations could bring in new Owners: they go with the role.
        invitations::cancel_by(&txn, caller.account_id, &before.username, caller.now).await?;
    }
    if before.role != after.role {
        let from = admins::role_of(&before).label();
        let detail = format!("from {from} to {}", role.label());
        audit::record(&txn, caller.audit(Action::RoleChanged, Some(&after.username), Some(detail))).await?;
    }
    txn.commit().await?;
    Ok(())
}

/// The admin and, with the row, every session of theirs: their next
/// request on any instance finds no session.
pub async fn remove(state: &AppState, caller: &Caller, id: i32) -> Result<(), ConsoleError> {
    caller.require(Need::Own)?;
    let txn = crate::db::begin_write(&state.db).await?;
    let removed = admins::remove(&txn, caller.account_id, id).await.map_err(team_error)?;
    invitations::cancel_by(&txn, caller.account_id, &removed.username, caller.now).await?;
    let detail = format!("was {}", admins::role_of(&removed).label());
    audit::record(&txn, caller.audit(Action::AdminRemoved, Some(&removed.username), Some(detail))).await?;
    txn.commit().await?;
    tracing::info!(account = caller.account_id, admin = removed.id, "admin removed");
    Ok(())
}

pub async fn set_require_two_factor(state: &AppState, caller: &Caller, on: bool) -> Result<(), ConsoleError> {
    caller.require(Need::Own)?;
    if on && !caller.two_factor {
        return Err(ConsoleError::Conflict(
            "Turn on two-factor authentication for yourself first (Settings › Security), so that you are not locked out."
                .into(),
        ));
    }
    if accounts::set_require_two_factor(&state.db, caller.account_id, on).await? {
        let detail = if on { "now required" } else { "no longer required" };
        audit::record(&state.db, caller.audit(Action::PolicyChanged, None, Some(detail.into()))).await?;
    }
    Ok(())
}

fn no_longer_valid() -> ConsoleError {
    ConsoleError::NotFound("This invitation is no longer valid".into())
}

pub async fn invitation(state: &AppState, token: &str) -> Result<Invitation, ConsoleError> {
    let (invitation, account) =
        invitations::find_valid(&state.db, token, state.clock.now_ms()).await?.ok_or_else(no_longer_valid)?;
    Ok(Invitation { account: account.name, username: invitation.username })
}

/// Joining: the new admin chooses a password; the invitation is spent and
/// the admin made in one transaction, then signed in.
pub async fn join(
    state: &AppState,
    visitor: &Visitor<'_>,
    token: &str,
    password: &str,
    confirm: &str,
) -> Result<SignedIn, ConsoleError> {
    if password != confirm {
        return Err(ConsoleError::invalid(Field::ConfirmPassword, "The two passwords are not the same."));
    }
    password::check_new(password)
        .map_err(|e| ConsoleError::invalid(Field::Password, capitalized(&e.to_string()) + "."))?;
    let (invitation, _) =
        invitations::find_valid(&state.db, token, state.clock.now_ms()).await?.ok_or_else(no_longer_valid)?;
    let attempt = crate::server::console::throttle::Attempt::new(&invitation.username, None, visitor.client_ip);
    let hash = crate::server::console::auth::hash_in_turn(state, &attempt, password).await?;
    let now = state.clock.now_ms();
    let txn = crate::db::begin_write(&state.db).await?;
    let (admin, account) = invitations::accept(&txn, token, hash, now).await.map_err(|e| match e {
        AcceptError::NoLongerValid => no_longer_valid(),
        AcceptError::Db(e) => e.into(),
    })?;
    let entry = audit::Entry {
        at: now,
        account_id: account.id,
        admin: &admin.username,
        client_ip: visitor.client_ip.to_string(),
        action: Action::InvitationAccepted,
        subject: None,
        detail: Some(format!("as {}", admins::role_of(&admin).label())),
    };
    audit::record(&txn, entry).await?;
    txn.commit().await?;
    let origin = sessions::Origin { user_agent: visitor.user_agent.clone(), client_ip: visitor.client_ip.to_string() };
    let session_id = sessions::start(&state.db, &admin, &origin, now).await.map_err(|e| match e {
        sessions::SessionError::Db(e) => e.into(),
        other => internal(other),
    })?;
    admins::mark_signed_in(&state.db, admin.id, now).await?;
    let (known_browser, note) = state.device_key.issue(&admin.username, now).map_err(internal)?;
    crate::db::service::known_browsers::remember(&state.db, admin.id, &note).await?;
    tracing::info!(account = account.id, admin = admin.id, "joined through an invitation");
    Ok(SignedIn { session_id, known_browser })
}
