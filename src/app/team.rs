//! Settings › Team: the account's admins and their roles, pending
//! invitations, and whether two-factor authentication is required. Everyone
//! reads it; Owners change it.

use crate::app::confirm::retry_when_confirmed;
use crate::app::dialog::{DeleteRowDialog, Modal};
use crate::app::form::{
    FieldError, FormFooter, LoadError, TextField, close_on_success, field_error, general_error, last_error,
};
use crate::app::format::utc_minute;
use crate::app::me::session;
use crate::app::shown_once::ShownOnce;
use crate::domain::roles::{Need, Role};
use crate::rpc::team::{
    CancelInvitation, ChangeAdminRole, InviteAdmin, PendingInvitation, RemoveAdmin, SetRequireTwoFactor, Team,
    TeamMember, list_team,
};
use crate::rpc::{ConsoleError, Field};
use leptos::html;
use leptos::prelude::*;
use leptos_meta::Title;

#[component]
pub fn TeamPage() -> impl IntoView {
    let invite = ServerAction::<InviteAdmin>::new();
    let cancel = ServerAction::<CancelInvitation>::new();
    let change = ServerAction::<ChangeAdminRole>::new();
    let remove = ServerAction::<RemoveAdmin>::new();
    let require = ServerAction::<SetRequireTwoFactor>::new();
    retry_when_confirmed(invite);
    retry_when_confirmed(change);
    retry_when_confirmed(remove);
    retry_when_confirmed(require);
    let team = Resource::new(
        move || {
            (
                invite.version().get(),
                cancel.version().get(),
                change.version().get(),
                remove.version().get(),
                require.version().get(),
            )
        },
        |_| list_team(),
    );
    let owner = session().can(Need::Own);
    let inviting = RwSignal::new(false);
    let editing = RwSignal::new(None::<TeamMember>);
    let removing = RwSignal::new(None::<TeamMember>);
    let status = RwSignal::new(None::<String>);
    Effect::new(move |_| {
        let failed = [cancel.value().get().and_then(Result::err), require.value().get().and_then(Result::err)];
        // Confirm access is asked for in its dialog, not said here.
        if let Some(err) = failed.into_iter().flatten().find(|err| *err != ConsoleError::ConfirmAccess) {
            status.set(Some(err.to_string()));
        }
    });
    view! {
        <Title text="Team" />
        <header class="page-header">
            <h1 tabindex="-1">"Team"</h1>
            {owner.then(|| view! {
                <button type="button" class="button primary" on:click=move |_| inviting.set(true)>
                    "Invite Admin"
                </button>
            })}
        </header>
        <p class="page-status" role="status">
            {move || status.get()}
        </p>
        <section class="panel">
            <Transition fallback=|| view! { <p class="empty">"Loading the team…"</p> }>
                {move || Suspend::new(async move {
                    match team.await {
                        Ok(team) => view! { <TeamView team owner editing removing cancel require status /> }.into_any(),
                        Err(err) => view! { <LoadError err /> }.into_any(),
                    }
                })}
            </Transition>
        </section>
        <InviteAdminDialog open=inviting action=invite />
        <EditAdminDialog editing action=change />
        <DeleteRowDialog
            deleting=removing
            result=remove.value()
            pending=remove.pending()
            delete=Callback::new(move |member: TeamMember| {
                remove.dispatch(RemoveAdmin { id: member.id });
            })
            name_of=|member| member.username.clone()
            title_id="remove-admin-title"
            title="Remove Admin"
            kind="the admin"
            consequence="Their sessions end at once, and they can no longer sign in."
            verb=("Remove", "Removed")
            status
        />
    }
}

