//! Delete: a confirmation that names the key; Cancel has the focus first.

use crate::api::api_keys::{ApiKeySummary, DeleteApiKey};
use crate::app::dialog::Modal;
use crate::app::form::{FormError, close_on_success, general_error, last_error};
use leptos::prelude::*;

#[component]
pub fn DeleteApiKeyDialog(
    deleting: RwSignal<Option<ApiKeySummary>>,
    action: ServerAction<DeleteApiKey>,
) -> impl IntoView {
    let close = Callback::new(move |_| {
        deleting.set(None);
        action.value().set(None);
    });
    close_on_success(action.value(), close);
    let open = Signal::derive(move || deleting.with(Option::is_some));

    view! {
        <Modal open on_close=close labelled_by="delete-api-key-title">
            {move || {
                deleting
                    .get()
                    .map(|key| {
                        let id = key.id;
                        view! {
                            <div class="dialog-body">
                                <h2 id="delete-api-key-title">"Delete API Key"</h2>
                                <p>
                                    "Delete the API key " <strong>{key.name}</strong>
                                    "? Software that uses its token will be refused at once. This cannot be undone."
                                </p>
                                <FormError error=general_error(last_error(action.value())) />
                                <div class="dialog-actions">
                                    <button type="button" class="button" on:click=move |_| close.run(())>
                                        "Cancel"
                                    </button>
                                    <button
                                        type="button"
                                        class="button danger"
                                        on:click=move |_| {
                                            if !action.pending().get_untracked() {
                                                action.dispatch(DeleteApiKey { id });
                                            }
                                        }
                                    >
                                        "Confirm"
                                    </button>
                                </div>
                            </div>
                        }
                    })
            }}
        </Modal>
    }
}
