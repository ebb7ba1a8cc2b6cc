//! The known-browser notes the server issued (see `domain::device`), by the
//! digest of their nonce: a note counts at sign-in only while it is listed
//! here, so ending an admin's other sessions, or a new password, revokes
//! the notes of their other browsers too.

use crate::db::entities::{admin, known_browser};
use crate::domain::device::{KnownBrowser, MAX_AGE_MS};
use sea_orm::{
    ActiveModelTrait, ActiveValue::Set, ColumnTrait, ConnectionTrait, DbErr, EntityTrait, QueryFilter, QueryOrder,
};

/// Notes kept per admin; older ones are dropped (each is also a place a password was typed).
const KEPT: usize = 20;

pub async fn remember(db: &impl ConnectionTrait, admin_id: i32, browser: &KnownBrowser) -> Result<(), DbErr> {
    known_browser::ActiveModel {
        admin_id: Set(admin_id),
        nonce_digest: Set(browser.nonce_digest()),
        issued_at: Set(browser.issued_at),
        expires_at: Set(browser.issued_at + MAX_AGE_MS),
        ..Default::default()
    }
    .insert(db)
    .await?;
    let listed = known_browser::Entity::find()
        .filter(known_browser::Column::AdminId.eq(admin_id))
        .order_by_desc(known_browser::Column::IssuedAt)
        .order_by_desc(known_browser::Column::Id)
        .all(db)
        .await?;
    let dropped: Vec<i32> = listed.iter().skip(KEPT).map(|b| b.id).collect();
    if !dropped.is_empty() {
        known_browser::Entity::delete_many().filter(known_browser::Column::Id.is_in(dropped)).exec(db).await?;
    }
    Ok(())
}

/// Is this note still listed, for the admin it names?
pub async fn is_listed(db: &impl ConnectionTrait, browser: &KnownBrowser, now: i64) -> Result<bool, DbErr> {
    let found = known_browser::Entity::find()
        .filter(known_browser::Column::NonceDigest.eq(browser.nonce_digest()))
        .filter(known_browser::Column::ExpiresAt.gt(now))
        .find_also_related(admin::Entity)
        .one(db)
        .await?;
    Ok(found.is_some_and(|(_, admin)| admin.is_some_and(|admin| admin.username == browser.username)))
}

/// Revokes every note of the admin but `keep` (this browser's); returns how many.
pub async fn revoke_others(
    db: &impl ConnectionTrait,
    admin_id: i32,
    keep: Option<&KnownBrowser>,
) -> Result<u64, DbErr> {
    let mut delete = known_browser::Entity::delete_many().filter(known_browser::Column::AdminId.eq(admin_id));
    if let Some(keep) = keep {
        delete = delete.filter(known_browser::Column::NonceDigest.ne(keep.nonce_digest()));
    }
    Ok(delete.exec(db).await?.rows_affected)
}

pub async fn prune(db: &impl ConnectionTrait, now: i64) -> Result<u64, DbErr> {
    Ok(known_browser::Entity::delete_many()
        .filter(known_browser::Column::ExpiresAt.lte(now))
        .exec(db)
        .await?
        .rows_affected)
}