#[component]
fn TeamView(
    team: Team,
    owner: bool,
    editing: RwSignal<Option<TeamMember>>,
    removing: RwSignal<Option<TeamMember>>,
    cancel: ServerAction<CancelInvitation>,
    require: ServerAction<SetRequireTwoFactor>,
    status: RwSignal<Option<String>>,
) -> impl IntoView {
    let required = team.require_two_factor;
    let can_require = team.you_have_two_factor || required;
    view! {
        <table class="data-table">
            <caption class="visually-hidden">"Team"</caption>
            <thead>
                <tr>
                    <th scope="col">"Username"</th>
                    <th scope="col">"Role"</th>
                    <th scope="col">"Two-factor"</th>
                    <th scope="col">"Last signed in"</th>
                    <th scope="col"><span class="visually-hidden">"Actions"</span></th>
                </tr>
            </thead>
            <tbody>
                {team.members.into_iter().map(|member| view! { <MemberRow member owner editing removing /> }).collect_view()}
                {team.invitations.into_iter().map(|invitation| view! { <InvitationRow invitation owner cancel status /> }).collect_view()}
            </tbody>
        </table>
        <div class="field checkbox policy">
            <input
                id="require-two-factor"
                type="checkbox"
                checked=required
                disabled=!owner || !can_require
                aria-describedby="require-two-factor-hint"
                on:change=move |ev| {
                    status.set(None);
                    require.dispatch(SetRequireTwoFactor { on: event_target_checked(&ev) });
                }
            />
            <label for="require-two-factor">"Require two-factor authentication"</label>
            <p class="hint" id="require-two-factor-hint">
                {match (owner, can_require) {
                    (false, _) => "Only an owner can change this.",
                    (true, false) => "Turn on two-factor authentication for yourself first (Settings › Security), so that you are not locked out.",
                    (true, true) => "While this is on, an admin without two-factor authentication must set it up before reaching anything else.",
                }}
            </p>
        </div>
    }
}

#[component]
fn MemberRow(
    member: TeamMember,
    owner: bool,
    editing: RwSignal<Option<TeamMember>>,
    removing: RwSignal<Option<TeamMember>>,
) -> impl IntoView {
    let name_id = format!("admin-{}-name", member.id);
    let (for_edit, for_remove) = (member.clone(), member.clone());
    view! {
        <tr>
            <th scope="row" id=name_id.clone()>
                {member.username.clone()}
                {member.you.then_some(" (you)")}
            </th>
            <td>{member.role.label()}</td>
            <td>{if member.two_factor { "On" } else { "Off" }}</td>
            <td>{member.last_signed_in.map(utc_minute).unwrap_or_else(|| "Never".to_owned())}</td>
            <td class="actions">
                {owner.then(|| view! {
                    <button type="button" class="button small" aria-describedby=name_id.clone() on:click=move |_| editing.set(Some(for_edit.clone()))>
                        "Edit"
                    </button>
                    <button type="button" class="button small danger-outline" aria-describedby=name_id on:click=move |_| removing.set(Some(for_remove.clone()))>
                        "Remove"
                    </button>
                })}
            </td>
        </tr>
    }
}

#[component]
fn InvitationRow(
    invitation: PendingInvitation,
    owner: bool,
    cancel: ServerAction<CancelInvitation>,
    status: RwSignal<Option<String>>,
) -> impl IntoView {
    let name_id = format!("invitation-{}-name", invitation.id);
    let id = invitation.id;
    view! {
        <tr class="invited">
            <th scope="row" id=name_id.clone()>{invitation.username}</th>
            <td>{invitation.role.label()}</td>
            <td>"Invited"</td>
            <td>{format!("Invited; the link works until {}", utc_minute(invitation.expires_at))}</td>
            <td class="actions">
                {owner.then(|| view! {
                    <button
                        type="button"
                        class="button small danger-outline"
                        aria-describedby=name_id
                        on:click=move |_| {
                            status.set(None);
                            cancel.dispatch(CancelInvitation { id });
                        }
                    >
                        "Cancel invitation"
                    </button>
                })}
            </td>
        </tr>
    }
}

