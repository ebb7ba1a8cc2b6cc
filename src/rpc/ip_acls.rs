//! Server functions behind Settings > IP ACLs.

use super::ConsoleError;
use leptos::prelude::*;
use serde::{Deserialize, Serialize};

/// How many entries the table shows before "and N more".
pub const PREVIEW_ENTRIES: usize = 3;

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct IpAclSummary {
    pub id: i32,
    pub name: String,
    /// Every entry, one per line (for the edit dialog and the preview).
    pub entries: Vec<String>,
    pub key_count: u64,
    /// Requests from outside are let through and reported, not refused.
    pub report_only: bool,
}

/// What a save changed in the admin's text (masked host bits, removed duplicates).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SavedIpAcl {
    pub name: String,
    pub notices: Vec<String>,
}

#[server(prefix = "/rpc", endpoint = "list_ip_acls")]
pub async fn list_ip_acls() -> Result<Vec<IpAclSummary>, ConsoleError> {
    use crate::server::caller as rpc;
    let caller = rpc::caller().await?;
    crate::server::console::ip_acls::list(&rpc::state()?, &caller).await
}

/// `entries`: one IPv4 or IPv6 address or CIDR per line; `#` starts a comment.
/// `report_only`: let requests from outside through, reporting them (default: refuse).
#[server(prefix = "/rpc", endpoint = "create_ip_acl")]
pub async fn create_ip_acl(
    name: String,
    entries: String,
    report_only: Option<bool>,
) -> Result<SavedIpAcl, ConsoleError> {
    use crate::server::caller as rpc;
    let caller = rpc::caller().await?;
    let report_only = report_only.unwrap_or(false);
    crate::server::console::ip_acls::create(&rpc::state()?, &caller, &name, &entries, report_only).await
}

/// `report_only` left out keeps the ACL's mode as it is.
#[server(prefix = "/rpc", endpoint = "update_ip_acl")]
pub async fn update_ip_acl(
    id: i32,
    name: String,
    entries: String,
    report_only: Option<bool>,
) -> Result<SavedIpAcl, ConsoleError> {
    use crate::server::caller as rpc;
    let caller = rpc::caller().await?;
    crate::server::console::ip_acls::update(&rpc::state()?, &caller, id, &name, &entries, report_only).await
}

/// Refused (409, naming the keys) while any API key uses the ACL.
#[server(prefix = "/rpc", endpoint = "delete_ip_acl")]
pub async fn delete_ip_acl(id: i32) -> Result<(), ConsoleError> {
    use crate::server::caller as rpc;
    let caller = rpc::caller().await?;
    crate::server::console::ip_acls::delete(&rpc::state()?, &caller, id).await
}
