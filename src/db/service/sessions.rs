//! Server-side sessions: a restart keeps people signed in, and sign-out (or
//! expiry) really ends a session, because the row is gone.

use crate::db::entities::{account, admin, session};
use crate::db::service::now_ms;
use crate::domain::crypto::digest;
use crate::domain::session::{self as rules, ABSOLUTE_TIMEOUT_MS, IDLE_TIMEOUT_MS};
use sea_orm::sea_query::{Expr, ExprTrait};
use sea_orm::{ActiveModelTrait, ActiveValue::Set, ColumnTrait, ConnectionTrait, DbErr, EntityTrait, QueryFilter};

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

/// Starts a session for `admin`; returns the id for the cookie (stored only as a digest).
pub async fn start(db: &impl ConnectionTrait, admin: &admin::Model) -> Result<String, SessionError> {
    let id = rules::new_id().map_err(|_| SessionError::Random)?;
    let now = now_ms();
    purge_expired(db, now).await?;
    session::ActiveModel {
        id_digest: Set(digest(&id).to_vec()),
        admin_id: Set(admin.id),
        account_id: Set(admin.account_id),
        created_at: Set(now),
        last_seen_at: Set(now),
        ..Default::default()
    }
    .insert(db)
    .await?;
    Ok(id)
}

/// The live session with this cookie id, if any. Marks it seen (at most once a
/// minute) and deletes it if it has expired.
pub async fn resume(db: &impl ConnectionTrait, id: &str) -> Result<Option<SignedIn>, DbErr> {
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
    let now = now_ms();
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

/// Ends a session (by row id, as the guard resolved it); ending one that is
/// already gone is not an error.
pub async fn end_by_row(db: &impl ConnectionTrait, id: i32) -> Result<(), DbErr> {
    session::Entity::delete_by_id(id).exec(db).await?;
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
    Ok(())
}
