//! Server-side sessions: a restart keeps people signed in, and sign-out (or
//! expiry, or an Owner removing the admin) really ends a session, because
//! the row is gone. Every request looks its session up, so an ended session
//! or a changed role is seen on the next request by every instance.
//!
//! And the second step of a sign-in with two-factor authentication: a
//! short-lived challenge that is not a session and opens nothing else.

use crate::db::entities::{account, admin, session, sign_in_challenge};
use crate::domain::crypto::digest;
use crate::domain::session::{self as rules, ABSOLUTE_TIMEOUT_MS, IDLE_TIMEOUT_MS};
use sea_orm::sea_query::{Expr, ExprTrait};
use sea_orm::{
    ActiveModelTrait, ActiveValue::Set, ColumnTrait, ConnectionTrait, DbErr, EntityTrait, QueryFilter, QueryOrder,
};

/// How long the second step of a sign-in waits for its code.
pub const CHALLENGE_MS: i64 = 5 * 60 * 1000;

#[derive(Debug, Clone)]
pub struct SignedIn {
    pub session: session::Model,
    pub admin: admin::Model,
    pub account: account::Model,
}

#[derive(Debug, thiserror::Error)]
pub enum SessionError {
    #[error("the operating system's random generator failed")]
    Random,
    #[error(transparent)]
    Db(#[from] DbErr),
}

/// Where a session started, for the Sessions table.
#[derive(Debug, Clone, Default)]
pub struct Origin {
    pub user_agent: String,
    pub client_ip: String,
}

/// Starts a session for `admin`; returns the id for the cookie (stored only as a digest).
pub async fn start(
    db: &impl ConnectionTrait,
    admin: &admin::Model,
    origin: &Origin,
    now: i64,
) -> Result<String, SessionError> {
    let id = rules::new_id().map_err(|_| SessionError::Random)?;
    purge_expired(db, now).await?;
    session::ActiveModel {
        id_digest: Set(digest(&id).to_vec()),
        admin_id: Set(admin.id),
        account_id: Set(admin.account_id),
        created_at: Set(now),
        last_seen_at: Set(now),
        user_agent: Set(origin.user_agent.clone()),
        client_ip: Set(origin.client_ip.clone()),
        proved_at: Set(now),
        ..Default::default()
    }
    .insert(db)
    .await?;
    Ok(id)
}

/// The live session with this cookie id, if any. Marks it seen (at most once a
/// minute) and deletes it if it has expired.
pub async fn resume(db: &impl ConnectionTrait, id: &str, now: i64) -> Result<Option<SignedIn>, DbErr> {
    if !rules::looks_valid(id) {
        return Ok(None);
    }
    let Some((session, Some(admin))) = session::Entity::find()
        .filter(session::Column::IdDigest.eq(digest(id).to_vec()))
        .find_also_related(admin::Entity)
        .one(db)
        .await?
    else {
        return Ok(None);
    };
    if !rules::is_live(session.created_at, session.last_seen_at, now) {
        session::Entity::delete_by_id(session.id).exec(db).await?;
        return Ok(None);
    }
    let Some(account) = account::Entity::find_by_id(admin.account_id).one(db).await? else {
        return Ok(None);
    };
    let mut session = session;
    if rules::needs_touch(session.last_seen_at, now) {
        // A session that cannot be marked seen (the disk is full) is still
        // valid: reads must keep working, and the next request tries again.
        let touched = session::Entity::update_many()
            .col_expr(session::Column::LastSeenAt, Expr::value(now))
            .filter(session::Column::Id.eq(session.id))
            .exec(db)
            .await;
        match touched {
            Ok(_) => session.last_seen_at = now,
            Err(e) => tracing::warn!(error = %e, "could not mark a session as seen"),
        }
    }
    Ok(Some(SignedIn { session, admin, account }))
}

/// The admin's live sessions, the most recently active first.
pub async fn list(db: &impl ConnectionTrait, admin_id: i32, now: i64) -> Result<Vec<session::Model>, DbErr> {
    let sessions = session::Entity::find()
        .filter(session::Column::AdminId.eq(admin_id))
        .order_by_desc(session::Column::LastSeenAt)
        .order_by_desc(session::Column::Id)
        .all(db)
        .await?;
    Ok(sessions.into_iter().filter(|s| rules::is_live(s.created_at, s.last_seen_at, now)).collect())
}

/// Ends a session (by row id, as the guard resolved it); ending one that is
/// already gone is not an error.
pub async fn end_by_row(db: &impl ConnectionTrait, id: i32) -> Result<(), DbErr> {
    session::Entity::delete_by_id(id).exec(db).await?;
    Ok(())
}

/// Ends one of the admin's sessions; false if the admin has no such session.
pub async fn end_one(db: &impl ConnectionTrait, admin_id: i32, id: i32) -> Result<bool, DbErr> {
    let ended = session::Entity::delete_many()
        .filter(session::Column::Id.eq(id))
        .filter(session::Column::AdminId.eq(admin_id))
        .exec(db)
        .await?;
    Ok(ended.rows_affected == 1)
}

/// Ends every session of the admin but `keep` (all of them with `None`); returns how many.
pub async fn end_others(db: &impl ConnectionTrait, admin_id: i32, keep: Option<i32>) -> Result<u64, DbErr> {
    let mut delete = session::Entity::delete_many().filter(session::Column::AdminId.eq(admin_id));
    if let Some(keep) = keep {
        delete = delete.filter(session::Column::Id.ne(keep));
    }
    Ok(delete.exec(db).await?.rows_affected)
}

/// The session proved who it is now (Confirm access).
pub async fn prove(db: &impl ConnectionTrait, id: i32, now: i64) -> Result<(), DbErr> {
    session::Entity::update_many()
        .col_expr(session::Column::ProvedAt, Expr::value(now))
        .filter(session::Column::Id.eq(id))
        .exec(db)
        .await?;
    Ok(())
}

async fn purge_expired(db: &impl ConnectionTrait, now: i64) -> Result<(), DbErr> {
    session::Entity::delete_many()
        .filter(
            session::Column::LastSeenAt
                .lte(now - IDLE_TIMEOUT_MS)
                .or(session::Column::CreatedAt.lte(now - ABSOLUTE_TIMEOUT_MS)),
        )
        .exec(db)
        .await?;
    sign_in_challenge::Entity::delete_many().filter(sign_in_challenge::Column::ExpiresAt.lte(now)).exec(db).await?;
    Ok(())
}

/// Second steps an admin may have pending at once; older ones are dropped.
const CHALLENGES_KEPT: usize = 5;

/// A password was right and a code is awaited: the id for the browser.
pub async fn start_challenge(db: &impl ConnectionTrait, admin_id: i32, now: i64) -> Result<String, SessionError> {
    let id = rules::new_id().map_err(|_| SessionError::Random)?;
    sign_in_challenge::Entity::delete_many().filter(sign_in_challenge::Column::ExpiresAt.lte(now)).exec(db).await?;
    let pending = sign_in_challenge::Entity::find()
        .filter(sign_in_challenge::Column::AdminId.eq(admin_id))
        .order_by_desc(sign_in_challenge::Column::Id)
        .all(db)
        .await?;
    let stale: Vec<i32> = pending.iter().skip(CHALLENGES_KEPT - 1).map(|c| c.id).collect();
    if !stale.is_empty() {
        sign_in_challenge::Entity::delete_many().filter(sign_in_challenge::Column::Id.is_in(stale)).exec(db).await?;
    }
    sign_in_challenge::ActiveModel {
        id_digest: Set(digest(&id).to_vec()),
        admin_id: Set(admin_id),
        created_at: Set(now),
        expires_at: Set(now + CHALLENGE_MS),
        ..Default::default()
    }
    .insert(db)
    .await?;
    Ok(id)
}

/// The admin a live challenge is for.
pub async fn challenge(
    db: &impl ConnectionTrait,
    id: &str,
    now: i64,
) -> Result<Option<(admin::Model, account::Model)>, DbErr> {
    if !rules::looks_valid(id) {
        return Ok(None);
    }
    let Some(found) = sign_in_challenge::Entity::find()
        .filter(sign_in_challenge::Column::IdDigest.eq(digest(id).to_vec()))
        .filter(sign_in_challenge::Column::ExpiresAt.gt(now))
        .one(db)
        .await?
    else {
        return Ok(None);
    };
    crate::db::service::admins::find_by_id(db, found.admin_id).await
}

/// Takes the challenge's row lock (PostgreSQL; SQLite's write transaction
/// already excludes others): true if it is still there and live.
pub async fn lock_challenge(db: &impl ConnectionTrait, id: &str, now: i64) -> Result<bool, DbErr> {
    use sea_orm::QuerySelect;
    Ok(sign_in_challenge::Entity::find()
        .filter(sign_in_challenge::Column::IdDigest.eq(digest(id).to_vec()))
        .filter(sign_in_challenge::Column::ExpiresAt.gt(now))
        .lock_exclusive()
        .one(db)
        .await?
        .is_some())
}

/// Ends the session a cookie names, if it is one (joining as someone else).
pub async fn end_by_cookie(db: &impl ConnectionTrait, id: &str) -> Result<(), DbErr> {
    if rules::looks_valid(id) {
        session::Entity::delete_many().filter(session::Column::IdDigest.eq(digest(id).to_vec())).exec(db).await?;
    }
    Ok(())
}

/// The second step is over (done, or given up): the challenge cannot be used again.
pub async fn end_challenge(db: &impl ConnectionTrait, id: &str) -> Result<bool, DbErr> {
    let ended = sign_in_challenge::Entity::delete_many()
        .filter(sign_in_challenge::Column::IdDigest.eq(digest(id).to_vec()))
        .exec(db)
        .await?;
    Ok(ended.rows_affected == 1)
}
