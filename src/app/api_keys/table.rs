//! The API keys table: one row per key, the eye button, Edit and Delete, and paging.

use crate::api::ConsoleError;
use crate::api::api_keys::{ApiKeySummary, ApiKeysPage, reveal_api_key};
use crate::app::form::LoadError;
use crate::app::layout::RowActions;
use crate::app::pager::{Pager, PagerInfo};
use leptos::prelude::*;

#[component]
pub fn ApiKeysTable(
    keys: Resource<Result<ApiKeysPage, ConsoleError>>,
    page: RwSignal<u64>,
    refresh: RwSignal<u32>,
    editing: RwSignal<Option<ApiKeySummary>>,
    deleting: RwSignal<Option<ApiKeySummary>>,
) -> impl IntoView {
    view! {
        <section class="panel" aria-busy=move || keys.get().is_none().to_string()>
            <Transition fallback=|| view! { <p class="empty">"Loading API keys…"</p> }>
                {move || Suspend::new(async move {
                    match keys.await {
                        Ok(loaded) if loaded.total == 0 => {
                            view! {
                                <p class="empty">"No API keys yet. Use Add API Key to create the first one."</p>
                            }
                                .into_any()
                        }
                        Ok(loaded) => {
                            let info = PagerInfo::new(loaded.total, loaded.page, loaded.page_size, loaded.keys.len());
                            view! {
                                <table class="data-table">
                                    <caption class="visually-hidden">"API keys"</caption>
                                    <thead>
                                        <tr>
                                            <th scope="col">"Name"</th>
                                            <th scope="col">"IP ACL"</th>
                                            <th scope="col">"API Key"</th>
                                            <th scope="col">"Created"</th>
                                            <th scope="col">"Last used"</th>
                                            <th scope="col">
                                                <span class="visually-hidden">"Actions"</span>
                                            </th>
                                        </tr>
                                    </thead>
                                    <tbody>
                                        {loaded
                                            .keys
                                            .into_iter()
                                            .map(|key| view! { <ApiKeyRow key refresh editing deleting /> })
                                            .collect_view()}
                                    </tbody>
                                </table>
                                <Pager info page label="API keys pages" />
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
fn ApiKeyRow(
    key: ApiKeySummary,
    refresh: RwSignal<u32>,
    editing: RwSignal<Option<ApiKeySummary>>,
    deleting: RwSignal<Option<ApiKeySummary>>,
) -> impl IntoView {
    let revealed = RwSignal::new(None::<String>);
    // A click while the token is on its way does nothing (no second reveal).
    let fetching = RwSignal::new(false);
    let problem = RwSignal::new(None::<String>);
    let id = key.id;
    let name_id = format!("api-key-{id}-name");
    let token_id = format!("api-key-{id}-token");
    let masked = key.masked_token.clone();
    let toggle = move |_| {
        if fetching.get_untracked() {
            return;
        }
        problem.set(None);
        if revealed.get_untracked().is_some() {
            revealed.set(None);
            return;
        }
        fetching.set(true);
        leptos::task::spawn_local(async move {
            let answer = reveal_api_key(id).await;
            fetching.try_set(false);
            match answer {
                Ok(token) => {
                    revealed.try_set(Some(token));
                }
                Err(err) => {
                    problem.try_set(Some(err.to_string()));
                    if matches!(err, ConsoleError::NotFound(_)) {
                        refresh.update(|n| *n += 1);
                    }
                }
            }
        });
    };
    let shown = move || revealed.with(Option::is_some);
    let for_edit = key.clone();
    let for_delete = key.clone();

    view! {
        <tr>
            <th scope="row" id=name_id.clone()>
                {key.name}
            </th>
            <td>{key.ip_acl_name}</td>
            <td>
                <div class="token-cell">
                    <code id=token_id.clone() class="token" class:revealed=shown>
                        {move || revealed.get().unwrap_or_else(|| masked.clone())}
                    </code>
                    <button
                        type="button"
                        class="icon-button"
                        aria-label=move || if shown() { "Hide API key contents" } else { "Show API key contents" }
                        aria-controls=token_id
                        aria-describedby=name_id.clone()
                        on:click=toggle
                    >
                        <EyeIcon crossed=Signal::derive(shown) />
                    </button>
                </div>
                <Show when=move || problem.with(Option::is_some)>
                    <p class="field-error" role="alert">
                        {move || problem.get()}
                    </p>
                </Show>
            </td>
            <td>{key.created}</td>
            <td>{key.last_used.unwrap_or_else(|| "Never".to_owned())}</td>
            <RowActions
                name_id
                on_edit=Callback::new(move |_| editing.set(Some(for_edit.clone())))
                on_delete=Callback::new(move |_| deleting.set(Some(for_delete.clone())))
            />
        </tr>
    }
}

/// An eye, struck through while the token is shown (the button then hides it).
#[component]
fn EyeIcon(crossed: Signal<bool>) -> impl IntoView {
    view! {
        <svg viewBox="0 0 24 24" width="20" height="20" aria-hidden="true" focusable="false">
            <path
                d="M1 12s4-7 11-7 11 7 11 7-4 7-11 7S1 12 1 12z"
                fill="none"
                stroke="currentColor"
                stroke-width="2"
            />
            <circle cx="12" cy="12" r="3" fill="none" stroke="currentColor" stroke-width="2" />
            <Show when=move || crossed.get()>
                <path d="M3 3l18 18" stroke="currentColor" stroke-width="2" />
            </Show>
        </svg>
    }
}
