//! Settings > Audit Log: what the account's admins did, newest first,
//! filtered by admin, action, key or ACL and dates. The filters live in the
//! URL (a plain GET form), so a reload and Back keep the view, as the API
//! Keys table's do; **Download CSV** takes every entry they select.

use crate::app::form::LoadError;
use crate::app::format::utc_second;
use crate::rpc::audit::{AuditLogPage as Loaded, AuditRow, AuditView, PAGE, VIEW_NAMES, list_audit_log};
use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::components::{A, Form};
use leptos_router::hooks::use_query_map;

#[component]
pub fn AuditLogPage() -> impl IntoView {
    let query = use_query_map();
    let view = Memo::new(move |_| {
        query.with(|q| AuditView::from_pairs(VIEW_NAMES.into_iter().filter_map(|k| q.get(k).map(|v| (k, v)))))
    });
    let entries = Resource::new(move || view.get(), list_audit_log);
    view! {
        <Title text="Audit Log" />
        <header class="page-header">
            <h1>"Audit Log"</h1>
            <a class="button secondary" href=move || view.with(AuditView::download_href) download="audit-log.csv" rel="external">
                "Download CSV"
            </a>
        </header>
        <section class="panel">
            <Transition fallback=|| view! { <p class="empty">"Loading the audit log…"</p> }>
                {move || Suspend::new(async move {
                    let shown = view.get_untracked();
                    match entries.await {
                        Ok(loaded) => view! { <AuditFilters view=shown.clone() loaded=loaded.clone() /> <AuditLogTable view=shown loaded /> }.into_any(),
                        Err(err) => view! { <AuditFilters view=shown loaded=Loaded::default() /> <LoadError err /> }.into_any(),
                    }
                })}
            </Transition>
        </section>
    }
}

/// Admin, Action, Key or ACL, From and To: a GET form, so the router puts
/// them in the URL (and without the browser code the server does the same).
#[component]
fn AuditFilters(view: AuditView, loaded: Loaded) -> impl IntoView {
    let filtered = view.is_filtered();
    let (admin, action) = (view.admin.clone(), view.action.clone());
    view! {
        <Form method="GET" action=PAGE attr:class="table-toolbar filters" attr:aria-label="Filter the audit log">
            <div class="filter">
                <label for="audit-admin">"Admin"</label>
                <select id="audit-admin" name="admin">
                    <option value="" selected=admin.is_empty()>"Anyone"</option>
                    {loaded
                        .admins
                        .into_iter()
                        .map(|name| {
                            let selected = name == admin;
                            let value = name.clone();
                            view! { <option value=value selected=selected>{name}</option> }
                        })
                        .collect_view()}
                </select>
            </div>
            <div class="filter">
                <label for="audit-action">"Action"</label>
                <select id="audit-action" name="action">
                    <option value="" selected=action.is_empty()>"Any action"</option>
                    {loaded
                        .actions
                        .into_iter()
                        .map(|(code, label)| {
                            let selected = code == action;
                            view! { <option value=code selected=selected>{label}</option> }
                        })
                        .collect_view()}
                </select>
            </div>
            <div class="filter">
                <label for="audit-q">"Key or ACL"</label>
                <input id="audit-q" name="q" type="search" maxlength="200" autocomplete="off" value=view.q.clone() prop:value=view.q />
            </div>
            <div class="filter">
                <label for="audit-from">"From"</label>
                <input id="audit-from" name="from" type="date" value=view.from.clone() prop:value=view.from />
            </div>
            <div class="filter">
                <label for="audit-to">"To"</label>
                <input id="audit-to" name="to" type="date" value=view.to.clone() prop:value=view.to />
            </div>
            <button type="submit" class="button primary">"Filter"</button>
            {filtered.then(|| view! { <A href=PAGE attr:class="button">"Clear filters"</A> })}
        </Form>
    }
}

#[component]
fn AuditLogTable(view: AuditView, loaded: Loaded) -> impl IntoView {
    if loaded.entries.is_empty() {
        let words = if view.is_filtered() { "No entry matches these filters." } else { "Nothing recorded yet." };
        return view! { <p class="empty">{words}</p> }.into_any();
    }
    let newer = loaded.newer.map(|c| view.newer(c).href());
    let older = loaded.older.map(|c| view.older(c).href());
    view! {
        <table class="data-table">
            <caption class="visually-hidden">"Audit log"</caption>
            <thead>
                <tr>
                    <th scope="col">"Time"</th>
                    <th scope="col">"Admin"</th>
                    <th scope="col">"Action"</th>
                    <th scope="col">"Key or ACL"</th>
                    <th scope="col">"Details"</th>
                    <th scope="col">"Client address"</th>
                </tr>
            </thead>
            <tbody>{loaded.entries.into_iter().map(|entry| view! { <AuditLogRow entry /> }).collect_view()}</tbody>
        </table>
        {(newer.is_some() || older.is_some()).then(|| view! {
            <nav class="pager" aria-label="Audit log pages">
                <PageLink href=newer label="Newer" />
                <PageLink href=older label="Older" />
            </nav>
        })}
    }
    .into_any()
}

/// A link to the next page that way, or the same words marked as not a link.
#[component]
fn PageLink(href: Option<String>, label: &'static str) -> impl IntoView {
    match href {
        Some(href) => view! { <A href=href attr:class="button small">{label}</A> }.into_any(),
        None => view! { <span class="button small" aria-disabled="true">{label}</span> }.into_any(),
    }
}

#[component]
fn AuditLogRow(entry: AuditRow) -> impl IntoView {
    view! {
        <tr>
            <td class="nowrap">{utc_second(entry.at)}</td>
            <td>{entry.admin}</td>
            <th scope="row">{entry.action}</th>
            <td>{entry.subject.unwrap_or_default()}</td>
            <td>{entry.detail.unwrap_or_default()}</td>
            <td><code>{entry.client_ip}</code></td>
        </tr>
    }
}
