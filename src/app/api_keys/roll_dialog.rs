//! Roll API Key: a new token, while the old one keeps working for the time
//! chosen, so the software that uses it can move over without an outage.

use crate::app::dialog::{DialogCode, Modal, lazy_body};
use crate::app::form::{FieldError, FormFooter, field_error, general_error, last_error};
use crate::app::format::utc_minute;
use crate::app::layout::refocus_if_row_gone;
use crate::app::shown_once::{ShownOnce, token_intro};
use crate::app::split::NotLoaded;
use crate::rpc::Field;
use crate::rpc::api_keys::{ApiKeySummary, RollApiKey, RolledApiKey};
use leptos::html;
use leptos::prelude::*;

const GRACES: [(&str, &str); 4] = [("now", "Now"), ("1h", "In 1 hour"), ("24h", "In 24 hours"), ("7d", "In 7 days")];

#[component]
pub fn RollApiKeyDialog(
    rolling: RwSignal<Option<ApiKeySummary>>,
    action: ServerAction<RollApiKey>,
    /// Fetch the content's code now: a button that opens a dialog is about to be clicked.
    #[prop(optional, into)]
    prefetch: Signal<bool>,
) -> impl IntoView {
    let rolled = Memo::new(move |_| action.value().with(|v| v.as_ref().and_then(|r| r.as_ref().ok()).cloned()));
    let close = Callback::new(move |_| {
        action.value().with_untracked(refocus_if_row_gone);
        rolling.set(None);
        // The new token leaves the page's memory with the dialog.
        action.value().set(None);
    });
    let open = Signal::derive(move || rolling.with(Option::is_some));
    let code = DialogCode::fetch_when_wanted(open, prefetch, preload_roll_api_key_body);
    view! {
        <Modal open on_close=close labelled_by="roll-api-key-title">
            {move || {
                lazy_body(code, "roll-api-key-title", "Roll API Key", close, move || {
                    roll_api_key_body(rolling, rolled, action, close)
                })
            }}
        </Modal>
    }
}

/// The choice of grace, then the new token: fetched at the first opening (see [`lazy_body`]).
#[leptos::wasm_split::wasm_split(
    roll_api_key_dialog,
    wasm_split_path = ::leptos::wasm_split,
    preload(preload_roll_api_key_body),
    fallible
)]
fn roll_api_key_body(
    rolling: RwSignal<Option<ApiKeySummary>>,
    rolled: Memo<Option<RolledApiKey>>,
    action: ServerAction<RollApiKey>,
    close: Callback<()>,
) -> Result<AnyView, NotLoaded> {
    Ok((move || match (rolled.get(), rolling.get()) {
        (Some(rolled), _) => view! { <Rolled rolled on_close=close /> }.into_any(),
        (None, Some(key)) => view! { <RollForm key action on_cancel=close /> }.into_any(),
        (None, None) => ().into_any(),
    })
    .into_any())
}

#[component]
fn RollForm(key: ApiKeySummary, action: ServerAction<RollApiKey>, on_cancel: Callback<()>) -> impl IntoView {
    let grace = NodeRef::<html::Select>::new();
    let id = key.id;
    let error = last_error(action.value());
    let submit = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        if action.pending().get_untracked() {
            return;
        }
        let grace = grace.get_untracked().map(|select| select.value()).unwrap_or_default();
        action.dispatch(RollApiKey { id, grace });
    };
    let grace_error = field_error(error, Field::Grace);
    view! {
        <form class="dialog-body" on:submit=submit>
            <h2 id="roll-api-key-title">"Roll API Key"</h2>
            <p>
                "Rolling " <strong>{key.name}</strong>
                " gives it a new token. The old token keeps working until the time you choose, so the software that uses it can move to the new one first."
            </p>
            {key.old_token_until.map(|until| {
                view! {
                    <p class="notice" id="roll-api-key-notice">
                        {format!(
                            "The token replaced by the previous roll still works until {}; rolling again stops it at once.",
                            utc_minute(until),
                        )}
                    </p>
                }
            })}
            <div class="field">
                <label for="roll-api-key-grace">"Old token stops working"</label>
                <select id="roll-api-key-grace" name="grace" node_ref=grace autofocus=true>
                    {GRACES
                        .into_iter()
                        .map(|(value, label)| view! { <option value=value selected=value == "24h">{label}</option> })
                        .collect_view()}
                </select>
                <FieldError id="roll-api-key-grace" error=grace_error />
            </div>
            <FormFooter error=general_error(error) submit_label="Roll" on_cancel />
        </form>
    }
}

#[component]
fn Rolled(rolled: RolledApiKey, on_close: Callback<()>) -> impl IntoView {
    let mut note = format!("The old token stops working {}.", utc_minute(rolled.old_token_until));
    if rolled.ended_earlier {
        note.push_str(" The token kept from the previous roll stopped working now.");
    }
    view! {
        <ShownOnce
            title_id="roll-api-key-title"
            title="API key was rolled successfully"
            intro=token_intro(&rolled.name)
            label="API key"
            token=rolled.token
            note
            on_close
        />
    }
}
