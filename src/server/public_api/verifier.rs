//! Token verification for the TextPeak API: the hot path of every request.
//!
//! Order of work, cheapest refusal first: shape and checksum (no lookup for a
//! mistyped token), SHA-256, then an in-memory cache keyed by digest (loaded
//! from the database on a miss), then the token's and key's lifecycle (rolled
//! out, disabled, expired), then the CIDR match. Lookups go by digest, never
//! by comparing token strings, so timing says nothing about prefixes.
//!
//! Every change made through this process reaches the cache through
//! `server::changes`; a generation counter stops a lookup that raced with a
//! change from putting a stale entry back. Entries are re-read after `ttl`, so
//! changes made by other instances on the same database take effect within
//! that time too. Expiry needs no change at all: the cache keeps the instants
//! and each request compares them with the clock.
//!
//! A cache miss costs a database query, and the checksum is public, so
//! anyone can make well-formed tokens: lookups that find nothing are limited
//! per client address ([`UnknownTokenLimit`]), and past the limit the answer
//! is 429 without a query.

use crate::db::entities::{api_key, api_key_token, ip_acl};
use crate::db::service::{api_keys, usage};
use crate::domain::acl::Acl;
use crate::domain::address::client_key;
use crate::domain::crypto::{TokenDigest, digest};
use crate::domain::lifecycle::{self, Refusal};
use crate::domain::token::Token;
use crate::domain::usage::{KeyUsage, Outcome, Reason, Recorded, Refusal as RecordedRefusal};
use crate::server::clock::Clock;
use crate::server::public_api::unknown_tokens::UnknownTokenLimit;
use sea_orm::{ConnectionTrait, DatabaseConnection, DbErr};
use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, RwLock};
use std::time::{Duration, Instant};

/// How long an entry is trusted before it is read again (for other instances' changes).
pub const DEFAULT_TTL: Duration = Duration::from_secs(30);
/// How long entries are trusted while changes from other instances cannot be
/// heard (the PostgreSQL listener is down).
pub const DEGRADED_TTL: Duration = Duration::from_secs(1);
/// After a lookup fails, how long the database counts as down (last-known
/// entries answer without asking it again).
const DATABASE_DOWN_FOR: Duration = Duration::from_secs(1);
/// How long "no such token" is remembered, so a client retrying a deleted key does not hit the database each time.
const NEGATIVE_TTL: Duration = Duration::from_secs(5);
/// Bound on remembered unknown tokens; past it the list starts afresh.
const NEGATIVE_MAX: usize = 100_000;

/// What a verified request may act as.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Grant {
    pub key_id: i32,
    pub account_id: i32,
    pub name: Arc<str>,
    pub ip_acl: Arc<str>,
    /// When this token stops working: the key's expiry or the end of the
    /// token's grace after a roll, whichever comes first.
    pub expires_at: Option<i64>,
    /// Let through only because the key's IP ACL reports rather than refuses.
    pub outside_report_only_acl: bool,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Denied {
    /// Not in the TextPeak format, or the checksum fails: refused before any lookup.
    Malformed,
    /// Well formed, but no key has it (never had, or deleted).
    Unknown,
    /// A real key's token that may not be used now: rolled out, disabled, expired.
    Lifecycle(Refusal),
    /// A real key, used from an address its IP ACL does not allow.
    IpNotAllowed(IpAddr),
    /// This address presented too many unknown tokens lately: not looked up.
    TooManyUnknownTokens { retry_after: Duration },
}

#[derive(Debug, thiserror::Error)]
pub enum VerifyError {
    #[error("token lookup failed: {0}")]
    Db(#[from] DbErr),
}

/// When and from where a key was last used, not yet written to the database.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Usage {
    pub at_ms: i64,
    pub ip: IpAddr,
}

#[derive(Debug, Clone)]
struct CachedKey {
    key_id: i32,
    account_id: i32,
    name: Arc<str>,
    acl_id: i32,
    disabled: bool,
    key_expires_at: Option<i64>,
    token_expires_at: Option<i64>,
    loaded: Instant,
}

