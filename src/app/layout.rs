//! The frame around every console page: the main menu at the side, the page at the right.

use crate::app::me::session;
use crate::rpc::ConsoleError;
use crate::rpc::auth::SignOut;
use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::components::{A, Outlet};
use leptos_router::hooks::use_location;

#[component]
pub fn ConsoleLayout() -> impl IntoView {
    crate::app::confirm::provide();
    view! {
        <a class="skip-link" href="#main">"Skip to content"</a>
        <div class="layout">
            <MainMenu />
            <div class="page">
                <TopBar />
                <main id="main" class="content" tabindex="-1">
                    <Outlet />
                </main>
            </div>
        </div>
        <crate::app::confirm::ConfirmAccessDialog />
    }
}

/// Who is signed in, and the way out.
#[component]
fn TopBar() -> impl IntoView {
    let sign_out = ServerAction::<SignOut>::new();
    // An ended session cannot sign out on the server; leave for the sign-in page anyway.
    Effect::new(move |_| {
        if sign_out.value().with(|v| matches!(v, Some(Err(_)))) {
            let _ = window().location().assign("/login");
        }
    });
    view! {
        <header class="topbar">
            {session().me().map(|me| view! {
                <span class="signed-in">
                    "Signed in as " <strong>{me.username}</strong> " · " {me.account}
                </span>
            })}
            <ActionForm action=sign_out attr:class="sign-out">
                <button type="submit" class="button small">"Sign out"</button>
            </ActionForm>
        </header>
    }
}

/// The main menu. Settings is a disclosure button; it starts open on
/// settings pages. On a narrow screen (below 768 px, see main.css) the list
/// hides behind **Menu**, the first thing in the page, so opening it puts the
/// links next in the tab order; Escape or a choice closes it and focus goes
/// back to the button.
#[component]
fn MainMenu() -> impl IntoView {
    let location = use_location();
    let expanded = RwSignal::new(location.pathname.get_untracked().starts_with("/settings"));
    let open = RwSignal::new(false);
    let menu_button = NodeRef::<leptos::html::Button>::new();
    // Following a link into settings from elsewhere opens the section.
    Effect::new(move |_| {
        if location.pathname.get().starts_with("/settings") {
            expanded.set(true);
        }
    });
    let close = move || {
        if open.get_untracked() {
            open.set(false);
            if let Some(button) = menu_button.get_untracked() {
                let _ = button.focus();
            }
        }
    };
    let on_key = move |ev: leptos::ev::KeyboardEvent| {
        if ev.key() == "Escape" {
            close();
        }
    };
    view! {
        <nav class="side-menu" class:open=move || open.get() aria-label="Main menu" on:keydown=on_key>
            <a class="brand" href="/">
                "TextPeak"
            </a>
            <button
                type="button"
                class="button small menu-button"
                node_ref=menu_button
                aria-expanded=move || open.get().to_string()
                aria-controls="main-menu"
                on:click=move |_| open.update(|open| *open = !*open)
            >
                "Menu"
            </button>
            // A choice closes the menu: any click in the list but on Settings.
            <ul class="menu" id="main-menu" on:click=move |_| close()>
                <li>
                    <A href="/" exact=true>
                        "Overview"
                    </A>
                </li>
                <li>
                    <button
                        type="button"
                        class="menu-section"
                        aria-expanded=move || expanded.get().to_string()
                        aria-controls="settings-menu"
                        on:click=move |ev| {
                            ev.stop_propagation();
                            expanded.update(|open| *open = !*open);
                        }
                    >
                        "Settings"
                    </button>
                    <ul id="settings-menu" class="submenu" hidden=move || !expanded.get()>
                        <li>
                            <A href="/settings/api-keys">"API Keys"</A>
                        </li>
                        <li>
                            <A href="/settings/ip-acls">"IP ACLs"</A>
                        </li>
                        <li>
                            <A href="/settings/audit-log">"Audit Log"</A>
                        </li>
                        <li>
                            <A href="/settings/team">"Team"</A>
                        </li>
                        <li>
                            <A href="/settings/security">"Security"</A>
                        </li>
                    </ul>
                </li>
            </ul>
        </nav>
    }
}

