//! The work behind the IP ACLs server functions. Every change also reaches the
//! token verifier at once, so the next API request sees it.

use crate::db::service::audit::{self, Action};
use crate::db::service::ip_acls::{self as acls, AclError, Saved};
use crate::domain::roles::Need;
use crate::rpc::ip_acls::{IpAclSummary, SavedIpAcl};
use crate::rpc::{ConsoleError, Field};
use crate::server::caller::Caller;
use crate::server::changes::{self, Change};
use crate::server::state::AppState;

pub async fn list(state: &AppState, caller: &Caller) -> Result<Vec<IpAclSummary>, ConsoleError> {
    let rows = acls::list_with_usage(&state.db, caller.account_id).await?;
    Ok(rows
        .into_iter()
        .map(|row| IpAclSummary {
            id: row.acl.id,
            name: row.acl.name,
            entries: row.acl.entries.lines().map(str::to_owned).collect(),
            key_count: row.key_count,
            report_only: row.acl.report_only,
        })
        .collect())
}

pub async fn create(
    state: &AppState,
    caller: &Caller,
    name: &str,
    entries: &str,
    report_only: bool,
) -> Result<SavedIpAcl, ConsoleError> {
    caller.require(Need::Manage)?;
    let txn = crate::db::begin_write(&state.db).await?;
    let saved = acls::create(&txn, caller.account_id, name, entries, report_only).await.map_err(from_acl_error)?;
    audit::record(&txn, caller.audit(Action::AclCreated, Some(&saved.acl.name), Some(describe(&saved.acl)))).await?;
    changes::commit(state, txn, &[]).await?;
    Ok(answer(saved))
}

pub async fn update(
    state: &AppState,
    caller: &Caller,
    id: i32,
    name: &str,
    entries: &str,
    report_only: Option<bool>,
) -> Result<SavedIpAcl, ConsoleError> {
    caller.require(Need::Manage)?;
    let txn = crate::db::begin_write(&state.db).await?;
    let saved = acls::update(&txn, caller.account_id, id, name, entries, report_only).await.map_err(from_acl_error)?;
    audit::record(&txn, caller.audit(Action::AclUpdated, Some(&saved.acl.name), Some(describe(&saved.acl)))).await?;
    changes::commit(state, txn, &[Change::Acl(id)]).await?;
    Ok(answer(saved))
}

pub async fn delete(state: &AppState, caller: &Caller, id: i32) -> Result<(), ConsoleError> {
    caller.require(Need::Manage)?;
    let txn = crate::db::begin_write(&state.db).await?;
    let acl = acls::delete(&txn, caller.account_id, id).await.map_err(from_acl_error)?;
    audit::record(&txn, caller.audit(Action::AclDeleted, Some(&acl.name), None)).await?;
    changes::commit(state, txn, &[Change::Acl(id)]).await?;
    Ok(())
}

/// The audit's detail: the entries, and the mode if it only reports.
pub fn describe(acl: &crate::db::entities::ip_acl::Model) -> String {
    let entries = acl.entries.replace('\n', ", ");
    if acl.report_only { format!("{entries} (report only)") } else { entries }
}

fn answer(saved: Saved) -> SavedIpAcl {
    SavedIpAcl { name: saved.acl.name, notices: saved.notices }
}

pub fn from_acl_error(err: AclError) -> ConsoleError {
    match err {
        AclError::Name(e) => ConsoleError::invalid(Field::Name, e.to_string()),
        AclError::NameTaken => ConsoleError::invalid(Field::Name, err.to_string()),
        AclError::Entries(_) => ConsoleError::invalid(Field::Entries, err.to_string()),
        AclError::NotFound => ConsoleError::NotFound(err.to_string()),
        AclError::InUse(_) => ConsoleError::Conflict(err.to_string()),
        AclError::Db(e) => e.into(),
    }
}
