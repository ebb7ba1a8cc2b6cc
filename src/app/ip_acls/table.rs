use crate::app::form::LoadError;
use crate::app::layout::RowActions;
use crate::rpc::ConsoleError;
use crate::rpc::ip_acls::{IpAclSummary, PREVIEW_ENTRIES};
use leptos::prelude::*;

#[component]
pub fn IpAclsTable(
    acls: Resource<Result<Vec<IpAclSummary>, ConsoleError>>,
    editing: RwSignal<Option<IpAclSummary>>,
    deleting: RwSignal<Option<IpAclSummary>>,
) -> impl IntoView {
    view! {
        <section class="panel">
            <Transition fallback=|| view! { <p class="empty">"Loading IP ACLs…"</p> }>
                {move || Suspend::new(async move {
                    match acls.await {
                        Ok(list) if list.is_empty() => {
                            view! {
                                <p class="empty">"No IP ACLs. Use Add IP ACL to create one; every API key needs one."</p>
                            }
                                .into_any()
                        }
                        Ok(list) => {
                            view! {
                                <table class="data-table">
                                    <caption class="visually-hidden">"IP ACLs"</caption>
                                    <thead>
                                        <tr>
                                            <th scope="col">"Name"</th>
                                            <th scope="col">"Entries"</th>
                                            <th scope="col">"Keys"</th>
                                            <th scope="col">"Mode"</th>
                                            <th scope="col">
                                                <span class="visually-hidden">"Actions"</span>
                                            </th>
                                        </tr>
                                    </thead>
                                    <tbody>
                                        {list.into_iter().map(|acl| view! { <IpAclRow acl editing deleting /> }).collect_view()}
                                    </tbody>
                                </table>
                            }
                                .into_any()
                        }
                        Err(err) => view! { <LoadError err /> }.into_any(),
                    }
                })}
            </Transition>
        </section>
    }
}

#[component]
fn IpAclRow(
    acl: IpAclSummary,
    editing: RwSignal<Option<IpAclSummary>>,
    deleting: RwSignal<Option<IpAclSummary>>,
) -> impl IntoView {
    let name_id = format!("ip-acl-{}-name", acl.id);
    let shown: Vec<String> = acl.entries.iter().take(PREVIEW_ENTRIES).cloned().collect();
    let more = acl.entries.len().saturating_sub(PREVIEW_ENTRIES);
    let for_edit = acl.clone();
    let for_delete = acl.clone();
    view! {
        <tr>
            <th scope="row" id=name_id.clone()>
                {acl.name}
            </th>
            <td>
                <code>{shown.join(", ")}</code>
                {(more > 0).then(|| format!(" and {more} more"))}
            </td>
            <td>{acl.key_count}</td>
            <td>
                {if acl.report_only {
                    view! { <span class="status soon">"Report only"</span> }.into_any()
                } else {
                    view! { <span>"Enforced"</span> }.into_any()
                }}
            </td>
            <RowActions
                name_id
                on_edit=Callback::new(move |_| editing.set(Some(for_edit.clone())))
                on_delete=Callback::new(move |_| deleting.set(Some(for_delete.clone())))
            />
        </tr>
    }
}
