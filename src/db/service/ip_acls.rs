//! IP ACLs of an account. Every function takes the account id and filters by
//! it, so an id from another account behaves exactly like one that does not exist.

use crate::db::entities::{api_key, ip_acl};
use crate::db::service::{is_unique_violation, now_ms};
use crate::domain::acl::{Acl, AclProblem};
use crate::domain::validation::{Name, NameError};
use sea_orm::{
    ActiveModelTrait, ActiveValue::Set, ColumnTrait, ConnectionTrait, DbErr, EntityTrait, IntoActiveModel, QueryFilter,
    QueryOrder, QuerySelect,
};
use std::collections::HashMap;

#[derive(Debug, thiserror::Error)]
pub enum AclError {
    #[error(transparent)]
    Name(#[from] NameError),
    #[error("Another IP ACL of this account already has that name.")]
    NameTaken,
    #[error("{}", .0.iter().map(ToString::to_string).collect::<Vec<_>>().join("\n"))]
    Entries(Vec<AclProblem>),
    #[error("This IP ACL no longer exists.")]
    NotFound,
    /// Names (up to [`IN_USE_NAMED`] + 1) of the keys that still use it.
    #[error("{}", in_use_message(.0))]
    InUse(Vec<String>),
    #[error(transparent)]
    Db(#[from] DbErr),
}

/// How many key names an "in use" refusal lists.
const IN_USE_NAMED: usize = 10;

fn in_use_message(names: &[String]) -> String {
    let quoted: Vec<String> = names.iter().take(IN_USE_NAMED).map(|n| format!("\u{201c}{n}\u{201d}")).collect();
    let more = if names.len() > IN_USE_NAMED { " and others" } else { "" };
    match quoted.len() {
        0 => "This IP ACL is used by an API key: move that key to another IP ACL or delete it first.".to_owned(),
        1 => format!("This IP ACL is used by the API key {}: move it to another IP ACL or delete it first.", quoted[0]),
        _ => format!(
            "This IP ACL is used by the API keys {}{more}: move them to another IP ACL or delete them first.",
            quoted.join(", ")
        ),
    }
}

/// An IP ACL with how many keys use it, for the IP ACLs table.
#[derive(Debug, Clone)]
pub struct AclRow {
    pub acl: ip_acl::Model,
    pub key_count: u64,
}

/// The result of a save: the row and what the parser changed (masked host bits, duplicates).
#[derive(Debug, Clone)]
pub struct Saved {
    pub acl: ip_acl::Model,
    pub notices: Vec<String>,
}

pub async fn find(db: &impl ConnectionTrait, account_id: i32, id: i32) -> Result<Option<ip_acl::Model>, DbErr> {
    ip_acl::Entity::find_by_id(id).filter(ip_acl::Column::AccountId.eq(account_id)).one(db).await
}

/// Every ACL of the account, by name; an account has few (tens), so no paging.
pub async fn all(db: &impl ConnectionTrait, account_id: i32) -> Result<Vec<ip_acl::Model>, DbErr> {
    ip_acl::Entity::find()
        .filter(ip_acl::Column::AccountId.eq(account_id))
        .order_by_asc(ip_acl::Column::NameFolded)
        .all(db)
        .await
}

pub async fn list_with_usage(db: &impl ConnectionTrait, account_id: i32) -> Result<Vec<AclRow>, DbErr> {
    let acls = all(db, account_id).await?;
    let counts: HashMap<i32, i64> = api_key::Entity::find()
        .select_only()
        .column(api_key::Column::IpAclId)
        .column_as(api_key::Column::Id.count(), "key_count")
        .filter(api_key::Column::AccountId.eq(account_id))
        .group_by(api_key::Column::IpAclId)
        .into_tuple::<(i32, i64)>()
        .all(db)
        .await?
        .into_iter()
        .collect();
    Ok(acls
        .into_iter()
        .map(|acl| {
            let key_count = counts.get(&acl.id).copied().unwrap_or(0) as u64;
            AclRow { acl, key_count }
        })
        .collect())
}

/// `report_only`: requests from outside are let through and reported, not refused.
pub async fn create(
    db: &impl ConnectionTrait,
    account_id: i32,
    name: &str,
    entries: &str,
    report_only: bool,
) -> Result<Saved, AclError> {
    let (name, parsed) = validate(name, entries)?;
    let now = now_ms();
    let acl = ip_acl::ActiveModel {
        account_id: Set(account_id),
        name: Set(name.as_str().to_owned()),
        name_folded: Set(name.folded().to_owned()),
        entries: Set(parsed.acl.to_stored()),
        created_at: Set(now),
        updated_at: Set(now),
        report_only: Set(report_only),
        ..Default::default()
    }
    .insert(db)
    .await
    .map_err(name_taken_or_db)?;
    Ok(Saved { acl, notices: parsed.notices })
}

/// `report_only`: `None` keeps the ACL's mode as it is.
pub async fn update(
    db: &impl ConnectionTrait,
    account_id: i32,
    id: i32,
    name: &str,
    entries: &str,
    report_only: Option<bool>,
) -> Result<Saved, AclError> {
    let (name, parsed) = validate(name, entries)?;
    let existing = find(db, account_id, id).await?.ok_or(AclError::NotFound)?;
    let mut active = existing.into_active_model();
    active.name = Set(name.as_str().to_owned());
    active.name_folded = Set(name.folded().to_owned());
    active.entries = Set(parsed.acl.to_stored());
    active.updated_at = Set(now_ms());
    if let Some(report_only) = report_only {
        active.report_only = Set(report_only);
    }
    let acl = active.update(db).await.map_err(|e| match e {
        DbErr::RecordNotUpdated => AclError::NotFound,
        e => name_taken_or_db(e),
    })?;
    Ok(Saved { acl, notices: parsed.notices })
}

/// Deletes an unused ACL; one still used by keys is refused with their names.
pub async fn delete(db: &impl ConnectionTrait, account_id: i32, id: i32) -> Result<ip_acl::Model, AclError> {
    let existing = find(db, account_id, id).await?.ok_or(AclError::NotFound)?;
    let users: Vec<String> = api_key::Entity::find()
        .select_only()
        .column(api_key::Column::Name)
        .filter(api_key::Column::AccountId.eq(account_id))
        .filter(api_key::Column::IpAclId.eq(id))
        .order_by_asc(api_key::Column::NameFolded)
        .limit(IN_USE_NAMED as u64 + 1)
        .into_tuple::<String>()
        .all(db)
        .await?;
    if !users.is_empty() {
        return Err(AclError::InUse(users));
    }
    let result = ip_acl::Entity::delete_by_id(id)
        .filter(ip_acl::Column::AccountId.eq(account_id))
        .exec(db)
        .await
        // A key created meanwhile trips the foreign key: report it like any other user.
        .map_err(|e| match e.sql_err() {
            Some(sea_orm::SqlErr::ForeignKeyConstraintViolation(_)) => AclError::InUse(vec![]),
            _ => AclError::Db(e),
        })?;
    if result.rows_affected == 0 {
        return Err(AclError::NotFound);
    }
    Ok(existing)
}

fn validate(name: &str, entries: &str) -> Result<(Name, crate::domain::acl::Parsed), AclError> {
    let name = Name::parse(name)?;
    let parsed = Acl::parse(entries).map_err(AclError::Entries)?;
    Ok((name, parsed))
}

/// The unique (account, folded name) index decides; this names its refusal.
fn name_taken_or_db(err: DbErr) -> AclError {
    if is_unique_violation(&err) { AclError::NameTaken } else { AclError::Db(err) }
}
