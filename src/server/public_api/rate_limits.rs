//! Each key's rate limit, checked in memory on the hot path (GCRA, see
//! `domain::rate_limit`) and shared by every instance through the database
//! in the background, never with a query per request.
//!
//! Every [`SYNC_EVERY`], an instance writes how many requests it has let
//! through for each limited key since it started (one row per key and
//! instance, a count that only grows) and until when those still use up the
//! key's allowance, and reads the others' rows: what another instance let
//! through since the last read is charged to this instance's cell for the
//! key as if it had happened here (the first time it reads a row, what that
//! row still uses up). So over any window the instances together let
//! through the limit, plus what the others let through in the last sync
//! interval before this one heard of it: at most (N - 1) x the key's rate x
//! the interval, on top of one burst each when all start with a full
//! allowance at the same instant, and the 1 % of the allowance each may
//! hold back unwritten ([`unpublished_allowance`]).

use crate::db::entities::rate_limit_count;
use crate::domain::rate_limit::{Gcra, RateLimit, Verdict};
use sea_orm::sea_query::OnConflict;
use sea_orm::{ActiveValue::Set, ColumnTrait, ConnectionTrait, DbErr, EntityTrait, QueryFilter};
use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// How often counts are exchanged with the other instances.
pub const SYNC_EVERY: Duration = Duration::from_millis(100);
/// Rows of instances not heard from for this long are deleted.
const ROWS_KEPT_MS: i64 = 60 * 60 * 1000;
/// With no other instance heard from for this long, this one is alone...
const ALONE_AFTER_MS: i64 = 60 * 1000;
/// ...and writes its counts only this often (a newcomer reads them).
const QUIET_PUBLISH_MS: i64 = 1000;
/// Rows written this long before the last read are read again (clocks differ a little).
const READ_MARGIN_MS: i64 = 5000;
/// Rows per statement, well within SQLite's limit on bound values.
const ROWS_PER_STATEMENT: usize = 1000;

/// How many requests of a key an instance may have let through without
/// telling the others: 1 % of the allowance (at least one). A key used far
/// below its limit (10,000 keys limited to a million a second, used a few
/// times a second each) is then not written every second, which on one
/// small machine cost the database more than the requests did; the others
/// undercount by at most 1 % of the allowance per instance for it.
fn unpublished_allowance(limit: RateLimit) -> i64 {
    (i64::from(limit.requests) / 100).max(1)
}

struct Cell {
    limit: RateLimit,
    gcra: Gcra,
    /// This instance's own admissions alone, for what it publishes as `ahead_until`.
    own: Gcra,
    /// Requests let through here since start (what this instance publishes).
    admitted: i64,
    published: i64,
    /// Met since the last read: the others' rows of this key are read whatever their age.
    fresh: bool,
}

/// When this instance last wrote, read, and heard of another instance (ms).
#[derive(Default)]
struct SyncState {
    published_at: i64,
    read_at: i64,
    others_heard_at: i64,
}

pub struct RateLimits {
    cells: Mutex<HashMap<i32, Cell>>,
    /// What each other instance had let through at the last read, per key.
    seen: Mutex<HashMap<(i32, String), i64>>,
    sync: Mutex<SyncState>,
    /// This process's name in the shared table.
    instance: String,
    started: Instant,
}

impl Default for RateLimits {
    fn default() -> Self {
        let mut bytes = [0u8; 8];
        let _ = getrandom::fill(&mut bytes);
        RateLimits {
            cells: Mutex::new(HashMap::new()),
            seen: Mutex::new(HashMap::new()),
            sync: Mutex::new(SyncState::default()),
            instance: bytes.iter().map(|b| format!("{b:02x}")).collect(),
            started: Instant::now(),
        }
    }
}

impl RateLimits {
    fn now(&self) -> u64 {
        self.started.elapsed().as_nanos() as u64
    }

