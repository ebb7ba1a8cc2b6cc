//! Edit: rename a key, move it to another IP ACL, or change when it expires.

use super::key_form::{ApiKeyForm, FormText, KeyFormInput};
use crate::app::dialog::{DialogCode, Modal, lazy_body};
use crate::app::form::{close_on_success, last_error};
use crate::app::layout::refocus_if_row_gone;
use crate::app::split::NotLoaded;
use crate::rpc::api_keys::{ApiKeySummary, IpAclChoice, UpdateApiKey};
use leptos::prelude::*;

#[component]
pub fn EditApiKeyDialog(
    editing: RwSignal<Option<ApiKeySummary>>,
    action: ServerAction<UpdateApiKey>,
    ip_acls: Signal<Vec<IpAclChoice>>,
    /// Fetch the content's code now: a button that opens a dialog is about to be clicked.
    #[prop(optional, into)]
    prefetch: Signal<bool>,
) -> impl IntoView {
    let close = Callback::new(move |_| {
        action.value().with_untracked(refocus_if_row_gone);
        editing.set(None);
        action.value().set(None);
    });
    close_on_success(action.value(), close);
    let open = Signal::derive(move || editing.with(Option::is_some));
    let code = DialogCode::fetch_when_wanted(open, prefetch, preload_edit_api_key_body);

    view! {
        <Modal open on_close=close labelled_by=FormText::EDIT.title_id>
            {move || {
                editing.get().map(|key| {
                    lazy_body(code, FormText::EDIT.title_id, FormText::EDIT.title, close, move || {
                        edit_api_key_body(key, action, ip_acls, close)
                    })
                })
            }}
        </Modal>
    }
}

/// The form, filled with the key's values: fetched at the first opening (see [`lazy_body`]).
#[leptos::wasm_split::wasm_split(
    edit_api_key_dialog,
    wasm_split_path = ::leptos::wasm_split,
    preload(preload_edit_api_key_body),
    fallible
)]
fn edit_api_key_body(
    key: ApiKeySummary,
    action: ServerAction<UpdateApiKey>,
    ip_acls: Signal<Vec<IpAclChoice>>,
    close: Callback<()>,
) -> Result<AnyView, NotLoaded> {
    let id = key.id;
    let submit = Callback::new(move |input: KeyFormInput| {
        let (expires, expiry_date) = input.expiry.unzip();
        action.dispatch(UpdateApiKey {
            id,
            name: input.name,
            ip_acl_id: input.ip_acl_id,
            expires,
            expiry_date,
            permissions: Some(input.permissions),
            rate_limit: Some(input.rate_limit),
            rate_per: Some(input.rate_per),
        });
    });
    Ok(view! {
        <ApiKeyForm
            text=FormText::EDIT
            initial_name=key.name
            initial_acl=Some(key.ip_acl_id)
            initial_expiry=key.expires_at
            initial_access=key.access
            initial_limit=key.rate_limit
            ip_acls
            error=last_error(action.value())
            pending=action.pending()
            on_submit=submit
            on_cancel=close
        />
    }
    .into_any())
}