/// The Role drop-down of Invite Admin and Edit Admin.
#[component]
fn RoleSelect(
    id: &'static str,
    selected: Role,
    node_ref: NodeRef<html::Select>,
    error: Signal<Option<String>>,
) -> impl IntoView {
    view! {
        <div class="field">
            <label for=id>"Role"</label>
            <select id=id name="role" node_ref=node_ref aria-describedby=move || error.with(Option::is_some).then(|| format!("{id}-error"))>
                {Role::ALL
                    .into_iter()
                    .map(|role| view! { <option value=role.code() selected=role == selected>{role.label()}</option> })
                    .collect_view()}
            </select>
            <FieldError id error />
        </div>
    }
}

#[component]
fn InviteAdminDialog(open: RwSignal<bool>, action: ServerAction<InviteAdmin>) -> impl IntoView {
    let close = Callback::new(move |_| {
        open.set(false);
        // The link leaves the page's memory with the dialog.
        action.value().set(None);
    });
    let created = Memo::new(move |_| action.value().with(|v| v.as_ref().and_then(|r| r.as_ref().ok()).cloned()));
    view! {
        <Modal open on_close=close labelled_by="invite-admin-title">
            {move || match created.get() {
                Some(created) => view! {
                    <ShownOnce
                        title_id="invite-admin-title"
                        title="Invitation created"
                        intro=format!(
                            "Send this link to {} yourself. It works once, within 72 hours, and is not shown again.",
                            created.username,
                        )
                        label="Invitation link"
                        token=created.link
                        on_close=close
                    />
                }
                .into_any(),
                None => {
                    let username = NodeRef::<html::Input>::new();
                    let role = NodeRef::<html::Select>::new();
                    let error = last_error(action.value());
                    let submit = move |ev: leptos::ev::SubmitEvent| {
                        ev.prevent_default();
                        if action.pending().get_untracked() {
                            return;
                        }
                        action.dispatch(InviteAdmin {
                            username: username.get_untracked().map(|i| i.value()).unwrap_or_default(),
                            role: role.get_untracked().map(|s| s.value()).unwrap_or_default(),
                        });
                    };
                    view! {
                        <form class="dialog-body" on:submit=submit>
                            <h2 id="invite-admin-title">"Invite Admin"</h2>
                            <TextField
                                id="invite-username"
                                label="Username"
                                initial=""
                                node_ref=username
                                error=field_error(error, Field::Username)
                                autofocus=true
                            />
                            <RoleSelect id="invite-role" selected=Role::Viewer node_ref=role error=field_error(error, Field::Role) />
                            <FormFooter error=general_error(error) submit_label="Invite" on_cancel=close />
                        </form>
                    }
                    .into_any()
                }
            }}
        </Modal>
    }
}

#[component]
fn EditAdminDialog(editing: RwSignal<Option<TeamMember>>, action: ServerAction<ChangeAdminRole>) -> impl IntoView {
    let close = Callback::new(move |_| {
        editing.set(None);
        action.value().set(None);
    });
    close_on_success(action.value(), close);
    view! {
        <Modal open=Signal::derive(move || editing.with(Option::is_some)) on_close=close labelled_by="edit-admin-title">
            {move || editing.get().map(|member| {
                let role = NodeRef::<html::Select>::new();
                let error = last_error(action.value());
                let id = member.id;
                let submit = move |ev: leptos::ev::SubmitEvent| {
                    ev.prevent_default();
                    if action.pending().get_untracked() {
                        return;
                    }
                    action.dispatch(ChangeAdminRole { id, role: role.get_untracked().map(|s| s.value()).unwrap_or_default() });
                };
                view! {
                    <form class="dialog-body" on:submit=submit>
                        <h2 id="edit-admin-title">"Edit Admin"</h2>
                        <p>"The new role applies to " <strong>{member.username}</strong> " from their next click."</p>
                        <RoleSelect id="edit-admin-role" selected=member.role node_ref=role error=field_error(error, Field::Role) />
                        <FormFooter error=general_error(error) submit_label="Submit" on_cancel=close />
                    </form>
                }
            })}
        </Modal>
    }
}
