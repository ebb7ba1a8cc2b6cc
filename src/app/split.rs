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

/// A lazy page's file did not arrive when the router fetched it ahead of
/// the page. After a navigation inside the console this returns, the page
/// is chosen, fetches again, and on a second failure shows
/// [`PageNotLoaded`]: the rest of the console keeps working. While the page
/// the server drew is being hydrated, nothing else may take its place
/// (hydration expects the server's HTML, and a page still loading is not
/// it), so the browser reloads it once instead, and hydration never goes
/// on: this does not return. If the reloaded page fails too, it stays as
/// the server drew it, its own buttons inert and the menu's links working.
pub async fn page_not_loaded_while_hydrating() {
    #[cfg(feature = "hydrate")]
    {
        let hydrating = document().document_element().is_some_and(|html| !html.has_attribute("data-hydrated"));
        if hydrating {
            if reloaded::take() {
                leptos::logging::warn!("this page's code could not be fetched after a reload either");
            } else {
                reloaded::mark();
                let _ = window().location().reload();
            }
            std::future::pending::<()>().await;
        }
    }
}

/// Whether this tab already reloaded for a missing file: kept in
/// `sessionStorage` so that a file that stays missing means one reload, not
/// a loop. Storage that refuses (private modes) counts as "already".
#[cfg(feature = "hydrate")]
mod reloaded {
    use wasm_bindgen::prelude::*;

    const KEY: &str = "textpeak.reloaded-for-missing-code";

    #[wasm_bindgen]
    extern "C" {
        #[wasm_bindgen(catch, js_namespace = sessionStorage, js_name = getItem)]
        fn get_item(key: &str) -> Result<Option<String>, JsValue>;
        #[wasm_bindgen(catch, js_namespace = sessionStorage, js_name = setItem)]
        fn set_item(key: &str, value: &str) -> Result<(), JsValue>;
        #[wasm_bindgen(catch, js_namespace = sessionStorage, js_name = removeItem)]
        fn remove_item(key: &str) -> Result<(), JsValue>;
    }

    /// True if the tab reloaded for this before; clears the mark, so a later,
    /// unrelated failure may reload once again.
    pub fn take() -> bool {
        match get_item(KEY) {
            Ok(Some(_)) => {
                let _ = remove_item(KEY);
                true
            }
            Ok(None) => false,
            Err(_) => true,
        }
    }

    pub fn mark() {
        let _ = set_item(KEY, "1");
    }
}

/// In place of a page whose code did not arrive after a navigation inside
/// the console. Try again loads the page afresh from the server.
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
