//! Invitations to join an account: a link that works once, for 72 hours,
//! for one username and role. Accepting marks it used and creates the admin
//! in one transaction, so two browsers that accept at once cannot both get in.

use crate::db::entities::{account, invitation};
use crate::db::service::admins::{self, AdminError};
use crate::domain::crypto::digest;
use crate::domain::roles::Role;
use crate::domain::validation::{self, UsernameError};
use sea_orm::sea_query::Expr;
use sea_orm::{
    ActiveModelTrait, ActiveValue::Set, ColumnTrait, ConnectionTrait, DbErr, EntityTrait, PaginatorTrait, QueryFilter,
    QueryOrder,
};

pub const VALID_FOR_MS: i64 = 72 * 60 * 60 * 1000;
/// Pending invitations an account may have at once.
pub const MAX_PENDING: u64 = 50;

#[derive(Debug, thiserror::Error)]
pub enum InviteError {
    #[error("{0}")]
    Username(#[from] UsernameError),
    #[error("That username is already taken; choose another one.")]
    Taken,
    #[error("That username already has a pending invitation; cancel it first.")]
    AlreadyInvited,
    #[error("This account already has {MAX_PENDING} pending invitations; cancel some first.")]
    TooMany,
    #[error("the operating system's random generator failed")]
    Random,
    #[error(transparent)]
    Db(#[from] DbErr),
}

/// A new invitation and the secret its link carries (shown once).
pub struct Created {
    pub invitation: invitation::Model,
    pub secret: String,
}

fn pending(now: i64) -> sea_orm::Condition {
    sea_orm::Condition::all()
        .add(invitation::Column::UsedAt.is_null())
        .add(invitation::Column::CancelledAt.is_null())
        .add(invitation::Column::ExpiresAt.gt(now))
}

/// Invites `username` into `account_id` as `role`. Run in a write transaction.
pub async fn create(
    txn: &impl ConnectionTrait,
    account_id: i32,
    username: &str,
    role: Role,
    invited_by: &str,
    now: i64,
) -> Result<Created, InviteError> {
    let username = validation::username(username)?;
    if admins::username_taken(txn, &username).await? {
        return Err(InviteError::Taken);
    }
    let already = invitation::Entity::find()
        .filter(invitation::Column::Username.eq(&username))
        .filter(pending(now))
        .count(txn)
        .await?;
    if already > 0 {
        return Err(InviteError::AlreadyInvited);
    }
    let open = invitation::Entity::find()
        .filter(invitation::Column::AccountId.eq(account_id))
        .filter(pending(now))
        .count(txn)
        .await?;
    if open >= MAX_PENDING {
        return Err(InviteError::TooMany);
    }
    let secret = crate::domain::session::new_id().map_err(|_| InviteError::Random)?;
    let invitation = invitation::ActiveModel {
        account_id: Set(account_id),
        username: Set(username),
        role: Set(role.code().to_owned()),
        token_digest: Set(digest(&secret).to_vec()),
        invited_by: Set(invited_by.to_owned()),
        created_at: Set(now),
        expires_at: Set(now + VALID_FOR_MS),
        used_at: Set(None),
        cancelled_at: Set(None),
        ..Default::default()
    }
    .insert(txn)
    .await?;
    Ok(Created { invitation, secret })
}

/// The account's invitations that can still be accepted, oldest first.
pub async fn list_pending(
    db: &impl ConnectionTrait,
    account_id: i32,
    now: i64,
) -> Result<Vec<invitation::Model>, DbErr> {
    invitation::Entity::find()
        .filter(invitation::Column::AccountId.eq(account_id))
        .filter(pending(now))
        .order_by_asc(invitation::Column::CreatedAt)
        .all(db)
        .await
}

/// Cancels a pending invitation of the account; `None` if there is none by that id.
pub async fn cancel(
    db: &impl ConnectionTrait,
    account_id: i32,
    id: i32,
    now: i64,
) -> Result<Option<invitation::Model>, DbErr> {
    let Some(found) = invitation::Entity::find_by_id(id)
        .filter(invitation::Column::AccountId.eq(account_id))
        .filter(pending(now))
        .one(db)
        .await?
    else {
        return Ok(None);
    };
    invitation::Entity::update_many()
        .col_expr(invitation::Column::CancelledAt, Expr::value(Some(now)))
        .filter(invitation::Column::Id.eq(id))
        .exec(db)
        .await?;
    Ok(Some(found))
}

/// Cancels every pending invitation `invited_by` made in the account (they
/// were removed, or are no longer an Owner); returns how many.
pub async fn cancel_by(db: &impl ConnectionTrait, account_id: i32, invited_by: &str, now: i64) -> Result<u64, DbErr> {
    let cancelled = invitation::Entity::update_many()
        .col_expr(invitation::Column::CancelledAt, Expr::value(Some(now)))
        .filter(invitation::Column::AccountId.eq(account_id))
        .filter(invitation::Column::InvitedBy.eq(invited_by))
        .filter(pending(now))
        .exec(db)
        .await?;
    Ok(cancelled.rows_affected)
}

/// The invitation a link's secret opens, with its account, if it is still valid.
pub async fn find_valid(
    db: &impl ConnectionTrait,
    secret: &str,
    now: i64,
) -> Result<Option<(invitation::Model, account::Model)>, DbErr> {
    if !crate::domain::session::looks_valid(secret) {
        return Ok(None);
    }
    let Some(found) = invitation::Entity::find()
        .filter(invitation::Column::TokenDigest.eq(digest(secret).to_vec()))
        .filter(pending(now))
        .one(db)
        .await?
    else {
        return Ok(None);
    };
    Ok(account::Entity::find_by_id(found.account_id).one(db).await?.map(|account| (found, account)))
}

#[derive(Debug, thiserror::Error)]
pub enum AcceptError {
    /// Used, cancelled, expired, or never was: all answered alike.
    #[error("This invitation is no longer valid")]
    NoLongerValid,
    #[error(transparent)]
    Db(#[from] DbErr),
}

/// Accepts an invitation: marks it used (only if nobody did first) and
/// creates the admin, in the caller's write transaction. `password_hash` is
/// hashed beforehand, outside the transaction.
pub async fn accept(
    txn: &impl ConnectionTrait,
    secret: &str,
    password_hash: String,
    now: i64,
) -> Result<(crate::db::entities::admin::Model, account::Model), AcceptError> {
    let (found, account) = find_valid(txn, secret, now).await?.ok_or(AcceptError::NoLongerValid)?;
    let marked = invitation::Entity::update_many()
        .col_expr(invitation::Column::UsedAt, Expr::value(Some(now)))
        .filter(invitation::Column::Id.eq(found.id))
        .filter(pending(now))
        .exec(txn)
        .await?;
    if marked.rows_affected != 1 {
        return Err(AcceptError::NoLongerValid);
    }
    let role = Role::from_code(&found.role).unwrap_or(Role::Viewer);
    match admins::create_hashed(txn, account.id, &found.username, password_hash, role, now).await {
        Ok(admin) => Ok((admin, account)),
        // Someone took the username meanwhile (another invitation, the command line).
        Err(AdminError::Taken(_) | AdminError::Username(_)) => Err(AcceptError::NoLongerValid),
        Err(AdminError::Db(e)) => Err(AcceptError::Db(e)),
        Err(other) => Err(AcceptError::Db(DbErr::Custom(other.to_string()))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::db;
    use crate::db::service::accounts;

    const NOW: i64 = 1_795_838_400_000;

    #[tokio::test]
    async fn an_invitation_works_once_and_only_for_72_hours() {
        let db = db::connect("sqlite::memory:").await.unwrap();
        let account = accounts::create(&db, "Acme").await.unwrap();
        let created = create(&db, account.id, "Nina", Role::Admin, "olga", NOW).await.unwrap();
        assert_eq!(created.invitation.username, "nina");
        assert!(matches!(
            create(&db, account.id, "nina", Role::Viewer, "olga", NOW).await,
            Err(InviteError::AlreadyInvited)
        ));
        assert!(find_valid(&db, &created.secret, NOW + VALID_FOR_MS - 1).await.unwrap().is_some());
        assert!(find_valid(&db, &created.secret, NOW + VALID_FOR_MS).await.unwrap().is_none(), "expired");
        let (admin, joined) = accept(&db, &created.secret, "hash".into(), NOW + 1).await.unwrap();
        assert_eq!((admin.username.as_str(), admin.role.as_str(), joined.id), ("nina", "admin", account.id));
        assert!(matches!(accept(&db, &created.secret, "hash".into(), NOW + 2).await, Err(AcceptError::NoLongerValid)));
        assert!(matches!(create(&db, account.id, "nina", Role::Viewer, "olga", NOW).await, Err(InviteError::Taken)));
    }

    #[tokio::test]
    async fn cancelled_invitations_and_the_pending_limit() {
        let db = db::connect("sqlite::memory:").await.unwrap();
        let account = accounts::create(&db, "Acme").await.unwrap();
        let first = create(&db, account.id, "a0", Role::Viewer, "olga", NOW).await.unwrap();
        for i in 1..MAX_PENDING {
            create(&db, account.id, &format!("a{i}"), Role::Viewer, "olga", NOW).await.unwrap();
        }
        assert!(matches!(
            create(&db, account.id, "one-more", Role::Viewer, "olga", NOW).await,
            Err(InviteError::TooMany)
        ));
        assert!(cancel(&db, account.id + 1, first.invitation.id, NOW).await.unwrap().is_none(), "another account's");
        assert!(cancel(&db, account.id, first.invitation.id, NOW).await.unwrap().is_some());
        assert!(find_valid(&db, &first.secret, NOW).await.unwrap().is_none());
        assert!(create(&db, account.id, "one-more", Role::Viewer, "olga", NOW).await.is_ok());
        assert_eq!(list_pending(&db, account.id, NOW).await.unwrap().len() as u64, MAX_PENDING);
    }
}
