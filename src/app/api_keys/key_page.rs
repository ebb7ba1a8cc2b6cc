//! A key's own page, `/settings/api-keys/<id>`: its details, what its token
//! did in the last 30 days, the addresses it came from, what was refused,
//! and locking it to those addresses.

use super::chart::RequestsChart;
use super::delete_dialog::DeleteApiKeyDialog;
use super::edit_dialog::EditApiKeyDialog;
use super::lock_dialog::LockToAddressesDialog;
use super::restrict_dialog::RestrictDialog;
use super::table::StatusText;
use super::view::PAGE;
use crate::app::form::LoadError;
use crate::app::format::utc_minute;
use crate::domain::permissions::Access;
use crate::rpc::ConsoleError;
use crate::rpc::api_keys::{
    AddressRow, ApiKeySummary, DeleteApiKey, IpAclChoice, KeyDetails, LockApiKeyToAddresses, PermissionUse, RefusalRow,
    RestrictApiKey, UpdateApiKey, api_key_details,
};
use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::NavigateOptions;
use leptos_router::components::A;
use leptos_router::hooks::{use_navigate, use_params_map};

#[component]
pub fn KeyPage() -> impl IntoView {
    let params = use_params_map();
    let id = Memo::new(move |_| params.with(|p| p.get("id").and_then(|id| id.parse::<i32>().ok()).unwrap_or(0)));
    let update = ServerAction::<UpdateApiKey>::new();
    let delete = ServerAction::<DeleteApiKey>::new();
    let lock = ServerAction::<LockApiKeyToAddresses>::new();
    let restrict = ServerAction::<RestrictApiKey>::new();
    crate::app::confirm::retry_when_confirmed(delete);
    let details = Resource::new(
        move || (id.get(), update.version().get(), lock.version().get(), restrict.version().get()),
        |(id, ..)| api_key_details(id),
    );
    let editing = RwSignal::new(None::<ApiKeySummary>);
    let deleting = RwSignal::new(None::<ApiKeySummary>);
    let locking = RwSignal::new(false);
    let restricting = RwSignal::new(false);
    let status = RwSignal::new(None::<String>);
    let ip_acls: Signal<Vec<IpAclChoice>> =
        Signal::derive(move || details.get().and_then(Result::ok).map(|d| d.ip_acls).unwrap_or_default());
    // The key is gone: back to the table, which says so.
    let navigate = use_navigate();
    Effect::new(move |_| {
        if delete.value().with(|v| matches!(v, Some(Ok(())))) {
            navigate(PAGE, NavigateOptions::default());
        }
    });
    view! {
        <Transition fallback=|| view! { <p class="empty">"Loading the API key…"</p> }>
            {move || Suspend::new(async move {
                match details.await {
                    Ok(details) => view! { <KeyDetailsView details editing deleting locking lock restricting restrict /> }.into_any(),
                    Err(ConsoleError::NotFound(message)) => {
                        view! {
                            <Title text="API key not found" />
                            <header class="page-header">
                                <h1 tabindex="-1">"API key not found"</h1>
                            </header>
                            <p>{message} " " <A href=PAGE>"Back to API Keys"</A></p>
                        }
                            .into_any()
                    }
                    Err(err) => view! { <LoadError err /> }.into_any(),
                }
            })}
        </Transition>
        <p class="page-status" role="status">
            {move || status.get()}
        </p>
        <EditApiKeyDialog editing action=update ip_acls />
        <DeleteApiKeyDialog deleting action=delete status />
    }
}