    fn cells(&self) -> std::sync::MutexGuard<'_, HashMap<i32, Cell>> {
        self.cells.lock().unwrap_or_else(|e| e.into_inner())
    }

    fn sync_state(&self) -> std::sync::MutexGuard<'_, SyncState> {
        self.sync.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// One request of key `key_id` under `limit`.
    pub fn check(&self, key_id: i32, limit: RateLimit) -> Verdict {
        let now = self.now();
        let mut cells = self.cells();
        let cell = cells.entry(key_id).or_insert(Cell {
            limit,
            gcra: Gcra::default(),
            own: Gcra::default(),
            admitted: 0,
            published: 0,
            fresh: true,
        });
        if cell.limit != limit {
            // The admin changed the limit: start it afresh.
            cell.limit = limit;
            cell.gcra = Gcra::default();
            cell.own = Gcra::default();
        }
        let verdict = cell.gcra.check(limit, now);
        if verdict.allowed {
            cell.admitted += 1;
            cell.own.consume(limit, 1, now);
        }
        verdict
    }

    /// Exchanges counts with the other instances (see the module's words).
    pub async fn sync(&self, db: &impl ConnectionTrait, now_ms: i64) -> Result<(), DbErr> {
        self.publish(db, now_ms).await?;
        self.read_others(db, now_ms).await
    }

    /// Writes this instance's counts of the keys that let requests through
    /// since the last write: every sync while another instance has been
    /// heard from in the last minute, once a second while this one is alone
    /// (so a newcomer still finds how much of each allowance is used up).
    async fn publish(&self, db: &impl ConnectionTrait, now_ms: i64) -> Result<(), DbErr> {
        {
            let mut sync = self.sync_state();
            let alone = now_ms - sync.others_heard_at > ALONE_AFTER_MS;
            if alone && now_ms - sync.published_at < QUIET_PUBLISH_MS {
                return Ok(());
            }
            sync.published_at = now_ms;
        }
        let changed: Vec<(i32, i64, i64)> = {
            let now = self.now();
            let cells = self.cells();
            cells
                .iter()
                .filter(|(_, c)| c.admitted - c.published >= unpublished_allowance(c.limit))
                .map(|(id, c)| (*id, c.admitted, now_ms + (c.own.ahead(now) / 1_000_000) as i64))
                .collect()
        };
        for chunk in changed.chunks(ROWS_PER_STATEMENT) {
            use rate_limit_count::Column;
            let rows = chunk.iter().map(|(key_id, admitted, ahead_until)| rate_limit_count::ActiveModel {
                key_id: Set(*key_id),
                instance: Set(self.instance.clone()),
                admitted: Set(*admitted),
                ahead_until: Set(*ahead_until),
                updated_at: Set(now_ms),
            });
            let written = rate_limit_count::Entity::insert_many(rows)
                .on_conflict(
                    OnConflict::columns([Column::KeyId, Column::Instance])
                        .update_columns([Column::Admitted, Column::AheadUntil, Column::UpdatedAt])
                        .to_owned(),
                )
                .exec_without_returning(db)
                .await;
            match written {
                Ok(_) => {
                    let mut cells = self.cells();
                    for (key_id, admitted, _) in chunk {
                        if let Some(cell) = cells.get_mut(key_id) {
                            cell.published = *admitted;
                        }
                    }
                }
                // A key deleted meanwhile fails the foreign key: forget its
                // cell; the rest is written at the next sync.
                Err(e) if matches!(e.sql_err(), Some(sea_orm::SqlErr::ForeignKeyConstraintViolation(_))) => {
                    return self.forget_missing(db).await;
                }
                Err(e) => return Err(e),
            }
        }
        Ok(())
    }

    /// Charges what the other instances let through: rows written since
    /// the last read (with a margin for clocks), and every row of the keys
    /// this instance met since then, however old (the first time, what a
    /// row still uses up of the allowance counts).
    async fn read_others(&self, db: &impl ConnectionTrait, now_ms: i64) -> Result<(), DbErr> {
        use rate_limit_count::Column;
        let fresh: Vec<i32> = self.cells().iter().filter(|(_, c)| c.fresh).map(|(id, _)| *id).collect();
        let since = (self.sync_state().read_at - READ_MARGIN_MS).max(now_ms - ROWS_KEPT_MS);
        let mut rows = rate_limit_count::Entity::find()
            .filter(Column::Instance.ne(self.instance.clone()))
            .filter(Column::UpdatedAt.gte(since))
            .all(db)
            .await?;
        for chunk in fresh.chunks(ROWS_PER_STATEMENT) {
            rows.extend(
                rate_limit_count::Entity::find()
                    .filter(Column::KeyId.is_in(chunk.iter().copied()))
                    .filter(Column::Instance.ne(self.instance.clone()))
                    .filter(Column::UpdatedAt.gt(now_ms - ROWS_KEPT_MS))
                    .filter(Column::UpdatedAt.lt(since))
                    .all(db)
                    .await?,
            );
        }
        {
            let mut sync = self.sync_state();
            sync.read_at = now_ms;
            if !rows.is_empty() {
                sync.others_heard_at = now_ms;
            }
        }
        let now = self.now();
        let mut seen = self.seen.lock().unwrap_or_else(|e| e.into_inner());
        let mut cells = self.cells();
        for id in &fresh {
            if let Some(cell) = cells.get_mut(id) {
                cell.fresh = false;
            }
        }
        for row in rows {
            let Some(cell) = cells.get_mut(&row.key_id) else { continue };
            let limit = cell.limit;
            let before = seen.insert((row.key_id, row.instance.clone()), row.admitted);
            let charge = match before {
                Some(before) => (row.admitted - before).max(0) as u64,
                // Read for the first time: its whole count may be old; what
                // it still uses up of the allowance is what counts now.
                None => {
                    let ahead_ms = (row.ahead_until - now_ms).max(0) as u64;
                    limit.requests_in(ahead_ms * 1_000_000).min(u64::from(limit.requests))
                }
            };
            if charge > 0 {
                cell.gcra.consume(limit, charge, now);
            }
        }
        Ok(())
    }

    /// Keeps only the cells of keys that still exist.
    async fn forget_missing(&self, db: &impl ConnectionTrait) -> Result<(), DbErr> {
        use crate::db::entities::api_key;
        use sea_orm::QuerySelect;
        let ids: Vec<i32> = self.cells().keys().copied().collect();
        let mut live = std::collections::HashSet::new();
        for chunk in ids.chunks(ROWS_PER_STATEMENT) {
            let found: Vec<i32> = api_key::Entity::find()
                .select_only()
                .column(api_key::Column::Id)
                .filter(api_key::Column::Id.is_in(chunk.iter().copied()))
                .into_tuple::<i32>()
                .all(db)
                .await?;
            live.extend(found);
        }
        self.cells().retain(|id, _| live.contains(id));
        Ok(())
    }

    /// Deletes the rows of instances not heard from for an hour. (A cell is
    /// kept as long as its key: its count must only grow, or the others
    /// would read it as going back.)
    pub async fn prune(&self, db: &impl ConnectionTrait, now_ms: i64) -> Result<(), DbErr> {
        rate_limit_count::Entity::delete_many()
            .filter(rate_limit_count::Column::UpdatedAt.lt(now_ms - ROWS_KEPT_MS))
            .exec(db)
            .await?;
        Ok(())
    }

    pub fn instance(&self) -> &str {
        &self.instance
    }
}
