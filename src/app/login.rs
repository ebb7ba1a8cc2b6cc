//! The sign-in page: the only page without a session, and the only one that
//! ships no wasm (see [`crate::app::needs_bundle`]). It is a plain HTML form
//! posted to the server (`server::http::login_form`), which answers a
//! success with a redirect and a failure with this page again, message
//! included, so a visitor downloads nothing they cannot use yet.

use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::hooks::use_query_map;

/// Where the form posts: the page's own address.
pub const LOGIN_PATH: &str = "/login";

/// A failed sign-in, put in context by the server when it renders the page
/// again: the message to show, and what the admin typed that is worth keeping.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SignInFailure {
    pub username: String,
    pub next: Option<String>,
    pub message: String,
}

#[component]
pub fn LoginPage() -> impl IntoView {
    // Only in a browser that came here from a console page: on the server no effect runs.
    crate::app::mark_hydrated();
    let failure = use_context::<SignInFailure>();
    // The page the guard sent the admin here from; the server decides whether to follow it.
    let next = match &failure {
        Some(failure) => failure.next.clone(),
        None => use_query_map().with_untracked(|query| query.get("next")),
    };
    let username = failure.as_ref().map(|f| f.username.clone()).unwrap_or_default();
    // After a failure the username is kept, so the password is what to type next.
    let retry = failure.is_some();
    let message = failure.map(|f| f.message);
    view! {
        <Title text="Sign in" />
        <main id="main" class="login">
            <form method="post" action=LOGIN_PATH class="panel login-form" aria-labelledby="login-title">
                <h1 id="login-title">"Sign in to TextPeak Console"</h1>
                <div class="field">
                    <label for="login-username">"Username"</label>
                    <input
                        id="login-username"
                        name="username"
                        type="text"
                        autocomplete="username"
                        autofocus=!retry
                        required=true
                        value=username
                    />
                </div>
                <div class="field">
                    <label for="login-password">"Password"</label>
                    <input
                        id="login-password"
                        name="password"
                        type="password"
                        autocomplete="current-password"
                        autofocus=retry
                        required=true
                        aria-describedby=retry.then_some("login-error")
                    />
                </div>
                {next.map(|next| view! { <input type="hidden" name="next" value=next /> })}
                // Read with the password field it describes, where focus lands after a failure.
                <p class="form-error" id="login-error" role="alert">
                    {message}
                </p>
                <button type="submit" class="button primary wide">"Sign in"</button>
            </form>
        </main>
    }
}