#[component]
fn KeyDetailsView(
    details: KeyDetails,
    editing: RwSignal<Option<ApiKeySummary>>,
    deleting: RwSignal<Option<ApiKeySummary>>,
    locking: RwSignal<bool>,
    lock: ServerAction<LockApiKeyToAddresses>,
    restricting: RwSignal<bool>,
    restrict: ServerAction<RestrictApiKey>,
) -> impl IntoView {
    let key = details.key.clone();
    let (for_edit, for_delete) = (key.clone(), key.clone());
    let observed = details.addresses.clone();
    let has_addresses = !observed.is_empty();
    let enforcing = !details.ip_acl_report_only && !details.ip_acl_allows_any;
    let manages = crate::app::me::manages_keys();
    view! {
        <Title text=key.name.clone() />
        <p class="breadcrumb">
            <A href=PAGE>"API Keys"</A>
        </p>
        <header class="page-header">
            <h1 tabindex="-1">{key.name.clone()}</h1>
            {manages.then(|| view! {
                <div class="header-actions">
                    <button type="button" class="button" on:click=move |_| editing.set(Some(for_edit.clone()))>
                        "Edit"
                    </button>
                    <button type="button" class="button danger-outline" on:click=move |_| deleting.set(Some(for_delete.clone()))>
                        "Delete"
                    </button>
                </div>
            })}
        </header>
        <section class="panel" aria-label="Details">
            <dl class="details">
                <dt>"IP ACL"</dt>
                <dd>
                    {key.ip_acl_name.clone()}
                    {details.ip_acl_report_only.then(|| view! { " " <span class="status soon">"(report only)"</span> })}
                </dd>
                <dt>"Permissions"</dt>
                <dd><PermissionList access=key.access /></dd>
                <dt>"Rate limit"</dt>
                <dd>{key.rate_limit.map_or_else(|| "No limit".to_owned(), |limit| limit.to_string())}</dd>
                <dt>"Status"</dt>
                <dd><StatusText status=key.status expires_at=key.expires_at /></dd>
                <dt>"Created"</dt>
                <dd>{utc_minute(key.created_at)}</dd>
                <dt>"Expires"</dt>
                <dd>{key.expires_at.map(utc_minute).unwrap_or_else(|| "Never".to_owned())}</dd>
                <dt>"Last used"</dt>
                <dd>
                    {match &key.last_used {
                        Some(used) => match &used.ip {
                            Some(ip) => format!("{} from {ip}", utc_minute(used.at)),
                            None => utc_minute(used.at),
                        },
                        None => "Never".to_owned(),
                    }}
                </dd>
            </dl>
        </section>
        <section class="panel" aria-labelledby="requests-title">
            <h2 id="requests-title">"Requests"</h2>
            <RequestsChart days=details.days.clone() />
        </section>
        <section class="panel" aria-labelledby="permissions-used-title">
            <div class="section-header">
                <h2 id="permissions-used-title">"Permissions used"</h2>
                {(manages && key.access == Access::Full).then(|| view! {
                    <button type="button" class="button" on:click=move |_| restricting.set(true)>
                        "Restrict to what it uses"
                    </button>
                })}
            </div>
            <PermissionsUsedTable used=details.permissions_used.clone() />
        </section>
        <section class="panel" aria-labelledby="addresses-title">
            <div class="section-header">
                <h2 id="addresses-title">"Addresses"</h2>
                {manages.then(|| view! {
                    <button type="button" class="button" disabled=!has_addresses on:click=move |_| locking.set(true)>
                        "Lock to these addresses"
                    </button>
                })}
            </div>
            <AddressesTable addresses=details.addresses.clone() dropped=details.addresses_dropped />
        </section>
        <section class="panel" aria-labelledby="refused-title">
            <h2 id="refused-title">"Refused requests"</h2>
            <RefusalsTable refusals=details.refusals.clone() />
        </section>
        <RestrictDialog open=restricting key_id=key.id used=details.permissions_used.clone() action=restrict />
        <LockToAddressesDialog open=locking key_id=key.id key_name=key.name.clone() addresses=observed enforcing action=lock />
    }
}

