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
/// on: this does not return. If the reloaded page fails too (or the tab
/// cannot remember that it reloaded), the page stays as the server drew
/// it, says that its buttons will not work, and its links load pages from
/// the server.
pub async fn page_not_loaded_while_hydrating() {
    #[cfg(feature = "hydrate")]
    {
        let hydrating = document().document_element().is_some_and(|html| !html.has_attribute(crate::app::HYDRATED));
        if hydrating {
            if !reloaded::take() && reloaded::mark() {
                let _ = window().location().reload();
            } else {
                leptos::logging::warn!("this page's code could not be fetched after a reload either");
                as_the_server_drew_it();
            }
            std::future::pending::<()>().await;
        }
    }
}

/// A page that has hydrated clears the reload
/// mark, so the next failure in this tab may reload once again.
pub fn forget_reload() {
    #[cfg(feature = "hydrate")]
    reloaded::forget();
}

/// The page stays as the server drew it. The router already listens for
/// clicks on links and would wait forever for a page it cannot build: a
/// click is stopped before it gets there, so the browser follows the link
/// and loads the page from the server. A notice at the top of the page
/// says why its buttons do nothing.
#[cfg(feature = "hydrate")]
fn as_the_server_drew_it() {
    use wasm_bindgen::JsCast;
    use wasm_bindgen::closure::Closure;
    let stop = Closure::<dyn Fn(leptos::web_sys::Event)>::new(|ev: leptos::web_sys::Event| {
        ev.stop_immediate_propagation();
    });
    let _ = window().add_event_listener_with_callback_and_bool("click", stop.as_ref().unchecked_ref(), true);
    stop.forget();
    if let Ok(Some(main)) = document().query_selector("main") {
        let _ = main.insert_adjacent_html(
            "afterbegin",
            "<p class=\"form-error\" role=\"alert\">This page could not be loaded completely, so its buttons \
             do nothing. Check the connection, then reload the page.</p>",
        );
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

    /// False when the tab cannot keep the mark (storage full or refused):
    /// then it must not reload, or it would reload for ever.
    pub fn mark() -> bool {
        set_item(KEY, "1").is_ok()
    }

    pub fn forget() {
        let _ = remove_item(KEY);
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
