//! Delete: a confirmation that names the key.

use crate::app::dialog::DeleteRowDialog;
use crate::rpc::api_keys::{ApiKeySummary, DeleteApiKey};
use leptos::prelude::*;

#[component]
pub fn DeleteApiKeyDialog(
    deleting: RwSignal<Option<ApiKeySummary>>,
    action: ServerAction<DeleteApiKey>,
    status: RwSignal<Option<String>>,
) -> impl IntoView {
    view! {
        <DeleteRowDialog
            deleting
            result=action.value()
            pending=action.pending()
            delete=Callback::new(move |key: ApiKeySummary| {
                action.dispatch(DeleteApiKey { id: key.id });
            })
            name_of=|key| key.name.clone()
            title_id="delete-api-key-title"
            title="Delete API Key"
            kind="the API key"
            consequence="Software that uses its token will be refused at once."
            status
        />
    }
}
