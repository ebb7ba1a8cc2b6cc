//! The token cache: what the database said about a token's key and IP ACL,
//! kept for `ttl`, and how far this instance may trust it while it cannot
//! hear other instances' changes.
//!
//! Listening states (PostgreSQL; SQLite has no listener):
//! - **listening**: entries live `ttl`; every change is heard within
//!   milliseconds and forgets what it touched.
//! - **lost**: the listening connection dropped; notices may be missed, so the
//!   cache is cleared and entries read meanwhile live [`DEGRADED_TTL`]. What
//!   it held is kept aside as the last known state, which answers only while
//!   the database itself cannot be asked.
//! - **stale**: nothing heard from the database for the stale limit: the
//!   instance stops answering from memory at all (503) until it listens
//!   again, so a key revoked elsewhere during a partition is not honoured
//!   here for as long as the partition lasts.
//!
//! A token in use is read again before its entry expires (refresh-ahead):
//! the first request past a point between [`REFRESH_FROM`] and
//! [`REFRESH_TO`] of the TTL (spread by the digest) queues it, and the
//! refresh job reads the queued tokens in batches of a few hundred, two
//! queries a batch. A request never waits for the database for a token in
//! use, tokens loaded together never expire together, and the re-read costs
//! the database a row in a batch instead of two queries (measured on
//! PostgreSQL, a lookup on the request path cost the API as much as 30-40
//! cached requests). A refresh that fails leaves the entry answering until
//! its TTL, when the request path looks it up as before.
//!
//! A generation counter stops a lookup that raced with a change from putting
//! a stale entry back; a change whose commit was abandoned (the request was
//! dropped mid-commit) also keeps its keys out of the cache for
//! [`UNSETTLED_FOR`], since on SQLite that COMMIT may still land after the
//! drop guard has run.

use crate::domain::acl::Acl;
use crate::domain::crypto::TokenDigest;
use crate::domain::permissions::Access;
use crate::domain::rate_limit::RateLimit;
use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, RwLock};
use std::time::{Duration, Instant};

/// How long an entry is trusted before it is read again (for other instances' changes).
pub const DEFAULT_TTL: Duration = Duration::from_secs(30);
/// How long entries are trusted while changes from other instances cannot be heard.
pub const DEGRADED_TTL: Duration = Duration::from_secs(1);
/// How long "no such token" is remembered, so a client retrying a deleted key does not hit the database each time.
pub const NEGATIVE_TTL: Duration = Duration::from_secs(5);
/// Bound on remembered unknown tokens; past it the list starts afresh.
const NEGATIVE_MAX: usize = 100_000;
/// After a lookup fails, how long the database counts as down (last-known
/// entries answer without asking it again).
pub const DATABASE_DOWN_FOR: Duration = Duration::from_secs(1);
/// A change whose commit was abandoned keeps its keys out of the cache this long.
pub const UNSETTLED_FOR: Duration = Duration::from_secs(10);
/// Refresh-ahead starts at this fraction of the TTL, for the earliest tokens...
pub const REFRESH_FROM: f64 = 0.75;
/// ...and by this fraction for the latest, leaving the refresh job time before expiry.
pub const REFRESH_TO: f64 = 0.95;
/// `TEXTPEAK_STALE_LIMIT_SECONDS` when unset.
pub const DEFAULT_STALE_LIMIT: Duration = Duration::from_secs(30);

#[derive(Debug, Clone)]
pub struct CachedKey {
    pub key_id: i32,
    pub account_id: i32,
    pub token_id: i32,
    pub acl_id: i32,
    pub disabled: bool,
    pub key_expires_at: Option<i64>,
    pub token_expires_at: Option<i64>,
    pub token_ended: bool,
    pub access: Access,
    pub limit: Option<RateLimit>,
    /// Its whoami and check bodies, rendered when it was read.
    pub answers: Arc<crate::server::public_api::Answers>,
    pub loaded: Instant,
}

#[derive(Debug)]
pub struct CachedAcl {
    pub name: Arc<str>,
    /// `None` if the stored entries could not be read: such an ACL admits nobody.
    pub acl: Option<Acl>,
    pub report_only: bool,
}

/// A cached key and whether a request has queued its refresh.
struct Slot {
    key: CachedKey,
    refresh_claimed: AtomicBool,
}

/// Where between [`REFRESH_FROM`] and [`REFRESH_TO`] of `ttl` this digest's
/// entry is refreshed: spread by the digest itself (uniform, as it is a
/// hash), so entries loaded together are read again apart.
pub fn refresh_after(ttl: Duration, digest: &TokenDigest) -> Duration {
    let spread = f64::from(u16::from_le_bytes([digest[0], digest[1]])) / f64::from(u16::MAX);
    ttl.mul_f64(REFRESH_FROM + (REFRESH_TO - REFRESH_FROM) * spread)
}