#[derive(Debug)]
struct CachedAcl {
    name: Arc<str>,
    /// `None` if the stored entries could not be read: such an ACL admits nobody.
    acl: Option<Acl>,
    report_only: bool,
}

#[derive(Default)]
struct Cache {
    keys: HashMap<TokenDigest, CachedKey>,
    /// The digests cached for each key id, so a key is forgotten with all its tokens.
    by_key: HashMap<i32, Vec<TokenDigest>>,
    acls: HashMap<i32, Arc<CachedAcl>>,
    unknown: HashMap<TokenDigest, Instant>,
    /// What the cache held when this instance lost track of other instances'
    /// changes (see [`Verifier::lose_track`]); consulted only while the
    /// database cannot be asked.
    last_known: HashMap<TokenDigest, (CachedKey, Arc<CachedAcl>)>,
}

impl Cache {
    fn insert(&mut self, digest: TokenDigest, key: CachedKey) {
        let digests = self.by_key.entry(key.key_id).or_default();
        if !digests.contains(&digest) {
            digests.push(digest);
        }
        self.keys.insert(digest, key);
    }

    fn remove(&mut self, digest: &TokenDigest) {
        if let Some(key) = self.keys.remove(digest)
            && let Some(digests) = self.by_key.get_mut(&key.key_id)
        {
            digests.retain(|d| d != digest);
            if digests.is_empty() {
                self.by_key.remove(&key.key_id);
            }
        }
    }
}

/// The result of the in-memory part of a verification.
enum Lookup {
    Decided(Result<Grant, Denied>),
    /// The database must be asked about this digest.
    Miss(TokenDigest),
}

pub struct Verifier {
    cache: RwLock<Cache>,
    generation: AtomicU64,
    /// What tokens did since the last flush (see `domain::usage`).
    recorded: Mutex<Recorded>,
    ttl: Duration,
    /// Set while other instances' changes cannot be heard: entries then live [`DEGRADED_TTL`].
    degraded: AtomicBool,
    clock: Arc<Clock>,
    unknown_limit: UnknownTokenLimit,
    /// Database lookups made (cache misses), for tests and the operator.
    lookups: AtomicU64,
    /// Until when a failed lookup says the database is down: last-known
    /// entries answer at once meanwhile instead of waiting on the pool again.
    database_down_until: Mutex<Option<Instant>>,
}

impl Default for Verifier {
    fn default() -> Self {
        Self::new(DEFAULT_TTL, Arc::default())
    }
}

impl Verifier {
    pub fn new(ttl: Duration, clock: Arc<Clock>) -> Self {
        Self {
            cache: RwLock::new(Cache::default()),
            generation: AtomicU64::new(0),
            recorded: Mutex::new(Recorded::default()),
            ttl,
            degraded: AtomicBool::new(false),
            clock,
            unknown_limit: UnknownTokenLimit::default(),
            lookups: AtomicU64::new(0),
            database_down_until: Mutex::new(None),
        }
    }

