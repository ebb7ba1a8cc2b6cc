//! Settings › Security, for every role: the admin's own password,
//! two-factor authentication with its recovery codes, and the browsers
//! signed in as them.

use crate::app::confirm::retry_when_confirmed;
use crate::app::form::{FormError, LoadError, TextField, field_error, general_error, last_error};
use crate::app::format::{query_value, utc_minute};
use crate::app::me::session;
use crate::app::shown_once::{CopyState, copy_to_clipboard};
use crate::rpc::Field;
use crate::rpc::security::{
    BeginTwoFactorSetup, ChangePassword, EndOtherSessions, EndSession, NewRecoveryCodes, SecurityOverview, SessionRow,
    TurnOffTwoFactor, TurnOnTwoFactor, security_settings,
};
use leptos::html;
use leptos::prelude::*;
use leptos_meta::Title;

#[component]
pub fn SecurityPage() -> impl IntoView {
    let password = ServerAction::<ChangePassword>::new();
    let begin = ServerAction::<BeginTwoFactorSetup>::new();
    let turn_on = ServerAction::<TurnOnTwoFactor>::new();
    let new_codes = ServerAction::<NewRecoveryCodes>::new();
    let turn_off = ServerAction::<TurnOffTwoFactor>::new();
    let end_one = ServerAction::<EndSession>::new();
    let end_others = ServerAction::<EndOtherSessions>::new();
    retry_when_confirmed(new_codes);
    let settings = Resource::new(
        move || {
            (
                password.version().get(),
                turn_on.version().get(),
                turn_off.version().get(),
                new_codes.version().get(),
                end_one.version().get(),
                end_others.version().get(),
            )
        },
        |_| security_settings(),
    );
    // Recovery codes shown once, after turning on or replacing them.
    let codes = RwSignal::new(None::<Vec<String>>);
    for result in [turn_on.value(), new_codes.value()] {
        Effect::new(move |_| {
            if let Some(Ok(fresh)) = result.get() {
                codes.set(Some(fresh));
                result.set(None);
            }
        });
    }
    let two_factor = session().two_factor;
    Effect::new(move |_| {
        if let Some(Ok(loaded)) = settings.get() {
            two_factor.set(loaded.two_factor);
        }
    });
    // A set-up that ended (on, or off again) starts afresh next time.
    Effect::new(move |_| {
        if codes.with(Option::is_some) || turn_off.value().with(|v| matches!(v, Some(Ok(())))) {
            begin.value().set(None);
        }
    });
    view! {
        <Title text="Security" />
        <header class="page-header">
            <h1 tabindex="-1">"Security"</h1>
        </header>
        <Transition fallback=|| view! { <p class="empty">"Loading…"</p> }>
            {move || Suspend::new(async move {
                match settings.await {
                    Ok(loaded) => view! {
                        <SecurityView loaded codes password begin turn_on new_codes turn_off end_one end_others />
                    }
                    .into_any(),
                    Err(err) => view! { <LoadError err /> }.into_any(),
                }
            })}
        </Transition>
    }
}

#[component]
fn SecurityView(
    loaded: SecurityOverview,
    codes: RwSignal<Option<Vec<String>>>,
    password: ServerAction<ChangePassword>,
    begin: ServerAction<BeginTwoFactorSetup>,
    turn_on: ServerAction<TurnOnTwoFactor>,
    new_codes: ServerAction<NewRecoveryCodes>,
    turn_off: ServerAction<TurnOffTwoFactor>,
    end_one: ServerAction<EndSession>,
    end_others: ServerAction<EndOtherSessions>,
) -> impl IntoView {
    view! {
        {loaded.must_set_up.then(|| view! {
            <p class="notice" role="alert">
                "Your account requires two-factor authentication. Set it up below to reach the rest of the console."
            </p>
        })}
        <PasswordSection action=password />
        <section class="panel" aria-labelledby="two-factor-title">
            <h2 id="two-factor-title">"Two-factor authentication"</h2>
            {move || match codes.get() {
                Some(list) => view! { <RecoveryCodes codes=list on_done=Callback::new(move |_| codes.set(None)) /> }.into_any(),
                None if loaded.two_factor => view! {
                    <TwoFactorOn left=loaded.recovery_codes_left new_codes turn_off />
                }
                .into_any(),
                None => view! { <TwoFactorSetup begin turn_on /> }.into_any(),
            }}
        </section>
        <SessionsSection sessions=loaded.sessions end_one end_others />
    }
}

