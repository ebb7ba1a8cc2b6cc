//! Server functions behind Settings > API Keys, and the Overview's list of
//! keys that need attention.

use super::ConsoleError;
use crate::domain::permissions::Access;
use crate::domain::rate_limit::RateLimit;
use leptos::prelude::*;
use serde::{Deserialize, Serialize};

/// How many keys one page of the table shows.
pub const PAGE_SIZE: u64 = 50;

/// Every key the table's search and filter select, as a CSV file (**Download CSV**).
pub const EXPORT_PATH: &str = "/settings/api-keys/export.csv";

/// Which keys the table shows (the Status filter).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum StatusFilter {
    #[default]
    All,
    Active,
    /// Active, and expiring within 14 days.
    Expiring,
    Disabled,
    Expired,
}

/// The sortable columns.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SortColumn {
    Name,
    #[default]
    Created,
    LastUsed,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SortDirection {
    Asc,
    #[default]
    Desc,
}

impl StatusFilter {
    pub const ALL: [StatusFilter; 5] = [
        StatusFilter::All,
        StatusFilter::Active,
        StatusFilter::Expiring,
        StatusFilter::Disabled,
        StatusFilter::Expired,
    ];

    /// The value in the page's URL and the filter's `<option>`.
    pub fn code(self) -> &'static str {
        match self {
            StatusFilter::All => "all",
            StatusFilter::Active => "active",
            StatusFilter::Expiring => "expiring",
            StatusFilter::Disabled => "disabled",
            StatusFilter::Expired => "expired",
        }
    }

    pub fn label(self) -> &'static str {
        match self {
            StatusFilter::All => "All",
            StatusFilter::Active => "Active",
            StatusFilter::Expiring => "Expiring soon",
            StatusFilter::Disabled => "Disabled",
            StatusFilter::Expired => "Expired",
        }
    }

    pub fn from_code(code: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|s| s.code() == code)
    }
}

impl SortColumn {
    pub const ALL: [SortColumn; 3] = [SortColumn::Name, SortColumn::Created, SortColumn::LastUsed];

    pub fn code(self) -> &'static str {
        match self {
            SortColumn::Name => "name",
            SortColumn::Created => "created",
            SortColumn::LastUsed => "last_used",
        }
    }

    pub fn from_code(code: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|s| s.code() == code)
    }

    /// The order a first click sorts in: names A to Z, times newest first.
    pub fn first_direction(self) -> SortDirection {
        match self {
            SortColumn::Name => SortDirection::Asc,
            SortColumn::Created | SortColumn::LastUsed => SortDirection::Desc,
        }
    }
}

impl SortDirection {
    pub fn code(self) -> &'static str {
        match self {
            SortDirection::Asc => "asc",
            SortDirection::Desc => "desc",
        }
    }

    pub fn from_code(code: &str) -> Option<Self> {
        [SortDirection::Asc, SortDirection::Desc].into_iter().find(|d| d.code() == code)
    }

    pub fn flipped(self) -> Self {
        match self {
            SortDirection::Asc => SortDirection::Desc,
            SortDirection::Desc => SortDirection::Asc,
        }
    }
}

/// Where a page starts: after or before the key with this id (keyset paging).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum PageCursor {
    After(i32),
    Before(i32),
}

/// A key's status as the Status column says it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum KeyStatus {
    Active,
    ExpiresSoon { days: i64 },
    Disabled,
    Expired,
}

impl KeyStatus {
    /// The status in the words the table shows (and the CSV download writes).
    pub fn words(self) -> String {
        match self {
            KeyStatus::Active => "Active".to_owned(),
            KeyStatus::ExpiresSoon { days: 0 } => "Expires today".to_owned(),
            KeyStatus::ExpiresSoon { days: 1 } => "Expires tomorrow".to_owned(),
            KeyStatus::ExpiresSoon { days } => format!("Expires in {days} days"),
            KeyStatus::Disabled => "Disabled".to_owned(),
            KeyStatus::Expired => "Expired".to_owned(),
        }
    }
}

/// When and from where a key was last used.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LastUse {
    pub at: i64,
    pub ip: Option<String>,
}

/// A key as the table shows it. It carries no token: the eye button asks for
/// that separately, so it never sits in the page's HTML or initial payload.
/// Times are milliseconds since the Unix epoch; the page formats them.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ApiKeySummary {
    pub id: i32,
    pub name: String,
    pub ip_acl_id: i32,
    pub ip_acl_name: String,
    pub masked_token: String,
    pub created_at: i64,
    pub last_used: Option<LastUse>,
    pub status: KeyStatus,
    pub expires_at: Option<i64>,
    /// Until when the token replaced by the last roll still works, if it does.
    pub old_token_until: Option<i64>,
    pub access: Access,
    pub rate_limit: Option<RateLimit>,
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
    pub ip_acls: Vec<IpAclChoice>,
    /// Whether the account has any key (an empty page may be the filter's doing).
    pub has_keys: bool,
    pub previous: Option<PageCursor>,
    pub next: Option<PageCursor>,
}

