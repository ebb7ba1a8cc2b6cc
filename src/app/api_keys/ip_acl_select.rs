use crate::api::api_keys::IpAclChoice;
use leptos::html;
use leptos::prelude::*;

/// The IP ACL drop-down of the add and edit dialogs.
#[component]
pub fn IpAclSelect(
    id: &'static str,
    #[prop(into)] choices: Signal<Vec<IpAclChoice>>,
    /// The ACL to preselect; the first one when `None`.
    selected: Option<i32>,
    node_ref: NodeRef<html::Select>,
    #[prop(into)] error: Signal<Option<String>>,
) -> impl IntoView {
    let error_id = format!("{id}-error");
    view! {
        <div class="field">
            <label for=id>"IP ACL"</label>
            <select
                id=id
                name=id
                node_ref=node_ref
                aria-invalid=move || error.with(Option::is_some).then_some("true")
                aria-describedby=move || error.with(Option::is_some).then(|| error_id.clone())
            >
                <For each=move || choices.get() key=|choice| (choice.id, choice.name.clone()) let:choice>
                    <option value=choice.id.to_string() selected=selected == Some(choice.id)>
                        {choice.name}
                    </option>
                </For>
            </select>
            <crate::app::form::FieldError id error />
        </div>
    }
}

/// The chosen ACL's id; 0 (no ACL has it) when nothing is chosen, which the server refuses by name.
pub fn chosen(node_ref: NodeRef<html::Select>) -> i32 {
    node_ref.get_untracked().and_then(|select| select.value().parse().ok()).unwrap_or(0)
}
