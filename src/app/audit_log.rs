//! Settings > Audit Log: what the account's admins did, newest first.

use crate::app::form::LoadError;
use crate::app::format::utc_second;
use crate::app::pager::{Pager, PagerInfo};
use crate::rpc::audit::{AuditRow, EXPORT_PATH, list_audit_log};
use leptos::prelude::*;
use leptos_meta::Title;

#[component]
pub fn AuditLogPage() -> impl IntoView {
    let page = RwSignal::new(0u64);
    let entries = Resource::new(move || page.get(), list_audit_log);
    view! {
        <Title text="Audit Log" />
        <header class="page-header">
            <h1>"Audit Log"</h1>
            <a class="button secondary" href=EXPORT_PATH download="audit-log.csv" rel="external">
                "Download CSV"
            </a>
        </header>
        <section class="panel">
            <Transition fallback=|| view! { <p class="empty">"Loading the audit log…"</p> }>
                {move || Suspend::new(async move {
                    match entries.await {
                        Ok(loaded) if loaded.total == 0 => view! { <p class="empty">"Nothing recorded yet."</p> }.into_any(),
                        Ok(loaded) => {
                            let info = PagerInfo::new(loaded.total, loaded.page, loaded.page_size, loaded.entries.len());
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
                                    <tbody>
                                        {loaded.entries.into_iter().map(|entry| view! { <AuditLogRow entry /> }).collect_view()}
                                    </tbody>
                                </table>
                                <Pager info page label="Audit log pages" />
                            }
                                .into_any()
                        }
                        Err(err) => view! { <LoadError err /> }.into_any(),
                    }
                })}
            </Transition>
        </section>
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