/// A token shown once: after Add, and after Roll.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CreatedApiKey {
    pub name: String,
    pub token: String,
}

/// What a roll did: the new token, and until when the old one works.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RolledApiKey {
    pub name: String,
    pub token: String,
    pub old_token_until: i64,
    /// A token still in grace from an earlier roll was ended at once.
    pub ended_earlier: bool,
}

/// A key the Overview points at, with the instant that makes it urgent.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AttentionItem {
    pub id: i32,
    pub name: String,
    pub at: i64,
}

#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct AttentionList {
    /// Keys that expire within 14 days, soonest first; `at` is the expiry.
    pub expiring: Vec<AttentionItem>,
    /// Keys whose previous token still works after a roll; `at` is when it stops.
    pub old_tokens: Vec<AttentionItem>,
    /// Keys not used for 90 days; `at` is the last use (0: never).
    pub unused: Vec<AttentionItem>,
}

/// One UTC day of a key's requests.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct DayCounts {
    /// The day's first instant (ms since the epoch).
    pub day: i64,
    pub allowed: i64,
    pub refused: i64,
    /// Let through by a report-only IP ACL (counted in `allowed` too).
    pub would_refuse: i64,
    /// Turned away by the key's rate limit.
    pub rate_limited: i64,
}

/// One permission the key's checks asked for (`GET /api/v1/check`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PermissionUse {
    /// As the API names it: `sms:send`.
    pub permission: String,
    pub asked: i64,
    /// Asked but not granted.
    pub denied: i64,
    pub last_asked: i64,
}

/// A client address that presented the key's token.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AddressRow {
    pub ip: String,
    pub requests: i64,
    pub refused: i64,
    pub would_refuse: i64,
    pub last_seen: i64,
    /// Every request from here was refused.
    pub refused_only: bool,
    /// Let through only with a token that has since ended (rolled out).
    pub ended_token_only: bool,
}

/// A refused use, or one a report-only IP ACL let through ("would be refused").
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RefusalRow {
    pub at: i64,
    pub ip: String,
    /// `ip_not_allowed`, `key_disabled`, `key_expired` or `token_expired`.
    pub reason: String,
    pub would_be_refused: bool,
}

/// Everything a key's page shows.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct KeyDetails {
    pub key: ApiKeySummary,
    pub ip_acl_report_only: bool,
    /// The key's IP ACL lets every address through: locking cannot loosen it.
    pub ip_acl_allows_any: bool,
    /// The Edit dialog's choices.
    pub ip_acls: Vec<IpAclChoice>,
    /// The last 30 days, oldest first, every day present (zero without traffic).
    pub days: Vec<DayCounts>,
    /// Addresses seen in the last 30 days, most recent first (at most 100).
    pub addresses: Vec<AddressRow>,
    /// Addresses forgotten because more than 100 presented the token.
    pub addresses_dropped: i64,
    /// The last 50 refused uses, newest first.
    pub refusals: Vec<RefusalRow>,
    /// Permissions asked for in the last 30 days, in catalogue order.
    pub permissions_used: Vec<PermissionUse>,
}

/// One page of the account's keys: searched by name, filtered by status,
/// sorted, and paged by cursor. Every parameter may be left out.
#[server(prefix = "/rpc", endpoint = "list_api_keys")]
pub async fn list_api_keys(
    q: Option<String>,
    status: Option<StatusFilter>,
    sort: Option<SortColumn>,
    dir: Option<SortDirection>,
    after: Option<i32>,
    before: Option<i32>,
) -> Result<ApiKeysPage, ConsoleError> {
    use crate::server::caller as rpc;
    use crate::server::console::api_keys::{self, View};
    let caller = rpc::caller().await?;
    let state = rpc::state()?;
    let view = View {
        search: q.unwrap_or_default(),
        status: status.unwrap_or_default(),
        sort: sort.unwrap_or_default(),
        direction: dir.unwrap_or_default(),
        cursor: after.map(PageCursor::After).or(before.map(PageCursor::Before)),
    };
    api_keys::list(&state, &caller, &view).await
}

/// Creates a key; the answer carries its token, the only time it is sent
/// unasked. `expires`: `never` (or left out), `30d`, `90d`, `1y` or `date`,
/// with `expiry_date` as `YYYY-MM-DD`. `permissions`: `full` (or left out), `none` (refused)
/// or a comma-separated list such as `sms:send,sms:read`. `rate_limit`:
/// `none` (or left out) or a number of requests (1 to 1,000,000) per
/// `rate_per` (`second`, `minute` or `hour`).
#[server(prefix = "/rpc", endpoint = "create_api_key")]
pub async fn create_api_key(
    name: String,
    ip_acl_id: i32,
    expires: Option<String>,
    expiry_date: Option<String>,
    permissions: Option<String>,
    rate_limit: Option<String>,
    rate_per: Option<String>,
) -> Result<CreatedApiKey, ConsoleError> {
    use crate::server::caller as rpc;
    use crate::server::console::api_keys::{self, Form};
    let caller = rpc::caller().await?;
    let state = rpc::state()?;
    let form = Form {
        expiry: Some((expires.as_deref().unwrap_or("never"), expiry_date.as_deref().unwrap_or(""))),
        permissions: permissions.as_deref(),
        limit: rate_limit.as_deref(),
        per: rate_per.as_deref(),
    };
    api_keys::create(&state, &caller, &name, ip_acl_id, form).await
}