#[derive(Default)]
struct Entries {
    keys: HashMap<TokenDigest, Slot>,
    /// The digests cached for each key id, so a key is forgotten with all its tokens.
    by_key: HashMap<i32, Vec<TokenDigest>>,
    acls: HashMap<i32, Arc<CachedAcl>>,
    unknown: HashMap<TokenDigest, Instant>,
    /// See [`TokenCache::lose_track`].
    last_known: HashMap<TokenDigest, (CachedKey, Arc<CachedAcl>)>,
    /// Keys and ACLs whose change may still be committing: not cached until then.
    unsettled_keys: HashMap<i32, Instant>,
    unsettled_acls: HashMap<i32, Instant>,
}

impl Entries {
    fn insert(&mut self, digest: TokenDigest, key: CachedKey) {
        let digests = self.by_key.entry(key.key_id).or_default();
        if !digests.contains(&digest) {
            digests.push(digest);
        }
        self.keys.insert(digest, Slot { key, refresh_claimed: AtomicBool::new(false) });
    }

    /// Remembers that no key has this digest (bounded: past the bound the list starts afresh).
    fn remember_unknown(&mut self, digest: TokenDigest, now: Instant) {
        if self.unknown.len() >= NEGATIVE_MAX {
            self.unknown.clear();
        }
        self.unknown.insert(digest, now);
    }

    fn remove(&mut self, digest: &TokenDigest) {
        if let Some(Slot { key, .. }) = self.keys.remove(digest)
            && let Some(digests) = self.by_key.get_mut(&key.key_id)
        {
            digests.retain(|d| d != digest);
            if digests.is_empty() {
                self.by_key.remove(&key.key_id);
            }
        }
    }

    fn forget_key(&mut self, key_id: i32) {
        for digest in self.by_key.remove(&key_id).unwrap_or_default() {
            self.keys.remove(&digest);
        }
        self.last_known.retain(|_, (key, _)| key.key_id != key_id);
    }

    fn forget_acl(&mut self, acl_id: i32) {
        self.acls.remove(&acl_id);
        let gone: Vec<TokenDigest> =
            self.keys.iter().filter(|(_, slot)| slot.key.acl_id == acl_id).map(|(digest, _)| *digest).collect();
        for digest in gone {
            self.remove(&digest);
        }
        self.last_known.retain(|_, (key, _)| key.acl_id != acl_id);
    }

    fn unsettled(&self, key_id: i32, acl_id: i32, now: Instant) -> bool {
        self.unsettled_keys.get(&key_id).is_some_and(|until| now < *until)
            || self.unsettled_acls.get(&acl_id).is_some_and(|until| now < *until)
    }
}

/// What the cache says about a digest.
pub enum Cached {
    /// A fresh entry.
    Hit(CachedKey, Arc<CachedAcl>),
    /// Looked up lately and found to be no key's.
    Unknown,
    /// The database must be asked.
    Miss,
}

/// A change that touches keys or ACLs, as the cache sees it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Touch {
    Key(i32),
    Acl(i32),
}

pub struct TokenCache {
    entries: RwLock<Entries>,
    /// Tokens in use past their refresh point, for the refresh job.
    refresh_due: Mutex<Vec<TokenDigest>>,
    generation: AtomicU64,
    ttl: Duration,
    /// The earliest refresh point ([`REFRESH_FROM`] of `ttl`): before it a
    /// hit compares one age and nothing more.
    refresh_from: Duration,
    /// Set while other instances' changes cannot be heard.
    degraded: AtomicBool,
    /// Until when a failed lookup says the database is down.
    database_down_until: Mutex<Option<Instant>>,
    /// Whether this instance must hear changes to trust its cache (PostgreSQL).
    listening_required: AtomicBool,
    stale_limit_ms: AtomicU64,
    /// When the database was last heard from (ms since `started`).
    last_heard_ms: AtomicU64,
    started: Instant,
}

impl TokenCache {
    pub fn new(ttl: Duration) -> Self {
        TokenCache {
            entries: RwLock::new(Entries::default()),
            refresh_due: Mutex::new(Vec::new()),
            generation: AtomicU64::new(0),
            ttl,
            refresh_from: ttl.mul_f64(REFRESH_FROM),
            degraded: AtomicBool::new(false),
            database_down_until: Mutex::new(None),
            listening_required: AtomicBool::new(false),
            stale_limit_ms: AtomicU64::new(DEFAULT_STALE_LIMIT.as_millis() as u64),
            last_heard_ms: AtomicU64::new(0),
            started: Instant::now(),
        }
    }

