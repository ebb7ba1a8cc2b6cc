//! Above the table: Search keys and the Status filter. Both change the URL,
//! so the view survives a reload and Back returns to the previous one.
//! **Download CSV** takes every key the two select.

use super::view::{KeysView, PAGE};
use crate::rpc::api_keys::StatusFilter;
use leptos::html;
use leptos::prelude::*;
use leptos_router::NavigateOptions;
use leptos_router::hooks::use_navigate;

#[component]
pub fn KeysToolbar(view: Memo<KeysView>) -> impl IntoView {
    let navigate = use_navigate();
    let go = move |next: KeysView| navigate(&next.href(), NavigateOptions::default());
    let search = NodeRef::<html::Input>::new();
    let search_go = go.clone();
    let on_search = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        let q = search.get_untracked().map(|input| input.value()).unwrap_or_default();
        search_go(KeysView { q: q.trim().to_owned(), ..view.get_untracked().first_page() });
    };
    let on_status = move |ev: leptos::ev::Event| {
        let status = StatusFilter::from_code(&event_target_value(&ev)).unwrap_or_default();
        go(KeysView { status, ..view.get_untracked().first_page() });
    };
    view! {
        <div class="table-toolbar">
            // Without the browser code yet, the form still searches: a plain GET of the page.
            <form class="search" role="search" action=PAGE method="get" on:submit=on_search>
                <label for="search-keys">"Search keys"</label>
                <input
                    id="search-keys"
                    name="q"
                    type="search"
                    maxlength="200"
                    autocomplete="off"
                    node_ref=search
                    prop:value=move || view.with(|v| v.q.clone())
                />
            </form>
            <div class="filter">
                <label for="status-filter">"Status"</label>
                <select id="status-filter" name="status" on:change=on_status>
                    {StatusFilter::ALL
                        .into_iter()
                        .map(|status| {
                            view! {
                                <option value=status.code() selected=move || view.with(|v| v.status == status)>
                                    {status.label()}
                                </option>
                            }
                        })
                        .collect_view()}
                </select>
            </div>
            // A plain download, not a route: the router leaves `download` links to the browser.
            <a class="button secondary download" href=move || view.with(KeysView::download_href) download="api-keys.csv" rel="external">
                "Download CSV"
            </a>
        </div>
    }
}
