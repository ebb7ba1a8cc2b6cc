//! The console's user interface, rendered on the server and hydrated in the browser.

mod api_keys;
mod audit_log;
mod dialog;
mod form;
mod format;
mod home;
mod ip_acls;
mod layout;
mod login;
mod pager;

use leptos::prelude::*;
use leptos_meta::{Link, MetaTags, Stylesheet, Title, provide_meta_context};
use leptos_router::components::{ParentRoute, Route, Router, Routes};
use leptos_router::path;

/// The HTML document around the app.
pub fn shell(options: LeptosOptions) -> impl IntoView {
    view! {
        <!DOCTYPE html>
        <html lang="en">
            <head>
                <meta charset="utf-8" />
                <meta name="viewport" content="width=device-width, initial-scale=1" />
                <AutoReload options=options.clone() />
                <HydrationScripts options />
                <MetaTags />
            </head>
            <body>
                <App />
            </body>
        </html>
    }
}

#[component]
pub fn App() -> impl IntoView {
    provide_meta_context();
    mark_hydrated();

    view! {
        <Stylesheet id="leptos" href="/pkg/textpeak.css" />
        <Link rel="icon" href="/favicon.svg" type_="image/svg+xml" />
        <Title formatter=|page: String| format!("{page} · TextPeak Console") />
        <Router>
            <Routes fallback=layout::NotFound>
                <Route path=path!("/login") view=login::LoginPage />
                <ParentRoute path=path!("") view=layout::ConsoleLayout>
                    <Route path=path!("") view=home::HomePage />
                    <Route path=path!("/settings/api-keys") view=api_keys::ApiKeysPage />
                    <Route path=path!("/settings/api-keys/:id") view=api_keys::KeyPage />
                    <Route path=path!("/settings/ip-acls") view=ip_acls::IpAclsPage />
                    <Route path=path!("/settings/audit-log") view=audit_log::AuditLogPage />
                </ParentRoute>
            </Routes>
        </Router>
    }
}

/// Sets `data-hydrated` on `<html>` once the wasm has attached its handlers:
/// effects run only in the browser, so tests wait for this before clicking.
fn mark_hydrated() {
    Effect::new(move |_| {
        if let Some(root) = document().document_element() {
            let _ = root.set_attribute("data-hydrated", "true");
        }
    });
}