    /// Verifies a presented token for a client address; the database is read
    /// only on a cache miss.
    pub async fn verify(
        &self,
        db: &impl ConnectionTrait,
        presented: &str,
        client: IpAddr,
    ) -> Result<Result<Grant, Denied>, VerifyError> {
        let now = Instant::now();
        let digest = match self.lookup(presented, client, now) {
            Lookup::Decided(verdict) => return Ok(verdict),
            Lookup::Miss(digest) => digest,
        };
        if self.database_known_down(now)
            && let Some(verdict) = self.decide_from_last_known(&digest, client)
        {
            return Ok(verdict);
        }
        let counted_as = client_key(client);
        if let Some(retry_after) = self.unknown_limit.blocked(&counted_as, now) {
            return Ok(Err(Denied::TooManyUnknownTokens { retry_after }));
        }
        let generation = self.generation.load(Ordering::Acquire);
        self.lookups.fetch_add(1, Ordering::Relaxed);
        let found = match api_keys::find_by_digest(db, &digest).await {
            Ok(found) => found,
            Err(e) => {
                *self.down_until() = Some(Instant::now() + DATABASE_DOWN_FOR);
                return self.decide_from_last_known(&digest, client).ok_or(VerifyError::Db(e));
            }
        };
        *self.down_until() = None;
        let mut cache = self.write();
        // The database answers: changes can commit again, and this instance
        // may not hear of them, so the last known state is over.
        cache.last_known.clear();
        // A change landed while we read: what we read may be stale, so do not keep it.
        let keep = self.generation.load(Ordering::Acquire) == generation;
        let Some((token, key, acl)) = found else {
            // Deleted elsewhere (another instance): drop the stale entry too.
            cache.remove(&digest);
            if keep {
                if cache.unknown.len() >= NEGATIVE_MAX {
                    cache.unknown.clear();
                }
                cache.unknown.insert(digest, Instant::now());
            }
            drop(cache);
            self.unknown_limit.count(counted_as, Instant::now());
            return Ok(Err(Denied::Unknown));
        };
        let (cached_key, cached_acl) = cached(&key, &token, &acl);
        let wall = self.clock.now_ms();
        let (verdict, outcome) = decide(&cached_key, &cached_acl, client, wall);
        let key_id = cached_key.key_id;
        if keep {
            cache.unknown.remove(&digest);
            cache.insert(digest, cached_key);
            cache.acls.insert(acl.id, cached_acl);
        }
        drop(cache);
        self.record(key_id, client, wall, outcome);
        Ok(verdict)
    }

    /// The database cannot be asked and the listener lost track meanwhile:
    /// the last state this instance knew decides. It is kept only while no
    /// lookup has succeeded since the listener dropped (a working database
    /// ends it), and nothing commits while the database is down, so it misses
    /// only changes whose notice was in flight at the drop; this instance's
    /// own changes forget their keys here too.
    fn decide_from_last_known(&self, digest: &TokenDigest, client: IpAddr) -> Option<Result<Grant, Denied>> {
        let cache = self.read();
        let (key, acl) = cache.last_known.get(digest)?;
        let wall = self.clock.now_ms();
        let (verdict, outcome) = decide(key, acl, client, wall);
        let key_id = key.key_id;
        drop(cache);
        self.record(key_id, client, wall, outcome);
        Some(verdict)
    }

    fn database_known_down(&self, now: Instant) -> bool {
        self.down_until().is_some_and(|until| now < until)
    }

    fn down_until(&self) -> std::sync::MutexGuard<'_, Option<Instant>> {
        self.database_down_until.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// The in-memory part alone: `None` when the database would have to be asked.
    pub fn verify_cached(&self, presented: &str, client: IpAddr) -> Option<Result<Grant, Denied>> {
        match self.lookup(presented, client, Instant::now()) {
            Lookup::Decided(verdict) => Some(verdict),
            Lookup::Miss(_) => None,
        }
    }

    /// A fresh cache entry decides; anything else is a miss.
    fn lookup(&self, presented: &str, client: IpAddr, now: Instant) -> Lookup {
        let Ok(token) = Token::parse(presented) else {
            return Lookup::Decided(Err(Denied::Malformed));
        };
        let digest = digest(token.expose());
        let cache = self.read();
        if let Some(key) = cache.keys.get(&digest) {
            let ttl = if self.degraded.load(Ordering::Relaxed) { DEGRADED_TTL.min(self.ttl) } else { self.ttl };
            if let Some(acl) = cache.acls.get(&key.acl_id)
                && now.duration_since(key.loaded) < ttl
            {
                let wall = self.clock.now_ms();
                let (verdict, outcome) = decide(key, acl, client, wall);
                let key_id = key.key_id;
                drop(cache);
                self.record(key_id, client, wall, outcome);
                return Lookup::Decided(verdict);
            }
        } else if cache.unknown.get(&digest).is_some_and(|at| now.duration_since(*at) < NEGATIVE_TTL) {
            return Lookup::Decided(Err(Denied::Unknown));
        }
        Lookup::Miss(digest)
    }

