//! What keys' tokens did since the last flush, as a service of its own: the
//! verifier records every use here, the flush job writes it to the database
//! as increments, and the console's pages read what is not written yet.

use crate::db::service::usage;
use crate::domain::permissions::Permission;
use crate::domain::usage::{KeyUsage, Recorded, Refusal, Use};
use sea_orm::{DatabaseConnection, DbErr};
use std::net::IpAddr;
use std::sync::Mutex;

/// When and from where a key was last used, not yet written to the database.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LastUse {
    pub at_ms: i64,
    pub ip: IpAddr,
}

/// What a flush wrote.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Flushed {
    pub keys: usize,
    pub refusals_dropped: u64,
}

#[derive(Default)]
pub struct UsageRecorder {
    recorded: Mutex<Recorded>,
    /// Flushes that wrote: what was pending is in the database since.
    written: std::sync::atomic::AtomicU64,
}

impl UsageRecorder {
    pub fn record(&self, one: Use) {
        self.lock().record(one);
    }

    /// A service asked whether a key may do `permission`.
    pub fn record_check(&self, key_id: i32, at: i64, permission: Permission, granted: bool) {
        self.lock().record_check(key_id, at, permission, granted);
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Recorded> {
        self.recorded.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// The last allowed use not yet written (the table shows it before it is).
    pub fn pending_usage(&self, key_id: i32) -> Option<LastUse> {
        let recorded = self.lock();
        recorded.keys.get(&key_id)?.last_allowed.map(|(at_ms, ip)| LastUse { at_ms, ip })
    }

    /// Everything a key's token did since the last flush, and its refusals.
    pub fn pending(&self, key_id: i32) -> (Option<KeyUsage>, Vec<Refusal>) {
        let recorded = self.lock();
        (recorded.keys.get(&key_id).cloned(), recorded.refusals.of_key(key_id))
    }

    /// The hourly counts not written yet of every key of one account.
    pub fn pending_of_account(&self, account_id: i32) -> Vec<(i32, Vec<(i64, crate::domain::usage::Counts)>)> {
        let recorded = self.lock();
        recorded
            .keys
            .iter()
            .filter(|(_, usage)| usage.account_id == account_id)
            .map(|(id, usage)| (*id, usage.hours.iter().map(|(h, c)| (*h, *c)).collect()))
            .collect()
    }

    /// How many flushes wrote so far: a copy of written figures taken
    /// before the last one lacks what was pending then.
    pub fn flushes(&self) -> u64 {
        self.written.load(std::sync::atomic::Ordering::SeqCst)
    }

    /// Everything not written yet, for pages that sum over many keys.
    pub fn snapshot(&self) -> Recorded {
        self.lock().clone()
    }

    /// Writes what tokens did since the last flush, as increments, in one
    /// transaction, however many requests it took. What could not be written
    /// is kept for the next flush.
    pub async fn flush(&self, db: &DatabaseConnection) -> Result<Flushed, DbErr> {
        let taken = std::mem::take(&mut *self.lock());
        let dropped = taken.refusals.dropped();
        if dropped > 0 {
            tracing::warn!(dropped, "refused uses came faster than they could be kept; the oldest were dropped");
        }
        match usage::write(db, &taken).await {
            Ok(()) => {
                self.written.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
                Ok(Flushed { keys: taken.keys.len(), refusals_dropped: dropped })
            }
            Err(e) => {
                let mut unwritten = taken;
                unwritten.refusals.forget_dropped();
                self.lock().restore(unwritten);
                Err(e)
            }
        }
    }
}
