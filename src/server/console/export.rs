//! The CSV downloads: every key the API Keys table's search and Status
//! filter select (not only the page on screen), and the audit log. Any
//! signed-in admin may download, Viewers too: it is what they can read.
//!
//! Streamed a page of rows at a time through keyset paging, so 100,000 keys
//! go out in constant memory and each chunk costs the same query. Never a
//! token: the file holds what the table shows.

use crate::db::service::api_keys::{self as keys, Cursor};
use crate::db::service::audit::{self, Action};
use crate::domain::export::{self, API_KEY_COLUMNS, AUDIT_COLUMNS, CsvLines};
use crate::rpc::api_keys::{SortColumn, SortDirection, StatusFilter};
use crate::rpc::audit::AuditView;
use crate::server::caller::Caller;
use crate::server::console::api_keys::{View, list_query, summary};
use crate::server::console::audit_log::filter_of;
use crate::server::state::AppState;
use axum::Extension;
use axum::body::{Body, Bytes};
use axum::extract::{RawQuery, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use futures_util::{StreamExt, stream};

pub use crate::rpc::api_keys::EXPORT_PATH as API_KEYS_PATH;
pub use crate::rpc::audit::EXPORT_PATH as AUDIT_LOG_PATH;
/// Rows read and sent per chunk.
const CHUNK: u64 = 500;

/// `GET /settings/api-keys/export.csv?q=…&status=…&sort=…&dir=…`: the table's parameters.
pub async fn api_keys(
    State(state): State<AppState>,
    caller: Option<Extension<Caller>>,
    RawQuery(query): RawQuery,
) -> Response {
    let Some(Extension(caller)) = caller else { return StatusCode::UNAUTHORIZED.into_response() };
    let view = view_of(query.as_deref().unwrap_or_default());
    let mut header_row = CsvLines::default();
    header_row.row(API_KEY_COLUMNS);
    let first = Bytes::from(header_row.take());
    let pages = stream::unfold(Some(None), move |cursor: Option<Option<Cursor>>| {
        let (state, caller, view) = (state.clone(), caller.clone(), view.clone());
        async move {
            let cursor = cursor?;
            let query = keys::ListQuery { cursor, per_page: CHUNK, ..list_query(&view) };
            match keys::list(&state.db, caller.account_id, &query, caller.now).await {
                Ok(page) => {
                    let mut lines = CsvLines::default();
                    for row in page.rows {
                        let key = summary(row, &state.usage, caller.now);
                        let (created, used, expires) = (
                            export::time(Some(key.created_at)),
                            export::time(key.last_used.as_ref().map(|u| u.at)),
                            export::time(key.expires_at),
                        );
                        let status = key.status.words();
                        lines.row([key.name.as_str(), &status, &key.ip_acl_name, &created, &used, &expires]);
                    }
                    Some((Ok(Bytes::from(lines.take())), page.next.map(Some)))
                }
                Err(e) => Some((Err(failed(e)), None)),
            }
        }
    });
    let body = stream::iter([Ok(first)]);
    csv_response("api-keys.csv", body.chain(pages))
}

/// `GET /settings/audit-log/export.csv?admin=…&action=…&q=…&from=…&to=…`:
/// every entry the Audit Log's filters select (what the retention keeps),
/// newest first, in the words the page shows. A filter that is not one is
/// refused with 400 and its reason, rather than a file of everything.
pub async fn audit_log(
    State(state): State<AppState>,
    caller: Option<Extension<Caller>>,
    RawQuery(query): RawQuery,
) -> Response {
    let Some(Extension(caller)) = caller else { return StatusCode::UNAUTHORIZED.into_response() };
    let query = query.unwrap_or_default();
    let pairs: Vec<(String, String)> = form_urlencoded::parse(query.as_bytes()).into_owned().collect();
    // The filters only: the file takes every page, whatever place the page was at.
    let filters = pairs.iter().filter(|(k, _)| k != "before" && k != "after");
    let view = AuditView::from_pairs(filters.map(|(k, v)| (k.as_str(), v.clone())));
    let filter = match filter_of(&view) {
        Ok(filter) => std::sync::Arc::new(filter),
        Err(e) => return (StatusCode::BAD_REQUEST, e.to_string()).into_response(),
    };
    let mut header_row = CsvLines::default();
    header_row.row(AUDIT_COLUMNS);
    let first = Bytes::from(header_row.take());
    let pages = stream::unfold(Some(None), move |before: Option<Option<audit::Cursor>>| {
        let (state, filter) = (state.clone(), filter.clone());
        async move {
            let before = before?;
            match audit::search(&state.db, caller.account_id, &filter, before, CHUNK).await {
                Ok(entries) => {
                    let next = (entries.len() as u64 == CHUNK)
                        .then(|| entries.last().map(|e| audit::Cursor::Older(e.at, e.id)));
                    let mut lines = CsvLines::default();
                    for entry in &entries {
                        let at = export::time(Some(entry.at));
                        let action = Action::from_code(&entry.action).map(Action::label).unwrap_or("Other");
                        let (subject, detail) =
                            (entry.subject.as_deref().unwrap_or_default(), entry.detail.as_deref().unwrap_or_default());
                        lines.row([at.as_str(), &entry.admin, action, subject, detail, &entry.client_ip]);
                    }
                    Some((Ok(Bytes::from(lines.take())), next))
                }
                Err(e) => Some((Err(failed(e)), None)),
            }
        }
    });
    let body = stream::iter([Ok(first)]);
    csv_response("audit-log.csv", body.chain(pages))
}

/// A failure half way ends the download as broken (the connection is
/// reset), so a truncated file is never taken for a whole one.
fn failed(e: sea_orm::DbErr) -> std::io::Error {
    tracing::error!(error = %e, "a CSV download failed part way");
    std::io::Error::other("the download could not be completed")
}

/// Fused: the compression layer may poll a body again after its end, which
/// an unfused `unfold` answers with a panic.
fn csv_response(
    name: &'static str,
    rows: impl futures_util::Stream<Item = Result<Bytes, std::io::Error>> + Send + 'static,
) -> Response {
    let mut response = Body::from_stream(rows.fuse()).into_response();
    let headers = response.headers_mut();
    headers.insert(header::CONTENT_TYPE, HeaderValue::from_static("text/csv; charset=utf-8"));
    if let Ok(disposition) = HeaderValue::from_str(&format!("attachment; filename=\"{name}\"")) {
        headers.insert(header::CONTENT_DISPOSITION, disposition);
    }
    response
}

/// The table's view from its URL's query (unknown values fall back as the page's do).
fn view_of(query: &str) -> View {
    let mut view = View::default();
    let mut direction = None;
    for (key, value) in form_urlencoded::parse(query.as_bytes()) {
        match &*key {
            "q" => view.search = value.into_owned(),
            "status" => view.status = StatusFilter::from_code(&value).unwrap_or_default(),
            "sort" => view.sort = SortColumn::from_code(&value).unwrap_or_default(),
            "dir" => direction = SortDirection::from_code(&value),
            _ => {}
        }
    }
    view.direction = direction.unwrap_or_else(|| {
        if view.sort == SortColumn::default() { SortDirection::default() } else { view.sort.first_direction() }
    });
    view
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_view_is_read_as_the_page_reads_it() {
        let view = view_of("q=50%25%20off&status=disabled&sort=name&after=42");
        assert_eq!(view.search, "50% off");
        assert_eq!(view.status, StatusFilter::Disabled);
        assert_eq!(view.sort, SortColumn::Name);
        assert_eq!(view.direction, SortDirection::Asc, "name sorts A to Z first");
        assert!(view.cursor.is_none(), "a download is every page, wherever the table was");
        let fallback = view_of("status=bogus&dir=sideways");
        assert_eq!((fallback.status, fallback.direction), (StatusFilter::All, SortDirection::default()));
    }
}