    /// Puts a token in the cache as if it had just been read (warm-up and benchmarks).
    pub fn preload(&self, token: &api_key_token::Model, key: &api_key::Model, acl: &ip_acl::Model) {
        let Ok(digest) = TokenDigest::try_from(token.digest.as_slice()) else { return };
        let (cached_key, cached_acl) = cached(key, token, acl);
        let mut cache = self.write();
        cache.insert(digest, cached_key);
        cache.acls.insert(acl.id, cached_acl);
    }

    /// A change is about to commit: lookups already under way must not keep
    /// what they read (see `server::changes`).
    pub fn begin_change(&self) {
        self.generation.fetch_add(1, Ordering::AcqRel);
    }

    /// A key was edited, disabled, rolled or deleted: its next request reads
    /// it, and all its tokens, afresh.
    pub fn forget_key(&self, key_id: i32) {
        self.generation.fetch_add(1, Ordering::AcqRel);
        let mut cache = self.write();
        for digest in cache.by_key.remove(&key_id).unwrap_or_default() {
            cache.keys.remove(&digest);
        }
        cache.last_known.retain(|_, (key, _)| key.key_id != key_id);
    }

    /// An IP ACL was edited or deleted: every key using it reads it afresh.
    pub fn forget_acl(&self, acl_id: i32) {
        self.generation.fetch_add(1, Ordering::AcqRel);
        let mut cache = self.write();
        cache.acls.remove(&acl_id);
        let gone: Vec<TokenDigest> =
            cache.keys.iter().filter(|(_, key)| key.acl_id == acl_id).map(|(digest, _)| *digest).collect();
        for digest in gone {
            cache.remove(&digest);
        }
        cache.last_known.retain(|_, (key, _)| key.acl_id != acl_id);
    }

    /// Forgets everything: what changed meanwhile elsewhere cannot be known.
    pub fn clear(&self) {
        self.forget_cached();
        self.write().last_known.clear();
    }

    /// Forgets every cached entry but keeps the last known state (see
    /// [`Self::lose_track`]).
    pub fn forget_cached(&self) {
        self.generation.fetch_add(1, Ordering::AcqRel);
        let mut cache = self.write();
        cache.keys.clear();
        cache.by_key.clear();
        cache.acls.clear();
        cache.unknown.clear();
    }

    /// Other instances' changes can no longer be heard (the listening
    /// connection dropped): the cache is cleared, so every token is read afresh,
    /// but what it held is kept as the last known state, which answers only
    /// when the database cannot be asked (see [`Self::decide_from_last_known`]). So
    /// a stopped database does not also stop every key that was working.
    pub fn lose_track(&self) {
        self.generation.fetch_add(1, Ordering::AcqRel);
        let mut guard = self.write();
        let Cache { keys, by_key, acls, unknown, last_known } = &mut *guard;
        for (digest, key) in keys.drain() {
            if let Some(acl) = acls.get(&key.acl_id) {
                last_known.insert(digest, (key, acl.clone()));
            }
        }
        by_key.clear();
        acls.clear();
        unknown.clear();
    }

    /// While `true`, cached entries are trusted for [`DEGRADED_TTL`] only.
    pub fn set_degraded(&self, degraded: bool) {
        self.degraded.store(degraded, Ordering::Relaxed);
    }

    pub fn cached_keys(&self) -> usize {
        self.read().keys.len()
    }

    /// How many times the database was asked about a token.
    pub fn lookups(&self) -> u64 {
        self.lookups.load(Ordering::Relaxed)
    }

    /// Drops what the unknown-token limit remembers of quiet addresses.
    pub fn prune(&self) {
        self.unknown_limit.prune(Instant::now());
    }

    fn record(&self, key_id: i32, ip: IpAddr, at_ms: i64, outcome: Outcome) {
        self.recorded.lock().unwrap_or_else(|e| e.into_inner()).record(key_id, at_ms, ip, outcome);
    }

