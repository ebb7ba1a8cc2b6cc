//! Admins: who may sign in, to which account.

use crate::db::entities::{account, admin};
use crate::db::service::accounts::{self, AccountError};
use crate::db::service::{is_unique_violation, now_ms};
use crate::domain::password::{self, PasswordError};
use crate::domain::validation::{self, UsernameError};
use sea_orm::{
    ActiveModelTrait, ActiveValue::Set, ColumnTrait, ConnectionTrait, DatabaseConnection, DbErr, EntityTrait,
    PaginatorTrait, QueryFilter,
};

#[derive(Debug, thiserror::Error)]
pub enum AdminError {
    #[error("username: {0}")]
    Username(#[from] UsernameError),
    #[error("password: {0}")]
    Password(#[from] PasswordError),
    #[error("the username {0:?} is already taken")]
    Taken(String),
    #[error(transparent)]
    Account(#[from] AccountError),
    #[error(transparent)]
    Db(#[from] DbErr),
}

pub async fn count(db: &impl ConnectionTrait) -> Result<u64, DbErr> {
    admin::Entity::find().count(db).await
}

/// The admin with this username (any case) and their account.
pub async fn find_by_username(
    db: &impl ConnectionTrait,
    username: &str,
) -> Result<Option<(admin::Model, account::Model)>, DbErr> {
    let Ok(username) = validation::username(username) else { return Ok(None) };
    let found = admin::Entity::find()
        .filter(admin::Column::Username.eq(username))
        .find_also_related(account::Entity)
        .one(db)
        .await?;
    Ok(found.and_then(|(admin, account)| account.map(|account| (admin, account))))
}

pub async fn create(
    db: &impl ConnectionTrait,
    account_id: i32,
    username: &str,
    password: &str,
) -> Result<admin::Model, AdminError> {
    let username = validation::username(username)?;
    // Hash before touching the database: the slow part holds no transaction open.
    let password_hash = password::hash(password)?;
    if admin::Entity::find().filter(admin::Column::Username.eq(&username)).count(db).await? > 0 {
        return Err(AdminError::Taken(username));
    }
    admin::ActiveModel {
        account_id: Set(account_id),
        username: Set(username.clone()),
        password_hash: Set(password_hash),
        created_at: Set(now_ms()),
        ..Default::default()
    }
    .insert(db)
    .await
    .map_err(|e| if is_unique_violation(&e) { AdminError::Taken(username) } else { AdminError::Db(e) })
}

/// Onboards an admin: into the named account, creating the account first
/// (with its "Any address" IP ACL) if it does not exist yet.
pub async fn add(
    db: &DatabaseConnection,
    account_name: &str,
    username: &str,
    password: &str,
) -> Result<(account::Model, admin::Model), AdminError> {
    let name = validation::username(username)?;
    password::check_new(password)?;
    // Refused before anything is made: a taken username must not leave an empty account behind.
    if find_by_username(db, &name).await?.is_some() {
        return Err(AdminError::Taken(name));
    }
    let account = match accounts::find_by_name(db, account_name.trim()).await? {
        Some(account) => account,
        None => accounts::create(db, account_name).await?,
    };
    let admin = create(db, account.id, username, password).await?;
    Ok((account, admin))
}
