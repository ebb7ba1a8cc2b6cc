//! A key's page: what its token did in the last 30 days (per day, per
//! address, and what was refused, including what is not yet written), and
//! locking the key to the addresses it was used from.

use crate::db::service::audit::{self, Action};
use crate::db::service::{api_keys as keys, ip_acls, usage};
use crate::domain::lifecycle::DAY_MS;
use crate::domain::permissions::Permission;
use crate::domain::roles::Need;
use crate::domain::usage::{AddressStats, Asked, Counts, HOUR_MS, MAX_ADDRESSES, hour_of};
use crate::rpc::ConsoleError;
use crate::rpc::api_keys::{AddressRow, DayCounts, IpAclChoice, KeyDetails, PermissionUse, RefusalRow};
use crate::server::caller::Caller;
use crate::server::changes::{self, Change};
use crate::server::console::api_keys::{from_key_error, not_found, summary};
use crate::server::console::ip_acls::{describe, from_acl_error};
use crate::server::state::AppState;
use std::collections::{BTreeMap, HashMap};

/// How far back the page looks.
const DAYS: i64 = 30;

pub async fn details(state: &AppState, caller: &Caller, id: i32) -> Result<KeyDetails, ConsoleError> {
    let now = caller.now;
    let row = keys::row(&state.db, caller.account_id, id, now).await?.ok_or_else(not_found)?;
    let acls = ip_acls::all(&state.db, caller.account_id).await?;
    let first_day = now.div_euclid(DAY_MS) - (DAYS - 1);
    let since = first_day * DAY_MS;
    let stored = usage::read(&state.db, id, hour_of(since), since).await?;
    let (pending, pending_refusals) = state.usage.pending(id);

    // Hours, stored and not yet written, summed per UTC day.
    let mut per_day: HashMap<i64, Counts> = HashMap::new();
    let pending_hours = pending.iter().flat_map(|p| p.hours.iter().map(|(h, c)| (*h, *c)));
    for (hour, counts) in stored.hours.iter().copied().chain(pending_hours) {
        if hour * HOUR_MS >= since {
            per_day.entry((hour * HOUR_MS).div_euclid(DAY_MS)).or_default().merge(counts);
        }
    }
    let days = day_counts(first_day..first_day + DAYS, &per_day);

    let mut addresses: HashMap<String, AddressStats> = stored.addresses.into_iter().collect();
    for (ip, stats) in pending.iter().flat_map(|p| p.addresses.iter()) {
        addresses.entry(ip.to_string()).or_default().merge(*stats);
    }
    let ended = keys::ended_tokens(&state.db, id, now).await?;
    let mut addresses: Vec<AddressRow> = addresses
        .into_iter()
        .filter(|(_, s)| s.last_seen >= since)
        .map(|(ip, s)| AddressRow {
            ip,
            requests: s.requests,
            refused: s.refused,
            would_refuse: s.would_refuse,
            last_seen: s.last_seen,
            refused_only: s.refused_only(),
            ended_token_only: !s.refused_only()
                && s.last_token != 0
                && ended.get(&s.last_token).copied().unwrap_or(true),
        })
        .collect();
    addresses.sort_by(|a, b| b.last_seen.cmp(&a.last_seen).then_with(|| a.ip.cmp(&b.ip)));
    let over = addresses.len().saturating_sub(MAX_ADDRESSES) as i64;
    addresses.truncate(MAX_ADDRESSES);

    let mut refusals: Vec<RefusalRow> = stored
        .refusals
        .into_iter()
        .map(|(at, ip, reason, report_only)| RefusalRow {
            at,
            ip,
            reason: reason.code().to_owned(),
            would_be_refused: report_only,
        })
        .chain(pending_refusals.into_iter().map(|r| RefusalRow {
            at: r.at,
            ip: r.ip.to_string(),
            reason: r.reason.code().to_owned(),
            would_be_refused: r.report_only,
        }))
        .collect();
    refusals.sort_by_key(|r| std::cmp::Reverse(r.at));
    refusals.truncate(usage::REFUSALS_KEPT as usize);

    // Permissions asked, stored and not yet written, over the same 30 days.
    let mut asked: BTreeMap<Permission, Asked> =
        usage::permissions_asked(&state.db, id, hour_of(since)).await?.into_iter().collect();
    for ((hour, permission), a) in pending.iter().flat_map(|p| p.permissions.iter()) {
        if hour * HOUR_MS >= since {
            asked.entry(*permission).or_default().merge(*a);
        }
    }
    let permissions_used = asked
        .into_iter()
        .map(|(p, a)| PermissionUse {
            permission: p.code().to_owned(),
            asked: a.asked,
            denied: a.denied,
            last_asked: a.last_asked,
        })
        .collect();

    let addresses_dropped = row.key.addresses_dropped + pending.map_or(0, |p| p.addresses_dropped) + over;
    let current = acls.iter().find(|acl| acl.id == row.key.ip_acl_id);
    Ok(KeyDetails {
        ip_acl_report_only: current.is_some_and(|acl| acl.report_only),
        ip_acl_allows_any: current
            .and_then(|acl| crate::domain::acl::Acl::from_stored(&acl.entries))
            .is_some_and(|acl| acl.allows_any()),
        ip_acls: acls.into_iter().map(|acl| IpAclChoice { id: acl.id, name: acl.name }).collect(),
        days,
        addresses,
        addresses_dropped,
        refusals,
        permissions_used,
        key: summary(row, &state.usage, now),
    })
}

