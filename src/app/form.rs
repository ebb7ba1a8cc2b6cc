//! Form pieces shared by the dialogs: a labelled field with its error message
//! tied to it (`aria-invalid`, `aria-describedby`), and the form-wide error line.

use crate::rpc::{ConsoleError, Field};
use leptos::callback::Callback;
use leptos::html;
use leptos::prelude::*;

/// The error of an action's last run, if it failed.
pub fn last_error<T: Send + Sync + 'static>(
    result: MappedSignal<Option<Result<T, ConsoleError>>>,
) -> Signal<Option<ConsoleError>> {
    Signal::derive(move || result.with(|r| r.as_ref().and_then(|r| r.as_ref().err().cloned())))
}

/// The message for `field`, if the error concerns it.
pub fn field_error(error: Signal<Option<ConsoleError>>, field: Field) -> Signal<Option<String>> {
    Signal::derive(move || error.with(|e| e.as_ref().and_then(|e| e.for_field(field))))
}

/// The message of an error that concerns no single field.
pub fn general_error(error: Signal<Option<ConsoleError>>) -> Signal<Option<String>> {
    Signal::derive(move || error.with(|e| e.as_ref().and_then(ConsoleError::general)))
}

#[component]
pub fn TextField(
    id: &'static str,
    label: &'static str,
    #[prop(into)] initial: String,
    node_ref: NodeRef<html::Input>,
    #[prop(into)] error: Signal<Option<String>>,
    #[prop(optional)] autofocus: bool,
    #[prop(optional)] autocomplete: Option<&'static str>,
    #[prop(optional)] input_type: Option<&'static str>,
) -> impl IntoView {
    let error_id = format!("{id}-error");
    view! {
        <div class="field">
            <label for=id>{label}</label>
            <input
                id=id
                name=id
                type=input_type.unwrap_or("text")
                node_ref=node_ref
                value=initial
                autofocus=autofocus
                autocomplete=autocomplete.unwrap_or("off")
                aria-invalid=move || error.with(Option::is_some).then_some("true")
                aria-describedby=move || error.with(Option::is_some).then(|| error_id.clone())
            />
            <FieldError id=id error />
        </div>
    }
}

/// A multi-line field (the IP ACL entries); same error wiring as [`TextField`].
#[component]
pub fn TextAreaField(
    id: &'static str,
    label: &'static str,
    #[prop(into)] initial: String,
    node_ref: NodeRef<html::Textarea>,
    #[prop(into)] error: Signal<Option<String>>,
    #[prop(optional)] hint: Option<&'static str>,
) -> impl IntoView {
    let error_id = format!("{id}-error");
    let hint_id = format!("{id}-hint");
    let described_by = move || {
        let mut ids = Vec::new();
        if hint.is_some() {
            ids.push(hint_id.clone());
        }
        if error.with(Option::is_some) {
            ids.push(error_id.clone());
        }
        (!ids.is_empty()).then(|| ids.join(" "))
    };
    view! {
        <div class="field">
            <label for=id>{label}</label>
            {hint.map(|hint| view! { <p class="hint" id=format!("{id}-hint")>{hint}</p> })}
            <textarea
                id=id
                name=id
                node_ref=node_ref
                spellcheck="false"
                rows="8"
                aria-invalid=move || error.with(Option::is_some).then_some("true")
                aria-describedby=described_by
            >
                {initial}
            </textarea>
            <FieldError id error />
        </div>
    }
}

/// The message under a field; its id is what the field's `aria-describedby` names.
#[component]
pub fn FieldError(id: &'static str, #[prop(into)] error: Signal<Option<String>>) -> impl IntoView {
    view! {
        <Show when=move || error.with(Option::is_some)>
            <p class="field-error" id=format!("{id}-error")>
                {move || error.get()}
            </p>
        </Show>
    }
}

/// A failure that is not about one field (the key was deleted meanwhile, the
/// server is unreachable), announced to screen readers as it appears.
#[component]
pub fn FormError(#[prop(into)] error: Signal<Option<String>>) -> impl IntoView {
    view! {
        <p class="form-error" role="alert">
            {move || error.get()}
        </p>
    }
}

/// The form-wide error line, then Cancel and the submit button, at the right.
#[component]
pub fn FormFooter(
    #[prop(into)] error: Signal<Option<String>>,
    submit_label: &'static str,
    on_cancel: Callback<()>,
) -> impl IntoView {
    view! {
        <FormError error />
        <div class="dialog-actions">
            <button type="button" class="button" on:click=move |_| on_cancel.run(())>
                "Cancel"
            </button>
            <button type="submit" class="button primary">
                {submit_label}
            </button>
        </div>
    }
}

/// Runs `close` once the action's last run succeeded: a saved edit or a
/// confirmed delete needs nothing more from its dialog.
pub fn close_on_success<T: Send + Sync + 'static>(
    result: MappedSignal<Option<Result<T, ConsoleError>>>,
    close: Callback<()>,
) {
    Effect::new(move |_| {
        if result.with(|r| matches!(r, Some(Ok(_)))) {
            close.run(());
        }
    });
}

/// A table that could not load. An ended session (signed out elsewhere, the
/// admin removed) goes to the sign-in page at once, to come back here after;
/// the link stays for a browser where that does not happen.
#[component]
pub fn LoadError(err: ConsoleError) -> impl IntoView {
    let signed_out = err == ConsoleError::Unauthenticated;
    if signed_out {
        Effect::new(move |_| {
            let location = window().location();
            let here = format!("{}{}", location.pathname().unwrap_or_default(), location.search().unwrap_or_default());
            let _ = location.assign(&format!("/login?next={}", crate::app::format::query_value(&here)));
        });
    }
    view! {
        <p class="form-error" role="alert">
            {err.to_string()}
            {signed_out.then(|| view! { " " <a href="/login" rel="external">"Sign in"</a> })}
        </p>
    }
}
