//! Server function behind the Overview: the account's requests, its keys by
//! status, the busiest keys and the latest audit entries, in one call.

use super::ConsoleError;
use super::api_keys::DayCounts;
use super::audit::AuditRow;
use leptos::prelude::*;
use serde::{Deserialize, Serialize};

/// Keys in each state, as the API Keys table's Status filter selects them.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct KeyCounts {
    /// Includes those expiring soon.
    pub active: i64,
    pub expiring: i64,
    pub disabled: i64,
    pub expired: i64,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct BusyKey {
    pub id: i32,
    pub name: String,
    /// Requests in the last 7 days, allowed, refused and rate limited together.
    pub requests: i64,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct OverviewFigures {
    /// The last 30 UTC days, oldest first, every key of the account together.
    pub days: Vec<DayCounts>,
    pub counts: KeyCounts,
    /// At most 5, most requests first.
    pub busiest: Vec<BusyKey>,
    /// The last 5 audit entries, newest first.
    pub recent: Vec<AuditRow>,
}

#[server(prefix = "/rpc", endpoint = "overview")]
pub async fn overview() -> Result<OverviewFigures, ConsoleError> {
    use crate::server::caller as rpc;
    let caller = rpc::caller().await?;
    let state = rpc::state()?;
    crate::server::console::overview::overview(&state, &caller).await
}
