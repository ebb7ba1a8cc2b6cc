//! The form of the add and edit dialogs: a name and an IP ACL.

use crate::api::api_keys::IpAclChoice;
use crate::api::{ConsoleError, Field};
use crate::app::form::{FormFooter, TextField, field_error, general_error};
use leptos::html;
use leptos::prelude::*;

/// The ids and words that differ between Add API Key and Edit API Key.
pub struct FormText {
    pub title_id: &'static str,
    pub title: &'static str,
    pub name_id: &'static str,
    pub name_label: &'static str,
    pub acl_id: &'static str,
    pub submit: &'static str,
}

#[component]
pub fn ApiKeyForm(
    text: FormText,
    initial_name: String,
    initial_acl: Option<i32>,
    ip_acls: Signal<Vec<IpAclChoice>>,
    error: Signal<Option<ConsoleError>>,
    #[prop(into)] pending: Signal<bool>,
    /// Called with the typed name and the chosen IP ACL's id.
    on_submit: Callback<(String, i32)>,
    on_cancel: Callback<()>,
) -> impl IntoView {
    let name = NodeRef::<html::Input>::new();
    let acl = NodeRef::<html::Select>::new();
    let submit = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        if pending.get_untracked() {
            return;
        }
        let name = name.get_untracked().map(|input| input.value()).unwrap_or_default();
        // 0 names no ACL; the server answers that it does not exist.
        let acl_id = acl.get_untracked().and_then(|select| select.value().parse().ok()).unwrap_or(0);
        on_submit.run((name, acl_id));
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
            <FormFooter error=general_error(error) submit_label=text.submit on_cancel />
        </form>
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
