//! The Overview: the account's requests over 30 days, its keys by status,
//! the busiest keys, the latest changes, and the keys that need attention.

use crate::app::api_keys::chart::RequestsChart;
use crate::app::api_keys::view::KeysView;
use crate::app::form::LoadError;
use crate::app::format::{utc_minute, utc_second};
use crate::rpc::api_keys::{AttentionItem, StatusFilter, keys_needing_attention};
use crate::rpc::audit::AuditRow;
use crate::rpc::overview::{BusyKey, KeyCounts, overview};
use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::components::A;

#[component]
pub fn HomePage() -> impl IntoView {
    let attention = Resource::new(|| (), |_| keys_needing_attention());
    let figures = Resource::new(|| (), |_| overview());
    view! {
        <Title text="Overview" />
        <header class="page-header">
            <h1>"TextPeak Console"</h1>
        </header>
        <Transition fallback=|| view! { <p class="empty">"Adding up your requests…"</p> }>
            {move || Suspend::new(async move {
                match figures.await {
                    Ok(figures) => view! {
                        <section class="panel" aria-labelledby="requests-title">
                            <h2 id="requests-title">"Requests"</h2>
                            <RequestsChart days=figures.days />
                        </section>
                        <div class="overview-grid">
                            <KeyCountsPanel counts=figures.counts />
                            <BusiestKeys keys=figures.busiest />
                            <RecentActivity entries=figures.recent />
                        </div>
                    }
                    .into_any(),
                    Err(err) => view! { <section class="panel"><LoadError err /></section> }.into_any(),
                }
            })}
        </Transition>
        <section class="panel" aria-labelledby="attention-title">
            <h2 id="attention-title">"Keys that need attention"</h2>
            <Transition fallback=|| view! { <p class="empty">"Looking at your keys…"</p> }>
                {move || Suspend::new(async move {
                    match attention.await {
                        Ok(list) if list.expiring.is_empty() && list.old_tokens.is_empty() && list.unused.is_empty() => {
                            view! { <p class="empty">"Nothing needs attention: no key expires soon, no old token is still in use, and every key was used lately."</p> }
                                .into_any()
                        }
                        Ok(list) => {
                            view! {
                                <AttentionGroup title="Expiring within 14 days" items=list.expiring when=|at| format!("expires {}", utc_minute(at)) />
                                <AttentionGroup title="Old tokens still working after a roll" items=list.old_tokens when=|at| format!("old token stops working {}", utc_minute(at)) />
                                <AttentionGroup
                                    title="Not used in 90 days"
                                    items=list.unused
                                    when=last_used
                                />
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

/// Keys by status; each figure links to the API Keys table filtered by it.
#[component]
fn KeyCountsPanel(counts: KeyCounts) -> impl IntoView {
    let figures = [
        (StatusFilter::Active, counts.active),
        (StatusFilter::Expiring, counts.expiring),
        (StatusFilter::Disabled, counts.disabled),
        (StatusFilter::Expired, counts.expired),
    ];
    view! {
        <section class="panel" aria-labelledby="key-counts-title">
            <h2 id="key-counts-title">"API keys"</h2>
            <ul class="key-counts">
                {figures
                    .into_iter()
                    .map(|(status, count)| {
                        let href = KeysView { status, ..KeysView::default() }.href();
                        view! {
                            <li>
                                <A href=href>
                                    <span class="figure">{count}</span>
                                    " "
                                    <span>{status.label()}</span>
                                </A>
                            </li>
                        }
                    })
                    .collect_view()}
            </ul>
        </section>
    }
}

#[component]
fn BusiestKeys(keys: Vec<BusyKey>) -> impl IntoView {
    view! {
        <section class="panel" aria-labelledby="busiest-title">
            <h2 id="busiest-title">"Busiest keys"</h2>
            <p class="hint">"Most requests in the last 7 days"</p>
            {if keys.is_empty() {
                view! { <p class="empty">"No key was used in the last 7 days."</p> }.into_any()
            } else {
                view! {
                    <ol class="busiest">
                        {keys
                            .into_iter()
                            .map(|key| {
                                let requests = if key.requests == 1 { "1 request".to_owned() } else { format!("{} requests", key.requests) };
                                view! {
                                    <li>
                                        <A href=format!("/settings/api-keys/{}", key.id)>{key.name}</A>
                                        " — "
                                        {requests}
                                    </li>
                                }
                            })
                            .collect_view()}
                    </ol>
                }
                .into_any()
            }}
        </section>
    }
}

#[component]
fn RecentActivity(entries: Vec<AuditRow>) -> impl IntoView {
    view! {
        <section class="panel" aria-labelledby="recent-title">
            <h2 id="recent-title">"Recent activity"</h2>
            {if entries.is_empty() {
                view! { <p class="empty">"Nothing recorded yet."</p> }.into_any()
            } else {
                view! {
                    <ul class="recent">
                        {entries
                            .into_iter()
                            .map(|entry| {
                                view! {
                                    <li>
                                        <strong>{entry.action}</strong>
                                        {entry.subject.map(|s| format!(" {s}"))}
                                        <span class="note">{format!("{} · {}", entry.admin, utc_second(entry.at))}</span>
                                    </li>
                                }
                            })
                            .collect_view()}
                    </ul>
                }
                .into_any()
            }}
            <p><A href="/settings/audit-log">"Open the Audit Log"</A></p>
        </section>
    }
}

/// One kind of attention; each key links to its row (the table searched for it).
#[component]
fn AttentionGroup(title: &'static str, items: Vec<AttentionItem>, when: fn(i64) -> String) -> impl IntoView {
    (!items.is_empty()).then(|| {
        view! {
            <h3>{title}</h3>
            <ul class="attention">
                {items
                    .into_iter()
                    .map(|item| {
                        let href = KeysView { q: item.name.clone(), ..KeysView::default() }.href();
                        view! {
                            <li>
                                <A href=href>{item.name}</A>
                                " — "
                                {when(item.at)}
                            </li>
                        }
                    })
                    .collect_view()}
            </ul>
        }
    })
}

fn last_used(at: i64) -> String {
    if at > 0 { format!("last used {}", utc_minute(at)) } else { "never used".to_owned() }
}
