//! Token verification for the TextPeak API: the hot path of every request.
//!
//! Order of work, cheapest refusal first: shape and checksum (no lookup for a
//! mistyped token), SHA-256, then an in-memory cache keyed by digest (loaded
//! from the database on a miss), then the CIDR match. Lookups go by digest,
//! never by comparing token strings, so timing says nothing about prefixes.
//!
//! Every change made through this process reaches the cache through
//! `server::changes`; a generation counter stops a lookup that raced with a
//! change from putting a stale entry back. Entries are re-read after `ttl`, so
//! changes made by other instances on the same database take effect within
//! that time too.
//!
//! A cache miss costs a database query, and the checksum is public, so
//! anyone can make well-formed tokens: lookups that find nothing are limited
//! per client address ([`UnknownTokenLimit`]), and past the limit the answer
//! is 429 without a query.

use crate::db::entities::{api_key, ip_acl};
use crate::db::service::api_keys;
use crate::domain::acl::Acl;
use crate::domain::address::client_key;
use crate::domain::crypto::{TokenDigest, digest};
use crate::domain::token::Token;
use crate::server::public_api::unknown_tokens::UnknownTokenLimit;
use sea_orm::sea_query::Expr;
use sea_orm::{ColumnTrait, ConnectionTrait, DbErr, EntityTrait, QueryFilter};
use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, RwLock};
use std::time::{Duration, Instant};

/// How long an entry is trusted before it is read again (for other instances' changes).
pub const DEFAULT_TTL: Duration = Duration::from_secs(30);
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
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Denied {
    /// Not in the TextPeak format, or the checksum fails: refused before any lookup.
    Malformed,
    /// Well formed, but no key has it (never had, or deleted).
    Unknown,
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
    loaded: Instant,
}

#[derive(Debug)]
struct CachedAcl {
    name: Arc<str>,
    /// `None` if the stored entries could not be read: such an ACL admits nobody.
    acl: Option<Acl>,
}

#[derive(Default)]
struct Cache {
    keys: HashMap<TokenDigest, CachedKey>,
    /// The digests cached for each key id, so a key is forgotten with all its tokens.
    by_key: HashMap<i32, Vec<TokenDigest>>,
    acls: HashMap<i32, Arc<CachedAcl>>,
    unknown: HashMap<TokenDigest, Instant>,
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
    usage: Mutex<HashMap<i32, Usage>>,
    ttl: Duration,
    unknown_limit: UnknownTokenLimit,
    /// Database lookups made (cache misses), for tests and the operator.
    lookups: AtomicU64,
}

impl Default for Verifier {
    fn default() -> Self {
        Self::new(DEFAULT_TTL)
    }
}

