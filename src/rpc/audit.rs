//! Server function behind Settings > Audit Log, and the view its URL holds.

use super::ConsoleError;
use leptos::prelude::*;
use serde::{Deserialize, Serialize};

pub const PAGE_SIZE: u64 = 50;
pub const PAGE: &str = "/settings/audit-log";
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

/// Where a page of entries starts: just older (`before`), or just newer
/// (`after`), than one entry, written `<at>.<id>` (keyset paging: every page
/// costs the same, however deep). Plain text here and in the URL; the
/// server reads it with [`parse_cursor`].
pub fn parse_cursor(text: &str) -> Option<(i64, i32)> {
    let (at, id) = text.split_once('.')?;
    Some((at.parse().ok()?, id.parse().ok()?))
}

pub fn cursor_text(at: i64, id: i32) -> String {
    format!("{at}.{id}")
}

/// The page's view: its filters (as typed; the server checks them) and its
/// place. Blank filters select everything.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct AuditView {
    pub admin: String,
    /// An action's code (`api_key_deleted`).
    pub action: String,
    /// Key or ACL: contains, ignoring case.
    pub q: String,
    /// `YYYY-MM-DD`, UTC, included.
    pub from: String,
    pub to: String,
    /// Entries older than this one (see [`parse_cursor`]).
    pub before: String,
    /// Entries newer than this one.
    pub after: String,
}

/// The query's names, in the URL's order.
pub const VIEW_NAMES: [&str; 7] = ["admin", "action", "q", "from", "to", "before", "after"];

impl AuditView {
    /// Reads the page's query (`?admin=…&action=…&q=…&from=…&to=…&before=…`).
    pub fn from_pairs<'a>(pairs: impl IntoIterator<Item = (&'a str, String)>) -> Self {
        let mut view = AuditView::default();
        for (key, value) in pairs {
            match key {
                "admin" => view.admin = value,
                "action" => view.action = value,
                "q" => view.q = value,
                "from" => view.from = value,
                "to" => view.to = value,
                "before" => view.before = value,
                "after" => view.after = value,
                _ => {}
            }
        }
        view
    }

    /// The page's address for this view; blank values are left out.
    pub fn href(&self) -> String {
        self.address(PAGE, true)
    }

    /// The CSV of every entry the filters select, whichever page is on screen.
    pub fn download_href(&self) -> String {
        self.address(EXPORT_PATH, false)
    }

    /// The same filters, older than `cursor`.
    pub fn older(&self, cursor: String) -> Self {
        AuditView { before: cursor, after: String::new(), ..self.clone() }
    }

    /// The same filters, newer than `cursor`.
    pub fn newer(&self, cursor: String) -> Self {
        AuditView { before: String::new(), after: cursor, ..self.clone() }
    }

    pub fn is_filtered(&self) -> bool {
        [&self.admin, &self.action, &self.q, &self.from, &self.to].iter().any(|v| !v.trim().is_empty())
    }

    fn address(&self, path: &str, with_cursor: bool) -> String {
        let values = [&self.admin, &self.action, &self.q, &self.from, &self.to, &self.before, &self.after];
        let query: Vec<String> = VIEW_NAMES
            .into_iter()
            .zip(values)
            .take(if with_cursor { 7 } else { 5 })
            .filter(|(_, v)| !v.is_empty())
            .map(|(k, v)| format!("{k}={}", crate::app::format::query_value(v)))
            .collect();
        if query.is_empty() { path.to_owned() } else { format!("{path}?{}", query.join("&")) }
    }
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct AuditLogPage {
    pub entries: Vec<AuditRow>,
    /// The account's admins, for the Admin filter (usernames, as the log keeps them).
    pub admins: Vec<String>,
    /// Every action: its code and the words the table shows.
    pub actions: Vec<(String, String)>,
    /// Where the next older page starts, if there is one (see [`parse_cursor`]).
    pub older: Option<String>,
    pub newer: Option<String>,
}

/// One page of the account's audit log, newest first, as the view selects.
#[server(prefix = "/rpc", endpoint = "list_audit_log")]
pub async fn list_audit_log(#[server(default)] view: AuditView) -> Result<AuditLogPage, ConsoleError> {
    use crate::server::caller as rpc;
    let caller = rpc::caller().await?;
    let state = rpc::state()?;
    crate::server::console::audit_log::page(&state, &caller, &view).await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_url_holds_the_view() {
        let view = AuditView {
            admin: "alice".into(),
            action: "api_key_deleted".into(),
            q: "billing & co".into(),
            from: "2026-12-01".into(),
            to: "2026-12-07".into(),
            before: cursor_text(1_796_083_200_000, 42),
            after: String::new(),
        };
        let href = view.href();
        assert!(href.starts_with("/settings/audit-log?admin=alice&action=api_key_deleted&q=billing"), "{href}");
        assert!(href.ends_with("&before=1796083200000.42"), "{href}");
        let query = href.split_once('?').unwrap().1;
        let pairs: Vec<(String, String)> = form_urlencoded::parse(query.as_bytes()).into_owned().collect();
        assert_eq!(AuditView::from_pairs(pairs.iter().map(|(k, v)| (k.as_str(), v.clone()))), view);
        assert!(!view.download_href().contains("before="), "the download takes every page");
        assert_eq!(view.newer("5.6".into()).href().matches("after=5.6").count(), 1);
        assert!(!view.newer("5.6".into()).href().contains("before="));
        assert_eq!(AuditView::default().href(), PAGE);
        assert!(!AuditView::default().is_filtered());
    }

    #[test]
    fn a_cursor_that_is_not_one_is_refused() {
        assert_eq!(parse_cursor("1796083200000.42"), Some((1_796_083_200_000, 42)));
        for bad in ["", "yesterday", "1.x", "x.1", "12"] {
            assert_eq!(parse_cursor(bad), None, "{bad}");
        }
    }
}
