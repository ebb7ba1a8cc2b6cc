//! A secret shown once in full, with Copy and Close: a token after Add and
//! Roll, an invitation link after Invite Admin.

use leptos::html;
use leptos::prelude::*;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[cfg_attr(not(feature = "hydrate"), allow(dead_code))]
pub enum CopyState {
    Idle,
    Copied,
    Failed,
}

#[component]
pub fn ShownOnce(
    /// The id the dialog's `aria-labelledby` names.
    title_id: &'static str,
    title: &'static str,
    /// What to do with it, said above the field.
    intro: String,
    /// The field's label ("API key", "Invitation link").
    label: &'static str,
    token: String,
    /// Said after the token: when the old one stops working, after a roll.
    #[prop(optional)]
    note: Option<String>,
    on_close: Callback<()>,
) -> impl IntoView {
    let state = RwSignal::new(CopyState::Idle);
    let copy_button = NodeRef::<html::Button>::new();
    let token_input = NodeRef::<html::Input>::new();
    // The form that had focus is gone: put focus where the admin acts next.
    Effect::new(move |_| {
        if let Some(button) = copy_button.get() {
            let _ = button.focus();
        }
    });
    let stored = StoredValue::new(token.clone());

    view! {
        <div class="dialog-body">
            <div class="dialog-title-row">
                <h2 id=title_id>{title}</h2>
                <button type="button" class="icon-button" aria-label="Close" on:click=move |_| on_close.run(())>
                    <svg viewBox="0 0 24 24" width="20" height="20" aria-hidden="true" focusable="false">
                        <path d="M6 6l12 12M18 6L6 18" stroke="currentColor" stroke-width="2" fill="none" />
                    </svg>
                </button>
            </div>
            <p>{intro}</p>
            {note.map(|note| view! { <p>{note}</p> })}
            <div class="field">
                <label for="shown-api-key-token">{label}</label>
                <div class="token-copy">
                    <input
                        id="shown-api-key-token"
                        class="token"
                        readonly=true
                        spellcheck="false"
                        value=token
                        node_ref=token_input
                        on:focus=move |_| {
                            if let Some(input) = token_input.get_untracked() {
                                input.select();
                            }
                        }
                    />
                    <button
                        type="button"
                        class="button primary"
                        node_ref=copy_button
                        on:click=move |_| copy_to_clipboard(stored.get_value(), state)
                    >
                        {move || if state.get() == CopyState::Copied { "Copied" } else { "Copy" }}
                    </button>
                </div>
            </div>
            <p class="copy-status" role="status">
                {move || match state.get() {
                    CopyState::Idle => "",
                    CopyState::Copied => "Copied to the clipboard.",
                    CopyState::Failed => "The browser refused the clipboard: select the text and copy it with Ctrl+C.",
                }}
            </p>
        </div>
    }
}

/// What the token dialogs say above the token.
pub fn token_intro(name: &str) -> String {
    format!(
        "Copy the token of \u{201c}{name}\u{201d} now and keep it somewhere safe: anyone who has it can call the TextPeak API as this key."
    )
}

pub fn copy_to_clipboard(text: String, state: RwSignal<CopyState>) {
    #[cfg(feature = "hydrate")]
    leptos::task::spawn_local(async move {
        let promise = window().navigator().clipboard().write_text(&text);
        let copied = wasm_bindgen_futures::JsFuture::from(promise).await.is_ok();
        state.try_set(if copied { CopyState::Copied } else { CopyState::Failed });
        if copied {
            set_timeout(
                move || {
                    if state.try_get_untracked() == Some(CopyState::Copied) {
                        state.try_set(CopyState::Idle);
                    }
                },
                std::time::Duration::from_secs(2),
            );
        }
    });
    #[cfg(not(feature = "hydrate"))]
    let _ = (text, state);
}