#[component]
fn PasswordSection(action: ServerAction<ChangePassword>) -> impl IntoView {
    let (current, new, confirm) =
        (NodeRef::<html::Input>::new(), NodeRef::<html::Input>::new(), NodeRef::<html::Input>::new());
    let error = last_error(action.value());
    let done = Signal::derive(move || action.value().with(|v| matches!(v, Some(Ok(())))));
    let submit = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        if action.pending().get_untracked() {
            return;
        }
        let value = |node: NodeRef<html::Input>| node.get_untracked().map(|i| i.value()).unwrap_or_default();
        action.dispatch(ChangePassword { current: value(current), new: value(new), confirm: value(confirm) });
    };
    // A changed password leaves no typed password in the fields.
    Effect::new(move |_| {
        if done.get() {
            for node in [current, new, confirm] {
                if let Some(input) = node.get_untracked() {
                    input.set_value("");
                }
            }
        }
    });
    view! {
        <section class="panel" aria-labelledby="password-title">
            <h2 id="password-title">"Password"</h2>
            <form class="stacked" on:submit=submit>
                <TextField id="current-password" label="Current password" initial="" node_ref=current error=field_error(error, Field::Password) input_type="password" autocomplete="current-password" />
                <TextField id="new-password" label="New password" initial="" node_ref=new error=field_error(error, Field::NewPassword) input_type="password" autocomplete="new-password" />
                <TextField id="confirm-new-password" label="Confirm new password" initial="" node_ref=confirm error=field_error(error, Field::ConfirmPassword) input_type="password" autocomplete="new-password" />
                <FormError error=general_error(error) />
                <p class="form-status" role="status">
                    {move || done.get().then_some("Your password was changed. Every other session of yours has ended.")}
                </p>
                <button type="submit" class="button primary">"Change password"</button>
            </form>
        </section>
    }
}

#[component]
fn TwoFactorSetup(begin: ServerAction<BeginTwoFactorSetup>, turn_on: ServerAction<TurnOnTwoFactor>) -> impl IntoView {
    let code = NodeRef::<html::Input>::new();
    let error = last_error(turn_on.value());
    let begin_error = general_error(last_error(begin.value()));
    let submit = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        if !turn_on.pending().get_untracked() {
            turn_on.dispatch(TurnOnTwoFactor { code: code.get_untracked().map(|i| i.value()).unwrap_or_default() });
        }
    };
    view! {
        <p>
            "Off. With two-factor authentication, signing in needs a code from an authenticator app on your phone as well as your password."
        </p>
        {move || match begin.value().get() {
            Some(Ok(setup)) => view! {
                <ol class="steps">
                    <li>
                        "Scan this QR code with your authenticator app."
                        <img class="qr" src=setup.qr_code alt="QR code for your authenticator app" width="200" height="200" />
                    </li>
                    <li>
                        "Or type this key into the app instead:"
                        <div class="field">
                            <label for="setup-key">"Setup key"</label>
                            <input id="setup-key" class="token" readonly=true spellcheck="false" value=setup.setup_key />
                        </div>
                    </li>
                    <li>"Enter the 6-digit code the app shows."</li>
                </ol>
                <form class="stacked" on:submit=submit>
                    <TextField id="setup-code" label="Authentication code" initial="" node_ref=code error=field_error(error, Field::Code) autofocus=true autocomplete="one-time-code" />
                    <FormError error=general_error(error) />
                    <button type="submit" class="button primary">"Turn on"</button>
                </form>
            }
            .into_any(),
            _ => view! {
                <FormError error=begin_error />
                <button type="button" class="button primary" on:click=move |_| { begin.dispatch(BeginTwoFactorSetup {}); }>
                    "Set up two-factor authentication"
                </button>
            }
            .into_any(),
        }}
    }
}

#[component]
fn TwoFactorOn(
    left: u64,
    new_codes: ServerAction<NewRecoveryCodes>,
    turn_off: ServerAction<TurnOffTwoFactor>,
) -> impl IntoView {
    let password = NodeRef::<html::Input>::new();
    let error = last_error(turn_off.value());
    let codes_error = general_error(last_error(new_codes.value()));
    let submit = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        if !turn_off.pending().get_untracked() {
            turn_off.dispatch(TurnOffTwoFactor {
                password: password.get_untracked().map(|i| i.value()).unwrap_or_default(),
            });
        }
    };
    view! {
        <p>
            <span class="status active">"On"</span>
            {format!(" · {left} recovery {} left", if left == 1 { "code" } else { "codes" })}
        </p>
        <FormError error=codes_error />
        <p>
            <button type="button" class="button" on:click=move |_| { new_codes.dispatch(NewRecoveryCodes {}); }>
                "New recovery codes"
            </button>
        </p>
        <form class="stacked" on:submit=submit>
            <TextField id="turn-off-password" label="Password" initial="" node_ref=password error=field_error(error, Field::Password) input_type="password" autocomplete="current-password" />
            <FormError error=general_error(error) />
            <button type="submit" class="button danger-outline">"Turn off two-factor authentication"</button>
        </form>
    }
}

