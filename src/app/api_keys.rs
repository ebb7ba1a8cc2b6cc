//! Settings > API Keys: the table of keys and the dialogs that change them.

mod add_dialog;
mod delete_dialog;
mod edit_dialog;
mod key_form;
mod table;

use crate::api::api_keys::{ApiKeySummary, CreateApiKey, DeleteApiKey, IpAclChoice, UpdateApiKey, list_api_keys};
use crate::app::layout::PageHeader;
use leptos::prelude::*;

/// The page. It owns the actions, so the table refreshes itself after every
/// add, edit and delete (the resource is keyed on their versions).
#[component]
pub fn ApiKeysPage() -> impl IntoView {
    let create = ServerAction::<CreateApiKey>::new();
    let update = ServerAction::<UpdateApiKey>::new();
    let delete = ServerAction::<DeleteApiKey>::new();
    let page = RwSignal::new(0u64);
    // Bumped when a row finds its key gone (deleted in another tab).
    let refresh = RwSignal::new(0u32);
    let keys = Resource::new(
        move || (create.version().get(), update.version().get(), delete.version().get(), refresh.get(), page.get()),
        |(.., page)| list_api_keys(page),
    );
    let ip_acls: Signal<Vec<IpAclChoice>> =
        Signal::derive(move || keys.get().and_then(Result::ok).map(|loaded| loaded.ip_acls).unwrap_or_default());

    let adding = RwSignal::new(false);
    let editing = RwSignal::new(None::<ApiKeySummary>);
    let deleting = RwSignal::new(None::<ApiKeySummary>);
    // Says what the last delete removed, until the admin adds or edits.
    let status = RwSignal::new(None::<String>);
    Effect::new(move |_| {
        if adding.get() || editing.with(Option::is_some) {
            status.set(None);
        }
    });
    // A new key is the newest: show the first page, where it is.
    Effect::new(move |_| {
        if create.version().get() > 0 {
            page.set(0);
        }
    });

    view! {
        <PageHeader title="API Keys" action="Add API Key" on_action=Callback::new(move |_| adding.set(true)) />
        <p class="page-status" role="status">
            {move || status.get()}
        </p>
        <table::ApiKeysTable keys page refresh editing deleting />
        <add_dialog::AddApiKeyDialog open=adding action=create ip_acls />
        <edit_dialog::EditApiKeyDialog editing action=update ip_acls />
        <delete_dialog::DeleteApiKeyDialog deleting action=delete status />
    }
}
