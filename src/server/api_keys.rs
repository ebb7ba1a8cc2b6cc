//! The work behind the API Keys server functions: call the service, shape the
//! answer for the browser, and say what failed in the admin's words.

use crate::api::api_keys::{ApiKeySummary, ApiKeysPage, CreatedApiKey, IpAclChoice, PAGE_SIZE};
use crate::api::{ConsoleError, Field};
use crate::db::service::api_keys::{self as keys, KeyError, KeyRow};
use crate::db::service::ip_acls;
use crate::domain::token::masked;
use crate::server::rpc::Caller;
use crate::server::state::AppState;

pub async fn list(state: &AppState, caller: &Caller, page: u64) -> Result<ApiKeysPage, ConsoleError> {
    let found = keys::list(&state.db, caller.account_id, page, PAGE_SIZE).await.map_err(internal)?;
    let acls = ip_acls::all(&state.db, caller.account_id).await.map_err(internal)?;
    Ok(ApiKeysPage {
        keys: found.rows.into_iter().map(summary).collect(),
        total: found.total,
        page: found.page,
        page_size: PAGE_SIZE,
        ip_acls: acls.into_iter().map(|acl| IpAclChoice { id: acl.id, name: acl.name }).collect(),
    })
}

pub async fn create(
    state: &AppState,
    caller: &Caller,
    name: &str,
    ip_acl_id: i32,
) -> Result<CreatedApiKey, ConsoleError> {
    let (key, _acl, token) =
        keys::create(&state.db, &state.master_key, caller.account_id, name, ip_acl_id).await.map_err(from_key_error)?;
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
    let (key, _acl) = keys::update(&state.db, caller.account_id, id, name, ip_acl_id).await.map_err(from_key_error)?;
    tracing::info!(account = caller.account_id, key = key.id, "API key updated");
    Ok(())
}

pub async fn delete(state: &AppState, caller: &Caller, id: i32) -> Result<(), ConsoleError> {
    let key = keys::delete(&state.db, caller.account_id, id).await.map_err(from_key_error)?;
    tracing::info!(account = caller.account_id, key = key.id, "API key deleted");
    Ok(())
}

pub async fn reveal(state: &AppState, caller: &Caller, id: i32) -> Result<String, ConsoleError> {
    let (key, token) =
        keys::reveal(&state.db, &state.master_key, caller.account_id, id).await.map_err(from_key_error)?;
    tracing::info!(account = caller.account_id, key = key.id, "API key revealed");
    Ok(token.expose().to_owned())
}

fn summary(row: KeyRow) -> ApiKeySummary {
    let key = row.key;
    ApiKeySummary {
        id: key.id,
        masked_token: masked(&key.token_suffix),
        created: format_time(key.created_at),
        last_used: key.last_used_at.map(|at| match &key.last_used_ip {
            Some(ip) => format!("{} from {ip}", format_time(at)),
            None => format_time(at),
        }),
        name: key.name,
        ip_acl_id: key.ip_acl_id,
        ip_acl_name: row.ip_acl_name,
    }
}

/// Times are shown in UTC, to the minute: the same for every admin, wherever they sit.
pub fn format_time(ms: i64) -> String {
    chrono::DateTime::from_timestamp_millis(ms).map(|t| t.format("%Y-%m-%d %H:%M UTC").to_string()).unwrap_or_default()
}

pub fn from_key_error(err: KeyError) -> ConsoleError {
    match err {
        KeyError::Name(e) => ConsoleError::invalid(Field::Name, e.to_string()),
        KeyError::NameTaken => ConsoleError::invalid(Field::Name, err.to_string()),
        KeyError::AclNotFound => ConsoleError::invalid(Field::IpAcl, err.to_string()),
        KeyError::NotFound => ConsoleError::NotFound(err.to_string()),
        KeyError::Seal(_) | KeyError::Random | KeyError::Db(_) => internal(err),
    }
}

/// Logs the detail for the operator; the admin gets a short message.
pub fn internal(err: impl std::fmt::Display) -> ConsoleError {
    tracing::error!(error = %err, "server function failed");
    ConsoleError::Internal
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn times_are_utc_minutes() {
        assert_eq!(format_time(0), "1970-01-01 00:00 UTC");
        assert_eq!(format_time(1_795_838_400_000), "2026-11-28 04:00 UTC");
    }

    #[test]
    fn key_errors_point_at_their_field() {
        assert!(from_key_error(KeyError::NameTaken).for_field(Field::Name).is_some());
        assert!(from_key_error(KeyError::AclNotFound).for_field(Field::IpAcl).is_some());
        assert_eq!(from_key_error(KeyError::NotFound), ConsoleError::NotFound("This API key no longer exists.".into()));
        assert_eq!(from_key_error(KeyError::Random), ConsoleError::Internal);
    }
}