/// "Full access", or each permission with its code.
#[component]
fn PermissionList(access: Access) -> impl IntoView {
    match access {
        Access::Full => view! { "Full access" }.into_any(),
        Access::Restricted(scopes) => view! {
            <ul class="plain-list">
                {scopes
                    .iter()
                    .map(|p| view! { <li><code>{p.code()}</code> " " <span class="note inline">{format!("({})", p.words())}</span></li> })
                    .collect_view()}
            </ul>
        }
        .into_any(),
    }
}

/// What the key's checks asked for: each permission, how often, and when last.
#[component]
fn PermissionsUsedTable(used: Vec<PermissionUse>) -> impl IntoView {
    if used.is_empty() {
        return view! { <p class="empty">"No service checked a permission with this key's token in the last 30 days."</p> }.into_any();
    }
    view! {
        <table class="data-table permissions-used">
            <caption class="visually-hidden">"Permissions checked in the last 30 days"</caption>
            <thead>
                <tr>
                    <th scope="col">"Permission"</th>
                    <th scope="col">"Checks"</th>
                    <th scope="col">"Denied"</th>
                    <th scope="col">"Last asked"</th>
                </tr>
            </thead>
            <tbody>
                {used
                    .into_iter()
                    .map(|u| view! {
                        <tr>
                            <th scope="row"><code>{u.permission}</code></th>
                            <td>{u.asked}</td>
                            <td>{u.denied}</td>
                            <td>{utc_minute(u.last_asked)}</td>
                        </tr>
                    })
                    .collect_view()}
            </tbody>
        </table>
    }
    .into_any()
}

#[component]
fn AddressesTable(addresses: Vec<AddressRow>, dropped: i64) -> impl IntoView {
    if addresses.is_empty() {
        return view! { <p class="empty">"No request has used this key's token in the last 30 days."</p> }.into_any();
    }
    view! {
        <table class="data-table">
            <caption class="visually-hidden">"Addresses in the last 30 days"</caption>
            <thead>
                <tr>
                    <th scope="col">"Address"</th>
                    <th scope="col">"Requests"</th>
                    <th scope="col">"Refused"</th>
                    <th scope="col">"Would be refused"</th>
                    <th scope="col">"Last seen"</th>
                </tr>
            </thead>
            <tbody>
                {addresses
                    .into_iter()
                    .map(|a| {
                        view! {
                            <tr>
                                <th scope="row">
                                    <code>{a.ip}</code>
                                    {a.refused_only.then(|| view! { " " <span class="note inline">"(refused only)"</span> })}
                                </th>
                                <td>{a.requests}</td>
                                <td>{a.refused}</td>
                                <td>{a.would_refuse}</td>
                                <td>{utc_minute(a.last_seen)}</td>
                            </tr>
                        }
                    })
                    .collect_view()}
            </tbody>
        </table>
        {(dropped > 0).then(|| view! {
            <p class="note">
                {format!(
                    "Only the 100 most recently seen addresses are kept: {dropped} older {} dropped.",
                    if dropped == 1 { "one was" } else { "ones were" }
                )}
            </p>
        })}
    }
    .into_any()
}

#[component]
fn RefusalsTable(refusals: Vec<RefusalRow>) -> impl IntoView {
    if refusals.is_empty() {
        return view! { <p class="empty">"Nothing refused."</p> }.into_any();
    }
    view! {
        <table class="data-table">
            <caption class="visually-hidden">"The last refused requests"</caption>
            <thead>
                <tr>
                    <th scope="col">"Time"</th>
                    <th scope="col">"Address"</th>
                    <th scope="col">"Reason"</th>
                </tr>
            </thead>
            <tbody>
                {refusals
                    .into_iter()
                    .map(|r| {
                        view! {
                            <tr>
                                <td>{utc_minute(r.at)}</td>
                                <td><code>{r.ip}</code></td>
                                <td>
                                    <code>{r.reason}</code>
                                    {r.would_be_refused.then_some(" — would be refused (report only: let through)")}
                                </td>
                            </tr>
                        }
                    })
                    .collect_view()}
            </tbody>
        </table>
    }
    .into_any()
}
