//! Edit: rename a key or move it to another IP ACL.

use super::ip_acl_select::{IpAclSelect, chosen};
use crate::api::Field;
use crate::api::api_keys::{ApiKeySummary, IpAclChoice, UpdateApiKey};
use crate::app::dialog::Modal;
use crate::app::form::{FormFooter, TextField, close_on_success, field_error, general_error, last_error};
use leptos::html;
use leptos::prelude::*;

#[component]
pub fn EditApiKeyDialog(
    editing: RwSignal<Option<ApiKeySummary>>,
    action: ServerAction<UpdateApiKey>,
    ip_acls: Signal<Vec<IpAclChoice>>,
) -> impl IntoView {
    let close = Callback::new(move |_| {
        editing.set(None);
        action.value().set(None);
    });
    close_on_success(action.value(), close);
    let open = Signal::derive(move || editing.with(Option::is_some));

    view! {
        <Modal open on_close=close labelled_by="edit-api-key-title">
            {move || editing.get().map(|key| view! { <EditApiKeyForm key action ip_acls on_cancel=close /> })}
        </Modal>
    }
}

#[component]
fn EditApiKeyForm(
    key: ApiKeySummary,
    action: ServerAction<UpdateApiKey>,
    ip_acls: Signal<Vec<IpAclChoice>>,
    on_cancel: Callback<()>,
) -> impl IntoView {
    let name = NodeRef::<html::Input>::new();
    let acl = NodeRef::<html::Select>::new();
    let result = last_error(action.value());
    let id = key.id;
    let submit = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        if action.pending().get_untracked() {
            return;
        }
        let name = name.get_untracked().map(|input| input.value()).unwrap_or_default();
        action.dispatch(UpdateApiKey { id, name, ip_acl_id: chosen(acl) });
    };

    view! {
        <form class="dialog-body" on:submit=submit>
            <h2 id="edit-api-key-title">"Edit API Key"</h2>
            <TextField
                id="edit-api-key-name"
                label="Name"
                initial=key.name
                node_ref=name
                error=field_error(result, Field::Name)
                autofocus=true
            />
            <IpAclSelect
                id="edit-api-key-acl"
                choices=ip_acls
                selected=Some(key.ip_acl_id)
                node_ref=acl
                error=field_error(result, Field::IpAcl)
            />
            <FormFooter error=general_error(result) submit_label="Submit" on_cancel />
        </form>
    }
}
