//! Admins: who may sign in, to which account, with which role; and the
//! team changes that must leave every account at least one Owner.

use crate::db::entities::{account, admin, recovery_code};
use crate::db::service::accounts::{self, AccountError};
use crate::db::service::{is_unique_violation, now_ms};
use crate::domain::password::{self, PasswordError};
use crate::domain::roles::Role;
use crate::domain::validation::{self, UsernameError};
use sea_orm::sea_query::{Expr, ExprTrait};
use sea_orm::{
    ActiveModelTrait, ActiveValue::Set, ColumnTrait, ConnectionTrait, DatabaseConnection, DbErr, EntityTrait,
    PaginatorTrait, QueryFilter, QueryOrder, QuerySelect,
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

/// Why a team change was refused.
#[derive(Debug, thiserror::Error)]
pub enum TeamError {
    #[error("This admin is no longer on the team.")]
    NotFound,
    #[error("An account needs at least one owner.")]
    LastOwner,
    #[error(transparent)]
    Db(#[from] DbErr),
}

/// An admin's role; a stored value this build does not know reads as the weakest.
pub fn role_of(admin: &admin::Model) -> Role {
    Role::from_code(&admin.role).unwrap_or(Role::Viewer)
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

/// An admin of `account_id`; another account's admin is answered as missing.
pub async fn find(db: &impl ConnectionTrait, account_id: i32, id: i32) -> Result<Option<admin::Model>, DbErr> {
    admin::Entity::find_by_id(id).filter(admin::Column::AccountId.eq(account_id)).one(db).await
}

pub async fn find_by_id(db: &impl ConnectionTrait, id: i32) -> Result<Option<(admin::Model, account::Model)>, DbErr> {
    let found = admin::Entity::find_by_id(id).find_also_related(account::Entity).one(db).await?;
    Ok(found.and_then(|(admin, account)| account.map(|account| (admin, account))))
}

/// Is the username in use by any admin (usernames are unique across accounts)?
pub async fn username_taken(db: &impl ConnectionTrait, username: &str) -> Result<bool, DbErr> {
    Ok(admin::Entity::find().filter(admin::Column::Username.eq(username)).count(db).await? > 0)
}

/// Creates an admin with an already hashed password (hash first, outside
/// any transaction: Argon2 is the slow part).
pub async fn create_hashed(
    db: &impl ConnectionTrait,
    account_id: i32,
    username: &str,
    password_hash: String,
    role: Role,
    now: i64,
) -> Result<admin::Model, AdminError> {
    let username = validation::username(username)?;
    if username_taken(db, &username).await? {
        return Err(AdminError::Taken(username));
    }
    admin::ActiveModel {
        account_id: Set(account_id),
        username: Set(username.clone()),
        password_hash: Set(password_hash),
        created_at: Set(now),
        role: Set(role.code().to_owned()),
        totp_sealed: Set(None),
        totp_pending_sealed: Set(None),
        totp_last_step: Set(None),
        last_sign_in_at: Set(None),
        ..Default::default()
    }
    .insert(db)
    .await
    .map_err(|e| if is_unique_violation(&e) { AdminError::Taken(username) } else { AdminError::Db(e) })
}

pub async fn create(
    db: &impl ConnectionTrait,
    account_id: i32,
    username: &str,
    password: &str,
    role: Role,
) -> Result<admin::Model, AdminError> {
    validation::username(username)?;
    let password_hash = password::hash(password)?;
    create_hashed(db, account_id, username, password_hash, role, now_ms()).await
}

/// Onboards an Owner from the command line (the break-glass path): into the
/// named account, creating the account first (with its "Any address" IP
/// ACL) if it does not exist yet.
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
    let admin = create(db, account.id, username, password, Role::Owner).await?;
    Ok((account, admin))
}

/// The account's admins, by username.
pub async fn team(db: &impl ConnectionTrait, account_id: i32) -> Result<Vec<admin::Model>, DbErr> {
    admin::Entity::find()
        .filter(admin::Column::AccountId.eq(account_id))
        .order_by_asc(admin::Column::Username)
        .all(db)
        .await
}

/// Takes the account's row lock, so that team changes of one account run
/// one at a time on PostgreSQL (SQLite's write transactions already do):
/// two Owners demoting each other at once cannot leave nobody in charge.
async fn lock_team(db: &impl ConnectionTrait, account_id: i32) -> Result<(), DbErr> {
    account::Entity::find_by_id(account_id).lock_exclusive().one(db).await?;
    Ok(())
}

async fn owners(db: &impl ConnectionTrait, account_id: i32) -> Result<u64, DbErr> {
    admin::Entity::find()
        .filter(admin::Column::AccountId.eq(account_id))
        .filter(admin::Column::Role.eq(Role::Owner.code()))
        .count(db)
        .await
}

/// Gives an admin another role; returns the admin before and after. Run in a write transaction.
pub async fn set_role(
    txn: &impl ConnectionTrait,
    account_id: i32,
    id: i32,
    role: Role,
) -> Result<(admin::Model, admin::Model), TeamError> {
    lock_team(txn, account_id).await?;
    let before = find(txn, account_id, id).await?.ok_or(TeamError::NotFound)?;
    if role_of(&before) == Role::Owner && role != Role::Owner && owners(txn, account_id).await? <= 1 {
        return Err(TeamError::LastOwner);
    }
    let mut active: admin::ActiveModel = before.clone().into();
    active.role = Set(role.code().to_owned());
    let after = active.update(txn).await?;
    Ok((before, after))
}

/// Removes an admin from the team; their sessions, codes and pending
/// sign-ins go with the row. Run in a write transaction.
pub async fn remove(txn: &impl ConnectionTrait, account_id: i32, id: i32) -> Result<admin::Model, TeamError> {
    lock_team(txn, account_id).await?;
    let admin = find(txn, account_id, id).await?.ok_or(TeamError::NotFound)?;
    if role_of(&admin) == Role::Owner && owners(txn, account_id).await? <= 1 {
        return Err(TeamError::LastOwner);
    }
    admin::Entity::delete_by_id(admin.id).exec(txn).await?;
    Ok(admin)
}

pub async fn set_password_hash(db: &impl ConnectionTrait, id: i32, password_hash: String) -> Result<(), DbErr> {
    admin::Entity::update_many()
        .col_expr(admin::Column::PasswordHash, Expr::value(password_hash))
        .filter(admin::Column::Id.eq(id))
        .exec(db)
        .await?;
    Ok(())
}

pub async fn mark_signed_in(db: &impl ConnectionTrait, id: i32, now: i64) -> Result<(), DbErr> {
    admin::Entity::update_many()
        .col_expr(admin::Column::LastSignInAt, Expr::value(now))
        .filter(admin::Column::Id.eq(id))
        .exec(db)
        .await?;
    Ok(())
}

/// A secret shown for setting up two-factor authentication, awaiting its first code.
pub async fn set_pending_totp(db: &impl ConnectionTrait, id: i32, sealed: Option<Vec<u8>>) -> Result<(), DbErr> {
    admin::Entity::update_many()
        .col_expr(admin::Column::TotpPendingSealed, Expr::value(sealed))
        .filter(admin::Column::Id.eq(id))
        .exec(db)
        .await?;
    Ok(())
}

/// Two-factor on: the pending secret becomes the admin's, with its first
/// accepted step, and `codes` (HMACs) replace every recovery code.
pub async fn turn_on_totp(
    txn: &impl ConnectionTrait,
    id: i32,
    sealed: Vec<u8>,
    step: i64,
    codes: Vec<Vec<u8>>,
) -> Result<(), DbErr> {
    admin::Entity::update_many()
        .col_expr(admin::Column::TotpSealed, Expr::value(Some(sealed)))
        .col_expr(admin::Column::TotpPendingSealed, Expr::value(Option::<Vec<u8>>::None))
        .col_expr(admin::Column::TotpLastStep, Expr::value(Some(step)))
        .filter(admin::Column::Id.eq(id))
        .exec(txn)
        .await?;
    replace_recovery_codes(txn, id, codes).await
}

/// Two-factor off: the secret and every recovery code are gone.
pub async fn turn_off_totp(txn: &impl ConnectionTrait, id: i32) -> Result<(), DbErr> {
    admin::Entity::update_many()
        .col_expr(admin::Column::TotpSealed, Expr::value(Option::<Vec<u8>>::None))
        .col_expr(admin::Column::TotpPendingSealed, Expr::value(Option::<Vec<u8>>::None))
        .col_expr(admin::Column::TotpLastStep, Expr::value(Option::<i64>::None))
        .filter(admin::Column::Id.eq(id))
        .exec(txn)
        .await?;
    recovery_code::Entity::delete_many().filter(recovery_code::Column::AdminId.eq(id)).exec(txn).await?;
    Ok(())
}

pub async fn replace_recovery_codes(txn: &impl ConnectionTrait, id: i32, codes: Vec<Vec<u8>>) -> Result<(), DbErr> {
    recovery_code::Entity::delete_many().filter(recovery_code::Column::AdminId.eq(id)).exec(txn).await?;
    let rows = codes.into_iter().map(|digest| recovery_code::ActiveModel {
        admin_id: Set(id),
        digest: Set(digest),
        used_at: Set(None),
        ..Default::default()
    });
    recovery_code::Entity::insert_many(rows).exec_without_returning(txn).await?;
    Ok(())
}

/// Accepts a code's time step once: true if `step` is later than any
/// accepted before. One conditional UPDATE, so two requests with the same
/// code at the same moment cannot both pass, on either database.
pub async fn accept_totp_step(db: &impl ConnectionTrait, id: i32, step: i64) -> Result<bool, DbErr> {
    let updated = admin::Entity::update_many()
        .col_expr(admin::Column::TotpLastStep, Expr::value(Some(step)))
        .filter(admin::Column::Id.eq(id))
        .filter(admin::Column::TotpSealed.is_not_null())
        .filter(admin::Column::TotpLastStep.is_null().or(admin::Column::TotpLastStep.lt(step)))
        .exec(db)
        .await?;
    Ok(updated.rows_affected == 1)
}

/// Spends a recovery code: true if `digest` was one of the admin's unused codes.
pub async fn use_recovery_code(db: &impl ConnectionTrait, id: i32, digest: Vec<u8>, now: i64) -> Result<bool, DbErr> {
    let updated = recovery_code::Entity::update_many()
        .col_expr(recovery_code::Column::UsedAt, Expr::value(Some(now)))
        .filter(recovery_code::Column::AdminId.eq(id))
        .filter(recovery_code::Column::Digest.eq(digest))
        .filter(recovery_code::Column::UsedAt.is_null())
        .exec(db)
        .await?;
    Ok(updated.rows_affected == 1)
}

/// How many of the admin's recovery codes are left.
pub async fn recovery_codes_left(db: &impl ConnectionTrait, id: i32) -> Result<u64, DbErr> {
    recovery_code::Entity::find()
        .filter(recovery_code::Column::AdminId.eq(id))
        .filter(recovery_code::Column::UsedAt.is_null())
        .count(db)
        .await
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::db;
    use sea_orm::TransactionTrait;

    async fn team_of_two() -> (DatabaseConnection, i32, admin::Model, admin::Model) {
        let db = db::connect("sqlite::memory:").await.unwrap();
        let account = accounts::create(&db, "Team").await.unwrap();
        let owner = create_hashed(&db, account.id, "olga", "x".into(), Role::Owner, 0).await.unwrap();
        let viewer = create_hashed(&db, account.id, "vic", "x".into(), Role::Viewer, 0).await.unwrap();
        (db, account.id, owner, viewer)
    }

    #[tokio::test]
    async fn the_last_owner_can_be_neither_demoted_nor_removed() {
        let (db, account, owner, viewer) = team_of_two().await;
        let txn = db.begin().await.unwrap();
        assert!(matches!(set_role(&txn, account, owner.id, Role::Admin).await, Err(TeamError::LastOwner)));
        assert!(matches!(remove(&txn, account, owner.id).await, Err(TeamError::LastOwner)));
        let (_, promoted) = set_role(&txn, account, viewer.id, Role::Owner).await.unwrap();
        assert_eq!(role_of(&promoted), Role::Owner);
        // Two owners now: either may go.
        let (_, demoted) = set_role(&txn, account, owner.id, Role::Viewer).await.unwrap();
        assert_eq!(role_of(&demoted), Role::Viewer);
        assert!(matches!(remove(&txn, account, viewer.id).await, Err(TeamError::LastOwner)));
        assert_eq!(remove(&txn, account, owner.id).await.unwrap().username, "olga");
        assert!(matches!(remove(&txn, account + 1, viewer.id).await, Err(TeamError::NotFound)), "another account's");
        txn.commit().await.unwrap();
    }

    #[tokio::test]
    async fn a_code_step_and_a_recovery_code_are_accepted_once() {
        let (db, _, owner, _) = team_of_two().await;
        assert!(!accept_totp_step(&db, owner.id, 5).await.unwrap(), "two-factor is off");
        turn_on_totp(&db, owner.id, vec![1; 40], 5, vec![vec![1; 32], vec![2; 32]]).await.unwrap();
        assert!(!accept_totp_step(&db, owner.id, 5).await.unwrap(), "the step that turned it on");
        assert!(accept_totp_step(&db, owner.id, 6).await.unwrap());
        assert!(!accept_totp_step(&db, owner.id, 6).await.unwrap());
        assert!(use_recovery_code(&db, owner.id, vec![2; 32], 1).await.unwrap());
        assert!(!use_recovery_code(&db, owner.id, vec![2; 32], 2).await.unwrap());
        assert_eq!(recovery_codes_left(&db, owner.id).await.unwrap(), 1);
        turn_off_totp(&db, owner.id).await.unwrap();
        assert_eq!(recovery_codes_left(&db, owner.id).await.unwrap(), 0);
    }
}
