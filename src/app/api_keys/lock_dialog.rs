//! Lock to these addresses: a new IP ACL of the addresses the key's token
//! came from, given to the key at once; report-only first, so the admin can
//! watch before anything is refused.

use crate::rpc::Field;
use crate::rpc::api_keys::LockApiKeyToAddresses;
use crate::app::dialog::Modal;
use crate::app::form::{FieldError, FormFooter, TextField, close_on_success, field_error, general_error, last_error};
use leptos::html;
use leptos::prelude::*;

#[component]
pub fn LockToAddressesDialog(
    open: RwSignal<bool>,
    key_id: i32,
    key_name: String,
    addresses: Vec<String>,
    action: ServerAction<LockApiKeyToAddresses>,
) -> impl IntoView {
    let close = Callback::new(move |_| {
        open.set(false);
        action.value().set(None);
    });
    close_on_success(action.value(), close);
    let default_name = StoredValue::new(format!("{key_name} observed"));
    let addresses = StoredValue::new(addresses);
    view! {
        <Modal open on_close=close labelled_by="lock-title">
            {move || {
                let name = NodeRef::<html::Input>::new();
                let report_first = NodeRef::<html::Input>::new();
                let ticked: Vec<(String, RwSignal<bool>)> =
                    addresses.get_value().into_iter().map(|ip| (ip, RwSignal::new(true))).collect();
                let chosen = ticked.clone();
                let error = last_error(action.value());
                let submit = move |ev: leptos::ev::SubmitEvent| {
                    ev.prevent_default();
                    if action.pending().get_untracked() {
                        return;
                    }
                    let addresses: Vec<String> =
                        chosen.iter().filter(|(_, on)| on.get_untracked()).map(|(ip, _)| ip.clone()).collect();
                    action.dispatch(LockApiKeyToAddresses {
                        id: key_id,
                        name: name.get_untracked().map(|input| input.value()).unwrap_or_default(),
                        addresses: addresses.join("\n"),
                        report_only: report_first.get_untracked().is_some_and(|input| input.checked()),
                    });
                };
                view! {
                    <form class="dialog-body" on:submit=submit>
                        <h2 id="lock-title">"Lock to these addresses"</h2>
                        <p>
                            "A new IP ACL of the addresses ticked below becomes this key's IP ACL. Requests from any other address will be refused, or only reported while Report only first is ticked."
                        </p>
                        <fieldset class="address-choices" aria-describedby="lock-addresses-error">
                            <legend>"Addresses seen in the last 30 days"</legend>
                            {ticked
                                .into_iter()
                                .enumerate()
                                .map(|(i, (ip, on))| {
                                    let id = format!("lock-address-{i}");
                                    view! {
                                        <div class="checkbox">
                                            <input
                                                id=id.clone()
                                                type="checkbox"
                                                prop:checked=move || on.get()
                                                on:change=move |ev| on.set(event_target_checked(&ev))
                                            />
                                            <label for=id><code>{ip}</code></label>
                                        </div>
                                    }
                                })
                                .collect_view()}
                            <FieldError id="lock-addresses" error=field_error(error, Field::Entries) />
                        </fieldset>
                        <TextField
                            id="lock-name"
                            label="Name"
                            initial=default_name.get_value()
                            node_ref=name
                            error=field_error(error, Field::Name)
                        />
                        <div class="field checkbox">
                            <input id="lock-report-only" type="checkbox" checked=true node_ref=report_first />
                            <label for="lock-report-only">"Report only first"</label>
                        </div>
                        <FormFooter error=general_error(error) submit_label="Create and use" on_cancel=close />
                    </form>
                }
            }}
        </Modal>
    }
}
