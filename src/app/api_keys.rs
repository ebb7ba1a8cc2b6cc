//! Settings > API Keys: the table of keys, its search, filter and sort (kept
//! in the URL), and the dialogs that change keys.

mod add_dialog;
pub mod chart;
mod delete_dialog;
mod edit_dialog;
mod key_form;
mod key_page;
mod key_rules;
mod lock_dialog;
mod restrict_dialog;
mod roll_dialog;
mod table;
mod toolbar;
pub mod view;

use crate::app::layout::PageHeader;
use crate::rpc::api_keys::{
    ApiKeySummary, CreateApiKey, DeleteApiKey, IpAclChoice, RollApiKey, SetApiKeyEnabled, UpdateApiKey, list_api_keys,
};
use leptos::prelude::*;
use leptos_router::NavigateOptions;
use leptos_router::hooks::{use_navigate, use_query_map};
use view::KeysView;

pub use key_page::KeyPage;

/// The page. It owns the actions, so the table refreshes itself after every
/// change (the resource is keyed on their versions and on the URL's view).
#[component]
pub fn ApiKeysPage() -> impl IntoView {
    crate::app::mark_hydrated();
    let create = ServerAction::<CreateApiKey>::new();
    let update = ServerAction::<UpdateApiKey>::new();
    let delete = ServerAction::<DeleteApiKey>::new();
    let roll = ServerAction::<RollApiKey>::new();
    let switch = ServerAction::<SetApiKeyEnabled>::new();
    crate::app::confirm::retry_when_confirmed(roll);
    crate::app::confirm::retry_when_confirmed(delete);
    let query = use_query_map();
    let view = Memo::new(move |_| query.with(KeysView::from_query));
    // Bumped when a row finds its key gone (deleted in another tab).
    let refresh = RwSignal::new(0u32);
    let versions = move || {
        (
            create.version().get(),
            update.version().get(),
            delete.version().get(),
            roll.version().get(),
            switch.version().get(),
        )
    };
    let keys = Resource::new(
        move || (view.get(), versions(), refresh.get()),
        |(view, ..)| {
            let (after, before) = match view.cursor {
                Some(crate::rpc::api_keys::PageCursor::After(id)) => (Some(id), None),
                Some(crate::rpc::api_keys::PageCursor::Before(id)) => (None, Some(id)),
                None => (None, None),
            };
            list_api_keys(Some(view.q), Some(view.status), Some(view.sort), Some(view.dir), after, before)
        },
    );
    let ip_acls: Signal<Vec<IpAclChoice>> =
        Signal::derive(move || keys.get().and_then(Result::ok).map(|loaded| loaded.ip_acls).unwrap_or_default());

    // The pointer or focus reached a button that opens a dialog: fetch the dialogs' code.
    let dialogs_wanted = RwSignal::new(false);
    let want_dialogs = Callback::new(move |_| {
        if !dialogs_wanted.get_untracked() {
            dialogs_wanted.set(true);
        }
    });
    let adding = RwSignal::new(false);
    let editing = RwSignal::new(None::<ApiKeySummary>);
    let rolling = RwSignal::new(None::<ApiKeySummary>);
    let deleting = RwSignal::new(None::<ApiKeySummary>);
    // Says what the last delete, disable or enable did, until the admin opens a dialog.
    let status = RwSignal::new(None::<String>);
    Effect::new(move |_| {
        if adding.get() || editing.with(Option::is_some) || rolling.with(Option::is_some) {
            status.set(None);
        }
    });
    // A new key is the newest: show the first page of the view, where it is.
    let navigate = use_navigate();
    Effect::new(move |_| {
        if create.version().get() > 0 && view.with_untracked(|v| v.cursor.is_some()) {
            navigate(&view.get_untracked().first_page().href(), NavigateOptions::default());
        }
    });

    view! {
        <PageHeader
            title="API Keys"
            action="Add API Key"
            show_action=crate::app::me::manages_keys()
            on_action=Callback::new(move |_| adding.set(true))
            on_intent=want_dialogs
        />
        <p class="page-status" role="status">
            {move || status.get()}
        </p>
        <toolbar::KeysToolbar view />
        <table::ApiKeysTable keys view refresh editing rolling deleting switch status on_intent=want_dialogs />
        <add_dialog::AddApiKeyDialog open=adding action=create ip_acls prefetch=dialogs_wanted />
        <edit_dialog::EditApiKeyDialog editing action=update ip_acls prefetch=dialogs_wanted />
        <roll_dialog::RollApiKeyDialog rolling action=roll prefetch=dialogs_wanted />
        <delete_dialog::DeleteApiKeyDialog deleting action=delete status />
    }
}
