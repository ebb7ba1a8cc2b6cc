//! Delete: a confirmation that names the key.

use crate::api::api_keys::{ApiKeySummary, DeleteApiKey};
use crate::app::dialog::ConfirmDialog;
use crate::app::form::{close_on_deleted, general_error, last_error};
use crate::app::layout::refocus_if_row_gone;
use leptos::prelude::*;

#[component]
pub fn DeleteApiKeyDialog(
    deleting: RwSignal<Option<ApiKeySummary>>,
    action: ServerAction<DeleteApiKey>,
    /// Called with the key's name once it is deleted.
    on_deleted: Callback<String>,
) -> impl IntoView {
    let close = Callback::new(move |_| {
        action.value().with_untracked(refocus_if_row_gone);
        deleting.set(None);
        action.value().set(None);
    });
    let name = close_on_deleted(action.value(), close, on_deleted);
    let confirm = Callback::new(move |_| {
        if let Some(key) = deleting.get_untracked()
            && !action.pending().get_untracked()
        {
            name.set_value(key.name);
            action.dispatch(DeleteApiKey { id: key.id });
        }
    });

    view! {
        <ConfirmDialog
            open=Signal::derive(move || deleting.with(Option::is_some))
            on_close=close
            on_confirm=confirm
            title_id="delete-api-key-title"
            title="Delete API Key"
            error=general_error(last_error(action.value()))
        >
            <p>
                "Delete the API key " <strong>{move || deleting.get().map(|key| key.name)}</strong>
                "? Software that uses its token will be refused at once. This cannot be undone."
            </p>
        </ConfirmDialog>
    }
}
