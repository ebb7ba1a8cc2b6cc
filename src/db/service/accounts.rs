//! Accounts, and what every new account starts with.

use crate::db::entities::{account, ip_acl};
use crate::db::service::{is_unique_violation, now_ms};
use crate::domain::validation::{Name, NameError, fold};
use sea_orm::{
    ActiveModelTrait, ActiveValue::Set, ColumnTrait, ConnectionTrait, DatabaseConnection, DbErr, EntityTrait,
    QueryFilter,
};

/// The ACL a new account starts with, so its first key can be made at once.
pub const ANY_ADDRESS_ACL: &str = "Any address";
pub const ANY_ADDRESS_ENTRIES: &str = "0.0.0.0/0\n::/0";
pub const DEFAULT_ACCOUNT: &str = "Default";

#[derive(Debug, thiserror::Error)]
pub enum AccountError {
    #[error("account name: {0}")]
    Name(#[from] NameError),
    #[error("an account named {0:?} already exists")]
    Exists(String),
    #[error(transparent)]
    Db(#[from] DbErr),
}

pub async fn find_by_id(db: &impl ConnectionTrait, id: i32) -> Result<Option<account::Model>, DbErr> {
    account::Entity::find_by_id(id).one(db).await
}

pub async fn find_by_name(db: &impl ConnectionTrait, name: &str) -> Result<Option<account::Model>, DbErr> {
    account::Entity::find().filter(account::Column::Name.eq(name)).one(db).await
}

/// Creates an account together with its "Any address" IP ACL, in one transaction.
pub async fn create(db: &DatabaseConnection, name: &str) -> Result<account::Model, AccountError> {
    let name = Name::parse(name)?;
    let txn = crate::db::begin_write(db).await?;
    if find_by_name(&txn, name.as_str()).await?.is_some() {
        return Err(AccountError::Exists(name.as_str().to_owned()));
    }
    let now = now_ms();
    // Another instance may have inserted it since the check (PostgreSQL reads
    // committed rows only): the unique index says so.
    let account =
        account::ActiveModel { name: Set(name.as_str().to_owned()), created_at: Set(now), ..Default::default() }
            .insert(&txn)
            .await
            .map_err(|e| {
                if is_unique_violation(&e) {
                    AccountError::Exists(name.as_str().to_owned())
                } else {
                    AccountError::Db(e)
                }
            })?;
    ip_acl::ActiveModel {
        account_id: Set(account.id),
        name: Set(ANY_ADDRESS_ACL.to_owned()),
        name_folded: Set(fold(ANY_ADDRESS_ACL)),
        entries: Set(ANY_ADDRESS_ENTRIES.to_owned()),
        created_at: Set(now),
        updated_at: Set(now),
        report_only: Set(false),
        ..Default::default()
    }
    .insert(&txn)
    .await?;
    txn.commit().await?;
    Ok(account)
}

/// Switches the account's two-factor requirement; returns whether it changed.
pub async fn set_require_two_factor(db: &impl ConnectionTrait, account_id: i32, on: bool) -> Result<bool, DbErr> {
    use sea_orm::sea_query::Expr;
    let changed = account::Entity::update_many()
        .col_expr(account::Column::RequireTwoFactor, Expr::value(on))
        .filter(account::Column::Id.eq(account_id))
        .filter(account::Column::RequireTwoFactor.ne(on))
        .exec(db)
        .await?;
    Ok(changed.rows_affected == 1)
}

/// The account a fresh install starts with; created on first start.
/// Instances that start at once on an empty database may both get here; the
/// one that loses the race to create it takes the winner's.
pub async fn ensure_default(db: &DatabaseConnection) -> Result<account::Model, AccountError> {
    if let Some(account) = find_by_name(db, DEFAULT_ACCOUNT).await? {
        return Ok(account);
    }
    match create(db, DEFAULT_ACCOUNT).await {
        Err(AccountError::Exists(name)) => find_by_name(db, DEFAULT_ACCOUNT).await?.ok_or(AccountError::Exists(name)),
        created => created,
    }
}