    /// The last allowed use not yet written (the table shows it before it is).
    pub fn pending_usage(&self, key_id: i32) -> Option<Usage> {
        let recorded = self.recorded.lock().unwrap_or_else(|e| e.into_inner());
        recorded.keys.get(&key_id)?.last_allowed.map(|(at_ms, ip)| Usage { at_ms, ip })
    }

    /// Everything a key's token did since the last flush, and its refusals.
    pub fn pending(&self, key_id: i32) -> (Option<KeyUsage>, Vec<RecordedRefusal>) {
        let recorded = self.recorded.lock().unwrap_or_else(|e| e.into_inner());
        let refusals = recorded.refusals.iter().filter(|r| r.key_id == key_id).copied().collect();
        (recorded.keys.get(&key_id).cloned(), refusals)
    }

    /// Writes what tokens did since the last flush, as increments, in one
    /// transaction, however many requests it took. What could not be written
    /// is kept for the next flush. Returns how many keys were written.
    pub async fn flush_usage(&self, db: &DatabaseConnection) -> Result<usize, DbErr> {
        let taken = std::mem::take(&mut *self.recorded.lock().unwrap_or_else(|e| e.into_inner()));
        if taken.refusals_dropped > 0 {
            tracing::warn!(
                dropped = taken.refusals_dropped,
                "refused uses came faster than they could be kept; the oldest were dropped"
            );
        }
        match usage::write(db, &taken).await {
            Ok(()) => Ok(taken.keys.len()),
            Err(e) => {
                self.recorded
                    .lock()
                    .unwrap_or_else(|e| e.into_inner())
                    .restore(Recorded { refusals_dropped: 0, ..taken });
                Err(e)
            }
        }
    }

    fn read(&self) -> std::sync::RwLockReadGuard<'_, Cache> {
        self.cache.read().unwrap_or_else(|e| e.into_inner())
    }

    fn write(&self) -> std::sync::RwLockWriteGuard<'_, Cache> {
        self.cache.write().unwrap_or_else(|e| e.into_inner())
    }
}

fn cached(key: &api_key::Model, token: &api_key_token::Model, acl: &ip_acl::Model) -> (CachedKey, Arc<CachedAcl>) {
    let parsed = Acl::from_stored(&acl.entries);
    if parsed.is_none() {
        tracing::error!(ip_acl = acl.id, "stored IP ACL entries are unreadable; refusing its keys");
    }
    (
        CachedKey {
            key_id: key.id,
            account_id: key.account_id,
            name: key.name.as_str().into(),
            acl_id: acl.id,
            disabled: key.disabled_at.is_some(),
            key_expires_at: key.expires_at,
            token_expires_at: token.expires_at,
            loaded: Instant::now(),
        },
        Arc::new(CachedAcl { name: acl.name.as_str().into(), acl: parsed, report_only: acl.report_only }),
    )
}

/// The verdict, and how the use is recorded.
fn decide(key: &CachedKey, acl: &CachedAcl, client: IpAddr, now_ms: i64) -> (Result<Grant, Denied>, Outcome) {
    if let Err(refusal) = lifecycle::check(key.token_expires_at, key.disabled, key.key_expires_at, now_ms) {
        let reason = match refusal {
            Refusal::TokenExpired => Reason::TokenExpired,
            Refusal::KeyDisabled => Reason::KeyDisabled,
            Refusal::KeyExpired => Reason::KeyExpired,
        };
        return (Err(Denied::Lifecycle(refusal)), Outcome::Refused(reason));
    }
    let inside = acl.acl.as_ref().is_some_and(|acl| acl.allows(client));
    // An ACL whose entries cannot be read admits nobody, report-only or not.
    if !inside && (!acl.report_only || acl.acl.is_none()) {
        return (Err(Denied::IpNotAllowed(client)), Outcome::Refused(Reason::IpNotAllowed));
    }
    let expires_at = match (key.key_expires_at, key.token_expires_at) {
        (Some(a), Some(b)) => Some(a.min(b)),
        (a, b) => a.or(b),
    };
    let grant = Grant {
        key_id: key.key_id,
        account_id: key.account_id,
        name: key.name.clone(),
        ip_acl: acl.name.clone(),
        expires_at,
        outside_report_only_acl: !inside,
    };
    (Ok(grant), if inside { Outcome::Allowed } else { Outcome::WouldBeRefused })
}

