//! The console's user interface, rendered on the server and hydrated in the browser.

mod api_keys;
mod audit_log;
mod confirm;
mod dialog;
mod form;
pub(crate) mod format;
mod home;
mod ip_acls;
mod layout;
mod login;
mod me;
mod security;
mod shown_once;
mod split;
mod team;

pub use login::{FormFailure, LOGIN_PATH, TWO_FACTOR_PATH, second_step_url};

use leptos::prelude::*;
use leptos_meta::{Link, MetaTags, Stylesheet, Title, provide_meta_context};
use leptos_router::components::{ParentRoute, Route, Router, Routes};
use leptos_router::{Lazy, LazyRoute, SsrMode, path};

/// The HTML document around the app.
pub fn shell(options: LeptosOptions) -> impl IntoView {
    let me = me::Me::of_request();
    view! {
        <!DOCTYPE html>
        <html lang="en" data-me=me.map(|me| me.encode())>
            <head>
                <meta charset="utf-8" />
                <meta name="viewport" content="width=device-width, initial-scale=1" />
                <AutoReload options=options.clone() />
                {needs_bundle().then(|| view! { <HydrationScripts options /> })}
                <MetaTags />
            </head>
            <body>
                <App />
            </body>
        </html>
    }
}

/// Whether the page being rendered loads the browser bundle. The pages of
/// the signed out (sign-in, its second step, joining) do not: they are plain
/// forms that work without it, and sign-in is what every visitor sees first,
/// so it paints and works at once on a slow connection instead of waiting
/// for a download it has no use for. The bundle comes with the first console
/// page after it.
fn needs_bundle() -> bool {
    #[cfg(feature = "ssr")]
    {
        use_context::<axum::http::request::Parts>().is_none_or(|request| {
            let path = request.uri.path();
            path != LOGIN_PATH && !path.starts_with("/login/") && !path.starts_with("/join/")
        })
    }
    #[cfg(not(feature = "ssr"))]
    {
        true
    }
}

#[component]
pub fn App() -> impl IntoView {
    provide_meta_context();
    me::provide();

    view! {
        <Stylesheet id="leptos" href="/pkg/textpeak.css" />
        <Link rel="icon" href="/favicon.svg" type_="image/svg+xml" />
        <Title formatter=|page: String| format!("{page} · TextPeak Console") />
        <Router>
            <Routes fallback=layout::NotFound>
                <Route path=path!("/login") view={Lazy::<LoginRoute>::new()} />
                <Route path=path!("/login/two-factor") view={Lazy::<TwoFactorRoute>::new()} ssr=SsrMode::InOrder />
                <Route path=path!("/join/:token") view={Lazy::<JoinRoute>::new()} ssr=SsrMode::InOrder />
                // Streamed in order: out of order, the signed-in line and the table came in
                // later chunks that moved the page down as they landed (layout shift) and
                // flashed "Loading…", for queries that take milliseconds. (`Async` also
                // renders whole, but drops a lazy page's preload hints.)
                <ParentRoute path=path!("") view=layout::ConsoleLayout ssr=SsrMode::InOrder>
                    <Route path=path!("") view={Lazy::<HomeRoute>::new()} />
                    <Route path=path!("/settings/api-keys") view=api_keys::ApiKeysPage />
                    <Route path=path!("/settings/api-keys/:id") view={Lazy::<KeyRoute>::new()} />
                    <Route path=path!("/settings/ip-acls") view={Lazy::<IpAclsRoute>::new()} />
                    <Route path=path!("/settings/audit-log") view={Lazy::<AuditLogRoute>::new()} />
                    <Route path=path!("/settings/team") view={Lazy::<TeamRoute>::new()} />
                    <Route path=path!("/settings/security") view={Lazy::<SecurityRoute>::new()} />
                </ParentRoute>
            </Routes>
        </Router>
    }
}

