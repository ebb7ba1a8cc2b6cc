//! Add IP ACL and Edit: a name and the entries, one address or CIDR per line.

use crate::app::dialog::Modal;
use crate::app::form::{
    FormFooter, TextAreaField, TextField, close_on_success, field_error, general_error, last_error,
};
use crate::app::layout::refocus_if_row_gone;
use crate::rpc::Field;
use crate::rpc::ip_acls::{CreateIpAcl, IpAclSummary, UpdateIpAcl};
use leptos::html;
use leptos::prelude::*;

const ENTRIES_HINT: &str = "One IPv4 or IPv6 address or CIDR per line, at most 100; # starts a comment.";

#[component]
pub fn AddIpAclDialog(open: RwSignal<bool>, action: ServerAction<CreateIpAcl>) -> impl IntoView {
    let close = Callback::new(move |_| {
        open.set(false);
        action.value().set(None);
    });
    close_on_success(action.value(), close);
    view! {
        <Modal open on_close=close labelled_by="add-ip-acl-title">
            {move || {
                let error = last_error(action.value());
                let submit = Callback::new(move |(name, entries, report_only): (String, String, bool)| {
                    action.dispatch(CreateIpAcl { name, entries, report_only: Some(report_only) });
                });
                view! {
                    <IpAclForm
                        title_id="add-ip-acl-title"
                        name_id="add-ip-acl-name"
                        entries_id="add-ip-acl-entries"
                        title="Add IP ACL"
                        submit_label="Add"
                        name=String::new()
                        entries=String::new()
                        report_only=false
                        error
                        pending=action.pending()
                        on_submit=submit
                        on_cancel=close
                    />
                }
            }}
        </Modal>
    }
}

#[component]
pub fn EditIpAclDialog(editing: RwSignal<Option<IpAclSummary>>, action: ServerAction<UpdateIpAcl>) -> impl IntoView {
    let close = Callback::new(move |_| {
        action.value().with_untracked(refocus_if_row_gone);
        editing.set(None);
        action.value().set(None);
    });
    close_on_success(action.value(), close);
    view! {
        <Modal open=Signal::derive(move || editing.with(Option::is_some)) on_close=close labelled_by="edit-ip-acl-title">
            {move || {
                editing
                    .get()
                    .map(|acl| {
                        let id = acl.id;
                        let submit = Callback::new(move |(name, entries, report_only): (String, String, bool)| {
                            action.dispatch(UpdateIpAcl { id, name, entries, report_only: Some(report_only) });
                        });
                        view! {
                            <IpAclForm
                                title_id="edit-ip-acl-title"
                                name_id="edit-ip-acl-name"
                                entries_id="edit-ip-acl-entries"
                                title="Edit IP ACL"
                                submit_label="Submit"
                                name=acl.name
                                entries=acl.entries.join("\n")
                                report_only=acl.report_only
                                error=last_error(action.value())
                                pending=action.pending()
                                on_submit=submit
                                on_cancel=close
                            />
                        }
                    })
            }}
        </Modal>
    }
}

#[component]
fn IpAclForm(
    title_id: &'static str,
    name_id: &'static str,
    entries_id: &'static str,
    title: &'static str,
    submit_label: &'static str,
    name: String,
    entries: String,
    report_only: bool,
    error: Signal<Option<crate::rpc::ConsoleError>>,
    #[prop(into)] pending: Signal<bool>,
    /// Called with the name, the entries and whether the ACL only reports.
    on_submit: Callback<(String, String, bool)>,
    on_cancel: Callback<()>,
) -> impl IntoView {
    let name_input = NodeRef::<html::Input>::new();
    let entries_input = NodeRef::<html::Textarea>::new();
    let report_input = NodeRef::<html::Input>::new();
    let report_id = format!("{title_id}-report-only");
    let submit = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        if pending.get_untracked() {
            return;
        }
        let name = name_input.get_untracked().map(|input| input.value()).unwrap_or_default();
        let entries = entries_input.get_untracked().map(|input| input.value()).unwrap_or_default();
        let report_only = report_input.get_untracked().is_some_and(|input| input.checked());
        on_submit.run((name, entries, report_only));
    };
    view! {
        <form class="dialog-body" on:submit=submit>
            <h2 id=title_id>{title}</h2>
            <TextField
                id=name_id
                label="Name"
                initial=name
                node_ref=name_input
                error=field_error(error, Field::Name)
                autofocus=true
            />
            <TextAreaField
                id=entries_id
                label="Entries"
                initial=entries
                node_ref=entries_input
                error=field_error(error, Field::Entries)
                hint=ENTRIES_HINT
            />
            <div class="field checkbox">
                <input
                    id=report_id.clone()
                    type="checkbox"
                    node_ref=report_input
                    checked=report_only
                    aria-describedby=format!("{report_id}-hint")
                />
                <label for=report_id.clone()>"Report only"</label>
                <p class="hint" id=format!("{report_id}-hint")>
                    "Requests from other addresses are let through and reported on the key's page, not refused."
                </p>
            </div>
            <FormFooter error=general_error(error) submit_label on_cancel />
        </form>
    }
}
