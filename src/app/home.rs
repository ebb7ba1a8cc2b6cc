//! The Overview: where to go next, and the keys that need attention.

use crate::app::api_keys::view::KeysView;
use crate::app::form::LoadError;
use crate::app::format::utc_minute;
use crate::rpc::api_keys::{AttentionItem, keys_needing_attention};
use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::components::A;

#[component]
pub fn HomePage() -> impl IntoView {
    let attention = Resource::new(|| (), |_| keys_needing_attention());
    view! {
        <Title text="Overview" />
        <header class="page-header">
            <h1>"TextPeak Console"</h1>
        </header>
        <section class="panel">
            <p>
                "Your software calls the TextPeak API with an API key. Manage your keys under "
                <a href="/settings/api-keys">"Settings › API Keys"</a> "."
            </p>
        </section>
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
