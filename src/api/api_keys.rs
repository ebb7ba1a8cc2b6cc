//! Server functions behind Settings > API Keys.

use super::ConsoleError;
use leptos::prelude::*;
use serde::{Deserialize, Serialize};

/// How many keys one page of the table shows.
pub const PAGE_SIZE: u64 = 50;

/// A key as the table shows it. It carries no token: the eye button asks for
/// that separately, so it never sits in the page's HTML or initial payload.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ApiKeySummary {
    pub id: i32,
    pub name: String,
    pub ip_acl_id: i32,
    pub ip_acl_name: String,
    pub masked_token: String,
    pub created: String,
    pub last_used: Option<String>,
}

/// An entry of the IP ACL drop-down.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct IpAclChoice {
    pub id: i32,
    pub name: String,
}

/// One page of the table, plus the drop-down's choices so both stay in step.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ApiKeysPage {
    pub keys: Vec<ApiKeySummary>,
    pub total: u64,
    pub page: u64,
    pub page_size: u64,
    pub ip_acls: Vec<IpAclChoice>,
}

/// The new key's token, shown once in the "created" dialog.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CreatedApiKey {
    pub name: String,
    pub token: String,
}

/// One page (from 0) of the account's keys, newest first.
#[server(prefix = "/rpc")]
pub async fn list_api_keys(page: u64) -> Result<ApiKeysPage, ConsoleError> {
    use crate::server::http::rpc;
    let caller = rpc::caller().await?;
    let state = rpc::state()?;
    crate::server::console::api_keys::list(&state, &caller, page).await
}

/// Creates a key; the answer carries its token, the only time it is sent unasked.
#[server(prefix = "/rpc")]
pub async fn create_api_key(name: String, ip_acl_id: i32) -> Result<CreatedApiKey, ConsoleError> {
    use crate::server::http::rpc;
    let caller = rpc::caller().await?;
    let state = rpc::state()?;
    crate::server::console::api_keys::create(&state, &caller, &name, ip_acl_id).await
}

#[server(prefix = "/rpc")]
pub async fn update_api_key(id: i32, name: String, ip_acl_id: i32) -> Result<(), ConsoleError> {
    use crate::server::http::rpc;
    let caller = rpc::caller().await?;
    let state = rpc::state()?;
    crate::server::console::api_keys::update(&state, &caller, id, &name, ip_acl_id).await
}

#[server(prefix = "/rpc")]
pub async fn delete_api_key(id: i32) -> Result<(), ConsoleError> {
    use crate::server::http::rpc;
    let caller = rpc::caller().await?;
    let state = rpc::state()?;
    crate::server::console::api_keys::delete(&state, &caller, id).await
}

/// The whole token of one key, for the eye button; fetched only when clicked.
#[server(prefix = "/rpc")]
pub async fn reveal_api_key(id: i32) -> Result<String, ConsoleError> {
    use crate::server::http::rpc;
    let caller = rpc::caller().await?;
    let state = rpc::state()?;
    crate::server::console::api_keys::reveal(&state, &caller, id).await
}
