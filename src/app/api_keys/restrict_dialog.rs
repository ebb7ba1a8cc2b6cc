//! Restrict to what it uses: a full-access key keeps only the permissions
//! its checks asked for in the last 30 days (ticked by default; the admin
//! may untick or tick any), in one audited change.

use crate::app::dialog::Modal;
use crate::app::form::{FieldError, FormFooter, close_on_success, field_error, general_error, last_error};
use crate::domain::permissions::Permission;
use crate::rpc::Field;
use crate::rpc::api_keys::{PermissionUse, RestrictApiKey};
use leptos::prelude::*;

#[component]
pub fn RestrictDialog(
    open: RwSignal<bool>,
    key_id: i32,
    used: Vec<PermissionUse>,
    action: ServerAction<RestrictApiKey>,
) -> impl IntoView {
    let close = Callback::new(move |_| {
        open.set(false);
        action.value().set(None);
    });
    close_on_success(action.value(), close);
    let used = StoredValue::new(used);
    view! {
        <Modal open on_close=close labelled_by="restrict-title">
            {move || {
                let error = last_error(action.value());
                let nothing_asked = used.with_value(Vec::is_empty);
                let ticked: Vec<(Permission, RwSignal<bool>)> = Permission::ALL
                    .into_iter()
                    .map(|p| (p, RwSignal::new(used.with_value(|u| u.iter().any(|u| u.permission == p.code())))))
                    .collect();
                let chosen = ticked.clone();
                let submit = move |ev: leptos::ev::SubmitEvent| {
                    ev.prevent_default();
                    if action.pending().get_untracked() {
                        return;
                    }
                    let codes: Vec<&str> =
                        chosen.iter().filter(|(_, on)| on.get_untracked()).map(|(p, _)| p.code()).collect();
                    action.dispatch(RestrictApiKey { id: key_id, permissions: codes.join(",") });
                };
                view! {
                    <form class="dialog-body" on:submit=submit>
                        <h2 id="restrict-title">"Restrict to what it uses"</h2>
                        {if nothing_asked {
                            view! {
                                <p>
                                    "No service checked a permission with this key's token in the last 30 days, so there is nothing to restrict it to. Use Edit to choose its permissions."
                                </p>
                                <div class="dialog-actions">
                                    <button type="button" class="button" on:click=move |_| close.run(())>
                                        "Cancel"
                                    </button>
                                </div>
                            }
                                .into_any()
                        } else {
                            view! {
                                <p>
                                    "The key keeps only the permissions ticked below: those its checks asked for in the last 30 days are ticked. Every other permission is refused from the next check on."
                                </p>
                                <fieldset class="address-choices" aria-describedby="restrict-permissions-error">
                                    <legend>"Permissions"</legend>
                                    {ticked
                                        .into_iter()
                                        .map(|(permission, on)| {
                                            let id = format!("restrict-{}", permission.code().replace(':', "-"));
                                            view! {
                                                <div class="checkbox">
                                                    <input
                                                        id=id.clone()
                                                        type="checkbox"
                                                        prop:checked=move || on.get()
                                                        on:change=move |ev| on.set(event_target_checked(&ev))
                                                    />
                                                    <label for=id>
                                                        <code>{permission.code()}</code>
                                                        " "
                                                        <span class="note inline">{format!("({})", permission.words())}</span>
                                                    </label>
                                                </div>
                                            }
                                        })
                                        .collect_view()}
                                    <FieldError id="restrict-permissions" error=field_error(error, Field::Permissions) />
                                </fieldset>
                                <FormFooter error=general_error(error) submit_label="Restrict" on_cancel=close />
                            }
                                .into_any()
                        }}
                    </form>
                }
            }}
        </Modal>
    }
}
