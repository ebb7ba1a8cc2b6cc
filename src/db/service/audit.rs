//! The audit log: who did what to which key, from where, and when.

use crate::db::entities::audit_entry;
use crate::domain::audit_filter::AuditFilter;
use sea_orm::sea_query::{Expr, ExprTrait, Func, LikeExpr};
use sea_orm::{
    ActiveModelTrait, ActiveValue::Set, ColumnTrait, Condition, ConnectionTrait, DbErr, EntityTrait, Order,
    QueryFilter, QueryOrder, QuerySelect,
};

/// Declares the actions once: the variant, its stored code, and the words
/// the Audit Log shows.
macro_rules! actions {
    ($($variant:ident => $code:literal, $label:literal;)*) => {
        #[derive(Debug, Clone, Copy, PartialEq, Eq)]
        pub enum Action {
            $($variant,)*
        }

        impl Action {
            pub const ALL: &[Action] = &[$(Action::$variant,)*];

            /// The stored form.
            pub fn code(self) -> &'static str {
                match self {
                    $(Action::$variant => $code,)*
                }
            }

            /// What the Audit Log page shows.
            pub fn label(self) -> &'static str {
                match self {
                    $(Action::$variant => $label,)*
                }
            }
        }
    };
}

actions! {
    SignIn => "sign_in", "Signed in";
    SignInFailed => "sign_in_failed", "Failed sign-in";
    SignOut => "sign_out", "Signed out";
    KeyCreated => "api_key_created", "Created API key";
    KeyUpdated => "api_key_updated", "Edited API key";
    KeyDeleted => "api_key_deleted", "Deleted API key";
    KeyRevealed => "api_key_revealed", "Revealed API key";
    KeyRolled => "api_key_rolled", "Rolled API key";
    KeyDisabled => "api_key_disabled", "Disabled API key";
    KeyEnabled => "api_key_enabled", "Enabled API key";
    AclCreated => "ip_acl_created", "Created IP ACL";
    AclUpdated => "ip_acl_updated", "Edited IP ACL";
    AclDeleted => "ip_acl_deleted", "Deleted IP ACL";
    InvitationCreated => "invitation_created", "Invited admin";
    InvitationCancelled => "invitation_cancelled", "Cancelled invitation";
    InvitationAccepted => "invitation_accepted", "Joined through an invitation";
    RoleChanged => "role_changed", "Changed admin's role";
    AdminRemoved => "admin_removed", "Removed admin";
    PolicyChanged => "policy_changed", "Changed two-factor requirement";
    TwoFactorOn => "two_factor_on", "Turned on two-factor authentication";
    TwoFactorOff => "two_factor_off", "Turned off two-factor authentication";
    TwoFactorFailed => "two_factor_failed", "Failed two-factor code";
    RecoveryCodesReplaced => "recovery_codes_replaced", "Made new recovery codes";
    RecoveryCodeUsed => "recovery_code_used", "Signed in with a recovery code";
    PasswordChanged => "password_changed", "Changed password";
    SessionsEnded => "sessions_ended", "Signed out other sessions";
    AccessConfirmed => "access_confirmed", "Confirmed access";
    AccessRefused => "access_refused", "Failed to confirm access";
    AdminReset => "admin_reset", "Reset password and two-factor from the command line";
}

impl Action {
    pub fn from_code(code: &str) -> Option<Self> {
        Self::ALL.iter().copied().find(|a| a.code() == code)
    }
}

/// What one entry records. `subject` is a key or ACL name; never a token.
/// `at` is the time of the change it records, from the application's clock,
/// and it is written in the change's own transaction.
#[derive(Debug, Clone)]
pub struct Entry<'a> {
    pub at: i64,
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
        at: Set(entry.at),
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

/// Forgets entries older than `before` (the retention, `TEXTPEAK_AUDIT_RETENTION_DAYS`).
pub async fn prune(db: &impl ConnectionTrait, before: i64) -> Result<u64, DbErr> {
    Ok(audit_entry::Entity::delete_many().filter(audit_entry::Column::At.lt(before)).exec(db).await?.rows_affected)
}

/// Where a page starts: entries just older, or just newer, than `(at, id)`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Cursor {
    Older(i64, i32),
    Newer(i64, i32),
}

/// Up to `limit` of the account's entries that `filter` selects, newest
/// first, on one side of `cursor`: keyset paging, so a page deep in a
/// million entries costs what the first does (the filters by admin, by
/// action and by both read their own index, `(account, …, at, id)`). The
/// page and the CSV download both read through here.
pub async fn search(
    db: &impl ConnectionTrait,
    account_id: i32,
    filter: &AuditFilter,
    cursor: Option<Cursor>,
    limit: u64,
) -> Result<Vec<audit_entry::Model>, DbErr> {
    use audit_entry::Column;
    let mut select = audit_entry::Entity::find().filter(Column::AccountId.eq(account_id));
    if let Some(admin) = &filter.admin {
        select = select.filter(Column::Admin.eq(admin.as_str()));
    }
    if let Some(action) = &filter.action {
        select = select.filter(Column::Action.eq(action.as_str()));
    }
    if let Some(pattern) = filter.contains.as_deref().and_then(super::api_keys::contains_pattern) {
        let subject = Expr::expr(Func::lower(Expr::col(Column::Subject)));
        select = select.filter(subject.like(LikeExpr::new(pattern).escape('\\')));
    }
    if let Some(since) = filter.since {
        select = select.filter(Column::At.gte(since));
    }
    if let Some(until) = filter.until {
        select = select.filter(Column::At.lt(until));
    }
    let newer = matches!(cursor, Some(Cursor::Newer(..)));
    // `at <= x` first, so the index is read from the cursor on rather than
    // from the newest entry (the OR alone is no range to the planner).
    select = match cursor {
        Some(Cursor::Older(at, id)) => {
            select.filter(Column::At.lte(at)).filter(Condition::any().add(Column::At.lt(at)).add(Column::Id.lt(id)))
        }
        Some(Cursor::Newer(at, id)) => {
            select.filter(Column::At.gte(at)).filter(Condition::any().add(Column::At.gt(at)).add(Column::Id.gt(id)))
        }
        None => select,
    };
    let order = if newer { Order::Asc } else { Order::Desc };
    let mut found = select.order_by(Column::At, order.clone()).order_by(Column::Id, order).limit(limit).all(db).await?;
    if newer {
        found.reverse();
    }
    Ok(found)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_round_trip() {
        for action in Action::ALL {
            assert_eq!(Action::from_code(action.code()), Some(*action));
            assert!(action.code().len() <= 32, "the column holds 32: {}", action.code());
        }
        assert_eq!(Action::from_code("nope"), None);
    }
}