/// Renames a key, moves it to another IP ACL, and sets its expiry, its
/// permissions and its rate limit (each left out is kept as it is).
#[server(prefix = "/rpc", endpoint = "update_api_key")]
pub async fn update_api_key(
    id: i32,
    name: String,
    ip_acl_id: i32,
    expires: Option<String>,
    expiry_date: Option<String>,
    permissions: Option<String>,
    rate_limit: Option<String>,
    rate_per: Option<String>,
) -> Result<(), ConsoleError> {
    use crate::server::caller as rpc;
    use crate::server::console::api_keys::{self, Form};
    let caller = rpc::caller().await?;
    let state = rpc::state()?;
    let form = Form {
        expiry: expires.as_deref().map(|choice| (choice, expiry_date.as_deref().unwrap_or(""))),
        permissions: permissions.as_deref(),
        limit: rate_limit.as_deref(),
        per: rate_per.as_deref(),
    };
    api_keys::update(&state, &caller, id, &name, ip_acl_id, form).await
}

/// Restrict to what it uses: the key keeps only `permissions` (a comma-separated list).
#[server(prefix = "/rpc", endpoint = "restrict_api_key")]
pub async fn restrict_api_key(id: i32, permissions: String) -> Result<(), ConsoleError> {
    use crate::server::caller as rpc;
    let caller = rpc::caller().await?;
    crate::server::console::api_keys::restrict(&rpc::state()?, &caller, id, &permissions).await
}

/// Gives a key a new token; the old one keeps working for the `grace` chosen
/// (`now`, `1h`, `24h`, `7d`). The answer carries the new token, once.
#[server(prefix = "/rpc", endpoint = "roll_api_key")]
pub async fn roll_api_key(id: i32, grace: String) -> Result<RolledApiKey, ConsoleError> {
    use crate::server::caller as rpc;
    let caller = rpc::caller().await?;
    let state = rpc::state()?;
    crate::server::console::api_keys::roll(&state, &caller, id, &grace).await
}

/// Switches a key off (its tokens are refused at once) or on again.
#[server(prefix = "/rpc", endpoint = "set_api_key_enabled")]
pub async fn set_api_key_enabled(id: i32, enabled: bool) -> Result<(), ConsoleError> {
    use crate::server::caller as rpc;
    let caller = rpc::caller().await?;
    let state = rpc::state()?;
    crate::server::console::api_keys::set_enabled(&state, &caller, id, enabled).await
}

#[server(prefix = "/rpc", endpoint = "delete_api_key")]
pub async fn delete_api_key(id: i32) -> Result<(), ConsoleError> {
    use crate::server::caller as rpc;
    let caller = rpc::caller().await?;
    let state = rpc::state()?;
    crate::server::console::api_keys::delete(&state, &caller, id).await
}

/// The whole current token of one key, for the eye button; fetched only when clicked.
#[server(prefix = "/rpc", endpoint = "reveal_api_key")]
pub async fn reveal_api_key(id: i32) -> Result<String, ConsoleError> {
    use crate::server::caller as rpc;
    let caller = rpc::caller().await?;
    let state = rpc::state()?;
    crate::server::console::api_keys::reveal(&state, &caller, id).await
}

/// Keys that expire soon, old tokens still in grace, and keys unused for 90 days.
#[server(prefix = "/rpc", endpoint = "keys_needing_attention")]
pub async fn keys_needing_attention() -> Result<AttentionList, ConsoleError> {
    use crate::server::caller as rpc;
    let caller = rpc::caller().await?;
    let state = rpc::state()?;
    crate::server::console::api_keys::attention(&state, &caller).await
}

/// A key's page: its details, what its token did in the last 30 days, where
/// from, and what was refused, current to the second.
#[server(prefix = "/rpc", endpoint = "api_key_details")]
pub async fn api_key_details(id: i32) -> Result<KeyDetails, ConsoleError> {
    use crate::server::caller as rpc;
    let caller = rpc::caller().await?;
    let state = rpc::state()?;
    crate::server::console::key_insight::details(&state, &caller, id).await
}

/// Creates an IP ACL of `addresses` (one per line) named `name` and gives
/// it to the key, in one transaction; `report_only` lets others through,
/// reported, until the admin is sure.
#[server(prefix = "/rpc", endpoint = "lock_api_key_to_addresses")]
pub async fn lock_api_key_to_addresses(
    id: i32,
    name: String,
    addresses: String,
    report_only: bool,
) -> Result<(), ConsoleError> {
    use crate::server::caller as rpc;
    let caller = rpc::caller().await?;
    let state = rpc::state()?;
    crate::server::console::key_insight::lock_to_addresses(&state, &caller, id, &name, &addresses, report_only).await
}
