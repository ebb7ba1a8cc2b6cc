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
    /// In `Cells::due` (or being written): not queued twice.
    queued: bool,
}

/// The cells, and which of them the next sync must look at, so a sync does
/// not walk every limited key ten times a second (with 10,000 keys that
/// walk, under the lock the hot path takes, was most of an idle instance's work).
#[derive(Default)]
struct Cells {
    map: HashMap<i32, Cell>,
    /// Met since the last read: the others' rows of these keys are read whatever their age.
    fresh: Vec<i32>,
    /// With at least their unpublished allowance let through since the last write.
    due: Vec<i32>,
}

/// When this instance last wrote, read, and heard of another instance (ms).
#[derive(Default)]
struct SyncState {
    published_at: i64,
    read_at: i64,
    others_heard_at: i64,
}

pub struct RateLimits {
    cells: Mutex<Cells>,
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
            cells: Mutex::new(Cells::default()),
            seen: Mutex::new(HashMap::new()),
            sync: Mutex::new(SyncState::default()),
            instance: bytes.iter().map(|b| format!("{b:02x}")).collect(),
            started: Instant::now(),
        }
    }
}

impl RateLimits {
    fn now(&self) -> u64 {
        self.nanos_at(Instant::now())
    }

    fn nanos_at(&self, at: Instant) -> u64 {
        at.saturating_duration_since(self.started).as_nanos() as u64
    }

