//! Server function behind Settings > Audit Log.

use super::ConsoleError;
use leptos::prelude::*;
use serde::{Deserialize, Serialize};

pub const PAGE_SIZE: u64 = 50;
/// The audit log as a CSV file (**Download CSV**), served outside the server functions: it streams.
pub const EXPORT_PATH: &str = "/settings/audit-log/export.csv";

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AuditRow {
    pub id: i32,
    /// Milliseconds since the epoch; the page writes it in UTC.
    pub at: i64,
    pub admin: String,
    pub action: String,
    pub subject: Option<String>,
    pub detail: Option<String>,
    pub client_ip: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AuditLogPage {
    pub entries: Vec<AuditRow>,
    pub total: u64,
    pub page: u64,
    pub page_size: u64,
}

/// One page (from 0) of the account's audit log, newest first.
#[server(prefix = "/rpc", endpoint = "list_audit_log")]
pub async fn list_audit_log(page: u64) -> Result<AuditLogPage, ConsoleError> {
    use crate::server::caller as rpc;
    let caller = rpc::caller().await?;
    let state = rpc::state()?;
    crate::server::console::audit_log::page(&state, &caller, page).await
}
