//! Confirm access, as GitHub's sudo mode: showing a token, rolling or
//! deleting a key and changing the team need a recent proof of identity.
//! The server decides (it answers `confirm_access`); the browser then asks
//! for the password (or a code when two-factor is on) and, once confirmed,
//! sends the same request again, so the admin's click goes ahead without
//! another one.

use crate::app::dialog::{DialogCode, Modal, lazy_body};
use crate::app::form::{FormFooter, TextField, last_error};
use crate::app::me::session;
use crate::app::split::NotLoaded;
use crate::rpc::security::ConfirmAccess as ConfirmAccessCall;
use crate::rpc::{ConsoleError, Field};
use leptos::html;
use leptos::prelude::*;
use server_fn::ServerFn;

/// What to do once access is confirmed; `Some` while the dialog is open.
#[derive(Clone, Copy)]
pub struct ConfirmAccess {
    then: RwSignal<Option<Callback<()>>>,
}

impl ConfirmAccess {
    /// Opens the dialog; `then` runs once the admin has confirmed.
    pub fn ask(self, then: Callback<()>) {
        self.then.set(Some(then));
    }
}

/// Called by the page frame before its pages, so they all find it.
pub fn provide() {
    provide_context(ConfirmAccess { then: RwSignal::new(None) });
}

pub fn use_confirm() -> ConfirmAccess {
    use_context::<ConfirmAccess>().unwrap_or(ConfirmAccess { then: RwSignal::new(None) })
}

/// When `action`'s answer asks for Confirm access, asks, and dispatches its
/// last input again once access is confirmed.
pub fn retry_when_confirmed<S>(action: ServerAction<S>)
where
    S: ServerFn<Error = ConsoleError> + Clone + Send + Sync + 'static,
    S::Output: Send + Sync + 'static,
{
    let confirm = use_confirm();
    let last = StoredValue::new(None::<S>);
    // Made here, not in the effect below: what an effect makes goes when it runs again.
    let again = Callback::new(move |_| {
        if let Some(input) = last.get_value() {
            action.dispatch(input);
        }
    });
    Effect::new(move |_| {
        if let Some(input) = action.input().get() {
            last.set_value(Some(input));
        }
    });
    Effect::new(move |_| {
        if action.value().with(|v| matches!(v, Some(Err(ConsoleError::ConfirmAccess)))) {
            action.value().set(None);
            confirm.ask(again);
        }
    });
}

/// The dialog, once per page frame (see [`provide`]).
#[component]
pub fn ConfirmAccessDialog() -> impl IntoView {
    let then = use_confirm().then;
    let action = ServerAction::<ConfirmAccessCall>::new();
    let open = Signal::derive(move || then.with(Option::is_some));
    let close = Callback::new(move |_| {
        then.set(None);
        action.value().set(None);
    });
    Effect::new(move |_| {
        if action.value().with(|v| matches!(v, Some(Ok(())))) {
            let next = then.get_untracked();
            close.run(());
            if let Some(next) = next {
                next.run(());
            }
        }
    });
    let code = DialogCode::fetch_when_wanted(open, Signal::stored(false), preload_confirm_access_body);
    view! {
        <Modal open on_close=close labelled_by="confirm-access-title">
            {move || {
                lazy_body(code, "confirm-access-title", "Confirm access", close, move || confirm_access_body(action, close))
            }}
        </Modal>
    }
}

/// The form: fetched the first time access must be confirmed (see [`lazy_body`]).
#[leptos::wasm_split::wasm_split(
    confirm_access_dialog,
    wasm_split_path = ::leptos::wasm_split,
    preload(preload_confirm_access_body),
    fallible
)]
fn confirm_access_body(action: ServerAction<ConfirmAccessCall>, close: Callback<()>) -> Result<AnyView, NotLoaded> {
    let two_factor = session().two_factor.get_untracked();
    let input = NodeRef::<html::Input>::new();
    let error = last_error(action.value());
    let submit = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        if action.pending().get_untracked() {
            return;
        }
        let typed = input.get_untracked().map(|i| i.value()).unwrap_or_default();
        let (password, code) = if two_factor { (None, Some(typed)) } else { (Some(typed), None) };
        action.dispatch(ConfirmAccessCall { password, code });
    };
    let (id, label, field, kind, complete) = if two_factor {
        ("confirm-access-code", "Authentication code", Field::Code, "text", "one-time-code")
    } else {
        ("confirm-access-password", "Password", Field::Password, "password", "current-password")
    };
    Ok(view! {
        <form class="dialog-body" on:submit=submit>
            <h2 id="confirm-access-title">"Confirm access"</h2>
            <p>
                {if two_factor {
                    "This needs a recent proof that it is you: enter the code your authenticator app shows."
                } else {
                    "This needs a recent proof that it is you: enter your password."
                }}
            </p>
            <TextField
                id
                label
                initial=""
                node_ref=input
                error=Signal::derive(move || {
                    // Any refusal, whichever field the server named: two-factor may
                    // have changed in another tab since this page started.
                    error.with(|e| e.as_ref().map(|e| e.for_field(field).unwrap_or_else(|| e.to_string())))
                })
                autofocus=true
                autocomplete=complete
                input_type=kind
            />
            <FormFooter error=Signal::derive(|| None::<String>) submit_label="Confirm" on_cancel=close />
        </form>
    }
    .into_any())
}
