//! The work behind the API Keys server functions: call the service, shape the
//! answer for the browser, and say what failed in the admin's words.

use crate::api::api_keys::{ApiKeySummary, ApiKeysPage, CreatedApiKey, IpAclChoice, PAGE_SIZE};
use crate::api::{ConsoleError, Field};
use crate::db::service::api_keys::{self as keys, KeyError, KeyRow};
use crate::db::service::audit::{self, Action};
use crate::domain::token::masked;
use crate::server::changes::{self, Change};
use crate::server::http::rpc::{Caller, db_error, format_minute, internal};
use crate::server::public_api::verifier::Usage;
use crate::server::state::AppState;
use sea_orm::TransactionTrait;

pub async fn list(state: &AppState, caller: &Caller, page: u64) -> Result<ApiKeysPage, ConsoleError> {
    let found = keys::list(&state.db, caller.account_id, page, PAGE_SIZE).await.map_err(db_error)?;
    Ok(ApiKeysPage {
        keys: found
            .rows
            .into_iter()
            .map(|row| {
                let pending = state.verifier.pending_usage(row.key.id);
                summary(row, pending)
            })
            .collect(),
        total: found.total,
        page: found.page,
        page_size: PAGE_SIZE,
        ip_acls: found.acls.into_iter().map(|acl| IpAclChoice { id: acl.id, name: acl.name }).collect(),
    })
}

pub async fn create(
    state: &AppState,
    caller: &Caller,
    name: &str,
    ip_acl_id: i32,
) -> Result<CreatedApiKey, ConsoleError> {
    let txn = state.db.begin().await.map_err(db_error)?;
    let (key, acl, token) =
        keys::create(&txn, &state.master_key, caller.account_id, name, ip_acl_id).await.map_err(from_key_error)?;
    let detail = format!("IP ACL \u{201c}{}\u{201d}", acl.name);
    audit::record(&txn, caller.audit(Action::KeyCreated, Some(&key.name), Some(detail))).await.map_err(db_error)?;
    // A new key has nothing cached anywhere yet.
    changes::commit(state, txn, &[]).await.map_err(db_error)?;
    tracing::info!(account = caller.account_id, key = key.id, "API key created");
    Ok(CreatedApiKey { name: key.name, token: token.expose().to_owned() })
}

pub async fn update(
    state: &AppState,
    caller: &Caller,
    id: i32,
    name: &str,
    ip_acl_id: i32,
) -> Result<(), ConsoleError> {
    let txn = state.db.begin().await.map_err(db_error)?;
    let (before, key, acl) =
        keys::update(&txn, caller.account_id, id, name, ip_acl_id).await.map_err(from_key_error)?;
    let mut changes = Vec::new();
    if before.name != key.name {
        changes.push(format!("renamed from \u{201c}{}\u{201d}", before.name));
    }
    if before.ip_acl_id != key.ip_acl_id {
        changes.push(format!("IP ACL now \u{201c}{}\u{201d}", acl.name));
    }
    let detail = (!changes.is_empty()).then(|| changes.join("; "));
    audit::record(&txn, caller.audit(Action::KeyUpdated, Some(&key.name), detail)).await.map_err(db_error)?;
    changes::commit(state, txn, &[Change::Key(key.id)]).await.map_err(db_error)?;
    tracing::info!(account = caller.account_id, key = key.id, "API key updated");
    Ok(())
}

pub async fn delete(state: &AppState, caller: &Caller, id: i32) -> Result<(), ConsoleError> {
    let txn = state.db.begin().await.map_err(db_error)?;
    let key = keys::delete(&txn, caller.account_id, id).await.map_err(from_key_error)?;
    audit::record(&txn, caller.audit(Action::KeyDeleted, Some(&key.name), None)).await.map_err(db_error)?;
    changes::commit(state, txn, &[Change::Key(key.id)]).await.map_err(db_error)?;
    tracing::info!(account = caller.account_id, key = key.id, "API key deleted");
    Ok(())
}

/// Decrypts a key's token; the reveal is audited before the token leaves.
pub async fn reveal(state: &AppState, caller: &Caller, id: i32) -> Result<String, ConsoleError> {
    let (key, token) =
        keys::reveal(&state.db, &state.master_key, caller.account_id, id).await.map_err(from_key_error)?;
    audit::record(&state.db, caller.audit(Action::KeyRevealed, Some(&key.name), None)).await.map_err(db_error)?;
    tracing::info!(account = caller.account_id, key = key.id, "API key revealed");
    Ok(token.expose().to_owned())
}

/// `pending`: a use the verifier recorded but has not written yet, which is newer.
fn summary(row: KeyRow, pending: Option<Usage>) -> ApiKeySummary {
    let key = row.key;
    let last_used = match pending {
        Some(usage) => Some((usage.at_ms, Some(usage.ip.to_string()))),
        None => key.last_used_at.map(|at| (at, key.last_used_ip.clone())),
    };
    ApiKeySummary {
        id: key.id,
        masked_token: masked(&key.token_suffix),
        created: format_minute(key.created_at),
        last_used: last_used.map(|(at, ip)| match ip {
            Some(ip) => format!("{} from {ip}", format_minute(at)),
            None => format_minute(at),
        }),
        name: key.name,
        ip_acl_id: key.ip_acl_id,
        ip_acl_name: row.ip_acl_name,
    }
}

pub fn from_key_error(err: KeyError) -> ConsoleError {
    match err {
        KeyError::Name(e) => ConsoleError::invalid(Field::Name, e.to_string()),
        KeyError::NameTaken => ConsoleError::invalid(Field::Name, err.to_string()),
        // A foreign IP ACL is answered exactly like one that does not exist.
        KeyError::AclNotFound | KeyError::NotFound => ConsoleError::NotFound(err.to_string()),
        KeyError::Db(e) => db_error(e),
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
}
