//! A modal dialog on the native `<dialog>` element: `showModal()` gives focus
//! moving in, the focus trap, the inert page behind, Escape, and focus returning
//! to the opener, as the HTML standard defines them (WCAG technique H102).

use crate::app::form::{FormError, close_on_success, general_error, last_error};
use crate::app::layout::{announce_deleted, refocus_if_row_gone};
use crate::app::split::NotLoaded;
use crate::rpc::ConsoleError;
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

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum CodeState {
    NotAsked,
    Fetching,
    Loaded,
    Failed,
}

/// The wasm file of one dialog's content: `cargo leptos --split` moves a
/// `#[wasm_split(…, fallible)]` function out of the main file, since most
/// visits open no dialog. It is fetched the first time the dialog opens or
/// `prefetch` turns true (the pointer or focus reached a button that opens
/// it, a moment before the click). A failure is shown only while the
/// dialog is open and forgotten when it closes (the loader forgets it too),
/// so the next opening starts again from "Loading…" and fetches again. The
/// server never renders an open dialog, so it fetches nothing.
#[derive(Clone, Copy)]
pub struct DialogCode {
    state: RwSignal<CodeState>,
    fetch: Callback<()>,
}

impl DialogCode {
    pub fn fetch_when_wanted<F, Fut>(open: Signal<bool>, prefetch: Signal<bool>, preload: F) -> Self
    where
        F: Fn() -> Fut + Copy + Send + Sync + 'static,
        Fut: std::future::Future<Output = Result<(), leptos::wasm_split::SplitLoaderError>> + 'static,
    {
        let state = RwSignal::new(CodeState::NotAsked);
        let fetch = Callback::new(move |_| {
            state.set(CodeState::Fetching);
            leptos::task::spawn_local(async move {
                let done = match preload().await {
                    Ok(()) => CodeState::Loaded,
                    Err(_) if open.try_get_untracked().unwrap_or(false) => CodeState::Failed,
                    // A prefetch that failed while closed: the opening asks again.
                    Err(_) => CodeState::NotAsked,
                };
                state.try_set(done);
            });
        });
        Effect::new(move |_| {
            let is_open = open.get();
            let wanted = is_open || prefetch.get();
            match state.get_untracked() {
                CodeState::NotAsked if wanted => fetch.run(()),
                CodeState::Failed if !is_open => state.set(CodeState::NotAsked),
                _ => {}
            }
        });
        DialogCode { state, fetch }
    }
}

/// A dialog's split content, built where the dialog's content is built (so
/// it lives and goes with the dialog, as content that came with the page
/// would). Until its file has arrived the dialog shows its title (carrying
/// `title_id`, so the dialog is named meanwhile, and holding focus) and
/// "Loading…", with Cancel for a download that stalls; if the download
/// failed, says so, with Cancel and Try again. Once the file is
/// there, `body()` is ready at the first poll. `showModal()` moved focus when
/// the dialog opened, possibly before the content was there: it then goes to
/// the content's `autofocus` field, as the browser would have put it.
pub fn lazy_body<Fut>(
    code: DialogCode,
    title_id: &'static str,
    title: &'static str,
    on_cancel: Callback<()>,
    body: impl FnOnce() -> Fut,
) -> AnyView
where
    Fut: std::future::Future<Output = Result<AnyView, NotLoaded>>,
{
    use std::task::{Context, Poll, Waker};
    let failed = match code.state.get() {
        CodeState::Loaded => {
            let mut body = std::pin::pin!(body());
            match body.as_mut().poll(&mut Context::from_waker(Waker::noop())) {
                Poll::Ready(Ok(content)) => {
                    return view! {
                        {content}
                        <FocusAutofocus />
                    }
                    .into_any();
                }
                Poll::Ready(Err(NotLoaded)) => true,
                Poll::Pending => false,
            }
        }
        CodeState::Failed => true,
        CodeState::NotAsked | CodeState::Fetching => false,
    };
    // Focus: on Try again after a failure; on the heading while loading
    // (Try again, if it had focus, is gone).
    view! {
        <div class="dialog-body">
            <h2 id=title_id tabindex="-1" autofocus=!failed>
                {title}
            </h2>
            {if failed {
                view! {
                    <p class="form-error" role="alert">
                        "This dialog could not be loaded. Check the connection, then try again."
                    </p>
                }
                    .into_any()
            } else {
                view! { <p role="status">"Loading…"</p> }.into_any()
            }}
            <div class="dialog-actions">
                <button type="button" class="button" on:click=move |_| on_cancel.run(())>
                    "Cancel"
                </button>
                {failed
                    .then(|| {
                        view! {
                            <button
                                type="button"
                                class="button primary"
                                autofocus=true
                                on:click=move |_| code.fetch.run(())
                            >
                                "Try again"
                            </button>
                        }
                    })}
            </div>
        </div>
        <FocusAutofocus />
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
    /// The verb of the question and the status line ("Remove"); "Delete" by default.
    #[prop(optional)]
    verb: Option<(&'static str, &'static str)>,
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
            let done = verb.map_or("Deleted", |(_, done)| done);
            announce_deleted(status, format!("{done} {kind} \u{201c}{}\u{201d}.", deleted_name.get_value()));
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
                    {verb.map_or("Delete", |(ask, _)| ask)} " " {kind} " " <strong>{move || deleting.with(|row| row.as_ref().map(name_of))}</strong> "? "
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