impl Verifier {
    pub fn new(ttl: Duration) -> Self {
        Self {
            cache: RwLock::new(Cache::default()),
            generation: AtomicU64::new(0),
            usage: Mutex::new(HashMap::new()),
            ttl,
            unknown_limit: UnknownTokenLimit::default(),
            lookups: AtomicU64::new(0),
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
        let counted_as = client_key(client);
        if let Some(retry_after) = self.unknown_limit.blocked(&counted_as, now) {
            return Ok(Err(Denied::TooManyUnknownTokens { retry_after }));
        }
        let generation = self.generation.load(Ordering::Acquire);
        self.lookups.fetch_add(1, Ordering::Relaxed);
        let found = api_keys::find_by_digest(db, &digest).await?;
        let mut cache = self.write();
        // A change landed while we read: what we read may be stale, so do not keep it.
        let keep = self.generation.load(Ordering::Acquire) == generation;
        let Some((key, acl)) = found else {
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
        let (cached_key, cached_acl) = cached(&key, &acl);
        let verdict = decide(&cached_key, &cached_acl, client);
        if keep {
            cache.unknown.remove(&digest);
            cache.insert(digest, cached_key);
            cache.acls.insert(acl.id, cached_acl);
        }
        drop(cache);
        if let Ok(grant) = &verdict {
            self.record_use(grant.key_id, client);
        }
        Ok(verdict)
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
            if let Some(acl) = cache.acls.get(&key.acl_id)
                && now.duration_since(key.loaded) < self.ttl
            {
                let verdict = decide(key, acl, client);
                drop(cache);
                if let Ok(grant) = &verdict {
                    self.record_use(grant.key_id, client);
                }
                return Lookup::Decided(verdict);
            }
        } else if cache.unknown.get(&digest).is_some_and(|at| now.duration_since(*at) < NEGATIVE_TTL) {
            return Lookup::Decided(Err(Denied::Unknown));
        }
        Lookup::Miss(digest)
    }

    /// Puts a key in the cache as if it had just been read (warm-up and benchmarks).
    pub fn preload(&self, key: &api_key::Model, acl: &ip_acl::Model) {
        let Ok(digest) = TokenDigest::try_from(key.token_digest.as_slice()) else { return };
        let (cached_key, cached_acl) = cached(key, acl);
        let mut cache = self.write();
        cache.insert(digest, cached_key);
        cache.acls.insert(acl.id, cached_acl);
    }

    /// A change is about to commit: lookups already under way must not keep
    /// what they read (see `server::changes`).
    pub fn begin_change(&self) {
        self.generation.fetch_add(1, Ordering::AcqRel);
    }

    /// A key was edited or deleted: its next request reads it, and all its
    /// tokens, afresh.
    pub fn forget_key(&self, key_id: i32) {
        self.generation.fetch_add(1, Ordering::AcqRel);
        let mut cache = self.write();
        for digest in cache.by_key.remove(&key_id).unwrap_or_default() {
            cache.keys.remove(&digest);
        }
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

    fn record_use(&self, key_id: i32, ip: IpAddr) {
        let usage = Usage { at_ms: crate::db::service::now_ms(), ip };
        self.usage.lock().unwrap_or_else(|e| e.into_inner()).insert(key_id, usage);
    }

    /// Uses recorded since the last flush (shown in the table before they are written).
    pub fn pending_usage(&self, key_id: i32) -> Option<Usage> {
        self.usage.lock().unwrap_or_else(|e| e.into_inner()).get(&key_id).copied()
    }

    /// Writes the recorded uses: one UPDATE per key used since the last flush,
    /// however many requests it served. What could not be written is kept for
    /// the next flush (unless a newer use replaced it meanwhile).
    pub async fn flush_usage(&self, db: &impl ConnectionTrait) -> Result<usize, DbErr> {
        let pending: Vec<(i32, Usage)> =
            std::mem::take(&mut *self.usage.lock().unwrap_or_else(|e| e.into_inner())).into_iter().collect();
        for (written, (key_id, usage)) in pending.iter().enumerate() {
            let result = api_key::Entity::update_many()
                .col_expr(api_key::Column::LastUsedAt, Expr::value(usage.at_ms))
                .col_expr(api_key::Column::LastUsedIp, Expr::value(usage.ip.to_string()))
                .filter(api_key::Column::Id.eq(*key_id))
                .exec(db)
                .await;
            if let Err(e) = result {
                let mut usage_now = self.usage.lock().unwrap_or_else(|e| e.into_inner());
                for (key_id, usage) in &pending[written..] {
                    usage_now.entry(*key_id).or_insert(*usage);
                }
                return Err(e);
            }
        }
        Ok(pending.len())
    }

    fn read(&self) -> std::sync::RwLockReadGuard<'_, Cache> {
        self.cache.read().unwrap_or_else(|e| e.into_inner())
    }

    fn write(&self) -> std::sync::RwLockWriteGuard<'_, Cache> {
        self.cache.write().unwrap_or_else(|e| e.into_inner())
    }
}

fn cached(key: &api_key::Model, acl: &ip_acl::Model) -> (CachedKey, Arc<CachedAcl>) {
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
            loaded: Instant::now(),
        },
        Arc::new(CachedAcl { name: acl.name.as_str().into(), acl: parsed }),
    )
}

