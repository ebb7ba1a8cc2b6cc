//! The form of the add and edit dialogs: a name, an IP ACL, and when the key expires.

use super::key_rules::{PermissionsField, RateLimitField, RulesChoice};
use crate::app::form::{FieldError, FormFooter, TextField, field_error, general_error};
use crate::app::format::utc_date;
use crate::domain::permissions::Access;
use crate::domain::rate_limit::RateLimit;
use crate::rpc::api_keys::IpAclChoice;
use crate::rpc::{ConsoleError, Field};
use leptos::html;
use leptos::prelude::*;

/// The ids and words that differ between Add API Key and Edit API Key.
pub struct FormText {
    pub title_id: &'static str,
    pub title: &'static str,
    pub name_id: &'static str,
    pub name_label: &'static str,
    pub acl_id: &'static str,
    pub expires_id: &'static str,
    pub submit: &'static str,
}

impl FormText {
    pub const ADD: FormText = FormText {
        title_id: "add-api-key-title",
        title: "Add API Key",
        name_id: "add-api-key-name",
        name_label: "API Key Name",
        acl_id: "add-api-key-acl",
        expires_id: "add-api-key-expires",
        submit: "Add",
    };
    pub const EDIT: FormText = FormText {
        title_id: "edit-api-key-title",
        title: "Edit API Key",
        name_id: "edit-api-key-name",
        name_label: "Name",
        acl_id: "edit-api-key-acl",
        expires_id: "edit-api-key-expires",
        submit: "Submit",
    };
}

/// What the form sends: name, IP ACL, (unless the admin left Expires as it
/// was when editing) the Expires choice and the Expiry date, the permissions
/// (`full` or codes) and the rate limit (`none` or requests, and the period).
#[derive(Debug, Clone)]
pub struct KeyFormInput {
    pub name: String,
    pub ip_acl_id: i32,
    pub expiry: Option<(String, String)>,
    pub permissions: String,
    pub rate_limit: String,
    pub rate_per: String,
}

#[component]
pub fn ApiKeyForm(
    text: FormText,
    initial_name: String,
    initial_acl: Option<i32>,
    /// The key's expiry now (Edit): preselects "On a date…" with that date.
    initial_expiry: Option<i64>,
    initial_access: Access,
    initial_limit: Option<RateLimit>,
    ip_acls: Signal<Vec<IpAclChoice>>,
    error: Signal<Option<ConsoleError>>,
    #[prop(into)] pending: Signal<bool>,
    on_submit: Callback<KeyFormInput>,
    on_cancel: Callback<()>,
) -> impl IntoView {
    let name = NodeRef::<html::Input>::new();
    let acl = NodeRef::<html::Select>::new();
    let choice = RwSignal::new(if initial_expiry.is_some() { "date" } else { "never" }.to_owned());
    let date = NodeRef::<html::Input>::new();
    // An edit that leaves Expires alone keeps the key's expiry exactly, even a past one.
    let touched = RwSignal::new(initial_expiry.is_none());
    let rules = RulesChoice::new(initial_access, initial_limit);
    let submit = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        if pending.get_untracked() {
            return;
        }
        let name = name.get_untracked().map(|input| input.value()).unwrap_or_default();
        // 0 names no ACL; the server answers that it does not exist.
        let ip_acl_id = acl.get_untracked().and_then(|select| select.value().parse().ok()).unwrap_or(0);
        let expiry_date = date.get_untracked().map(|input| input.value()).unwrap_or_default();
        let expiry = touched.get_untracked().then(|| (choice.get_untracked(), expiry_date));
        let (rate_limit, rate_per) = rules.rate_limit();
        on_submit.run(KeyFormInput { name, ip_acl_id, expiry, permissions: rules.permissions(), rate_limit, rate_per });
    };

    view! {
        <form class="dialog-body" on:submit=submit>
            <h2 id=text.title_id>{text.title}</h2>
            <TextField
                id=text.name_id
                label=text.name_label
                initial=initial_name
                node_ref=name
                error=field_error(error, Field::Name)
                autofocus=true
            />
            <IpAclSelect id=text.acl_id choices=ip_acls selected=initial_acl node_ref=acl />
            <ExpiresField id=text.expires_id choice date touched initial=initial_expiry error />
            <PermissionsField choice=rules error=field_error(error, Field::Permissions) />
            <RateLimitField
                choice=rules
                initial=initial_limit
                requests_error=field_error(error, Field::RateLimit)
                per_error=field_error(error, Field::RatePer)
            />
            <FormFooter error=general_error(error) submit_label=text.submit on_cancel />
        </form>
    }
}

/// Expires: Never (the default), In 30 days, In 90 days, In 1 year, or On a
/// date…, which shows the Expiry date field.
#[component]
fn ExpiresField(
    id: &'static str,
    choice: RwSignal<String>,
    date: NodeRef<html::Input>,
    touched: RwSignal<bool>,
    initial: Option<i64>,
    error: Signal<Option<ConsoleError>>,
) -> impl IntoView {
    const CHOICES: [(&str, &str); 5] = [
        ("never", "Never"),
        ("30d", "In 30 days"),
        ("90d", "In 90 days"),
        ("1y", "In 1 year"),
        ("date", "On a date\u{2026}"),
    ];
    let date_id = "api-key-expiry-date";
    let choice_error = field_error(error, Field::Expires);
    let date_error = field_error(error, Field::ExpiryDate);
    let initial_choice = choice.get_untracked();
    view! {
        <div class="field">
            <label for=id>"Expires"</label>
            <select
                id=id
                name="expires"
                on:change=move |ev| {
                    touched.set(true);
                    choice.set(event_target_value(&ev));
                }
                aria-invalid=move || choice_error.with(Option::is_some).then_some("true")
                aria-describedby=move || choice_error.with(Option::is_some).then(|| format!("{id}-error"))
            >
                {CHOICES
                    .into_iter()
                    .map(|(value, label)| view! { <option value=value selected=initial_choice == value>{label}</option> })
                    .collect_view()}
            </select>
            <FieldError id=id error=choice_error />
        </div>
        <Show when=move || choice.with(|c| c == "date")>
            <div class="field">
                <label for=date_id>"Expiry date"</label>
                <input
                    id=date_id
                    name="expiry_date"
                    type="date"
                    node_ref=date
                    value=initial.map(utc_date).unwrap_or_default()
                    on:input=move |_| touched.set(true)
                    aria-invalid=move || date_error.with(Option::is_some).then_some("true")
                    aria-describedby=move || {
                        if date_error.with(Option::is_some) { format!("{date_id}-error hint-expiry-date") } else { "hint-expiry-date".into() }
                    }
                />
                <p class="hint" id="hint-expiry-date">"The key works through the end of this day, UTC."</p>
                <FieldError id=date_id error=date_error />
            </div>
        </Show>
    }
}

/// The IP ACL drop-down; the first ACL is chosen when `selected` is `None`.
#[component]
fn IpAclSelect(
    id: &'static str,
    choices: Signal<Vec<IpAclChoice>>,
    selected: Option<i32>,
    node_ref: NodeRef<html::Select>,
) -> impl IntoView {
    view! {
        <div class="field">
            <label for=id>"IP ACL"</label>
            <select id=id name=id node_ref=node_ref>
                <For each=move || choices.get() key=|choice| (choice.id, choice.name.clone()) let:choice>
                    <option value=choice.id.to_string() selected=selected == Some(choice.id)>
                        {choice.name}
                    </option>
                </For>
            </select>
        </div>
    }
}
