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

/// Subjects (migration 11), for **Key or ACL**.
const SUBJECTS: super::trigrams::TrigramIndex =
    super::trigrams::TrigramIndex { fts: "audit_subjects", counts: "audit_trigram_counts", rows: "entries" };

/// Up to `limit` of the account's entries that `filter` selects, newest
/// first, on one side of `cursor`: keyset paging, so a page deep in a
/// million entries costs what the first does (the filters by admin, by
/// action and by both read their own index, `(account, …, at, id)`; a rare
/// **Key or ACL** starts from the trigram index of subjects). The page and
/// the CSV download both read through here.
pub async fn search(
    db: &impl ConnectionTrait,
    account_id: i32,
    filter: &AuditFilter,
    cursor: Option<Cursor>,
    limit: u64,
) -> Result<Vec<audit_entry::Model>, DbErr> {
    use audit_entry::Column;
    let candidates = match &filter.contains {
        Some(text) => super::trigrams::candidates(db, text, &SUBJECTS).await?,
        None => None,
    };
    let mut select = audit_entry::Entity::find();
    select = match candidates {
        None => select.filter(Column::AccountId.eq(account_id)),
        // A few entries by id, then sorted: the unary plus keeps SQLite's
        // planner off the account's indexes, which would read every entry
        // of the account in order instead.
        Some(ids) => select
            .filter(Column::Id.is_in(ids))
            .filter(Expr::cust_with_values("+\"audit_entries\".\"account_id\" = ?", [account_id])),
    };
    if let Some(admin) = &filter.admin {
        select = select.filter(Column::Admin.eq(admin.as_str()));
    }
    if let Some(action) = &filter.action {
        select = select.filter(Column::Action.eq(action.as_str()));
    }
    if let Some(pattern) = filter.contains.as_deref().and_then(super::trigrams::contains_pattern) {
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

    /// **Key or ACL** gives the same entries, page by page, whether it
    /// starts from the trigram index (a rare text) or reads the log in
    /// order (a common one, or one too short for trigrams); and entries
    /// pruned are no longer found.
    #[tokio::test]
    async fn key_or_acl_finds_the_same_entries_whichever_way_it_reads() {
        use crate::db::service::{accounts, trigrams::INDEXED_SEARCH_MAX};
        use sea_orm::TransactionTrait;
        let db = crate::db::connect("sqlite::memory:").await.unwrap();
        let account = accounts::create(&db, "Audit").await.unwrap().id;
        let other = accounts::create(&db, "Other").await.unwrap().id;
        let total = INDEXED_SEARCH_MAX + 200;
        let txn = db.begin().await.unwrap();
        for i in 0..total {
            let subject = format!("Fleet {i:05}");
            let entry = |account_id| Entry {
                at: 1_000 + i,
                account_id,
                admin: "admin",
                client_ip: "192.0.2.1".into(),
                action: Action::KeyCreated,
                subject: Some(&subject),
                detail: None,
            };
            record(&txn, entry(account)).await.unwrap();
            if i % 100 == 0 {
                record(&txn, entry(other)).await.unwrap();
            }
        }
        txn.commit().await.unwrap();
        let subjects = |found: Vec<audit_entry::Model>| -> Vec<String> {
            found.into_iter().map(|e| e.subject.unwrap_or_default()).collect()
        };
        let contains = |text: &str| AuditFilter { contains: Some(text.into()), ..AuditFilter::default() };
        assert!(
            super::super::trigrams::candidates(&db, "fleet 0199", &SUBJECTS).await.unwrap().is_some(),
            "a rare text starts from the index"
        );
        assert!(super::super::trigrams::candidates(&db, "fleet", &SUBJECTS).await.unwrap().is_none());
        // Rare, read from the index: ten entries of this account only, newest first, in pages of four.
        let mut pages = Vec::new();
        let mut cursor = None;
        loop {
            let page = search(&db, account, &contains("FLEET 0199"), cursor, 4).await.unwrap();
            let Some(last) = page.last() else { break };
            cursor = Some(Cursor::Older(last.at, last.id));
            pages.extend(subjects(page));
        }
        assert_eq!(pages, (1990..2000).rev().map(|i| format!("Fleet {i:05}")).collect::<Vec<_>>());
        // Common, read in order.
        let newest = subjects(search(&db, account, &contains("fleet"), None, 3).await.unwrap());
        assert_eq!(newest, (total - 3..total).rev().map(|i| format!("Fleet {i:05}")).collect::<Vec<_>>());
        assert!(search(&db, account, &contains("qqq"), None, 50).await.unwrap().is_empty(), "no entry holds it");
        assert!(search(&db, other, &contains("fleet 0199"), None, 50).await.unwrap().is_empty(), "another account's");
        assert_eq!(subjects(search(&db, other, &contains("fleet 00100"), None, 50).await.unwrap()), ["Fleet 00100"]);
        // Upper-case letters beyond ASCII: the counts (SQLite's ASCII lower())
        // miss the trigram the index holds, so the index may not bound the read.
        let txn = db.begin().await.unwrap();
        for i in 0..=INDEXED_SEARCH_MAX {
            let entry = Entry {
                at: 100_000 + i,
                account_id: other,
                admin: "admin",
                client_ip: "192.0.2.1".into(),
                action: Action::KeyCreated,
                subject: Some("ÖSTRA"),
                detail: None,
            };
            record(&txn, entry).await.unwrap();
        }
        txn.commit().await.unwrap();
        assert!(
            super::super::trigrams::candidates(&db, "östra", &SUBJECTS).await.unwrap().is_none(),
            "more candidates than the counts promised: read in order"
        );
        // Pruned entries leave the index with them.
        prune(&db, 1_000 + 1995).await.unwrap();
        let left = subjects(search(&db, account, &contains("fleet 0199"), None, 50).await.unwrap());
        assert_eq!(left, (1995..2000).rev().map(|i| format!("Fleet {i:05}")).collect::<Vec<_>>());
    }
}
