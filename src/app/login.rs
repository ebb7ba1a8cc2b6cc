//! The sign-in page: the only page without a session.

use crate::api::auth::SignIn;
use crate::app::form::{FormError, general_error, last_error};
use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::hooks::use_query_map;

/// A plain form posting to the `sign_in` server function: it works before the
/// wasm has loaded too (the server then answers with a redirect).
#[component]
pub fn LoginPage() -> impl IntoView {
    crate::app::mark_hydrated();
    let sign_in = ServerAction::<SignIn>::new();
    let error = general_error(last_error(sign_in.value()));
    // The page the guard sent the admin here from; the server decides whether to follow it.
    let next = use_query_map().with_untracked(|query| query.get("next"));
    view! {
        <Title text="Sign in" />
        <main id="main" class="login">
            <ActionForm action=sign_in attr:class="panel login-form" attr:aria-labelledby="login-title">
                <h1 id="login-title">"Sign in to TextPeak Console"</h1>
                <div class="field">
                    <label for="login-username">"Username"</label>
                    <input id="login-username" name="username" type="text" autocomplete="username" autofocus=true required=true />
                </div>
                <div class="field">
                    <label for="login-password">"Password"</label>
                    <input id="login-password" name="password" type="password" autocomplete="current-password" required=true />
                </div>
                {next.map(|next| view! { <input type="hidden" name="next" value=next /> })}
                <FormError error />
                <button type="submit" class="button primary wide">"Sign in"</button>
            </ActionForm>
        </main>
    }
}
