//! Add API Key: the form, then the new token with its Copy button.

use super::key_form::{ApiKeyForm, FormText, KeyFormInput};
use crate::app::dialog::{DialogCode, Modal, lazy_body};
use crate::app::form::last_error;
use crate::app::shown_once::{ShownOnce, token_intro};
use crate::app::split::NotLoaded;
use crate::domain::permissions::Access;
use crate::rpc::api_keys::{CreateApiKey, CreatedApiKey, IpAclChoice};
use leptos::prelude::*;

#[component]
pub fn AddApiKeyDialog(
    open: RwSignal<bool>,
    action: ServerAction<CreateApiKey>,
    ip_acls: Signal<Vec<IpAclChoice>>,
    /// Fetch the content's code now: a button that opens a dialog is about to be clicked.
    #[prop(optional, into)]
    prefetch: Signal<bool>,
) -> impl IntoView {
    // Only a success switches views, so a refused name leaves the typed text in place.
    let created = Memo::new(move |_| action.value().with(|v| v.as_ref().and_then(|r| r.as_ref().ok()).cloned()));
    let close = Callback::new(move |_| {
        open.set(false);
        // The token leaves the page's memory with the dialog; the next opening starts blank.
        action.value().set(None);
    });

    let code = DialogCode::fetch_when_wanted(open.into(), prefetch, preload_add_api_key_body);

    view! {
        <Modal open on_close=close labelled_by=FormText::ADD.title_id>
            {move || {
                lazy_body(code, FormText::ADD.title_id, FormText::ADD.title, close, move || {
                    add_api_key_body(action, created, ip_acls, close)
                })
            }}
        </Modal>
    }
}

/// The form, then the new token: fetched at the first opening (see [`lazy_body`]).
#[leptos::wasm_split::wasm_split(
    add_api_key_dialog,
    wasm_split_path = ::leptos::wasm_split,
    preload(preload_add_api_key_body),
    fallible
)]
fn add_api_key_body(
    action: ServerAction<CreateApiKey>,
    created: Memo<Option<CreatedApiKey>>,
    ip_acls: Signal<Vec<IpAclChoice>>,
    close: Callback<()>,
) -> Result<AnyView, NotLoaded> {
    Ok((move || match created.get() {
        Some(created) => view! {
            <ShownOnce
                title_id=FormText::ADD.title_id
                title="API key was created successfully"
                intro=token_intro(&created.name)
                label="API key"
                token=created.token
                on_close=close
            />
        }
        .into_any(),
        None => {
            let submit = Callback::new(move |input: KeyFormInput| {
                let (expires, expiry_date) = input.expiry.unzip();
                action.dispatch(CreateApiKey {
                    name: input.name,
                    ip_acl_id: input.ip_acl_id,
                    expires,
                    expiry_date,
                    permissions: Some(input.permissions),
                    rate_limit: Some(input.rate_limit),
                    rate_per: Some(input.rate_per),
                });
            });
            view! {
                <ApiKeyForm
                    text=FormText::ADD
                    initial_name=String::new()
                    initial_acl=None
                    initial_expiry=None
                    initial_access=Access::Full
                    initial_limit=None
                    ip_acls
                    error=last_error(action.value())
                    pending=action.pending()
                    on_submit=submit
                    on_cancel=close
                />
            }
            .into_any()
        }
    })
    .into_any())
}
