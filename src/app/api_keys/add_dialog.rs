//! Add API Key: the form, then the new token with its Copy button.

use super::ip_acl_select::{IpAclSelect, chosen};
use crate::api::Field;
use crate::api::api_keys::{CreateApiKey, CreatedApiKey, IpAclChoice};
use crate::app::dialog::Modal;
use crate::app::form::{FormFooter, TextField, field_error, general_error, last_error};
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
                None => view! { <AddApiKeyForm action ip_acls on_cancel=close /> }.into_any(),
            }}
        </Modal>
    }
}

#[component]
fn AddApiKeyForm(
    action: ServerAction<CreateApiKey>,
    ip_acls: Signal<Vec<IpAclChoice>>,
    on_cancel: Callback<()>,
) -> impl IntoView {
    let name = NodeRef::<html::Input>::new();
    let acl = NodeRef::<html::Select>::new();
    let result = last_error(action.value());
    let submit = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        if action.pending().get_untracked() {
            return;
        }
        let name = name.get_untracked().map(|input| input.value()).unwrap_or_default();
        action.dispatch(CreateApiKey { name, ip_acl_id: chosen(acl) });
    };

    view! {
        <form class="dialog-body" on:submit=submit>
            <h2 id="add-api-key-title">"Add API Key"</h2>
            <TextField
                id="add-api-key-name"
                label="API Key Name"
                initial=""
                node_ref=name
                error=field_error(result, Field::Name)
                autofocus=true
            />
            <IpAclSelect
                id="add-api-key-acl"
                choices=ip_acls
                selected=None
                node_ref=acl
                error=field_error(result, Field::IpAcl)
            />
            <FormFooter error=general_error(result) submit_label="Add" on_cancel />
        </form>
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
