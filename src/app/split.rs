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

/// Has the browser fetch a lazy page's files once the page has painted,
/// where Leptos would name them in `<link rel="preload">` tags in the head
/// (`prefetch_lazy_fn_on_server`).
///
/// The page does not need them to paint: the server's HTML is the page, and
/// only hydration, which waits for the main wasm anyway, reads them. Named
/// in the head, they compete with the main wasm from the first byte, and
/// Lighthouse's model of the largest paint counts every request that ended
/// before it: 25-odd chunks, 375 KiB on a key's page, which put its
/// simulated paint at 900-980 ms against 650-720 ms on the pages without
/// them. Asked for one frame after the first paint they still arrive while
/// the main wasm downloads and compiles. The script goes in the head through
/// the meta context, as Leptos's own hints do, so the body hydrates as drawn.
#[cfg(feature = "ssr")]
pub fn fetch_after_paint(split: &'static str) {
    use leptos::WasmSplitManifest;
    use leptos_meta::Script;

    let Some(manifest) = use_context::<WasmSplitManifest>() else { return };
    let files: Vec<String> = {
        let Some(read) = manifest.0.try_read_value() else { return };
        let (pkg_path, modules, _loader) = &*read;
        modules.get(split).into_iter().flatten().map(|module| format!("{pkg_path}/{module}.wasm")).collect()
    };
    if files.is_empty() {
        return;
    }
    let script = after_paint_script(&files);
    // `to_html` on a meta component registers it with the head instead of
    // drawing it here; `Script` carries the page's nonce by default.
    let _ = view! { <Script>{script}</Script> }.to_html();
}

/// The inline script that adds the preload links after the first frame has
/// painted (a task queued from an animation frame runs after that frame).
/// A tab opened in the background paints nothing and runs no animation
/// frame until it is shown, by when hydration may have fetched the files
/// itself: there the links go in at once, as Leptos's would. The same
/// attributes as Leptos's hints, so the split loader's `fetch` takes the
/// preloaded response (CORS mode, same-origin credentials).
#[cfg(feature = "ssr")]
fn after_paint_script(files: &[String]) -> String {
    // A file name never holds `<`, but an inline script must never close early.
    let list = serde_json::to_string(files).unwrap_or_else(|_| "[]".into()).replace('<', "\\u003c");
    format!(
        "(()=>{{const go=()=>{{for(const f of {list}){{\
         const l=document.createElement(\"link\");l.rel=\"preload\";l.as=\"fetch\";\
         l.type=\"application/wasm\";l.crossOrigin=\"anonymous\";l.href=f;document.head.append(l)}}}};\
         document.visibilityState==\"visible\"?requestAnimationFrame(()=>setTimeout(go)):go()}})()"
    )
}

#[cfg(all(test, feature = "ssr"))]
mod tests {
    use super::after_paint_script;

    #[test]
    fn the_script_lists_each_file_once_and_cannot_close_its_tag() {
        let files = vec!["/pkg/chunk_14.wasm".to_string(), "/pkg/</script><b>.wasm".to_string()];
        let script = after_paint_script(&files);
        assert!(script.contains("requestAnimationFrame(()=>setTimeout(go))"), "{script}");
        assert_eq!(script.matches("/pkg/chunk_14.wasm").count(), 1, "{script}");
        assert!(!script.contains("</script>"), "{script}");
        assert!(script.contains(r#"["/pkg/chunk_14.wasm","/pkg/\u003c/script>\u003cb>.wasm"]"#), "{script}");
    }
}
