//! The work behind the API Keys server functions: call the service, send the
//! change through `changes`, shape the answer for the browser, and say what
//! failed in the admin's words.

use crate::db::entities::api_key;
use crate::db::service::api_keys::{self as keys, Cursor, KeyError, KeyFields, KeyRow, ListQuery, SortKey};
use crate::db::service::audit::{self, Action};
use crate::domain::lifecycle::{DAY_MS, EXPIRES_SOON_DAYS, Expiry, ExpiryError, Grace, Status};
use crate::domain::permissions::{self, Access};
use crate::domain::rate_limit::{LimitError, RateLimit};
use crate::domain::roles::Need;
use crate::domain::token::masked;
use crate::rpc::api_keys::{
    ApiKeySummary, ApiKeysPage, AttentionItem, AttentionList, CreatedApiKey, IpAclChoice, KeyStatus, LastUse,
    PAGE_SIZE, PageCursor, RolledApiKey, SortColumn, SortDirection, StatusFilter,
};
use crate::rpc::{ConsoleError, Field};
use crate::server::caller::{Caller, internal};
use crate::server::changes::{self, Change};
use crate::server::console::format_minute;
use crate::server::state::AppState;
use crate::server::usage::UsageRecorder;

/// How many keys of each kind the Overview lists.

/// The table's view, as the page's URL holds it.
#[derive(Debug, Clone, Default)]
pub struct View {
    pub search: String,
    pub status: StatusFilter,
    pub sort: SortColumn,
    pub direction: SortDirection,
    pub cursor: Option<PageCursor>,
}

/// The service's query for a view of the table.
pub fn list_query(view: &View) -> ListQuery {
    ListQuery {
        search: view.search.chars().take(200).collect(),
        status: match view.status {
            StatusFilter::All => keys::StatusFilter::All,
            StatusFilter::Active => keys::StatusFilter::Active,
            StatusFilter::Disabled => keys::StatusFilter::Disabled,
            StatusFilter::Expired => keys::StatusFilter::Expired,
            StatusFilter::Expiring => keys::StatusFilter::ExpiringWithin(EXPIRES_SOON_DAYS * DAY_MS),
        },
        sort: match view.sort {
            SortColumn::Name => SortKey::Name,
            SortColumn::Created => SortKey::Created,
            SortColumn::LastUsed => SortKey::LastUsed,
        },
        ascending: view.direction == SortDirection::Asc,
        cursor: view.cursor.map(|c| match c {
            PageCursor::After(id) => Cursor::After(id),
            PageCursor::Before(id) => Cursor::Before(id),
        }),
        per_page: PAGE_SIZE,
    }
}

pub async fn list(state: &AppState, caller: &Caller, view: &View) -> Result<ApiKeysPage, ConsoleError> {
    let now = caller.now;
    let found = keys::list(&state.db, caller.account_id, &list_query(view), now).await?;
    let cursor = |c: Cursor| match c {
        Cursor::After(id) => PageCursor::After(id),
        Cursor::Before(id) => PageCursor::Before(id),
    };
    Ok(ApiKeysPage {
        keys: found.rows.into_iter().map(|row| summary(row, &state.usage, now)).collect(),
        ip_acls: found.acls.into_iter().map(|acl| IpAclChoice { id: acl.id, name: acl.name }).collect(),
        has_keys: found.has_keys,
        previous: found.previous.map(cursor),
        next: found.next.map(cursor),
    })
}

/// What Add and Edit send beyond the name and the IP ACL, as typed.
#[derive(Debug, Clone, Copy, Default)]
pub struct Form<'a> {
    /// The Expires choice and the Expiry date; `None` (Edit) keeps the key's expiry.
    pub expiry: Option<(&'a str, &'a str)>,
    /// `full`, or a comma-separated list of permission codes; `None` (Edit) keeps them.
    pub permissions: Option<&'a str>,
    /// `none`, or the number of requests; `None` (Edit) keeps the limit.
    pub limit: Option<&'a str>,
    pub per: Option<&'a str>,
}

fn access(choice: &str) -> Result<Access, ConsoleError> {
    permissions::parse(Some(choice)).map_err(|e| ConsoleError::invalid(Field::Permissions, e.to_string()))
}

fn limit(requests: &str, per: Option<&str>) -> Result<Option<RateLimit>, ConsoleError> {
    if requests.trim().is_empty() || requests.trim() == "none" {
        return Ok(None);
    }
    RateLimit::parse(requests, per.unwrap_or_default()).map(Some).map_err(|e| {
        let field = if e == LimitError::UnknownPeriod { Field::RatePer } else { Field::RateLimit };
        ConsoleError::invalid(field, e.to_string())
    })
}

