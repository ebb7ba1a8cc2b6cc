//! Settings > IP ACLs: the address lists that decide where each key's token works.

mod acl_dialog;
mod table;

use crate::app::dialog::DeleteRowDialog;
use crate::app::layout::PageHeader;
use crate::rpc::ip_acls::{CreateIpAcl, DeleteIpAcl, IpAclSummary, SavedIpAcl, UpdateIpAcl, list_ip_acls};
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

    view! {
        <PageHeader title="IP ACLs" action="Add IP ACL" show_action=crate::app::me::manages_keys() on_action=Callback::new(move |_| adding.set(true)) />
        <p class="page-status" role="status">
            {move || status.get()}
        </p>
        <table::IpAclsTable acls editing deleting />
        <acl_dialog::AddIpAclDialog open=adding action=create />
        <acl_dialog::EditIpAclDialog editing action=update />
        <DeleteIpAclDialog deleting action=delete status />
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
    status: RwSignal<Option<String>>,
) -> impl IntoView {
    view! {
        <DeleteRowDialog
            deleting
            result=action.value()
            pending=action.pending()
            delete=Callback::new(move |acl: IpAclSummary| {
                action.dispatch(DeleteIpAcl { id: acl.id });
            })
            name_of=|acl| acl.name.clone()
            title_id="delete-ip-acl-title"
            title="Delete IP ACL"
            kind="the IP ACL"
            consequence=""
            status
        />
    }
}