/// A new IP ACL of the addresses chosen, given to the key, in one
/// transaction and audited; the key's next request is judged by it.
pub async fn lock_to_addresses(
    state: &AppState,
    caller: &Caller,
    id: i32,
    name: &str,
    addresses: &str,
    report_only: bool,
) -> Result<(), ConsoleError> {
    caller.require(Need::Manage)?;
    let txn = crate::db::begin_write(&state.db).await?;
    let key = keys::find(&txn, caller.account_id, id).await?.ok_or_else(not_found)?;
    let saved = ip_acls::create(&txn, caller.account_id, name, addresses, report_only).await.map_err(from_acl_error)?;
    let fields = keys::KeyFields {
        name: &key.name,
        ip_acl_id: saved.acl.id,
        expires_at: key.expires_at,
        access: keys::access_of(&key),
        limit: keys::limit_of(&key),
    };
    let (_, key, _) = keys::update(&txn, caller.account_id, id, &fields).await.map_err(from_key_error)?;
    audit::record(&txn, caller.audit(Action::AclCreated, Some(&saved.acl.name), Some(describe(&saved.acl)))).await?;
    let mode = if report_only { " (report only)" } else { "" };
    let detail = format!("locked to its observed addresses: IP ACL now \u{201c}{}\u{201d}{mode}", saved.acl.name);
    audit::record(&txn, caller.audit(Action::KeyUpdated, Some(&key.name), Some(detail))).await?;
    changes::commit(state, txn, &[Change::Key(id)]).await?;
    tracing::info!(
        account = caller.account_id,
        key = id,
        ip_acl = saved.acl.id,
        "API key locked to its observed addresses"
    );
    Ok(())
}

/// One [`DayCounts`] per day of `days` (days since the epoch), zero where `per_day` has none.
pub fn day_counts(days: std::ops::Range<i64>, per_day: &HashMap<i64, Counts>) -> Vec<DayCounts> {
    days.map(|day| {
        let c = per_day.get(&day).copied().unwrap_or_default();
        DayCounts {
            day: day * DAY_MS,
            allowed: c.allowed,
            refused: c.refused,
            would_refuse: c.would_refuse,
            rate_limited: c.rate_limited,
        }
    })
    .collect()
}
