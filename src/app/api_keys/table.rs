//! The API keys table: one row per key with its status, the eye button,
//! Roll, Edit, Disable or Enable, and Delete; sortable columns and paging.

use super::view::KeysView;
use crate::app::form::LoadError;
use crate::app::format::utc_minute;
use crate::domain::permissions::Access;
use crate::domain::rate_limit::RateLimit;
use crate::rpc::ConsoleError;
use crate::rpc::api_keys::{
    ApiKeySummary, ApiKeysPage, KeyStatus, SetApiKeyEnabled, SortColumn, SortDirection, reveal_api_key,
};
use leptos::prelude::*;
use leptos_router::components::A;

#[component]
pub fn ApiKeysTable(
    keys: Resource<Result<ApiKeysPage, ConsoleError>>,
    view: Memo<KeysView>,
    refresh: RwSignal<u32>,
    editing: RwSignal<Option<ApiKeySummary>>,
    rolling: RwSignal<Option<ApiKeySummary>>,
    deleting: RwSignal<Option<ApiKeySummary>>,
    switch: ServerAction<SetApiKeyEnabled>,
    status: RwSignal<Option<String>>,
    /// The pointer or focus reached a row's Roll or Edit button: a click may follow.
    on_intent: Callback<()>,
) -> impl IntoView {
    let row = RowContext {
        refresh,
        editing,
        rolling,
        deleting,
        switch,
        switching: StoredValue::new(None),
        focus_switch: RwSignal::new(None),
    };
    announce_switches(row, status);
    view! {
        // One listener for every row: which button the pointer or focus reached.
        <section
            class="panel"
            aria-busy=move || keys.get().is_none().to_string()
            on:pointerover=move |ev| intent_on_opener(ev.target(), on_intent)
            on:focusin=move |ev| intent_on_opener(ev.target(), on_intent)
        >
            <Transition fallback=|| view! { <p class="empty">"Loading API keys…"</p> }>
                {move || Suspend::new(async move {
                    match keys.await {
                        Ok(loaded) if !loaded.has_keys => {
                            view! {
                                <p class="empty">"No API keys yet. Use Add API Key to create the first one."</p>
                            }
                                .into_any()
                        }
                        Ok(loaded) if loaded.keys.is_empty() => {
                            view! {
                                <p class="empty">
                                    "No API keys match this search or filter. "
                                    <A href=super::view::PAGE>"Show all keys"</A>
                                </p>
                            }
                                .into_any()
                        }
                        Ok(loaded) => {
                            view! {
                                <table class="data-table">
                                    <caption class="visually-hidden">"API keys"</caption>
                                    <thead>
                                        <tr>
                                            <SortHeader column=SortColumn::Name label="Name" view />
                                            <th scope="col">"IP ACL"</th>
                                            <th scope="col">"Permissions"</th>
                                            <th scope="col">"API Key"</th>
                                            <th scope="col">"Status"</th>
                                            <SortHeader column=SortColumn::Created label="Created" view />
                                            <SortHeader column=SortColumn::LastUsed label="Last used" view />
                                            <th scope="col">
                                                <span class="visually-hidden">"Actions"</span>
                                            </th>
                                        </tr>
                                    </thead>
                                    <tbody>
                                        {loaded.keys.into_iter().map(|key| view! { <ApiKeyRow key row /> }).collect_view()}
                                    </tbody>
                                </table>
                                <nav class="pager" aria-label="API keys pages">
                                    <PageLink label="Previous" to=loaded.previous.map(|c| view.get_untracked().at(c)) />
                                    <PageLink label="Next" to=loaded.next.map(|c| view.get_untracked().at(c)) />
                                </nav>
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

/// A column header that sorts by its column; `aria-sort` says how the table is sorted.
#[component]
fn SortHeader(column: SortColumn, label: &'static str, view: Memo<KeysView>) -> impl IntoView {
    let sorted = move || view.with(|v| (v.sort == column).then_some(v.dir));
    view! {
        <th
            scope="col"
            aria-sort=move || sorted().map(|dir| if dir == SortDirection::Asc { "ascending" } else { "descending" })
        >
            <A href=move || view.with(|v| v.sorted_by(column).href()) attr:class="sort">
                {label}
                <span class="sort-arrow" aria-hidden="true">
                    {move || match sorted() {
                        Some(SortDirection::Asc) => "▲",
                        Some(SortDirection::Desc) => "▼",
                        None => "",
                    }}
                </span>
            </A>
        </th>
    }
}

/// Previous or Next: a link to that page of the same view, or nothing to follow.
#[component]
fn PageLink(label: &'static str, to: Option<KeysView>) -> impl IntoView {
    match to {
        Some(view) => view! { <A href=view.href() attr:class="button small">{label}</A> }.into_any(),
        None => view! { <span class="button small" aria-disabled="true">{label}</span> }.into_any(),
    }
}

/// Runs `on_intent` when `target` is a row's Roll or Edit button.
fn intent_on_opener(target: Option<leptos::web_sys::EventTarget>, on_intent: Callback<()>) {
    #[cfg(feature = "hydrate")]
    {
        use wasm_bindgen::JsCast;
        if let Some(button) = target.and_then(|t| t.dyn_into::<leptos::web_sys::Element>().ok())
            && button.matches("td.actions button[data-opens-dialog]").unwrap_or(false)
        {
            on_intent.run(());
        }
    }
    #[cfg(not(feature = "hydrate"))]
    let _ = (target, on_intent);
}

/// What every row needs from the page.
#[derive(Clone, Copy)]
struct RowContext {
    refresh: RwSignal<u32>,
    editing: RwSignal<Option<ApiKeySummary>>,
    rolling: RwSignal<Option<ApiKeySummary>>,
    deleting: RwSignal<Option<ApiKeySummary>>,
    switch: ServerAction<SetApiKeyEnabled>,
    /// The key being switched (id, name, to enabled), kept for the announcement.
    switching: StoredValue<Option<(i32, String, bool)>>,
    /// The key whose Disable/Enable button takes focus once its row is drawn again.
    focus_switch: RwSignal<Option<i32>>,
}

/// Disable and Enable say what they did in the page's status line, and the
/// button keeps focus (as its other self) when the table is drawn again.
fn announce_switches(row: RowContext, status: RwSignal<Option<String>>) {
    Effect::new(move |_| {
        let Some(result) = row.switch.value().get() else { return };
        let Some((id, name, enabled)) = row.switching.get_value() else { return };
        let did = if enabled { "Enabled" } else { "Disabled" };
        match result {
            Ok(()) => {
                status.set(Some(format!("{did} the API key \u{201c}{name}\u{201d}.")));
                row.focus_switch.set(Some(id));
            }
            Err(err) => {
                let doing = if enabled { "enable" } else { "disable" };
                status.set(Some(format!("Could not {doing} the API key \u{201c}{name}\u{201d}: {err}")));
                if matches!(err, ConsoleError::NotFound(_)) {
                    row.refresh.update(|n| *n += 1);
                }
            }
        }
    });
}

#[component]
fn ApiKeyRow(key: ApiKeySummary, row: RowContext) -> impl IntoView {
    let revealed = RwSignal::new(None::<String>);
    // A click while the token is on its way does nothing (no second reveal).
    let fetching = RwSignal::new(false);
    let problem = RwSignal::new(None::<String>);
    let id = key.id;
    let name_id = format!("api-key-{id}-name");
    let token_id = format!("api-key-{id}-token");
    let switch_id = format!("api-key-{id}-switch");
    let masked = key.masked_token.clone();
    let refresh = row.refresh;
    // Asks the server for the token; asked again after Confirm access if the server wanted that first.
    let confirm = crate::app::confirm::use_confirm();
    let again = StoredValue::new(None::<Callback<()>>);
    let fetch = Callback::new(move |_| {
        fetching.set(true);
        leptos::task::spawn_local(async move {
            let answer = reveal_api_key(id).await;
            fetching.try_set(false);
            match answer {
                Ok(token) => {
                    revealed.try_set(Some(token));
                }
                Err(ConsoleError::ConfirmAccess) => {
                    if let Some(again) = again.try_get_value().flatten() {
                        confirm.ask(again);
                    }
                }
                Err(err) => {
                    problem.try_set(Some(err.to_string()));
                    if matches!(err, ConsoleError::NotFound(_)) {
                        refresh.update(|n| *n += 1);
                    }
                }
            }
        });
    });
    again.set_value(Some(fetch));
    let toggle = move |_| {
        if fetching.get_untracked() {
            return;
        }
        problem.set(None);
        if revealed.get_untracked().is_some() {
            revealed.set(None);
            return;
        }
        fetch.run(());
    };
    let shown = move || revealed.with(Option::is_some);
    let disabled = key.status == KeyStatus::Disabled;
    let switch_button = NodeRef::<leptos::html::Button>::new();
    Effect::new(move |_| {
        if row.focus_switch.get() == Some(id)
            && let Some(button) = switch_button.get()
        {
            let _ = button.focus();
            row.focus_switch.set(None);
        }
    });
    let (for_roll, for_edit, for_delete) = (key.clone(), key.clone(), key.clone());
    let name_for_switch = key.name.clone();
    let old_token = key.old_token_until.map(|until| format!("Old token stops working {}", utc_minute(until)));
    // A Viewer reads the table; the buttons that change keys or show tokens are not there.
    let manages = crate::app::me::manages_keys();

    view! {
        <tr>
            <th scope="row" id=name_id.clone()>
                <A href=format!("{}/{id}", super::view::PAGE)>{key.name}</A>
            </th>
            <td>{key.ip_acl_name}</td>
            <td>
                <KeyRules access=key.access rate_limit=key.rate_limit />
            </td>
            <td>
                <div class="token-cell">
                    <code id=token_id.clone() class="token" class:revealed=shown>
                        {move || revealed.get().unwrap_or_else(|| masked.clone())}
                    </code>
                    {manages.then(|| view! {
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
                    })}
                </div>
                {old_token.map(|text| view! { <p class="note">{text}</p> })}
                <Show when=move || problem.with(Option::is_some)>
                    <p class="field-error" role="alert">
                        {move || problem.get()}
                    </p>
                </Show>
            </td>
            <td>
                <StatusText status=key.status expires_at=key.expires_at />
            </td>
            <td>{utc_minute(key.created_at)}</td>
            <td>
                {match key.last_used {
                    Some(used) => match used.ip {
                        Some(ip) => format!("{} from {ip}", utc_minute(used.at)),
                        None => utc_minute(used.at),
                    },
                    None => "Never".to_owned(),
                }}
            </td>
            <td class="actions">
                {manages.then(|| view! {
                <button
                    type="button"
                    class="button small"
                    aria-describedby=name_id.clone()
                    data-opens-dialog=""
                    on:click=move |_| row.rolling.set(Some(for_roll.clone()))
                >
                    "Roll"
                </button>
                <button
                    type="button"
                    class="button small"
                    aria-describedby=name_id.clone()
                    data-opens-dialog=""
                    on:click=move |_| row.editing.set(Some(for_edit.clone()))
                >
                    "Edit"
                </button>
                <button
                    type="button"
                    id=switch_id
                    class="button small"
                    aria-describedby=name_id.clone()
                    node_ref=switch_button
                    on:click=move |_| {
                        if !row.switch.pending().get_untracked() {
                            row.switching.set_value(Some((id, name_for_switch.clone(), disabled)));
                            row.switch.dispatch(SetApiKeyEnabled { id, enabled: disabled });
                        }
                    }
                >
                    {if disabled { "Enable" } else { "Disable" }}
                </button>
                <button
                    type="button"
                    class="button small danger-outline"
                    aria-describedby=name_id
                    on:click=move |_| row.deleting.set(Some(for_delete.clone()))
                >
                    "Delete"
                </button>
                })}
            </td>
        </tr>
    }
}

/// "Full access" or "Restricted" (the permissions in words on hover and for
/// screen readers), and the rate limit in words when there is one.
#[component]
pub fn KeyRules(access: Access, rate_limit: Option<RateLimit>) -> impl IntoView {
    let access = match access {
        Access::Full => view! { <span>"Full access"</span> }.into_any(),
        Access::Restricted(scopes) => {
            let words = scopes.words();
            view! {
                <span class="restricted" title=words.clone()>"Restricted"</span>
                <span class="visually-hidden">{format!(": {words}")}</span>
            }
            .into_any()
        }
    };
    view! {
        {access}
        {rate_limit.map(|limit| view! { <span class="note">{limit.to_string()}</span> })}
    }
}

/// "Active", "Disabled", "Expired", or "Expires in N days", and when.
#[component]
pub fn StatusText(status: KeyStatus, expires_at: Option<i64>) -> impl IntoView {
    let class = match status {
        KeyStatus::Active => "status active",
        KeyStatus::ExpiresSoon { .. } => "status soon",
        KeyStatus::Disabled => "status disabled",
        KeyStatus::Expired => "status expired",
    };
    let text = status.words();
    let until = match status {
        KeyStatus::Active | KeyStatus::ExpiresSoon { .. } => expires_at.map(|at| format!("until {}", utc_minute(at))),
        KeyStatus::Expired => expires_at.map(|at| format!("since {}", utc_minute(at))),
        KeyStatus::Disabled => None,
    };
    view! {
        <span class=class>{text}</span>
        {until.map(|until| view! { <span class="note">{until}</span> })}
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
