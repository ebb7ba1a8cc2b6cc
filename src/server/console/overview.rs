//! The work behind the Overview. The requests come from the per-day
//! rollups the flush writes (30 rows for the chart however many keys the
//! account has; one index range for the busiest keys), plus what this
//! instance has recorded and not yet written, as a key's page does.

use crate::db::service::audit;
use crate::db::service::{api_keys as keys, usage};
use crate::domain::audit_filter::AuditFilter;
use crate::domain::lifecycle::{DAY_MS, EXPIRES_SOON_DAYS};
use crate::domain::usage::Counts;
use crate::rpc::ConsoleError;
use crate::rpc::api_keys::DayCounts;
use crate::rpc::overview::{BusyKey, KeyCounts, OverviewFigures};
use crate::server::caller::Caller;
use crate::server::console::audit_log::row;
use crate::server::state::AppState;
use std::collections::HashMap;

const CHART_DAYS: i64 = 30;
const BUSY_DAYS: i64 = 7;
const BUSIEST: u64 = 5;
const RECENT: u64 = 5;

pub async fn overview(state: &AppState, caller: &Caller) -> Result<OverviewFigures, ConsoleError> {
    let today = caller.now.div_euclid(DAY_MS);
    let first_day = today - (CHART_DAYS - 1);
    let busy_since = today - (BUSY_DAYS - 1);
    let pending = state.usage.pending_of_account(caller.account_id);

    // Requests per day: written, plus not yet written.
    let mut per_day: HashMap<i64, Counts> = HashMap::new();
    for day in usage::account_days(&state.db, caller.account_id, first_day).await? {
        per_day.entry(day.day).or_default().merge(Counts {
            allowed: day.allowed,
            refused: day.refused,
            would_refuse: day.would_refuse,
            rate_limited: day.rate_limited,
        });
    }
    let mut pending_busy: HashMap<i32, i64> = HashMap::new();
    for (key_id, hours) in &pending {
        for (hour, counts) in hours {
            let day = hour.div_euclid(24);
            if day >= first_day {
                per_day.entry(day).or_default().merge(*counts);
            }
            if day >= busy_since {
                *pending_busy.entry(*key_id).or_default() += counts.requests();
            }
        }
    }
    let days = (first_day..=today)
        .map(|day| {
            let c = per_day.get(&day).copied().unwrap_or_default();
            DayCounts {
                day: day * DAY_MS,
                allowed: c.allowed,
                refused: c.refused,
                would_refuse: c.would_refuse,
                rate_limited: c.rate_limited,
            }
        })
        .collect();

    let busiest = busiest(state, caller.account_id, busy_since, pending_busy).await?;
    let counts = keys::status_counts(&state.db, caller.account_id, caller.now, EXPIRES_SOON_DAYS * DAY_MS).await?;
    let recent = audit::search(&state.db, caller.account_id, &AuditFilter::default(), None, RECENT).await?;
    Ok(OverviewFigures {
        days,
        counts: KeyCounts {
            active: counts.active,
            expiring: counts.expiring,
            disabled: counts.disabled,
            expired: counts.expired,
        },
        busiest,
        recent: recent.into_iter().map(row).collect(),
    })
}

/// The written top five and every key with uses not yet written are the
/// only candidates: a key outside the written top five without pending
/// uses has at least five keys ahead of it still.
async fn busiest(
    state: &AppState,
    account_id: i32,
    since_day: i64,
    pending: HashMap<i32, i64>,
) -> Result<Vec<BusyKey>, ConsoleError> {
    let mut totals: HashMap<i32, i64> =
        usage::busiest_keys(&state.db, account_id, since_day, BUSIEST).await?.into_iter().collect();
    let unknown: Vec<i32> = pending.keys().copied().filter(|id| !totals.contains_key(id)).collect();
    totals.extend(usage::key_requests(&state.db, &unknown, since_day).await?);
    for (id, n) in pending {
        *totals.entry(id).or_default() += n;
    }
    let mut ranked: Vec<(i32, i64)> = totals.into_iter().filter(|(_, n)| *n > 0).collect();
    ranked.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(&b.0)));
    ranked.truncate(BUSIEST as usize);
    let ids: Vec<i32> = ranked.iter().map(|(id, _)| *id).collect();
    let names: HashMap<i32, String> = keys::names(&state.db, account_id, &ids).await?.into_iter().collect();
    Ok(ranked
        .into_iter()
        .filter_map(|(id, requests)| Some(BusyKey { id, name: names.get(&id)?.clone(), requests }))
        .collect())
}