    fn read(&self) -> std::sync::RwLockReadGuard<'_, Entries> {
        self.entries.read().unwrap_or_else(|e| e.into_inner())
    }

    fn write(&self) -> std::sync::RwLockWriteGuard<'_, Entries> {
        self.entries.write().unwrap_or_else(|e| e.into_inner())
    }

    /// A fresh entry decides (the first caller past its refresh point queues
    /// it for the refresh job); anything else is a miss.
    pub fn get(&self, digest: &TokenDigest, now: Instant) -> Cached {
        let entries = self.read();
        if let Some(slot) = entries.keys.get(digest) {
            let degraded = self.degraded.load(Ordering::Relaxed);
            let ttl = if degraded { DEGRADED_TTL.min(self.ttl) } else { self.ttl };
            let age = now.saturating_duration_since(slot.key.loaded);
            if let Some(acl) = entries.acls.get(&slot.key.acl_id)
                && age < ttl
            {
                // Degraded entries live a second: not worth reading early.
                if !degraded
                    && age >= self.refresh_from
                    && !slot.refresh_claimed.load(Ordering::Relaxed)
                    && age >= refresh_after(self.ttl, digest)
                    && !slot.refresh_claimed.swap(true, Ordering::Relaxed)
                {
                    self.due().push(*digest);
                }
                return Cached::Hit(slot.key.clone(), acl.clone());
            }
        } else if entries.unknown.get(digest).is_some_and(|at| now.duration_since(*at) < NEGATIVE_TTL) {
            return Cached::Unknown;
        }
        Cached::Miss
    }

    fn due(&self) -> std::sync::MutexGuard<'_, Vec<TokenDigest>> {
        self.refresh_due.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// The tokens queued for a refresh since the last call.
    pub fn take_due(&self) -> Vec<TokenDigest> {
        std::mem::take(&mut *self.due())
    }

    /// The generation to pass back to [`Self::keep`] after a database read.
    pub fn generation(&self) -> u64 {
        self.generation.load(Ordering::Acquire)
    }

    /// Keeps what a lookup read, unless a change landed meanwhile (the
    /// generation moved) or one touching this key may still be committing.
    pub fn keep(&self, generation: u64, digest: TokenDigest, key: CachedKey, acl_id: i32, acl: Arc<CachedAcl>) {
        self.keep_all(generation, vec![(digest, key, acl_id, acl)], Vec::new());
    }

    /// A lookup found no key with this digest.
    pub fn keep_unknown(&self, generation: u64, digest: TokenDigest) {
        self.keep_all(generation, Vec::new(), vec![digest]);
    }

    /// What one read of the database found (a lookup, or a batch of the
    /// refresh job), under one lock: each key as [`Self::keep`] says; each
    /// digest no key has any more is forgotten at once (deleted elsewhere)
    /// and, unless the generation moved, remembered as unknown.
    pub fn keep_all(
        &self,
        generation: u64,
        found: Vec<(TokenDigest, CachedKey, i32, Arc<CachedAcl>)>,
        gone: Vec<TokenDigest>,
    ) {
        let mut entries = self.write();
        // The database answers: changes can commit again, and this instance
        // may not hear of them, so the last known state is over.
        entries.last_known.clear();
        let current = self.generation() == generation;
        let now = Instant::now();
        for digest in gone {
            entries.remove(&digest);
            if current {
                entries.remember_unknown(digest, now);
            }
        }
        if !current {
            return;
        }
        for (digest, key, acl_id, acl) in found {
            if !entries.unsettled(key.key_id, acl_id, now) {
                entries.unknown.remove(&digest);
                entries.insert(digest, key);
                entries.acls.insert(acl_id, acl);
            }
        }
    }

    /// Puts an entry in as if it had just been read (warm-up, benchmarks, tests).
    pub fn preload(&self, digest: TokenDigest, key: CachedKey, acl_id: i32, acl: Arc<CachedAcl>) {
        let mut entries = self.write();
        entries.insert(digest, key);
        entries.acls.insert(acl_id, acl);
    }

    /// A change is about to commit: lookups already under way must not keep what they read.
    pub fn begin_change(&self) {
        self.generation.fetch_add(1, Ordering::AcqRel);
    }

    /// What a change touched is read afresh on its next request.
    pub fn forget(&self, touched: &[Touch]) {
        self.generation.fetch_add(1, Ordering::AcqRel);
        let mut entries = self.write();
        for touch in touched {
            match *touch {
                Touch::Key(id) => entries.forget_key(id),
                Touch::Acl(id) => entries.forget_acl(id),
            }
        }
    }

    /// A change's commit was abandoned (its request dropped): on SQLite the
    /// COMMIT may land later still, so what it touched is forgotten now and
    /// kept out of the cache until it has surely settled.
    pub fn unsettle(&self, touched: &[Touch]) {
        self.forget(touched);
        let until = Instant::now() + UNSETTLED_FOR;
        let mut entries = self.write();
        let now = Instant::now();
        entries.unsettled_keys.retain(|_, at| *at > now);
        entries.unsettled_acls.retain(|_, at| *at > now);
        for touch in touched {
            match *touch {
                Touch::Key(id) => entries.unsettled_keys.insert(id, until),
                Touch::Acl(id) => entries.unsettled_acls.insert(id, until),
            };
        }
    }

    /// Forgets everything: what changed meanwhile elsewhere cannot be known.
    pub fn clear(&self) {
        self.forget_cached();
        self.write().last_known.clear();
    }

    /// Forgets every cached entry but keeps the last known state.
    pub fn forget_cached(&self) {
        self.generation.fetch_add(1, Ordering::AcqRel);
        let mut entries = self.write();
        entries.keys.clear();
        entries.by_key.clear();
        entries.acls.clear();
        entries.unknown.clear();
    }

    /// Other instances' changes can no longer be heard (the listening
    /// connection dropped): the cache is cleared, so every token is read
    /// afresh, but what it held is kept as the last known state, which
    /// answers only when the database cannot be asked. So a stopped database
    /// does not also stop every key that was working.
    pub fn lose_track(&self) {
        self.generation.fetch_add(1, Ordering::AcqRel);
        let mut entries = self.write();
        let Entries { keys, by_key, acls, unknown, last_known, .. } = &mut *entries;
        for (digest, Slot { key, .. }) in keys.drain() {
            if let Some(acl) = acls.get(&key.acl_id) {
                last_known.insert(digest, (key, acl.clone()));
            }
        }
        by_key.clear();
        acls.clear();
        unknown.clear();
    }

    /// The last known state of a digest, while the database cannot be asked.
    pub fn last_known(&self, digest: &TokenDigest) -> Option<(CachedKey, Arc<CachedAcl>)> {
        self.read().last_known.get(digest).cloned()
    }

    /// While `true`, cached entries are trusted for [`DEGRADED_TTL`] only.
    /// Whether other instances' changes are heard now (always, where nothing needs hearing).
    pub fn listening(&self) -> bool {
        !self.degraded.load(Ordering::Relaxed)
    }

    pub fn set_degraded(&self, degraded: bool) {
        self.degraded.store(degraded, Ordering::Relaxed);
    }

    pub fn database_failed(&self, now: Instant) {
        *self.down_until() = Some(now + DATABASE_DOWN_FOR);
    }

    pub fn database_answered(&self) {
        *self.down_until() = None;
    }

    pub fn database_known_down(&self, now: Instant) -> bool {
        self.down_until().is_some_and(|until| now < until)
    }

    fn down_until(&self) -> std::sync::MutexGuard<'_, Option<Instant>> {
        self.database_down_until.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// This instance trusts its cache only while it hears the database
    /// (PostgreSQL's change notices), and for at most `stale_limit` after.
    /// It does not count as listening until the listener's first LISTEN:
    /// until then entries live [`DEGRADED_TTL`] and readiness says
    /// `not_listening`, so a load balancer does not send it traffic while a
    /// change made elsewhere could still go unheard.
    pub fn require_listening(&self, stale_limit: Duration) {
        self.set_degraded(true);
        self.stale_limit_ms.store(stale_limit.as_millis() as u64, Ordering::Relaxed);
        self.heard(Instant::now());
        self.listening_required.store(true, Ordering::Relaxed);
    }

    /// A notice (a change, or a heartbeat) came in: the database is heard.
    pub fn heard(&self, now: Instant) {
        let ms = now.saturating_duration_since(self.started).as_millis() as u64;
        self.last_heard_ms.fetch_max(ms, Ordering::Relaxed);
    }

    /// How long since the database was last heard (zero where nothing needs hearing).
    pub fn unheard_for(&self, now: Instant) -> Duration {
        if !self.listening_required.load(Ordering::Relaxed) {
            return Duration::ZERO;
        }
        let now_ms = now.saturating_duration_since(self.started).as_millis() as u64;
        Duration::from_millis(now_ms.saturating_sub(self.last_heard_ms.load(Ordering::Relaxed)))
    }

    /// Nothing heard for longer than the stale limit: nothing in memory may answer.
    pub fn stale(&self, now: Instant) -> bool {
        self.unheard_for(now) > Duration::from_millis(self.stale_limit_ms.load(Ordering::Relaxed))
    }

    pub fn len(&self) -> usize {
        self.read().keys.len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}
