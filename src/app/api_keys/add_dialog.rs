//! Add API Key: the form, then the new token with its Copy button.

use super::key_form::{ApiKeyForm, FormText};
use crate::api::api_keys::{CreateApiKey, CreatedApiKey, IpAclChoice};
use crate::app::dialog::Modal;
use crate::app::form::last_error;
use leptos::html;
use leptos::prelude::*;

#[component]
pub fn AddApiKeyDialog(
    open: RwSignal<bool>,
    action: ServerAction<CreateApiKey>,
    ip_acls: Signal<Vec<IpAclChoice>>,
) -> impl IntoView {
    // Only a success switches views, so a refused name leaves the typed text in place.
    let created = Memo::new(move |_| action.value().with(|v| v.as_ref().and_then(|r| r.as_ref().ok()).cloned()));
    let close = Callback::new(move |_| {
        open.set(false);
        // The token leaves the page's memory with the dialog; the next opening starts blank.
        action.value().set(None);
    });

    view! {
        <Modal open on_close=close labelled_by="add-api-key-title">
            {move || match created.get() {
                Some(created) => view! { <ApiKeyCreated created on_close=close /> }.into_any(),
                None => {
                    let submit = Callback::new(move |(name, ip_acl_id): (String, i32)| {
                        action.dispatch(CreateApiKey { name, ip_acl_id });
                    });
                    view! {
                        <ApiKeyForm
                            text=FormText {
                                title_id: "add-api-key-title",
                                title: "Add API Key",
                                name_id: "add-api-key-name",
                                name_label: "API Key Name",
                                acl_id: "add-api-key-acl",
                                submit: "Add",
                            }
                            initial_name=String::new()
                            initial_acl=None
                            ip_acls
                            error=last_error(action.value())
                            pending=action.pending()
                            on_submit=submit
                            on_cancel=close
                        />
                    }
                        .into_any()
                }
            }}
        </Modal>
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[cfg_attr(not(feature = "hydrate"), allow(dead_code))]
enum CopyState {
    Idle,
    Copied,
    Failed,
}

/// The token, shown this once in full, with a Copy button.
#[component]
fn ApiKeyCreated(created: CreatedApiKey, on_close: Callback<()>) -> impl IntoView {
    let state = RwSignal::new(CopyState::Idle);
    let copy_button = NodeRef::<html::Button>::new();
    let token_input = NodeRef::<html::Input>::new();
    // The form that had focus is gone: put focus where the admin acts next.
    Effect::new(move |_| {
        if let Some(button) = copy_button.get() {
            let _ = button.focus();
        }
    });
    let token = StoredValue::new(created.token.clone());

    view! {
        <div class="dialog-body">
            <div class="dialog-title-row">
                <h2 id="add-api-key-title">"API key was created successfully"</h2>
                <button
                    type="button"
                    class="icon-button"
                    aria-label="Close"
                    on:click=move |_| on_close.run(())
                >
                    <svg viewBox="0 0 24 24" width="20" height="20" aria-hidden="true" focusable="false">
                        <path d="M6 6l12 12M18 6L6 18" stroke="currentColor" stroke-width="2" fill="none" />
                    </svg>
                </button>
            </div>
            <p>
                "Copy the token of " <strong>{created.name}</strong>
                " now and keep it somewhere safe: anyone who has it can call the TextPeak API as this key."
            </p>
            <div class="field">
                <label for="created-api-key-token">"API key"</label>
                <div class="token-copy">
                    <input
                        id="created-api-key-token"
                        class="token"
                        readonly=true
                        spellcheck="false"
                        value=created.token
                        node_ref=token_input
                        on:focus=move |_| {
                            if let Some(input) = token_input.get_untracked() {
                                input.select();
                            }
                        }
                    />
                    <button
                        type="button"
                        class="button primary"
                        node_ref=copy_button
                        on:click=move |_| copy_to_clipboard(token.get_value(), state)
                    >
                        {move || if state.get() == CopyState::Copied { "Copied" } else { "Copy" }}
                    </button>
                </div>
            </div>
            <p class="copy-status" role="status">
                {move || match state.get() {
                    CopyState::Idle => "",
                    CopyState::Copied => "The API key is on the clipboard.",
                    CopyState::Failed => "The browser refused the clipboard: select the key and copy it with Ctrl+C.",
                }}
            </p>
        </div>
    }
}

fn copy_to_clipboard(text: String, state: RwSignal<CopyState>) {
    #[cfg(feature = "hydrate")]
    leptos::task::spawn_local(async move {
        let promise = window().navigator().clipboard().write_text(&text);
        let copied = wasm_bindgen_futures::JsFuture::from(promise).await.is_ok();
        state.try_set(if copied { CopyState::Copied } else { CopyState::Failed });
        if copied {
            set_timeout(
                move || {
                    if state.try_get_untracked() == Some(CopyState::Copied) {
                        state.try_set(CopyState::Idle);
                    }
                },
                std::time::Duration::from_secs(2),
            );
        }
    });
    #[cfg(not(feature = "hydrate"))]
    let _ = (text, state);
}