/// "full access", or the permissions; then the limit, for audit details.
fn describe_rules(access: Access, limit: Option<RateLimit>) -> String {
    let access = match access {
        Access::Full => "full access".to_owned(),
        Access::Restricted(scopes) => format!("restricted to {}", scopes.to_codes().replace(',', ", ")),
    };
    match limit {
        Some(limit) => format!("{access}; at most {limit}"),
        None => format!("{access}; no rate limit"),
    }
}

pub async fn create(
    state: &AppState,
    caller: &Caller,
    name: &str,
    ip_acl_id: i32,
    form: Form<'_>,
) -> Result<CreatedApiKey, ConsoleError> {
    caller.require(Need::Manage)?;
    let now = caller.now;
    let (expires, date) = form.expiry.unwrap_or(("never", ""));
    let expires_at = expiry(expires, date, now)?;
    let fields = KeyFields {
        name,
        ip_acl_id,
        expires_at,
        access: access(form.permissions.unwrap_or("full"))?,
        limit: limit(form.limit.unwrap_or("none"), form.per)?,
    };
    let txn = crate::db::begin_write(&state.db).await?;
    let (key, acl, token) =
        keys::create(&txn, &state.master_key, caller.account_id, &fields, now).await.map_err(from_key_error)?;
    let mut detail = format!("IP ACL \u{201c}{}\u{201d}", acl.name);
    if let Some(at) = expires_at {
        detail.push_str(&format!("; expires {}", format_minute(at)));
    }
    detail.push_str(&format!("; {}", describe_rules(fields.access, fields.limit)));
    audit::record(&txn, caller.audit(Action::KeyCreated, Some(&key.name), Some(detail))).await?;
    // A new key has nothing cached anywhere yet; its token must be known to every token index.
    changes::commit(state, txn, &[token_made(&token)]).await?;
    tracing::info!(account = caller.account_id, key = key.id, "API key created");
    Ok(CreatedApiKey { name: key.name, token: token.expose().to_owned() })
}

/// `expiry`: the Expires choice and date, or `None` to keep the key's expiry.
pub async fn update(
    state: &AppState,
    caller: &Caller,
    id: i32,
    name: &str,
    ip_acl_id: i32,
    form: Form<'_>,
) -> Result<(), ConsoleError> {
    caller.require(Need::Manage)?;
    let now = caller.now;
    let new_expiry = form.expiry.map(|(choice, date)| expiry(choice, date, now)).transpose()?;
    let new_access = form.permissions.map(access).transpose()?;
    let new_limit = form.limit.map(|requests| limit(requests, form.per)).transpose()?;
    let txn = crate::db::begin_write(&state.db).await?;
    let current = keys::find(&txn, caller.account_id, id).await?.ok_or_else(not_found)?;
    let fields = KeyFields {
        name,
        ip_acl_id,
        expires_at: new_expiry.unwrap_or(current.expires_at),
        access: new_access.unwrap_or_else(|| keys::access_of(&current)),
        limit: new_limit.unwrap_or_else(|| keys::limit_of(&current)),
    };
    let (before, key, acl) = keys::update(&txn, caller.account_id, id, &fields).await.map_err(from_key_error)?;
    let mut changed = Vec::new();
    if before.name != key.name {
        changed.push(format!("renamed from \u{201c}{}\u{201d}", before.name));
    }
    if before.ip_acl_id != key.ip_acl_id {
        changed.push(format!("IP ACL now \u{201c}{}\u{201d}", acl.name));
    }
    if before.expires_at != key.expires_at {
        changed.push(match key.expires_at {
            Some(at) => format!("expires {}", format_minute(at)),
            None => "never expires".to_owned(),
        });
    }
    let rules_before = (keys::access_of(&before), keys::limit_of(&before));
    if rules_before != (fields.access, fields.limit) {
        changed.push(format!("now {}", describe_rules(fields.access, fields.limit)));
    }
    let detail = (!changed.is_empty()).then(|| changed.join("; "));
    audit::record(&txn, caller.audit(Action::KeyUpdated, Some(&key.name), detail)).await?;
    changes::commit(state, txn, &[Change::Key(key.id)]).await?;
    tracing::info!(account = caller.account_id, key = key.id, "API key updated");
    Ok(())
}

