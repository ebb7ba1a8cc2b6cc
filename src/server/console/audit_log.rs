//! The work behind Settings > Audit Log.

use crate::db::service::audit::{self, Action};
use crate::rpc::ConsoleError;
use crate::rpc::audit::{AuditLogPage, AuditRow, PAGE_SIZE};
use crate::server::caller::Caller;
use crate::server::state::AppState;

pub async fn page(state: &AppState, caller: &Caller, page: u64) -> Result<AuditLogPage, ConsoleError> {
    let (entries, total, page) = audit::page(&state.db, caller.account_id, page, PAGE_SIZE).await?;
    Ok(AuditLogPage {
        entries: entries
            .into_iter()
            .map(|e| AuditRow {
                id: e.id,
                at: e.at,
                admin: e.admin,
                action: Action::from_code(&e.action).map(Action::label).unwrap_or("Other").to_owned(),
                subject: e.subject,
                detail: e.detail,
                client_ip: e.client_ip,
            })
            .collect(),
        total,
        page,
        page_size: PAGE_SIZE,
    })
}