fn decide(key: &CachedKey, acl: &CachedAcl, client: IpAddr) -> Result<Grant, Denied> {
    if !acl.acl.as_ref().is_some_and(|acl| acl.allows(client)) {
        return Err(Denied::IpNotAllowed(client));
    }
    Ok(Grant { key_id: key.key_id, account_id: key.account_id, name: key.name.clone(), ip_acl: acl.name.clone() })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key(id: i32, token: &Token, acl_id: i32) -> api_key::Model {
        api_key::Model {
            id,
            account_id: 1,
            ip_acl_id: acl_id,
            name: format!("key {id}"),
            name_folded: format!("key {id}"),
            token_digest: digest(token.expose()).to_vec(),
            token_sealed: vec![],
            token_suffix: token.visible_suffix().to_owned(),
            created_at: 0,
            last_used_at: None,
            last_used_ip: None,
        }
    }

    fn acl(id: i32, entries: &str) -> ip_acl::Model {
        ip_acl::Model {
            id,
            account_id: 1,
            name: format!("acl {id}"),
            name_folded: format!("acl {id}"),
            entries: entries.to_owned(),
            created_at: 0,
            updated_at: 0,
        }
    }

    fn decided(lookup: Lookup) -> Option<Result<Grant, Denied>> {
        match lookup {
            Lookup::Decided(v) => Some(v),
            Lookup::Miss(_) => None,
        }
    }

    fn ip(s: &str) -> IpAddr {
        s.parse().unwrap()
    }

    #[test]
    fn a_cached_key_is_decided_in_memory_with_its_acl() {
        let verifier = Verifier::default();
        let token = Token::generate().unwrap();
        verifier.preload(&key(7, &token, 3), &acl(3, "192.0.2.0/24"));
        let now = Instant::now();
        let grant = decided(verifier.lookup(token.expose(), ip("192.0.2.9"), now)).unwrap().unwrap();
        assert_eq!((grant.key_id, &*grant.name, &*grant.ip_acl), (7, "key 7", "acl 3"));
        assert_eq!(
            decided(verifier.lookup(token.expose(), ip("198.51.100.1"), now)),
            Some(Err(Denied::IpNotAllowed(ip("198.51.100.1"))))
        );
        assert_eq!(verifier.pending_usage(7).map(|u| u.ip), Some(ip("192.0.2.9")), "only allowed uses count");
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
        let verifier = Verifier::new(Duration::from_secs(30));
        let token = Token::generate().unwrap();
        assert!(decided(verifier.lookup(token.expose(), ip("192.0.2.1"), Instant::now())).is_none());
        verifier.preload(&key(1, &token, 1), &acl(1, "0.0.0.0/0"));
        let later = Instant::now() + Duration::from_secs(31);
        assert!(decided(verifier.lookup(token.expose(), ip("192.0.2.1"), later)).is_none());
    }

    #[test]
    fn forgetting_a_key_or_its_acl_sends_the_next_request_to_the_database() {
        let verifier = Verifier::default();
        let a = Token::generate().unwrap();
        let b = Token::generate().unwrap();
        verifier.preload(&key(1, &a, 1), &acl(1, "0.0.0.0/0"));
        verifier.preload(&key(2, &b, 2), &acl(2, "0.0.0.0/0"));
        verifier.forget_key(1);
        assert!(decided(verifier.lookup(a.expose(), ip("192.0.2.1"), Instant::now())).is_none());
        assert!(decided(verifier.lookup(b.expose(), ip("192.0.2.1"), Instant::now())).is_some());
        verifier.forget_acl(2);
        assert!(decided(verifier.lookup(b.expose(), ip("192.0.2.1"), Instant::now())).is_none());
        assert_eq!(verifier.cached_keys(), 0);
    }

    #[test]
    fn unknown_tokens_are_remembered_for_a_few_seconds() {
        let verifier = Verifier::default();
        let token = Token::generate().unwrap();
        let now = Instant::now();
        verifier.write().unknown.insert(digest(token.expose()), now);
        assert_eq!(decided(verifier.lookup(token.expose(), ip("192.0.2.1"), now)), Some(Err(Denied::Unknown)));
        assert!(decided(verifier.lookup(token.expose(), ip("192.0.2.1"), now + NEGATIVE_TTL)).is_none());
    }

    #[test]
    fn an_unreadable_acl_admits_nobody() {
        let verifier = Verifier::default();
        let token = Token::generate().unwrap();
        verifier.preload(&key(1, &token, 1), &acl(1, "garbage"));
        assert!(matches!(
            decided(verifier.lookup(token.expose(), ip("192.0.2.1"), Instant::now())),
            Some(Err(Denied::IpNotAllowed(_)))
        ));
    }
}