/// The codes, once: Copy, Download (a text file, one code per line) and Done.
#[component]
fn RecoveryCodes(codes: Vec<String>, on_done: Callback<()>) -> impl IntoView {
    let text = codes.join("\n") + "\n";
    let href = format!("data:text/plain;charset=utf-8,{}", query_value(&text));
    let state = RwSignal::new(CopyState::Idle);
    let stored = StoredValue::new(text);
    let done = NodeRef::<html::Button>::new();
    view! {
        <h3 id="recovery-codes-title">"Recovery codes"</h3>
        <p>
            "Keep these somewhere safe, apart from your phone. Each signs you in once if you lose your authenticator app. They are not shown again."
        </p>
        <ul class="recovery-codes" aria-labelledby="recovery-codes-title">
            {codes.into_iter().map(|code| view! { <li><code>{code}</code></li> }).collect_view()}
        </ul>
        <p class="dialog-actions start">
            <button type="button" class="button" on:click=move |_| copy_to_clipboard(stored.get_value(), state)>
                {move || if state.get() == CopyState::Copied { "Copied" } else { "Copy" }}
            </button>
            <a class="button" href=href download="textpeak-recovery-codes.txt">"Download"</a>
            <button type="button" class="button primary" node_ref=done on:click=move |_| on_done.run(())>"Done"</button>
        </p>
        <p class="copy-status" role="status">
            {move || match state.get() {
                CopyState::Idle => "",
                CopyState::Copied => "Copied to the clipboard.",
                CopyState::Failed => "The browser refused the clipboard: select the codes and copy them with Ctrl+C.",
            }}
        </p>
    }
}

#[component]
fn SessionsSection(
    sessions: Vec<SessionRow>,
    end_one: ServerAction<EndSession>,
    end_others: ServerAction<EndOtherSessions>,
) -> impl IntoView {
    let others = sessions.iter().any(|s| !s.this_browser);
    // Focusable: on a phone the table scrolls inside the panel, and with this
    // browser's session alone it holds no control a keyboard could reach it by.
    view! {
        <section class="panel" aria-labelledby="sessions-title" tabindex="0">
            <div class="section-header">
                <h2 id="sessions-title">"Sessions"</h2>
                {others.then(|| view! {
                    <button type="button" class="button" on:click=move |_| { end_others.dispatch(EndOtherSessions {}); }>
                        "Sign out everywhere else"
                    </button>
                })}
            </div>
            <table class="data-table">
                <caption class="visually-hidden">"Sessions"</caption>
                <thead>
                    <tr>
                        <th scope="col">"Browser"</th>
                        <th scope="col">"Address"</th>
                        <th scope="col">"Signed in"</th>
                        <th scope="col">"Last active"</th>
                        <th scope="col"><span class="visually-hidden">"Actions"</span></th>
                    </tr>
                </thead>
                <tbody>
                    {sessions
                        .into_iter()
                        .map(|s| {
                            let id = s.id;
                            let name_id = format!("session-{id}-browser");
                            view! {
                                <tr>
                                    <th scope="row" id=name_id.clone()>{s.browser}</th>
                                    <td><code>{s.ip}</code></td>
                                    <td>{utc_minute(s.signed_in)}</td>
                                    <td>{utc_minute(s.last_active)}</td>
                                    <td class="actions">
                                        {if s.this_browser {
                                            view! { <span class="status active">"This browser"</span> }.into_any()
                                        } else {
                                            view! {
                                                <button type="button" class="button small" aria-describedby=name_id on:click=move |_| { end_one.dispatch(EndSession { id }); }>
                                                    "Sign out"
                                                </button>
                                            }
                                            .into_any()
                                        }}
                                    </td>
                                </tr>
                            }
                        })
                        .collect_view()}
                </tbody>
            </table>
        </section>
    }
}
