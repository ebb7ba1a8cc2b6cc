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
            }
        >
            {move || open.get().then(|| children())}
        </dialog>
    }
}
