//! The work behind Settings > Audit Log.

use crate::api::ConsoleError;
use crate::api::audit::{AuditLogPage, AuditRow, PAGE_SIZE};
use crate::db::service::audit::{self, Action};
use crate::server::api_keys::{format_time, internal};
use crate::server::rpc::Caller;
use crate::server::state::AppState;

pub async fn page(state: &AppState, caller: &Caller, page: u64) -> Result<AuditLogPage, ConsoleError> {
    let (entries, total, page) = audit::page(&state.db, caller.account_id, page, PAGE_SIZE).await.map_err(internal)?;
    Ok(AuditLogPage {
        entries: entries
            .into_iter()
            .map(|e| AuditRow {
                id: e.id,
                at: format_time_seconds(e.at),
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

/// The log wants seconds: several things happen in one minute.
fn format_time_seconds(ms: i64) -> String {
    chrono::DateTime::from_timestamp_millis(ms)
        .map(|t| t.format("%Y-%m-%d %H:%M:%S UTC").to_string())
        .unwrap_or_else(|| format_time(ms))
}
