//! The work behind Settings > Audit Log: the filters checked, one page
//! found by keyset, in the words the page shows.

use crate::db::entities::audit_entry;
use crate::db::service::admins;
use crate::db::service::audit::{self, Action, Cursor};
use crate::domain::audit_filter::{AuditFilter, FilterError, Typed};
use crate::rpc::audit::{AuditLogPage, AuditRow, AuditView, PAGE_SIZE, cursor_text, parse_cursor};
use crate::rpc::{ConsoleError, Field};
use crate::server::caller::Caller;
use crate::server::state::AppState;

pub async fn page(state: &AppState, caller: &Caller, view: &AuditView) -> Result<AuditLogPage, ConsoleError> {
    let filter = filter_of(view)?;
    let cursor = cursor_of(view)?;
    let mut entries = audit::search(&state.db, caller.account_id, &filter, cursor, PAGE_SIZE + 1).await?;
    // One more than a page says whether there is another page that way.
    let more = entries.len() as u64 > PAGE_SIZE;
    let (older_more, newer_more) = match cursor {
        Some(Cursor::Newer(..)) => {
            if more {
                entries.remove(0);
            }
            (true, more)
        }
        Some(Cursor::Older(..)) => {
            entries.truncate(PAGE_SIZE as usize);
            (more, true)
        }
        None => {
            entries.truncate(PAGE_SIZE as usize);
            (more, false)
        }
    };
    let older = entries.last().filter(|_| older_more).map(|e| cursor_text(e.at, e.id));
    let newer = entries.first().filter(|_| newer_more).map(|e| cursor_text(e.at, e.id));
    let mut admins: Vec<String> =
        admins::team(&state.db, caller.account_id).await?.into_iter().map(|a| a.username).collect();
    // A removed admin's entries stay selectable from the URL.
    if let Some(admin) = filter.admin.as_ref().filter(|a| !admins.contains(a)) {
        admins.push(admin.clone());
    }
    admins.sort();
    Ok(AuditLogPage {
        entries: entries.into_iter().map(row).collect(),
        admins,
        actions: Action::ALL.iter().map(|a| (a.code().to_owned(), a.label().to_owned())).collect(),
        older,
        newer,
    })
}

/// The view's filters, checked: a clear error names the one that is wrong.
pub fn filter_of(view: &AuditView) -> Result<AuditFilter, ConsoleError> {
    let typed = Typed { admin: &view.admin, action: &view.action, contains: &view.q, from: &view.from, to: &view.to };
    let filter = AuditFilter::parse(typed).map_err(|e| {
        let field = match e {
            FilterError::BadFrom => Field::From,
            FilterError::BadTo | FilterError::Reversed => Field::To,
            FilterError::TooLong => Field::Filter,
        };
        ConsoleError::Invalid { field, message: e.to_string() }
    })?;
    if let Some(action) = &filter.action
        && Action::from_code(action).is_none()
    {
        return Err(ConsoleError::Invalid { field: Field::Filter, message: "Action: there is no such action.".into() });
    }
    Ok(filter)
}

/// The page's place: a cursor that is not one is refused, not read as "the first page".
fn cursor_of(view: &AuditView) -> Result<Option<Cursor>, ConsoleError> {
    let read = |text: &str| {
        parse_cursor(text).ok_or_else(|| ConsoleError::BadRequest("that page of the audit log does not exist".into()))
    };
    Ok(match (view.before.as_str(), view.after.as_str()) {
        ("", "") => None,
        (before, "") => read(before).map(|(at, id)| Some(Cursor::Older(at, id)))?,
        (_, after) => read(after).map(|(at, id)| Some(Cursor::Newer(at, id)))?,
    })
}

pub fn row(e: audit_entry::Model) -> AuditRow {
    AuditRow {
        id: e.id,
        at: e.at,
        admin: e.admin,
        action: Action::from_code(&e.action).map(Action::label).unwrap_or("Other").to_owned(),
        subject: e.subject,
        detail: e.detail,
        client_ip: e.client_ip,
    }
}
