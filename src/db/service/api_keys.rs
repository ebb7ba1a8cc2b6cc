//! API keys of an account. Every function takes the account id and filters by
//! it, so an id from another account behaves exactly like one that does not exist.

use crate::db::entities::{api_key, ip_acl};
use crate::db::service::{ip_acls, is_unique_violation, now_ms};
use crate::domain::crypto::{MasterKey, SealError, TokenDigest, digest};
use crate::domain::token::Token;
use crate::domain::validation::{Name, NameError};
use sea_orm::{
    ActiveModelTrait, ActiveValue::Set, ColumnTrait, ConnectionTrait, DbErr, EntityTrait, IntoActiveModel,
    PaginatorTrait, QueryFilter, QueryOrder,
};
use std::collections::HashMap;

#[derive(Debug, thiserror::Error)]
pub enum KeyError {
    #[error(transparent)]
    Name(#[from] NameError),
    #[error("Another API key of this account already has that name.")]
    NameTaken,
    #[error("That IP ACL no longer exists; choose another one.")]
    AclNotFound,
    #[error("This API key no longer exists.")]
    NotFound,
    #[error("token sealing failed: {0}")]
    Seal(#[from] SealError),
    #[error("the operating system's random generator failed")]
    Random,
    #[error(transparent)]
    Db(#[from] DbErr),
}

/// A key as the table shows it: never the token, only its last characters.
#[derive(Debug, Clone)]
pub struct KeyRow {
    pub key: api_key::Model,
    pub ip_acl_name: String,
}

#[derive(Debug, Clone)]
pub struct KeyPage {
    pub rows: Vec<KeyRow>,
    /// Every IP ACL of the account (the page's drop-down needs them too).
    pub acls: Vec<ip_acl::Model>,
    pub total: u64,
    /// The page served: the one asked for, or the last one if it was past the end.
    pub page: u64,
}

/// One page of the account's keys, newest first. `page` counts from 0; a page
/// past the end (the last keys were deleted meanwhile) gives the last page.
pub async fn list(db: &impl ConnectionTrait, account_id: i32, page: u64, per_page: u64) -> Result<KeyPage, DbErr> {
    let paginator = api_key::Entity::find()
        .filter(api_key::Column::AccountId.eq(account_id))
        .order_by_desc(api_key::Column::CreatedAt)
        .order_by_desc(api_key::Column::Id)
        .paginate(db, per_page.max(1));
    let total = paginator.num_items().await?;
    let page = page.min(total.div_ceil(per_page.max(1)).saturating_sub(1));
    let keys = paginator.fetch_page(page).await?;
    let acls = ip_acls::all(db, account_id).await?;
    let acl_names: HashMap<i32, &str> = acls.iter().map(|acl| (acl.id, acl.name.as_str())).collect();
    let rows = keys
        .into_iter()
        .map(|key| KeyRow { ip_acl_name: acl_names.get(&key.ip_acl_id).copied().unwrap_or_default().to_owned(), key })
        .collect();
    Ok(KeyPage { rows, acls, total, page })
}

/// Creates a key and its token. The token is returned once, here; the database
/// keeps only its digest and its ciphertext.
pub async fn create(
    db: &impl ConnectionTrait,
    master: &MasterKey,
    account_id: i32,
    name: &str,
    ip_acl_id: i32,
) -> Result<(api_key::Model, ip_acl::Model, Token), KeyError> {
    let name = Name::parse(name)?;
    let acl = ip_acls::find(db, account_id, ip_acl_id).await?.ok_or(KeyError::AclNotFound)?;
    let token = Token::generate().map_err(|_| KeyError::Random)?;
    let token_digest = digest(token.expose());
    let sealed = master.seal(token.expose().as_bytes(), &token_digest)?;
    let key = api_key::ActiveModel {
        account_id: Set(account_id),
        ip_acl_id: Set(acl.id),
        name: Set(name.as_str().to_owned()),
        name_folded: Set(name.folded().to_owned()),
        token_digest: Set(token_digest.to_vec()),
        token_sealed: Set(sealed),
        token_suffix: Set(token.visible_suffix().to_owned()),
        created_at: Set(now_ms()),
        last_used_at: Set(None),
        last_used_ip: Set(None),
        ..Default::default()
    }
    .insert(db)
    .await
    .map_err(name_taken_or_db)?;
    Ok((key, acl, token))
}

/// Renames a key and/or moves it to another of the account's IP ACLs.
/// Returns the key as it was, as it is now, and its IP ACL.
pub async fn update(
    db: &impl ConnectionTrait,
    account_id: i32,
    id: i32,
    name: &str,
    ip_acl_id: i32,
) -> Result<(api_key::Model, api_key::Model, ip_acl::Model), KeyError> {
    let name = Name::parse(name)?;
    let existing = find(db, account_id, id).await?.ok_or(KeyError::NotFound)?;
    let before = existing.clone();
    let acl = ip_acls::find(db, account_id, ip_acl_id).await?.ok_or(KeyError::AclNotFound)?;
    let mut active = existing.into_active_model();
    active.name = Set(name.as_str().to_owned());
    active.name_folded = Set(name.folded().to_owned());
    active.ip_acl_id = Set(acl.id);
    let key = active.update(db).await.map_err(|e| match e {
        DbErr::RecordNotUpdated => KeyError::NotFound,
        e => name_taken_or_db(e),
    })?;
    Ok((before, key, acl))
}

pub async fn delete(db: &impl ConnectionTrait, account_id: i32, id: i32) -> Result<api_key::Model, KeyError> {
    let existing = find(db, account_id, id).await?.ok_or(KeyError::NotFound)?;
    let result = api_key::Entity::delete_by_id(id).filter(api_key::Column::AccountId.eq(account_id)).exec(db).await?;
    if result.rows_affected == 0 {
        return Err(KeyError::NotFound);
    }
    Ok(existing)
}

/// Decrypts a key's token for the eye button.
pub async fn reveal(
    db: &impl ConnectionTrait,
    master: &MasterKey,
    account_id: i32,
    id: i32,
) -> Result<(api_key::Model, Token), KeyError> {
    let key = find(db, account_id, id).await?.ok_or(KeyError::NotFound)?;
    let plain = master.open(&key.token_sealed, &key.token_digest)?;
    let token =
        String::from_utf8(plain).ok().and_then(|s| Token::parse(&s).ok()).ok_or(KeyError::Seal(SealError::Open))?;
    Ok((key, token))
}

pub async fn find(db: &impl ConnectionTrait, account_id: i32, id: i32) -> Result<Option<api_key::Model>, DbErr> {
    api_key::Entity::find_by_id(id).filter(api_key::Column::AccountId.eq(account_id)).one(db).await
}

/// The key a presented token belongs to, with its IP ACL: the API's lookup.
pub async fn find_by_digest(
    db: &impl ConnectionTrait,
    token_digest: &TokenDigest,
) -> Result<Option<(api_key::Model, ip_acl::Model)>, DbErr> {
    let found = api_key::Entity::find()
        .filter(api_key::Column::TokenDigest.eq(token_digest.to_vec()))
        .find_also_related(ip_acl::Entity)
        .one(db)
        .await?;
    Ok(found.and_then(|(key, acl)| acl.map(|acl| (key, acl))))
}

/// The unique (account, folded name) index decides; this names its refusal.
fn name_taken_or_db(err: DbErr) -> KeyError {
    if is_unique_violation(&err) { KeyError::NameTaken } else { KeyError::Db(err) }
}
