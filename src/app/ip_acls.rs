//! Settings > IP ACLs: the address lists that decide where each key's token works.

mod acl_dialog;
mod table;

use crate::api::ip_acls::{CreateIpAcl, DeleteIpAcl, IpAclSummary, SavedIpAcl, UpdateIpAcl, list_ip_acls};
use crate::app::dialog::ConfirmDialog;
use crate::app::form::{close_on_deleted, general_error, last_error};
use crate::app::layout::{PageHeader, announce_deleted, refocus_if_row_gone};
use leptos::prelude::*;

#[component]
pub fn IpAclsPage() -> impl IntoView {
    let create = ServerAction::<CreateIpAcl>::new();
    let update = ServerAction::<UpdateIpAcl>::new();
    let delete = ServerAction::<DeleteIpAcl>::new();
    let acls = Resource::new(
        move || (create.version().get(), update.version().get(), delete.version().get()),
        |_| list_ip_acls(),
    );
    let adding = RwSignal::new(false);
    let editing = RwSignal::new(None::<IpAclSummary>);
    let deleting = RwSignal::new(None::<IpAclSummary>);

    // What the last save changed in the admin's text (masked host bits,
    // duplicates), or what the last delete removed.
    let status = RwSignal::new(None::<String>);
    for saved in [create.value(), update.value()] {
        Effect::new(move |_| {
            if let Some(Ok(saved)) = saved.get() {
                status.set(Some(describe(&saved)));
            }
        });
    }

    let on_deleted = Callback::new(move |name: String| {
        announce_deleted(status, format!("Deleted the IP ACL \u{201c}{name}\u{201d}."));
    });

    view! {
        <PageHeader title="IP ACLs" action="Add IP ACL" on_action=Callback::new(move |_| adding.set(true)) />
        <p class="page-status" role="status">
            {move || status.get()}
        </p>
        <table::IpAclsTable acls editing deleting />
        <acl_dialog::AddIpAclDialog open=adding action=create />
        <acl_dialog::EditIpAclDialog editing action=update />
        <DeleteIpAclDialog deleting action=delete on_deleted />
    }
}

fn describe(saved: &SavedIpAcl) -> String {
    let mut message = format!("Saved the IP ACL \u{201c}{}\u{201d}.", saved.name);
    for notice in &saved.notices {
        message.push(' ');
        message.push_str(notice);
        message.push('.');
    }
    message
}

#[component]
fn DeleteIpAclDialog(
    deleting: RwSignal<Option<IpAclSummary>>,
    action: ServerAction<DeleteIpAcl>,
    on_deleted: Callback<String>,
) -> impl IntoView {
    let close = Callback::new(move |_| {
        action.value().with_untracked(refocus_if_row_gone);
        deleting.set(None);
        action.value().set(None);
    });
    let name = close_on_deleted(action.value(), close, on_deleted);
    let confirm = Callback::new(move |_| {
        if let Some(acl) = deleting.get_untracked()
            && !action.pending().get_untracked()
        {
            name.set_value(acl.name);
            action.dispatch(DeleteIpAcl { id: acl.id });
        }
    });
    view! {
        <ConfirmDialog
            open=Signal::derive(move || deleting.with(Option::is_some))
            on_close=close
            on_confirm=confirm
            title_id="delete-ip-acl-title"
            title="Delete IP ACL"
            error=general_error(last_error(action.value()))
        >
            <p>
                "Delete the IP ACL " <strong>{move || deleting.get().map(|acl| acl.name)}</strong>
                "? This cannot be undone."
            </p>
        </ConfirmDialog>
    }
}