    fn cells(&self) -> std::sync::MutexGuard<'_, Cells> {
        self.cells.lock().unwrap_or_else(|e| e.into_inner())
    }

    fn sync_state(&self) -> std::sync::MutexGuard<'_, SyncState> {
        self.sync.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// One request of key `key_id` under `limit`, at the request's instant (read once by the caller).
    pub fn check(&self, key_id: i32, limit: RateLimit, at: Instant) -> Verdict {
        let now = self.nanos_at(at);
        let mut cells = self.cells();
        let Cells { map, fresh, due } = &mut *cells;
        let cell = map.entry(key_id).or_insert_with(|| {
            fresh.push(key_id);
            Cell { limit, gcra: Gcra::default(), own: Gcra::default(), admitted: 0, published: 0, queued: false }
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
            if !cell.queued && cell.admitted - cell.published >= unpublished_allowance(limit) {
                cell.queued = true;
                due.push(key_id);
            }
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
            let mut cells = self.cells();
            let Cells { map, due, .. } = &mut *cells;
            std::mem::take(due)
                .into_iter()
                .filter_map(|id| map.get(&id).map(|c| (id, c.admitted, now_ms + (c.own.ahead(now) / 1_000_000) as i64)))
                .collect()
        };
        for (done, chunk) in changed.chunks(ROWS_PER_STATEMENT).enumerate() {
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
            let failed = {
                let mut cells = self.cells();
                let Cells { map, due, .. } = &mut *cells;
                match written {
                    Ok(_) => {
                        for (key_id, admitted, _) in chunk {
                            if let Some(cell) = map.get_mut(key_id) {
                                cell.published = *admitted;
                                // What came in while this was written may be due already.
                                cell.queued = cell.admitted - cell.published >= unpublished_allowance(cell.limit);
                                if cell.queued {
                                    due.push(*key_id);
                                }
                            }
                        }
                        None
                    }
                    Err(e) => {
                        // This chunk and the ones after it are written at the next sync.
                        due.extend(changed[done * ROWS_PER_STATEMENT..].iter().map(|(key_id, ..)| *key_id));
                        Some(e)
                    }
                }
            };
            if let Some(e) = failed {
                // A key deleted meanwhile fails the foreign key: forget its cell.
                if matches!(e.sql_err(), Some(sea_orm::SqlErr::ForeignKeyConstraintViolation(_))) {
                    return self.forget_missing(db).await;
                }
                return Err(e);
            }
        }
        Ok(())
    }

    /// Charges what the other instances let through: rows written since
    /// the last read (with a margin for clocks), and every row of the keys
    /// this instance met since then, however old (the first time, what a
    /// row still uses up of the allowance counts).
    async fn read_others(&self, db: &impl ConnectionTrait, now_ms: i64) -> Result<(), DbErr> {
        let fresh = std::mem::take(&mut self.cells().fresh);
        let since = (self.sync_state().read_at - READ_MARGIN_MS).max(now_ms - ROWS_KEPT_MS);
        let rows = match self.rows_of_others(db, &fresh, since, now_ms).await {
            Ok(rows) => rows,
            Err(e) => {
                // Still unread: asked again at the next sync.
                self.cells().fresh.extend(fresh);
                return Err(e);
            }
        };
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
        for row in rows {
            let Some(cell) = cells.map.get_mut(&row.key_id) else { continue };
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

    /// The others' rows written since `since`, and every live row of the keys met since the last read.
    async fn rows_of_others(
        &self,
        db: &impl ConnectionTrait,
        fresh: &[i32],
        since: i64,
        now_ms: i64,
    ) -> Result<Vec<rate_limit_count::Model>, DbErr> {
        use rate_limit_count::Column;
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
        Ok(rows)
    }

    /// Keeps only the cells of keys that still exist.
    async fn forget_missing(&self, db: &impl ConnectionTrait) -> Result<(), DbErr> {
        use crate::db::entities::api_key;
        use sea_orm::QuerySelect;
        let ids: Vec<i32> = self.cells().map.keys().copied().collect();
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
        self.cells().map.retain(|id, _| live.contains(id));
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::db::service::{accounts, api_keys, ip_acls};
    use crate::domain::rate_limit::Period;
    use sea_orm::{DatabaseConnection, PaginatorTrait};

    /// 1,000 a second: a key is written once ten requests are unwritten.
    const LIMIT: RateLimit = RateLimit { requests: 1000, per: Period::Second };

    async fn keys(names: &[&str]) -> (DatabaseConnection, i32, Vec<i32>) {
        let db = crate::db::connect("sqlite::memory:").await.unwrap();
        let account = accounts::create(&db, "Limits").await.unwrap();
        let acl_id = ip_acls::all(&db, account.id).await.unwrap()[0].id;
        let master = crate::domain::crypto::MasterKey::from_bytes(&[1; 32]);
        let mut ids = Vec::new();
        for name in names {
            let fields = api_keys::KeyFields::new(name, acl_id, None);
            ids.push(api_keys::create(&db, &master, account.id, &fields, 0).await.unwrap().0.id);
        }
        (db, account.id, ids)
    }

    async fn written(db: &DatabaseConnection, limits: &RateLimits, key_id: i32) -> Option<i64> {
        rate_limit_count::Entity::find()
            .filter(rate_limit_count::Column::KeyId.eq(key_id))
            .filter(rate_limit_count::Column::Instance.eq(limits.instance()))
            .one(db)
            .await
            .unwrap()
            .map(|row| row.admitted)
    }

    #[tokio::test]
    async fn a_key_is_written_once_its_unpublished_allowance_is_used_and_not_again_until_it_is_again() {
        let (db, _, ids) = keys(&["busy"]).await;
        let limits = RateLimits::default();
        for _ in 0..9 {
            assert!(limits.check(ids[0], LIMIT, Instant::now()).allowed);
        }
        limits.sync(&db, 10_000).await.unwrap();
        assert_eq!(written(&db, &limits, ids[0]).await, None, "nine of an allowance of ten stay unwritten");
        assert!(limits.check(ids[0], LIMIT, Instant::now()).allowed);
        limits.sync(&db, 11_000).await.unwrap();
        assert_eq!(written(&db, &limits, ids[0]).await, Some(10));
        for _ in 0..5 {
            assert!(limits.check(ids[0], LIMIT, Instant::now()).allowed);
        }
        limits.sync(&db, 12_000).await.unwrap();
        assert_eq!(written(&db, &limits, ids[0]).await, Some(10), "five since the write stay unwritten");
        for _ in 0..5 {
            assert!(limits.check(ids[0], LIMIT, Instant::now()).allowed);
        }
        limits.sync(&db, 13_000).await.unwrap();
        assert_eq!(written(&db, &limits, ids[0]).await, Some(20));
        assert!(limits.cells().due.is_empty());
    }

    #[tokio::test]
    async fn a_key_deleted_before_its_count_is_written_does_not_hold_back_the_others() {
        let (db, account, ids) = keys(&["deleted", "kept"]).await;
        let limits = RateLimits::default();
        for id in &ids {
            for _ in 0..10 {
                assert!(limits.check(*id, LIMIT, Instant::now()).allowed);
            }
        }
        api_keys::delete(&db, account, ids[0]).await.unwrap();
        // Both in one statement: the foreign key refuses it, the deleted key's cell goes.
        limits.sync(&db, 10_000).await.unwrap();
        assert_eq!(rate_limit_count::Entity::find().count(&db).await.unwrap(), 0);
        assert_eq!(limits.cells().map.len(), 1);
        limits.sync(&db, 11_000).await.unwrap();
        assert_eq!(written(&db, &limits, ids[1]).await, Some(10), "the kept key's count, at the next sync");
    }

    #[tokio::test]
    async fn an_instance_that_meets_a_key_charges_what_another_let_through_before() {
        let (db, _, ids) = keys(&["shared"]).await;
        let (a, b) = (RateLimits::default(), RateLimits::default());
        let limit = RateLimit { requests: 100, per: Period::Hour };
        for _ in 0..60 {
            assert!(a.check(ids[0], limit, Instant::now()).allowed);
        }
        a.sync(&db, 10_000).await.unwrap();
        // B meets the key once A's row is older than B's last read: B reads
        // it because the key is new to B, and only then.
        b.sync(&db, 20_000).await.unwrap();
        assert!(b.check(ids[0], limit, Instant::now()).allowed);
        assert_eq!(b.cells().fresh, [ids[0]]);
        b.sync(&db, 21_000).await.unwrap();
        assert!(b.cells().fresh.is_empty());
        let mut on_b = 1;
        while b.check(ids[0], limit, Instant::now()).allowed {
            on_b += 1;
        }
        assert_eq!(on_b, 40, "B let through what A left of the hundred");
    }

    #[tokio::test]
    async fn keys_met_before_a_read_that_failed_are_read_at_the_next() {
        let (_, _, ids) = keys(&["met"]).await;
        let limits = RateLimits::default();
        assert!(limits.check(ids[0], LIMIT, Instant::now()).allowed);
        let closed = sea_orm::Database::connect("sqlite::memory:").await.unwrap();
        closed.close_by_ref().await.unwrap();
        assert!(limits.sync(&closed, 10_000).await.is_err());
        assert_eq!(limits.cells().fresh, [ids[0]]);
    }
}