/// Rows as the database would hold them, for tests and benchmarks.
pub mod fixtures {
    use super::*;

    pub fn key(id: i32, acl_id: i32) -> api_key::Model {
        api_key::Model {
            id,
            account_id: 1,
            ip_acl_id: acl_id,
            name: format!("key {id}"),
            name_folded: format!("key {id}"),
            created_at: 0,
            last_used_at: 0,
            last_used_ip: None,
            disabled_at: None,
            expires_at: None,
            addresses_dropped: 0,
        }
    }

    pub fn token(key_id: i32, token: &Token) -> api_key_token::Model {
        api_key_token::Model {
            id: key_id,
            key_id,
            digest: digest(token.expose()).to_vec(),
            sealed: vec![],
            suffix: token.visible_suffix().to_owned(),
            created_at: 0,
            expires_at: None,
        }
    }

    pub fn acl(id: i32, entries: &str) -> ip_acl::Model {
        ip_acl::Model {
            id,
            account_id: 1,
            name: format!("acl {id}"),
            name_folded: format!("acl {id}"),
            entries: entries.to_owned(),
            created_at: 0,
            updated_at: 0,
            report_only: false,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::fixtures::{acl, key, token};
    use super::*;
    use crate::domain::lifecycle::DAY_MS;

    fn decided(lookup: Lookup) -> Option<Result<Grant, Denied>> {
        match lookup {
            Lookup::Decided(v) => Some(v),
            Lookup::Miss(_) => None,
        }
    }

    fn ip(s: &str) -> IpAddr {
        s.parse().unwrap()
    }

    fn cached_with(verifier: &Verifier, id: i32, acl_id: i32, entries: &str) -> Token {
        let t = Token::generate().unwrap();
        verifier.preload(&token(id, &t), &key(id, acl_id), &acl(acl_id, entries));
        t
    }

    #[test]
    fn a_cached_key_is_decided_in_memory_with_its_acl() {
        let verifier = Verifier::default();
        let t = cached_with(&verifier, 7, 3, "192.0.2.0/24");
        let now = Instant::now();
        let grant = decided(verifier.lookup(t.expose(), ip("192.0.2.9"), now)).unwrap().unwrap();
        assert_eq!((grant.key_id, &*grant.name, &*grant.ip_acl, grant.expires_at), (7, "key 7", "acl 3", None));
        assert!(!grant.outside_report_only_acl);
        assert_eq!(
            decided(verifier.lookup(t.expose(), ip("198.51.100.1"), now)),
            Some(Err(Denied::IpNotAllowed(ip("198.51.100.1"))))
        );
        assert_eq!(verifier.pending_usage(7).map(|u| u.ip), Some(ip("192.0.2.9")), "only allowed uses count");
    }

    #[test]
    fn rolled_out_disabled_and_expired_are_refused_by_the_clock() {
        let clock = Arc::new(Clock::default());
        let verifier = Verifier::new(Duration::from_secs(3600), clock.clone());
        let now = clock.now_ms();
        let (old, new) = (Token::generate().unwrap(), Token::generate().unwrap());
        let mut rolled = token(1, &old);
        rolled.expires_at = Some(now + DAY_MS);
        let mut expiring = key(1, 1);
        expiring.expires_at = Some(now + 2 * DAY_MS);
        verifier.preload(&rolled, &expiring, &acl(1, "0.0.0.0/0"));
        verifier.preload(&token(2, &new), &expiring, &acl(1, "0.0.0.0/0"));
        let client = ip("192.0.2.1");
        let grant = verifier.verify_cached(old.expose(), client).unwrap().unwrap();
        assert_eq!(grant.expires_at, Some(now + DAY_MS), "the earlier of token and key expiry");
        assert!(verifier.verify_cached(new.expose(), client).unwrap().is_ok());
        clock.advance(Duration::from_millis(DAY_MS as u64));
        assert_eq!(verifier.verify_cached(old.expose(), client), Some(Err(Denied::Lifecycle(Refusal::TokenExpired))));
        assert!(verifier.verify_cached(new.expose(), client).unwrap().is_ok());
        clock.advance(Duration::from_millis(DAY_MS as u64));
        assert_eq!(verifier.verify_cached(new.expose(), client), Some(Err(Denied::Lifecycle(Refusal::KeyExpired))));

        let disabled = Token::generate().unwrap();
        let mut off = key(3, 1);
        off.disabled_at = Some(0);
        verifier.preload(&token(3, &disabled), &off, &acl(1, "0.0.0.0/0"));
        assert_eq!(
            verifier.verify_cached(disabled.expose(), client),
            Some(Err(Denied::Lifecycle(Refusal::KeyDisabled)))
        );
    }

    #[test]
    fn a_report_only_acl_lets_outsiders_through_and_records_them() {
        let verifier = Verifier::default();
        let t = Token::generate().unwrap();
        let mut watching = acl(1, "192.0.2.0/24");
        watching.report_only = true;
        verifier.preload(&token(1, &t), &key(1, 1), &watching);
        let outside = verifier.verify_cached(t.expose(), ip("198.51.100.1")).unwrap().unwrap();
        assert!(outside.outside_report_only_acl);
        let inside = verifier.verify_cached(t.expose(), ip("192.0.2.5")).unwrap().unwrap();
        assert!(!inside.outside_report_only_acl);
        let (usage, refusals) = verifier.pending(1);
        let counts: Vec<_> = usage.unwrap().hours.into_values().collect();
        assert_eq!((counts[0].allowed, counts[0].would_refuse, counts[0].refused), (2, 1, 0));
        assert_eq!(refusals.len(), 1);
        assert!(refusals[0].report_only && refusals[0].ip == ip("198.51.100.1"));
        // Unknown and malformed tokens are never recorded against any key.
        let stranger = Token::generate().unwrap();
        assert!(verifier.verify_cached(stranger.expose(), ip("192.0.2.5")).is_none());
        assert_eq!(verifier.pending(1).1.len(), 1);
    }

    #[test]
    fn malformed_tokens_are_decided_before_the_cache() {
        let verifier = Verifier::default();
        assert_eq!(
            decided(verifier.lookup("tp_nonsense", ip("192.0.2.1"), Instant::now())),
            Some(Err(Denied::Malformed))
        );
    }

    #[test]
    fn unknown_and_stale_entries_are_misses() {
        let verifier = Verifier::default();
        let t = Token::generate().unwrap();
        assert!(decided(verifier.lookup(t.expose(), ip("192.0.2.1"), Instant::now())).is_none());
        let t = cached_with(&verifier, 1, 1, "0.0.0.0/0");
        let later = Instant::now() + Duration::from_secs(31);
        assert!(decided(verifier.lookup(t.expose(), ip("192.0.2.1"), later)).is_none());
    }

    #[test]
    fn forgetting_a_key_forgets_all_its_tokens_and_an_acl_all_its_keys() {
        let verifier = Verifier::default();
        let (a, a2) = (Token::generate().unwrap(), Token::generate().unwrap());
        verifier.preload(&token(1, &a), &key(1, 1), &acl(1, "0.0.0.0/0"));
        verifier.preload(&token(11, &a2), &key(1, 1), &acl(1, "0.0.0.0/0"));
        let b = cached_with(&verifier, 2, 2, "0.0.0.0/0");
        verifier.forget_key(1);
        for gone in [&a, &a2] {
            assert!(decided(verifier.lookup(gone.expose(), ip("192.0.2.1"), Instant::now())).is_none());
        }
        assert!(decided(verifier.lookup(b.expose(), ip("192.0.2.1"), Instant::now())).is_some());
        verifier.forget_acl(2);
        assert!(decided(verifier.lookup(b.expose(), ip("192.0.2.1"), Instant::now())).is_none());
        assert_eq!(verifier.cached_keys(), 0);
    }

    #[test]
    fn while_degraded_entries_live_one_second_and_clear_forgets_all() {
        let verifier = Verifier::default();
        let t = cached_with(&verifier, 1, 1, "0.0.0.0/0");
        let in_two_seconds = Instant::now() + Duration::from_secs(2);
        assert!(decided(verifier.lookup(t.expose(), ip("192.0.2.1"), in_two_seconds)).is_some());
        verifier.set_degraded(true);
        assert!(decided(verifier.lookup(t.expose(), ip("192.0.2.1"), in_two_seconds)).is_none());
        assert!(decided(verifier.lookup(t.expose(), ip("192.0.2.1"), Instant::now())).is_some());
        verifier.clear();
        assert_eq!(verifier.cached_keys(), 0);
    }

    #[tokio::test]
    async fn after_losing_track_the_last_known_state_answers_only_while_the_database_is_down() {
        let verifier = Verifier::default();
        let kept = cached_with(&verifier, 1, 1, "0.0.0.0/0");
        let changed_here = cached_with(&verifier, 2, 2, "0.0.0.0/0");
        verifier.lose_track();
        assert_eq!(verifier.cached_keys(), 0, "every token is read afresh once the database answers");
        verifier.forget_key(2);
        let db = sea_orm::Database::connect("sqlite::memory:").await.unwrap();
        db.close_by_ref().await.unwrap();
        let client = ip("192.0.2.1");
        assert!(verifier.verify(&db, kept.expose(), client).await.unwrap().is_ok(), "the database is down");
        assert!(verifier.database_known_down(Instant::now()));
        assert!(verifier.verify(&db, changed_here.expose(), client).await.is_err(), "forgotten since");
        let stranger = Token::generate().unwrap();
        assert!(verifier.verify(&db, stranger.expose(), client).await.is_err(), "never known: try again");
        verifier.clear();
        assert!(verifier.verify(&db, kept.expose(), client).await.is_err(), "listening again: no last-known state");
    }

    #[tokio::test]
    async fn a_database_that_answers_ends_the_last_known_state() {
        let verifier = Verifier::default();
        let kept = cached_with(&verifier, 1, 1, "0.0.0.0/0");
        verifier.lose_track();
        // The listener is down but the database works: a lookup succeeds (this
        // token is unknown to it), and changes may be committing unheard.
        let db = crate::db::connect("sqlite::memory:").await.unwrap();
        let stranger = Token::generate().unwrap();
        assert_eq!(verifier.verify(&db, stranger.expose(), ip("192.0.2.1")).await.unwrap(), Err(Denied::Unknown));
        db.close_by_ref().await.unwrap();
        assert!(verifier.verify(&db, kept.expose(), ip("192.0.2.1")).await.is_err(), "no longer known");
    }

    #[test]
    fn unknown_tokens_are_remembered_for_a_few_seconds() {
        let verifier = Verifier::default();
        let t = Token::generate().unwrap();
        let now = Instant::now();
        verifier.write().unknown.insert(digest(t.expose()), now);
        assert_eq!(decided(verifier.lookup(t.expose(), ip("192.0.2.1"), now)), Some(Err(Denied::Unknown)));
        assert!(decided(verifier.lookup(t.expose(), ip("192.0.2.1"), now + NEGATIVE_TTL)).is_none());
    }

    #[test]
    fn an_unreadable_acl_admits_nobody() {
        let verifier = Verifier::default();
        let t = cached_with(&verifier, 1, 1, "garbage");
        assert!(matches!(
            decided(verifier.lookup(t.expose(), ip("192.0.2.1"), Instant::now())),
            Some(Err(Denied::IpNotAllowed(_)))
        ));
    }
}