/// Restrict to what it uses: the key keeps only `permissions`, in one
/// audited transaction; every instance refuses the rest on the next check.
pub async fn restrict(state: &AppState, caller: &Caller, id: i32, permissions: &str) -> Result<(), ConsoleError> {
    caller.require(Need::Manage)?;
    if permissions.trim().is_empty() {
        return Err(ConsoleError::invalid(
            Field::Permissions,
            "Tick at least one permission: a key with none could do nothing.",
        ));
    }
    let Access::Restricted(scopes) = access(permissions)? else {
        return Err(ConsoleError::invalid(Field::Permissions, "Tick the permissions the key keeps."));
    };
    let txn = crate::db::begin_write(&state.db).await?;
    let current = keys::find(&txn, caller.account_id, id).await?.ok_or_else(not_found)?;
    // Restricting only takes away: giving a key more is Edit's business, with its own audit.
    let now_has = keys::access_of(&current).scopes();
    if scopes.iter().any(|p| !now_has.has(p)) {
        let msg = "The key does not have all of these permissions now; use Edit to give it more.";
        return Err(ConsoleError::invalid(Field::Permissions, msg));
    }
    let fields = KeyFields {
        name: &current.name,
        ip_acl_id: current.ip_acl_id,
        expires_at: current.expires_at,
        access: Access::Restricted(scopes),
        limit: keys::limit_of(&current),
    };
    let (_, key, _) = keys::update(&txn, caller.account_id, id, &fields).await.map_err(from_key_error)?;
    let detail = format!("restricted to what it used: {}", scopes.to_codes().replace(',', ", "));
    audit::record(&txn, caller.audit(Action::KeyUpdated, Some(&key.name), Some(detail))).await?;
    changes::commit(state, txn, &[Change::Key(key.id)]).await?;
    Ok(())
}

pub async fn roll(state: &AppState, caller: &Caller, id: i32, grace: &str) -> Result<RolledApiKey, ConsoleError> {
    caller.require_confirmed(Need::Manage)?;
    let grace = Grace::from_code(grace)
        .ok_or_else(|| ConsoleError::invalid(Field::Grace, "Choose when the old token stops working."))?;
    let now = caller.now;
    let txn = crate::db::begin_write(&state.db).await?;
    let rolled =
        keys::roll(&txn, &state.master_key, caller.account_id, id, grace.ms(), now).await.map_err(from_key_error)?;
    let mut detail = format!("old token stops working {grace}");
    if rolled.ended_earlier {
        detail.push_str("; the token kept from the previous roll stopped at once");
    }
    audit::record(&txn, caller.audit(Action::KeyRolled, Some(&rolled.key.name), Some(detail))).await?;
    changes::commit(state, txn, &[Change::Key(rolled.key.id), token_made(&rolled.token)]).await?;
    tracing::info!(account = caller.account_id, key = rolled.key.id, "API key rolled");
    Ok(RolledApiKey {
        name: rolled.key.name,
        token: rolled.token.expose().to_owned(),
        old_token_until: rolled.old_until,
        ended_earlier: rolled.ended_earlier,
    })
}

pub async fn set_enabled(state: &AppState, caller: &Caller, id: i32, enabled: bool) -> Result<(), ConsoleError> {
    caller.require(Need::Manage)?;
    let now = caller.now;
    let txn = crate::db::begin_write(&state.db).await?;
    let (key, changed) =
        keys::set_disabled(&txn, caller.account_id, id, !enabled, now).await.map_err(from_key_error)?;
    if changed {
        let action = if enabled { Action::KeyEnabled } else { Action::KeyDisabled };
        audit::record(&txn, caller.audit(action, Some(&key.name), None)).await?;
    }
    changes::commit(state, txn, &[Change::Key(key.id)]).await?;
    tracing::info!(account = caller.account_id, key = key.id, enabled, "API key switched");
    Ok(())
}

pub async fn delete(state: &AppState, caller: &Caller, id: i32) -> Result<(), ConsoleError> {
    caller.require_confirmed(Need::Manage)?;
    let txn = crate::db::begin_write(&state.db).await?;
    let key = keys::delete(&txn, caller.account_id, id).await.map_err(from_key_error)?;
    audit::record(&txn, caller.audit(Action::KeyDeleted, Some(&key.name), None)).await?;
    changes::commit(state, txn, &[Change::Key(key.id)]).await?;
    tracing::info!(account = caller.account_id, key = key.id, "API key deleted");
    Ok(())
}

/// Decrypts a key's current token; the reveal is audited before the token leaves.
pub async fn reveal(state: &AppState, caller: &Caller, id: i32) -> Result<String, ConsoleError> {
    caller.require_confirmed(Need::Manage)?;
    let (key, token) =
        keys::reveal(&state.db, &state.master_key, caller.account_id, id).await.map_err(from_key_error)?;
    audit::record(&state.db, caller.audit(Action::KeyRevealed, Some(&key.name), None)).await?;
    tracing::info!(account = caller.account_id, key = key.id, "API key revealed");
    Ok(token.expose().to_owned())
}

