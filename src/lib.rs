#![recursion_limit = "256"]
//! TextPeak Console: one crate built twice by cargo-leptos, as a server
//! (`ssr`: axum, sea-orm, the domain) and as the browser's wasm (`hydrate`).

pub mod app;
#[cfg(feature = "ssr")]
pub mod db;
pub mod domain;
pub mod rpc;
#[cfg(feature = "ssr")]
pub mod server;

/// The browser's entry point: attach to the server-rendered page. Each page's
/// code is its own wasm file (lazy routes), fetched before that page hydrates.
#[cfg(feature = "hydrate")]
#[wasm_bindgen::prelude::wasm_bindgen]
pub fn hydrate() {
    // Panic messages in the browser's console are for development: the hook
    // and its formatting cost every admin about 3 KB of the first visit.
    #[cfg(debug_assertions)]
    console_error_panic_hook::set_once();
    leptos::mount::hydrate_lazy(app::App);
}