/// A page whose code the browser fetches only when the page is visited:
/// `cargo leptos --split` moves what only its view reaches into a wasm file
/// of its own. Only pages a first visit rarely starts on are lazy, and the
/// sign-in page, which the browser renders only after a navigation inside
/// the console (`/login` itself loads no wasm): splitting the Overview and
/// API Keys pages too made a first visit to API Keys heavier (shared code in
/// many small files compresses worse) and slower (each file one more round
/// trip); see BENCHMARKS.md. The server
/// renders a lazy page as any other route, and has the browser fetch its
/// files for hydration as soon as the page has painted
/// ([`split::fetch_after_paint`]).
///
/// Written out rather than with `#[lazy_route]`, whose loader panics when
/// the file cannot be fetched (the connection drops at that moment), which
/// ends the page's whole wasm: with `fallible`, a page followed from inside
/// the console says so and the rest keeps working, and a page loaded from
/// the server reloads once (see [`split::page_not_loaded_while_hydrating`]).
macro_rules! lazy_page {
    ($route:ident, $split:ident, $preload:ident, $page:path) => {
        lazy_page!($route, $split, $preload, $page, || view! { <split::PageNotLoaded /> }.into_any());
    };
    ($route:ident, $split:ident, $preload:ident, $page:path, $not_loaded:expr) => {
        #[derive(Debug)]
        struct $route;

        impl LazyRoute for $route {
            fn data() -> Self {
                $route
            }

            async fn view(_this: Self) -> AnyView {
                #[cfg(feature = "ssr")]
                split::fetch_after_paint(stringify!($split));
                $split().await.unwrap_or_else(|split::NotLoaded| $not_loaded())
            }

            async fn preload() {
                // After a navigation, the page is chosen next, fetches again, and shows a failure.
                if $preload().await.is_err() {
                    split::page_not_loaded_while_hydrating().await;
                }
            }
        }

        #[leptos::wasm_split::wasm_split($split, wasm_split_path = ::leptos::wasm_split, preload($preload), fallible)]
        fn $split() -> Result<AnyView, split::NotLoaded> {
            mark_hydrated();
            Ok($page().into_any())
        }
    };
}

// Outside the console's layout: the message needs a `<main>` of its own.
lazy_page!(LoginRoute, login_page, preload_login_page, login::LoginPage, || view! {
    <main id="main" class="content">
        <split::PageNotLoaded />
    </main>
}
.into_any());
lazy_page!(TwoFactorRoute, two_factor_page, preload_two_factor_page, login::TwoFactorPage, || view! {
    <main id="main" class="content">
        <split::PageNotLoaded />
    </main>
}
.into_any());
lazy_page!(JoinRoute, join_page, preload_join_page, login::JoinPage, || view! {
    <main id="main" class="content">
        <split::PageNotLoaded />
    </main>
}
.into_any());
lazy_page!(HomeRoute, home_page, preload_home_page, home::HomePage);
lazy_page!(KeyRoute, key_page, preload_key_page, api_keys::KeyPage);
lazy_page!(TeamRoute, team_page, preload_team_page, team::TeamPage);
lazy_page!(SecurityRoute, security_page, preload_security_page, security::SecurityPage);
lazy_page!(IpAclsRoute, ip_acls_page, preload_ip_acls_page, ip_acls::IpAclsPage);
lazy_page!(AuditLogRoute, audit_log_page, preload_audit_log_page, audit_log::AuditLogPage);

/// The attribute [`mark_hydrated`] sets; `split` reads it to tell a first
/// load's hydration from a later navigation.
pub(crate) const HYDRATED: &str = "data-hydrated";

/// Sets `data-hydrated` on `<html>` once the wasm has attached the page's
/// handlers: effects run only in the browser, and a lazy page's only after
/// its code has arrived, so tests wait for this before clicking. Every page
/// calls it.
pub(crate) fn mark_hydrated() {
    Effect::new(move |_| {
        split::forget_reload();
        if let Some(root) = document().document_element() {
            let _ = root.set_attribute(HYDRATED, "true");
        }
    });
}
