//! A modal dialog on the native `<dialog>` element: `showModal()` gives focus
//! moving in, the focus trap, the inert page behind, Escape, and focus returning
//! to the opener, as the HTML standard defines them (WCAG technique H102).

use leptos::html;
use leptos::prelude::*;

/// Shows `children` in a modal while `open` is true. Escape, or anything that
/// closes the element, calls `on_close` so the owner's state follows.
#[component]
pub fn Modal(
    #[prop(into)] open: Signal<bool>,
    on_close: Callback<()>,
    /// The id of the heading that names the dialog.
    labelled_by: &'static str,
    children: ChildrenFn,
) -> impl IntoView {
    let dialog = NodeRef::<html::Dialog>::new();
    Effect::new(move |_| {
        let Some(element) = dialog.get() else { return };
        if open.get() {
            if !element.open() {
                let _ = element.show_modal();
            }
        } else if element.open() {
            element.close();
        }
    });

    view! {
        <dialog
            node_ref=dialog
            class="modal"
            aria-labelledby=labelled_by
            on:close=move |_| {
                if open.get_untracked() {
                    on_close.run(());
                }
                // The opener may be gone (its row deleted meanwhile): then the
                // browser has nowhere to return focus to.
                crate::app::layout::focus_page_heading_if_lost();
            }
        >
            {move || open.get().then(|| children())}
        </dialog>
    }
}

/// "Delete X?": the message, the form-wide error, Cancel (focused first, the
/// safe choice) and Confirm.
#[component]
pub fn ConfirmDialog(
    #[prop(into)] open: Signal<bool>,
    on_close: Callback<()>,
    on_confirm: Callback<()>,
    title_id: &'static str,
    title: &'static str,
    #[prop(into)] error: Signal<Option<String>>,
    /// The question, naming what is deleted.
    children: ChildrenFn,
) -> impl IntoView {
    let children = StoredValue::new(children);
    view! {
        <Modal open on_close labelled_by=title_id>
            <div class="dialog-body">
                <h2 id=title_id>{title}</h2>
                {children.read_value()()}
                <crate::app::form::FormError error />
                <div class="dialog-actions">
                    <button type="button" class="button" on:click=move |_| on_close.run(())>
                        "Cancel"
                    </button>
                    <button type="button" class="button danger" on:click=move |_| on_confirm.run(())>
                        "Confirm"
                    </button>
                </div>
            </div>
        </Modal>
    }
}
