//! The pages of the signed out: sign-in, its second step, and joining
//! through an invitation. They ship no wasm (see [`crate::app::needs_bundle`]):
//! each is a plain HTML form posted to the server (`server::http::forms`),
//! which answers a success with a redirect and a failure with the page
//! again, message included, so a visitor downloads nothing they cannot use yet.

use crate::app::format::query_value;
use crate::rpc::team::invitation_details;
use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::hooks::{use_params_map, use_query_map};

/// Where the sign-in form posts: the page's own address.
pub const LOGIN_PATH: &str = "/login";
/// The second step: a code from the authenticator app.
pub const TWO_FACTOR_PATH: &str = "/login/two-factor";

/// The second step's address, passing on the page to return to.
pub fn second_step_url(next: Option<&str>) -> String {
    match next {
        Some(next) => format!("{TWO_FACTOR_PATH}?next={}", query_value(next)),
        None => TWO_FACTOR_PATH.to_owned(),
    }
}

/// A failed form, put in context by the server when it renders the page
/// again: the message to show, and what was typed that is worth keeping.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FormFailure {
    pub username: String,
    pub next: Option<String>,
    pub message: String,
    /// The second step was given a recovery code (show that field again).
    pub recovery: bool,
}

/// The page the guard sent the admin here from; the server decides whether to follow it.
fn next_page(failure: &Option<FormFailure>) -> Option<String> {
    match failure {
        Some(failure) => failure.next.clone(),
        None => use_query_map().with_untracked(|query| query.get("next")),
    }
}

#[component]
pub fn LoginPage() -> impl IntoView {
    // Only in a browser that came here from a console page: on the server no effect runs.
    crate::app::mark_hydrated();
    let failure = use_context::<FormFailure>();
    let next = next_page(&failure);
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
                        maxlength="64"
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

/// Two-factor authentication: the code from the app, or (after "Use a
/// recovery code", a link that needs no script) a recovery code.
#[component]
pub fn TwoFactorPage() -> impl IntoView {
    crate::app::mark_hydrated();
    let failure = use_context::<FormFailure>();
    let next = next_page(&failure);
    let recovery = failure.as_ref().map(|f| f.recovery).unwrap_or(false)
        || use_query_map().with_untracked(|query| query.get("recovery").is_some());
    let message = failure.map(|f| f.message);
    let (id, label, name, autocomplete) = if recovery {
        ("two-factor-recovery", "Recovery code", "recovery_code", "off")
    } else {
        ("two-factor-code", "Authentication code", "code", "one-time-code")
    };
    let switch = {
        let mut href = if recovery { TWO_FACTOR_PATH.to_owned() } else { format!("{TWO_FACTOR_PATH}?recovery=1") };
        if let Some(next) = &next {
            href.push(if recovery { '?' } else { '&' });
            href.push_str(&format!("next={}", query_value(next)));
        }
        href
    };
    view! {
        <Title text="Two-factor authentication" />
        <main id="main" class="login">
            <form method="post" action=TWO_FACTOR_PATH class="panel login-form" aria-labelledby="two-factor-title">
                <h1 id="two-factor-title">"Two-factor authentication"</h1>
                <p>
                    {if recovery {
                        "Enter one of the recovery codes you saved when you turned on two-factor authentication."
                    } else {
                        "Enter the 6-digit code your authenticator app shows for TextPeak."
                    }}
                </p>
                <div class="field">
                    <label for=id>{label}</label>
                    <input
                        id=id
                        name=name
                        type="text"
                        inputmode=(!recovery).then_some("numeric")
                        autocomplete=autocomplete
                        autofocus=true
                        required=true
                        maxlength="32"
                        aria-describedby="two-factor-error"
                    />
                </div>
                {next.map(|next| view! { <input type="hidden" name="next" value=next /> })}
                <p class="form-error" id="two-factor-error" role="alert">
                    {message}
                </p>
                <button type="submit" class="button primary wide">"Verify"</button>
                <p class="alternative">
                    <a href=switch>
                        {if recovery { "Use your authenticator app" } else { "Use a recovery code" }}
                    </a>
                </p>
            </form>
        </main>
    }
}

/// Join <account>: the invited admin chooses a password. A link that cannot
/// be used says so, and nothing else of the account.
#[component]
pub fn JoinPage() -> impl IntoView {
    crate::app::mark_hydrated();
    let params = use_params_map();
    let token = params.with_untracked(|p| p.get("token").unwrap_or_default());
    let action = format!("/join/{token}");
    let details = Resource::new(move || token.clone(), invitation_details);
    let failure = use_context::<FormFailure>();
    view! {
        <main id="main" class="login">
            <Suspense fallback=|| ()>
                {move || {
                    let failure = failure.clone();
                    let action = action.clone();
                    Suspend::new(async move {
                        match details.await {
                            Ok(details) => {
                                let title = format!("Join {}", details.account);
                                view! {
                                    <Title text=title.clone() />
                                    <form method="post" action=action class="panel login-form" aria-labelledby="join-title">
                                        <h1 id="join-title">{title}</h1>
                                        <p>
                                            "You were invited as " <strong>{details.username.clone()}</strong>
                                            ". Choose a password of at least 12 characters to sign in with."
                                        </p>
                                        <input type="text" name="username" autocomplete="username" value=details.username hidden=true />
                                        <div class="field">
                                            <label for="join-password">"Password"</label>
                                            <input id="join-password" name="password" type="password" autocomplete="new-password" autofocus=true required=true minlength="12" maxlength="1024" aria-describedby="join-error" />
                                        </div>
                                        <div class="field">
                                            <label for="join-confirm">"Confirm password"</label>
                                            <input id="join-confirm" name="confirm" type="password" autocomplete="new-password" required=true minlength="12" maxlength="1024" />
                                        </div>
                                        <p class="form-error" id="join-error" role="alert">
                                            {failure.map(|f| f.message)}
                                        </p>
                                        <button type="submit" class="button primary wide">"Join"</button>
                                    </form>
                                }
                                    .into_any()
                            }
                            Err(_) => {
                                view! {
                                    <Title text="Invitation no longer valid" />
                                    <section class="panel login-form">
                                        <h1>"This invitation is no longer valid"</h1>
                                        <p>"Ask an owner of the account for a new invitation."</p>
                                    </section>
                                }
                                    .into_any()
                            }
                        }
                    })
                }}
            </Suspense>
        </main>
    }
}
