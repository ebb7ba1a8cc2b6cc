//! The work behind the Overview. The requests come from the per-day
//! rollups the flush writes (30 rows for the chart however many keys the
//! account has), the busiest keys from each key's week the flush keeps
//! (a few rows of an index, `usage::busiest_keys`), the counts by status
//! from index ranges; plus what this instance has recorded and not yet
//! written, as a key's page does.
//!
//! What the database holds is kept per account for [`FRESH_FOR`], so a
//! page reloaded by several admins reads it once. A change committed on
//! this instance and each flush of its uses make the copy stale at once; a
//! change made on another instance shows within [`FRESH_FOR`]. Uses not yet
//! written are added on every render, so this instance's traffic is current
//! to the request.

use crate::db::service::audit;
use crate::db::service::{api_keys as keys, usage};
use crate::domain::audit_filter::AuditFilter;
use crate::domain::lifecycle::{DAY_MS, EXPIRES_SOON_DAYS, UNUSED_DAYS};
use crate::domain::usage::Counts;
use crate::rpc::ConsoleError;
use crate::rpc::overview::{BusyKey, KeyCounts, OverviewFigures};
use crate::server::caller::Caller;
use crate::server::console::audit_log::row;
use crate::server::console::key_insight::day_counts;
use crate::server::state::AppState;
use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// How long the Overview trusts what it read from the database.
pub const FRESH_FOR: Duration = Duration::from_secs(10);

const CHART_DAYS: i64 = 30;
const BUSY_DAYS: i64 = usage::WEEK_DAYS;
const BUSIEST: u64 = 5;
const RECENT: u64 = 5;
/// Keys listed per kind of attention.
const ATTENTION_LIMIT: u64 = 20;

/// What the Overview read from the database for one account.
struct Stored {
    /// Requests per UTC day (days since the epoch), every key together.
    days: HashMap<i64, Counts>,
    counts: keys::StatusCounts,
    /// The written top five of the last 7 days: key and requests.
    busiest: Vec<(i32, i64)>,
    /// Keys that need attention (the Overview's list), before uses not yet written.
    attention: keys::Attention,
    /// The first day `days` and `busiest` cover (they go stale at midnight too).
    since_day: i64,
}

/// [`Stored`] per account, each stale after [`FRESH_FOR`], after a change
/// ([`OverviewCache::invalidate`]) and after a flush of this instance's uses.
#[derive(Default)]
pub struct OverviewCache {
    changes: AtomicU64,
    stored: Mutex<HashMap<i32, (Instant, (u64, u64), Arc<Stored>)>>,
}

impl OverviewCache {
    /// A key changed (made, edited, disabled, deleted…).
    pub fn invalidate(&self) {
        self.changes.fetch_add(1, Ordering::SeqCst);
    }

    /// Changes and flushes so far: a copy read under another pair is stale.
    fn generation(&self, usage: &crate::server::usage::UsageRecorder) -> (u64, u64) {
        (self.changes.load(Ordering::SeqCst), usage.flushes())
    }

    fn get(&self, account_id: i32, since_day: i64, generation: (u64, u64)) -> Option<Arc<Stored>> {
        let stored = self.stored.lock().unwrap_or_else(|e| e.into_inner());
        let (at, seen, found) = stored.get(&account_id)?;
        (at.elapsed() < FRESH_FOR && *seen == generation && found.since_day == since_day).then(|| found.clone())
    }

    fn put(&self, account_id: i32, generation: (u64, u64), found: Arc<Stored>) {
        let mut stored = self.stored.lock().unwrap_or_else(|e| e.into_inner());
        stored.retain(|_, (at, ..)| at.elapsed() < FRESH_FOR);
        stored.insert(account_id, (Instant::now(), generation, found));
    }
}

/// What the database holds for the Overview, from the copy while it is fresh.
async fn stored(state: &AppState, caller: &Caller) -> Result<Arc<Stored>, ConsoleError> {
    let first_day = caller.now.div_euclid(DAY_MS) - (CHART_DAYS - 1);
    // Taken before the reads: a change or a flush meanwhile makes this copy stale at once.
    let generation = state.overview.generation(&state.usage);
    if let Some(stored) = state.overview.get(caller.account_id, first_day, generation) {
        return Ok(stored);
    }
    let stored = Arc::new(read(state, caller, first_day).await?);
    state.overview.put(caller.account_id, generation, stored.clone());
    Ok(stored)
}

/// The keys that need attention, as the database had them (see [`stored`]).
pub async fn attention(state: &AppState, caller: &Caller) -> Result<keys::Attention, ConsoleError> {
    Ok(stored(state, caller).await?.attention.clone())
}

pub async fn overview(state: &AppState, caller: &Caller) -> Result<OverviewFigures, ConsoleError> {
    let today = caller.now.div_euclid(DAY_MS);
    let first_day = today - (CHART_DAYS - 1);
    let busy_since = today - (BUSY_DAYS - 1);
    let stored = stored(state, caller).await?;
    let pending = state.usage.pending_of_account(caller.account_id);

    // Requests per day: written, plus not yet written.
    let mut per_day = stored.days.clone();
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
    let days = day_counts(first_day..today + 1, &per_day);

    let busiest = busiest(state, caller.account_id, busy_since..=today, &stored.busiest, pending_busy).await?;
    let recent = audit::search(&state.db, caller.account_id, &AuditFilter::default(), None, RECENT).await?;
    let counts = stored.counts;
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

/// What the Overview reads from the database (kept for [`FRESH_FOR`]).
async fn read(state: &AppState, caller: &Caller, first_day: i64) -> Result<Stored, ConsoleError> {
    let today = first_day + CHART_DAYS - 1;
    let mut days: HashMap<i64, Counts> = HashMap::new();
    for day in usage::account_days(&state.db, caller.account_id, first_day).await? {
        days.entry(day.day).or_default().merge(Counts {
            allowed: day.allowed,
            refused: day.refused,
            would_refuse: day.would_refuse,
            rate_limited: day.rate_limited,
        });
    }
    Ok(Stored {
        days,
        counts: keys::status_counts(&state.db, caller.account_id, caller.now, EXPIRES_SOON_DAYS * DAY_MS).await?,
        busiest: usage::busiest_keys(&state.db, caller.account_id, today, BUSIEST).await?,
        attention: keys::attention(
            &state.db,
            caller.account_id,
            caller.now,
            EXPIRES_SOON_DAYS * DAY_MS,
            UNUSED_DAYS * DAY_MS,
            ATTENTION_LIMIT,
        )
        .await?,
        since_day: first_day,
    })
}

/// The written top five and every key with uses not yet written are the
/// only candidates: a key outside the written top five without pending
/// uses has at least five keys ahead of it still.
async fn busiest(
    state: &AppState,
    account_id: i32,
    days: std::ops::RangeInclusive<i64>,
    written: &[(i32, i64)],
    pending: HashMap<i32, i64>,
) -> Result<Vec<BusyKey>, ConsoleError> {
    let mut totals: HashMap<i32, i64> = written.iter().copied().collect();
    let unknown: Vec<i32> = pending.keys().copied().filter(|id| !totals.contains_key(id)).collect();
    totals.extend(usage::key_requests(&state.db, &unknown, *days.start(), *days.end()).await?);
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
