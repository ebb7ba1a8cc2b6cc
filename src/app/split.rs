//! What the browser shows when a page's or a dialog's own wasm file (see
//! `cargo leptos --split`) cannot be fetched: the connection dropped at that
//! moment. Leptos's `#[lazy]` and `#[lazy_route]` load such files with a
//! loader that panics then, which ends the page's whole wasm; the console's
//! split functions use `wasm_split`'s `fallible` mode and return
//! [`NotLoaded`] instead, so only what was asked for is missing, and asking
//! again fetches it again (the loader remembers only successes).

use leptos::prelude::*;
use leptos_meta::Title;

/// A split function's file could not be fetched.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct NotLoaded;

impl From<leptos::wasm_split::SplitLoaderError> for NotLoaded {
    fn from(_: leptos::wasm_split::SplitLoaderError) -> Self {
        NotLoaded
    }
}

/// In place of a page whose code did not arrive; the menu around it works.
/// Try again loads the page afresh from the server.
#[component]
pub fn PageNotLoaded() -> impl IntoView {
    let here = leptos_router::hooks::use_location();
    let href = move || match here.search.get() {
        search if search.is_empty() => here.pathname.get(),
        search => format!("{}?{search}", here.pathname.get()),
    };
    view! {
        <Title text="Page not loaded" />
        <header class="page-header">
            <h1 tabindex="-1">"Page not loaded"</h1>
        </header>
        <section class="panel">
            <p class="form-error" role="alert">
                "This page could not be loaded. Check the connection, then try again."
            </p>
            <p>
                <a class="button primary" href=href rel="external">
                    "Try again"
                </a>
            </p>
        </section>
    }
}
