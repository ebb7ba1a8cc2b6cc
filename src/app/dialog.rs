//! A modal dialog on the native `<dialog>` element: `showModal()` gives focus
//! moving in, the focus trap, the inert page behind, Escape, and focus returning
//! to the opener, as the HTML standard defines them (WCAG technique H102).

use crate::api::ConsoleError;
use crate::app::form::{FormError, close_on_success, general_error, last_error};
use crate::app::layout::{announce_deleted, refocus_if_row_gone};
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

/// Fetches the wasm file of a dialog's `#[lazy]` content the first time
/// `$when` turns true: the dialog opening, or the pointer or focus reaching
/// a button that opens it, which starts the download a moment before the
/// click. (`cargo leptos --split` moves such a function out of the main
/// file: most visits open no dialog, so its code need not come with every
/// page.) Gives a signal that turns true once the file has arrived;
/// [`lazy_body`] reads it. `$preload` is the `__preload_…` function that
/// `#[lazy]` generates next to the content function. The server never
/// renders an open dialog, so it fetches nothing.
macro_rules! fetch_when_wanted {
    ($when:expr, $preload:ident) => {{
        let when = $when;
        let loaded = RwSignal::new(false);
        let asked = StoredValue::new(false);
        Effect::new(move |_| {
            if when.get() && !asked.get_value() {
                asked.set_value(true);
                #[cfg(feature = "hydrate")]
                leptos::task::spawn_local(async move {
                    $preload().await;
                    loaded.set(true);
                });
            }
        });
        loaded
    }};
}
pub(crate) use fetch_when_wanted;

/// A dialog's `#[lazy]` content, built where the dialog's content is built
/// (so it lives and goes with the dialog, as content that came with the page
/// would), or its title and "Loading…" until its file has arrived (the
/// title carries `title_id`, so the dialog is named meanwhile too). Once it
/// has, `body()` is ready at the first poll. `showModal()` moved focus when
/// the dialog opened, possibly before the content was there: it then goes
/// to the content's `autofocus` field, as the browser would have put it.
pub fn lazy_body<Fut>(
    loaded: RwSignal<bool>,
    title_id: &'static str,
    title: &'static str,
    body: impl FnOnce() -> Fut,
) -> AnyView
where
    Fut: std::future::Future<Output = AnyView>,
{
    use std::task::{Context, Poll, Waker};
    if loaded.get() {
        let mut body = std::pin::pin!(body());
        if let Poll::Ready(content) = body.as_mut().poll(&mut Context::from_waker(Waker::noop())) {
            return view! {
                {content}
                <FocusAutofocus />
            }
            .into_any();
        }
    }
    view! {
        <div class="dialog-body">
            <h2 id=title_id>{title}</h2>
            <p role="status">"Loading…"</p>
        </div>
    }
    .into_any()
}

/// Renders nothing; once mounted, focuses the open dialog's `autofocus` field.
#[component]
fn FocusAutofocus() -> impl IntoView {
    // The next frame: by then the content is in the document.
    Effect::new(move |_| {
        request_animation_frame(|| {
            #[cfg(feature = "hydrate")]
            {
                use wasm_bindgen::JsCast;
                if let Ok(Some(field)) = document().query_selector("dialog[open] [autofocus]")
                    && let Ok(field) = field.dyn_into::<web_sys::HtmlElement>()
                {
                    let _ = field.focus();
                }
            }
        })
    });
}

/// "Delete the API key X?" for one row of a table: Cancel (focused first, the
/// safe choice) and Confirm. Once the row is deleted the dialog closes, the
/// page's status line says so and focus goes to the heading, since the row's
/// buttons go with it.
#[component]
pub fn DeleteRowDialog<R>(
    /// The row asked about; `None` while closed.
    deleting: RwSignal<Option<R>>,
    /// The delete action's last result (`ServerAction::value`).
    result: MappedSignal<Option<Result<(), ConsoleError>>>,
    /// Whether a delete is under way (`ServerAction::pending`): Confirm does nothing then.
    pending: Memo<bool>,
    /// Starts the delete of the row.
    delete: Callback<R>,
    name_of: fn(&R) -> String,
    title_id: &'static str,
    title: &'static str,
    /// The row as the question and the status line name it: "the API key".
    kind: &'static str,
    /// Said after the question: what else the delete does.
    consequence: &'static str,
    /// The page's status line.
    status: RwSignal<Option<String>>,
) -> impl IntoView
where
    R: Clone + Send + Sync + 'static,
{
    let close = Callback::new(move |_| {
        result.with_untracked(refocus_if_row_gone);
        deleting.set(None);
        result.set(None);
    });
    // Kept from Confirm: `deleting` is cleared by the time the result arrives.
    let deleted_name = StoredValue::new(String::new());
    close_on_success(
        result,
        Callback::new(move |_| {
            close.run(());
            announce_deleted(status, format!("Deleted {kind} \u{201c}{}\u{201d}.", deleted_name.get_value()));
        }),
    );
    let confirm = move |_| {
        if let Some(row) = deleting.get_untracked()
            && !pending.get_untracked()
        {
            deleted_name.set_value(name_of(&row));
            delete.run(row);
        }
    };
    let error = general_error(last_error(result));
    view! {
        <Modal open=Signal::derive(move || deleting.with(Option::is_some)) on_close=close labelled_by=title_id>
            <div class="dialog-body">
                <h2 id=title_id>{title}</h2>
                <p>
                    "Delete " {kind} " " <strong>{move || deleting.with(|row| row.as_ref().map(name_of))}</strong> "? "
                    {consequence} " This cannot be undone."
                </p>
                <FormError error />
                <div class="dialog-actions">
                    <button type="button" class="button" on:click=move |_| close.run(())>
                        "Cancel"
                    </button>
                    <button type="button" class="button danger" on:click=confirm>
                        "Confirm"
                    </button>
                </div>
            </div>
        </Modal>
    }
}