#[component]
pub fn NotFound() -> impl IntoView {
    #[cfg(feature = "ssr")]
    if let Some(response) = use_context::<leptos_axum::ResponseOptions>() {
        response.set_status(axum::http::StatusCode::NOT_FOUND);
    }
    crate::app::mark_hydrated();
    view! {
        <Title text="Page not found" />
        <main id="main" class="content">
            <h1>"Page not found"</h1>
            <p>
                <a href="/">"Back to the console"</a>
            </p>
        </main>
    }
}

/// The title of a page, with its main action at the right (Add API Key, Add IP ACL).
/// The heading takes focus when what had it is gone (see [`focus_page_heading`]).
#[component]
pub fn PageHeader(
    title: &'static str,
    action: &'static str,
    /// False for a role that may not do it: the button is not there at all.
    show_action: bool,
    on_action: Callback<()>,
    /// The pointer or focus reached the action's button: a click may follow.
    #[prop(optional)]
    on_intent: Option<Callback<()>>,
) -> impl IntoView {
    let intent = move || {
        if let Some(on_intent) = on_intent {
            on_intent.run(());
        }
    };
    view! {
        <Title text=title />
        <header class="page-header">
            <h1 tabindex="-1">{title}</h1>
            {show_action.then(|| view! {
                <button
                    type="button"
                    class="button primary"
                    on:click=move |_| on_action.run(())
                    on:pointerenter=move |_| intent()
                    on:focus=move |_| intent()
                >
                    {action}
                </button>
            })}
        </header>
    }
}

/// Edit and Delete at the end of a table row; both described by the row's name.
#[component]
pub fn RowActions(name_id: String, on_edit: Callback<()>, on_delete: Callback<()>) -> impl IntoView {
    if !crate::app::me::manages_keys() {
        return view! { <td class="actions"></td> }.into_any();
    }
    view! {
        <td class="actions">
            <button type="button" class="button small" aria-describedby=name_id.clone() on:click=move |_| on_edit.run(())>
                "Edit"
            </button>
            <button
                type="button"
                class="button small danger-outline"
                aria-describedby=name_id
                on:click=move |_| on_delete.run(())
            >
                "Delete"
            </button>
        </td>
    }
    .into_any()
}

/// Puts keyboard and screen-reader focus on the page's heading. Used when the
/// element that had focus is removed (a deleted row's buttons), which would
/// otherwise drop focus to the top of the document.
pub fn focus_page_heading() {
    #[cfg(feature = "hydrate")]
    {
        use wasm_bindgen::JsCast;
        if let Ok(Some(heading)) = document().query_selector("main h1")
            && let Ok(heading) = heading.dyn_into::<web_sys::HtmlElement>()
        {
            let _ = heading.focus();
        }
    }
}

/// [`focus_page_heading`], when focus has fallen to the document body.
pub fn focus_page_heading_if_lost() {
    #[cfg(feature = "hydrate")]
    {
        let lost = document().active_element().is_none_or(|active| active.tag_name().eq_ignore_ascii_case("body"));
        if lost {
            focus_page_heading();
        }
    }
}

/// After a confirmed delete: a status line says what went, and focus moves to
/// the heading once the dialog has closed, because the row whose Delete button
/// opened it is about to disappear.
pub fn announce_deleted(status: RwSignal<Option<String>>, message: String) {
    status.set(Some(message));
    request_animation_frame(focus_page_heading);
}

/// Called as a dialog about one row closes, with the dialog's last result. If
/// that said "no longer exists", the table has refreshed without the row, and
/// the button that opened the dialog is gone or, its element reused, now
/// belongs to another row: focus goes to the heading instead.
pub fn refocus_if_row_gone<T>(result: &Option<Result<T, ConsoleError>>) {
    if matches!(result, Some(Err(ConsoleError::NotFound(_)))) {
        request_animation_frame(focus_page_heading);
    }
}
