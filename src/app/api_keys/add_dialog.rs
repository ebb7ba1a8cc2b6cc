//! Add API Key: the form, then the new token with its Copy button.

use super::key_form::{ApiKeyForm, FormText, KeyFormInput};
use super::token_once::TokenShownOnce;
use crate::api::api_keys::{CreateApiKey, IpAclChoice};
use crate::app::dialog::Modal;
use crate::app::form::last_error;
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
                Some(created) => {
                    view! {
                        <TokenShownOnce
                            title_id="add-api-key-title"
                            title="API key was created successfully"
                            name=created.name
                            token=created.token
                            on_close=close
                        />
                    }
                        .into_any()
                }
                None => {
                    let submit = Callback::new(move |input: KeyFormInput| {
                        let (expires, expiry_date) = input.expiry.unzip();
                        action.dispatch(CreateApiKey { name: input.name, ip_acl_id: input.ip_acl_id, expires, expiry_date });
                    });
                    view! {
                        <ApiKeyForm
                            text=FormText {
                                title_id: "add-api-key-title",
                                title: "Add API Key",
                                name_id: "add-api-key-name",
                                name_label: "API Key Name",
                                acl_id: "add-api-key-acl",
                                expires_id: "add-api-key-expires",
                                submit: "Add",
                            }
                            initial_name=String::new()
                            initial_acl=None
                            initial_expiry=None
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
