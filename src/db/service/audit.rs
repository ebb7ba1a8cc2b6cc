//! The audit log: who did what to which key, from where, and when.

use crate::db::entities::audit_entry;
use crate::db::service::now_ms;
use sea_orm::{
    ActiveModelTrait, ActiveValue::Set, ColumnTrait, ConnectionTrait, DbErr, EntityTrait, PaginatorTrait, QueryFilter,
    QueryOrder,
};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Action {
    SignIn,
    SignInFailed,
    SignOut,
    KeyCreated,
    KeyUpdated,
    KeyDeleted,
    KeyRevealed,
    KeyRolled,
    KeyDisabled,
    KeyEnabled,
    AclCreated,
    AclUpdated,
    AclDeleted,
}

impl Action {
    const ALL: [Action; 13] = [
        Action::SignIn,
        Action::SignInFailed,
        Action::SignOut,
        Action::KeyCreated,
        Action::KeyUpdated,
        Action::KeyDeleted,
        Action::KeyRevealed,
        Action::KeyRolled,
        Action::KeyDisabled,
        Action::KeyEnabled,
        Action::AclCreated,
        Action::AclUpdated,
        Action::AclDeleted,
    ];

    /// The stored form.
    pub fn code(self) -> &'static str {
        match self {
            Action::SignIn => "sign_in",
            Action::SignInFailed => "sign_in_failed",
            Action::SignOut => "sign_out",
            Action::KeyCreated => "api_key_created",
            Action::KeyUpdated => "api_key_updated",
            Action::KeyDeleted => "api_key_deleted",
            Action::KeyRevealed => "api_key_revealed",
            Action::KeyRolled => "api_key_rolled",
            Action::KeyDisabled => "api_key_disabled",
            Action::KeyEnabled => "api_key_enabled",
            Action::AclCreated => "ip_acl_created",
            Action::AclUpdated => "ip_acl_updated",
            Action::AclDeleted => "ip_acl_deleted",
        }
    }

    /// What the Audit Log page shows.
    pub fn label(self) -> &'static str {
        match self {
            Action::SignIn => "Signed in",
            Action::SignInFailed => "Failed sign-in",
            Action::SignOut => "Signed out",
            Action::KeyCreated => "Created API key",
            Action::KeyUpdated => "Edited API key",
            Action::KeyDeleted => "Deleted API key",
            Action::KeyRevealed => "Revealed API key",
            Action::KeyRolled => "Rolled API key",
            Action::KeyDisabled => "Disabled API key",
            Action::KeyEnabled => "Enabled API key",
            Action::AclCreated => "Created IP ACL",
            Action::AclUpdated => "Edited IP ACL",
            Action::AclDeleted => "Deleted IP ACL",
        }
    }

    pub fn from_code(code: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|a| a.code() == code)
    }
}

/// What one entry records. `subject` is a key or ACL name; never a token.
#[derive(Debug, Clone)]
pub struct Entry<'a> {
    pub account_id: i32,
    pub admin: &'a str,
    pub client_ip: String,
    pub action: Action,
    pub subject: Option<&'a str>,
    pub detail: Option<String>,
}

pub async fn record(db: &impl ConnectionTrait, entry: Entry<'_>) -> Result<(), DbErr> {
    audit_entry::ActiveModel {
        account_id: Set(entry.account_id),
        at: Set(now_ms()),
        admin: Set(entry.admin.to_owned()),
        client_ip: Set(entry.client_ip),
        action: Set(entry.action.code().to_owned()),
        subject: Set(entry.subject.map(str::to_owned)),
        detail: Set(entry.detail),
        ..Default::default()
    }
    .insert(db)
    .await?;
    Ok(())
}

/// One page (from 0) of the account's entries, newest first; past the end gives the last page.
pub async fn page(
    db: &impl ConnectionTrait,
    account_id: i32,
    page: u64,
    per_page: u64,
) -> Result<(Vec<audit_entry::Model>, u64, u64), DbErr> {
    let paginator = audit_entry::Entity::find()
        .filter(audit_entry::Column::AccountId.eq(account_id))
        .order_by_desc(audit_entry::Column::At)
        .order_by_desc(audit_entry::Column::Id)
        .paginate(db, per_page.max(1));
    let total = paginator.num_items().await?;
    let page = page.min(total.div_ceil(per_page.max(1)).saturating_sub(1));
    Ok((paginator.fetch_page(page).await?, total, page))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_round_trip() {
        for action in Action::ALL {
            assert_eq!(Action::from_code(action.code()), Some(action));
        }
        assert_eq!(Action::from_code("nope"), None);
    }
}
