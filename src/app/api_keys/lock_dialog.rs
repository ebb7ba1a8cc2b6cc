//! Lock to these addresses: a new IP ACL of the addresses the key's token
//! came from, given to the key at once. It never loosens what is enforced
//! without saying so: Report only first is ticked by default only when the
//! key's IP ACL already lets everyone through (report-only, or any address),
//! and addresses that were only ever refused, or seen only with a token that
//! has since ended, are offered unticked.

use crate::app::dialog::Modal;
use crate::app::form::{FieldError, FormFooter, TextField, close_on_success, field_error, general_error, last_error};
use crate::rpc::Field;
use crate::rpc::api_keys::{AddressRow, LockApiKeyToAddresses};
use leptos::html;
use leptos::prelude::*;

#[component]
pub fn LockToAddressesDialog(
    open: RwSignal<bool>,
    key_id: i32,
    key_name: String,
    addresses: Vec<AddressRow>,
    /// The key's IP ACL refuses addresses now (not report-only, not any address).
    enforcing: bool,
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
                let report_first = RwSignal::new(!enforcing);
                let ticked: Vec<(AddressRow, RwSignal<bool>)> = addresses
                    .get_value()
                    .into_iter()
                    .map(|row| {
                        let suspicious = row.refused_only || row.ended_token_only;
                        (row, RwSignal::new(!suspicious))
                    })
                    .collect();
                let chosen = ticked.clone();
                let error = last_error(action.value());
                let submit = move |ev: leptos::ev::SubmitEvent| {
                    ev.prevent_default();
                    if action.pending().get_untracked() {
                        return;
                    }
                    let addresses: Vec<String> =
                        chosen.iter().filter(|(_, on)| on.get_untracked()).map(|(row, _)| row.ip.clone()).collect();
                    action.dispatch(LockApiKeyToAddresses {
                        id: key_id,
                        name: name.get_untracked().map(|input| input.value()).unwrap_or_default(),
                        addresses: addresses.join("\n"),
                        report_only: report_first.get_untracked(),
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
                                .map(|(i, (row, on))| {
                                    let id = format!("lock-address-{i}");
                                    let mark = if row.refused_only {
                                        Some("refused only")
                                    } else if row.ended_token_only {
                                        Some("seen only with a token that has ended")
                                    } else {
                                        None
                                    };
                                    view! {
                                        <div class="checkbox">
                                            <input
                                                id=id.clone()
                                                type="checkbox"
                                                prop:checked=move || on.get()
                                                on:change=move |ev| on.set(event_target_checked(&ev))
                                            />
                                            <label for=id>
                                                <code>{row.ip}</code>
                                                {mark.map(|mark| view! { " " <span class="note inline">{format!("({mark})")}</span> })}
                                            </label>
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
                            <input
                                id="lock-report-only"
                                type="checkbox"
                                prop:checked=move || report_first.get()
                                on:change=move |ev| report_first.set(event_target_checked(&ev))
                                aria-describedby=move || (enforcing && report_first.get()).then_some("lock-report-only-warning")
                            />
                            <label for="lock-report-only">"Report only first"</label>
                            <Show when=move || enforcing && report_first.get()>
                                <p class="hint warning" id="lock-report-only-warning">
                                    "This key's IP ACL refuses other addresses now. With Report only first, addresses it refuses will be let through until you switch Report only off."
                                </p>
                            </Show>
                        </div>
                        <FormFooter error=general_error(error) submit_label="Create and use" on_cancel=close />
                    </form>
                }
            }}
        </Modal>
    }
}