/// The Overview's list; read with its figures, and kept as briefly (see `overview`).
pub async fn attention(state: &AppState, caller: &Caller) -> Result<AttentionList, ConsoleError> {
    let found = crate::server::console::overview::attention(state, caller).await?;
    let item = |key: api_key::Model, at: i64| AttentionItem { id: key.id, name: key.name, at };
    Ok(AttentionList {
        expiring: found
            .expiring
            .into_iter()
            .map(|k| {
                let at = k.expires_at.unwrap_or_default();
                item(k, at)
            })
            .collect(),
        old_tokens: found.in_grace.into_iter().map(|(k, until)| item(k, until)).collect(),
        unused: found
            .unused
            .into_iter()
            // A use not yet written counts as much as one that was.
            .filter(|k| state.usage.pending_usage(k.id).is_none())
            .map(|k| {
                let at = k.last_used_at;
                item(k, at)
            })
            .collect(),
    })
}

/// The change that tells every token index of a new token.
fn token_made(token: &crate::domain::token::Token) -> Change {
    Change::Token(crate::domain::token_index::prefix(&crate::domain::crypto::digest(token.expose())))
}

/// The admin's Expires choice as an instant, or why it cannot be one.
fn expiry(choice: &str, date: &str, now: i64) -> Result<Option<i64>, ConsoleError> {
    Expiry::parse(choice, date).and_then(|e| e.resolve(now)).map_err(|e| {
        let field = if e == ExpiryError::Unknown { Field::Expires } else { Field::ExpiryDate };
        ConsoleError::invalid(field, e.to_string())
    })
}

/// `pending`: a use the verifier recorded but has not written yet, which is newer.
pub fn summary(row: KeyRow, usage: &UsageRecorder, now: i64) -> ApiKeySummary {
    let key = row.key;
    let last_used = match usage.pending_usage(key.id) {
        Some(used) => Some(LastUse { at: used.at_ms, ip: Some(used.ip.to_string()) }),
        None => (key.last_used_at > 0).then(|| LastUse { at: key.last_used_at, ip: key.last_used_ip.clone() }),
    };
    ApiKeySummary {
        id: key.id,
        masked_token: masked(&row.token_suffix),
        created_at: key.created_at,
        last_used,
        status: match Status::of(key.disabled_at.is_some(), key.expires_at, now) {
            Status::Active => KeyStatus::Active,
            Status::ExpiresSoon { days } => KeyStatus::ExpiresSoon { days },
            Status::Disabled => KeyStatus::Disabled,
            Status::Expired => KeyStatus::Expired,
        },
        expires_at: key.expires_at,
        old_token_until: row.old_token_until,
        access: keys::access_of(&key),
        rate_limit: keys::limit_of(&key),
        name: key.name,
        ip_acl_id: key.ip_acl_id,
        ip_acl_name: row.ip_acl_name,
    }
}

pub fn not_found() -> ConsoleError {
    ConsoleError::NotFound(KeyError::NotFound.to_string())
}

pub fn from_key_error(err: KeyError) -> ConsoleError {
    match err {
        KeyError::Name(e) => ConsoleError::invalid(Field::Name, e.to_string()),
        KeyError::NameTaken => ConsoleError::invalid(Field::Name, err.to_string()),
        // A foreign IP ACL is answered exactly like one that does not exist.
        KeyError::AclNotFound | KeyError::NotFound => ConsoleError::NotFound(err.to_string()),
        KeyError::Db(e) => e.into(),
        KeyError::Seal(_) | KeyError::Random => internal(err),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn key_errors_point_at_their_field() {
        assert!(from_key_error(KeyError::NameTaken).for_field(Field::Name).is_some());
        assert!(matches!(from_key_error(KeyError::AclNotFound), ConsoleError::NotFound(_)));
        assert_eq!(from_key_error(KeyError::NotFound), ConsoleError::NotFound("This API key no longer exists.".into()));
        assert_eq!(from_key_error(KeyError::Random), ConsoleError::Internal);
    }

    #[test]
    fn a_bad_expiry_date_is_named_next_to_the_date_field() {
        let now = 1_795_838_400_000;
        assert_eq!(expiry("never", "", now), Ok(None));
        let past = expiry("date", "2020-01-01", now).unwrap_err();
        assert_eq!(
            past.for_field(Field::ExpiryDate).as_deref(),
            Some("The expiry date is in the past; choose today or a later date.")
        );
        assert!(expiry("someday", "", now).unwrap_err().for_field(Field::Expires).is_some());
    }
}
