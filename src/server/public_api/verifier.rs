//! Token verification for the TextPeak API: the hot path of every request.
//!
//! Order of work, cheapest refusal first: shape and checksum (no lookup for a
//! mistyped token), SHA-256, the listening state (an instance that has not
//! heard the database for the stale limit answers nothing from memory), the
//! token cache (`cache`), then the token index (`tokens`: a token no key has
//! is refused without a database query), and only then the database. A
//! known token's lifecycle (rolled out, disabled, expired) is checked
//! against the clock, then the CIDR match. Lookups go by digest, never by
//! comparing token strings, so timing says nothing about prefixes.
//!
//! An address that keeps sending tokens no key has is braked (429, see
//! [`UnknownTokenLimit`]); a token that belongs to a key is never refused by
//! that brake, whoever else shares the address.

use crate::db::entities::{api_key, api_key_token, ip_acl};
use crate::db::service::api_keys;
use crate::domain::acl::Acl;
use crate::domain::address::client_key;
use crate::domain::crypto::{TokenDigest, digest};
use crate::domain::lifecycle::{self, Refusal};
use crate::domain::permissions::Access;
use crate::domain::rate_limit::{RateLimit, Verdict};
use crate::domain::token::Token;
use crate::domain::usage::{Outcome, Reason, Use};
use crate::server::clock::Clock;
use crate::server::metrics;
use crate::server::public_api::Answers;
use crate::server::public_api::cache::{Cached, CachedAcl, CachedKey, TokenCache};
use crate::server::public_api::rate_limits::RateLimits;
use crate::server::public_api::tokens::Tokens;
use crate::server::public_api::unknown_tokens::UnknownTokenLimit;
use crate::server::usage::UsageRecorder;
use sea_orm::{ConnectionTrait, DbErr};
use std::net::IpAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

pub use crate::server::public_api::cache::DEFAULT_TTL;

/// What a verified request may act as.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Grant {
    pub key_id: i32,
    pub account_id: i32,
    /// What the key may do.
    pub access: Access,
    /// The key's rate limit and where this request left it.
    pub limit: Option<(RateLimit, Verdict)>,
    /// Let through only because the key's IP ACL reports rather than refuses.
    pub outside_report_only_acl: bool,
    pub answers: Arc<Answers>,
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
    /// This address sent many tokens no key has: braked without a lookup.
    TooManyUnknownTokens { retry_after: Duration },
    /// A real key over its rate limit.
    RateLimited { limit: RateLimit, verdict: Verdict },
}

#[derive(Debug, thiserror::Error)]
pub enum VerifyError {
    #[error("token lookup failed: {0}")]
    Db(#[from] DbErr),
    /// Nothing heard from the database for the stale limit: what this
    /// instance remembers may have been revoked elsewhere.
    #[error("the database has not been heard from for {0:?}")]
    Stale(Duration),
}

/// Tokens read again per query by [`Verifier::refresh`].
const REFRESH_BATCH: usize = 500;

pub struct Verifier {
    cache: TokenCache,
    tokens: Tokens,
    usage: Arc<UsageRecorder>,
    rate_limits: RateLimits,
    clock: Arc<Clock>,
    unknown_limit: UnknownTokenLimit,
    /// Database lookups made (cache misses past the index), for tests and the operator.
    lookups: AtomicU64,
}

impl Default for Verifier {
    fn default() -> Self {
        Self::new(DEFAULT_TTL, Arc::default())
    }
}

impl Verifier {
    pub fn new(ttl: Duration, clock: Arc<Clock>) -> Self {
        Self::with_usage(ttl, clock, Arc::default())
    }

    pub fn with_usage(ttl: Duration, clock: Arc<Clock>, usage: Arc<UsageRecorder>) -> Self {
        Self {
            cache: TokenCache::new(ttl),
            tokens: Tokens::default(),
            usage,
            rate_limits: RateLimits::default(),
            clock,
            unknown_limit: UnknownTokenLimit::default(),
            lookups: AtomicU64::new(0),
        }
    }

    pub fn cache(&self) -> &TokenCache {
        &self.cache
    }

    pub fn tokens(&self) -> &Tokens {
        &self.tokens
    }

    pub fn usage(&self) -> &Arc<UsageRecorder> {
        &self.usage
    }

    pub fn rate_limits(&self) -> &RateLimits {
        &self.rate_limits
    }

    /// Verifies a presented token for a client address; the database is read
    /// only for a token the index knows and the cache does not.
    pub async fn verify(
        &self,
        db: &impl ConnectionTrait,
        presented: &str,
        client: IpAddr,
    ) -> Result<Result<Grant, Denied>, VerifyError> {
        let now = Instant::now();
        let Ok(token) = Token::parse(presented) else {
            return Ok(Err(Denied::Malformed));
        };
        let digest = digest(token.expose());
        if self.cache.stale(now) {
            return Err(VerifyError::Stale(self.cache.unheard_for(now)));
        }
        match self.cache.get(&digest, now) {
            Cached::Hit(key, acl) => {
                metrics::cache(true);
                return Ok(self.decide_and_record(&key, &acl, client, now));
            }
            Cached::Unknown => {
                metrics::cache(true);
                return Ok(Err(Denied::Unknown));
            }
            Cached::Miss => metrics::cache(false),
        }
        let counted_as = client_key(client);
        match self.tokens.may_exist(&digest) {
            // No key has it: refused from memory, whatever the address.
            Some(false) => {
                if let Some(retry_after) = self.unknown_limit.blocked(&counted_as, now) {
                    return Ok(Err(Denied::TooManyUnknownTokens { retry_after }));
                }
                self.unknown_limit.count(counted_as, now);
                return Ok(Err(Denied::Unknown));
            }
            Some(true) => {}
            // The index may be incomplete (notices missed): the brake stands before the lookup.
            None => {
                if let Some(retry_after) = self.unknown_limit.blocked(&counted_as, now) {
                    return Ok(Err(Denied::TooManyUnknownTokens { retry_after }));
                }
            }
        }
        if self.cache.database_known_down(now)
            && let Some((key, acl)) = self.cache.last_known(&digest)
        {
            return Ok(self.decide_and_record(&key, &acl, client, now));
        }
        let generation = self.cache.generation();
        self.lookups.fetch_add(1, Ordering::Relaxed);
        metrics::database_lookup();
        let found = match api_keys::find_by_digest(db, &digest).await {
            Ok(found) => found,
            Err(e) => {
                self.cache.database_failed(Instant::now());
                // The last state this instance knew decides while the database
                // cannot be asked: kept only while no lookup has succeeded since
                // the listener dropped, and nothing commits while it is down.
                return match self.cache.last_known(&digest) {
                    Some((key, acl)) => Ok(self.decide_and_record(&key, &acl, client, Instant::now())),
                    None => Err(VerifyError::Db(e)),
                };
            }
        };
        self.cache.database_answered();
        let Some((token, key, acl)) = found else {
            self.cache.keep_unknown(generation, digest);
            self.unknown_limit.count(counted_as, Instant::now());
            return Ok(Err(Denied::Unknown));
        };
        let (cached_key, cached_acl) = cached(&key, &token, &acl);
        let verdict = self.decide_and_record(&cached_key, &cached_acl, client, Instant::now());
        self.cache.keep(generation, digest, cached_key, acl.id, cached_acl);
        Ok(verdict)
    }

    /// `now`: the request's instant, read once (a clock read is not free on the hot path).
    fn decide_and_record(
        &self,
        key: &CachedKey,
        acl: &CachedAcl,
        client: IpAddr,
        now: Instant,
    ) -> Result<Grant, Denied> {
        let at = self.clock.now_ms();
        let (mut verdict, mut outcome) = decide(key, acl, client, at);
        // Past every refusal of the token itself, the key's rate limit.
        if let (Ok(grant), Some(limit)) = (&mut verdict, key.limit) {
            let checked = self.rate_limits.check(key.key_id, limit, now);
            if checked.allowed {
                grant.limit = Some((limit, checked));
            } else {
                verdict = Err(Denied::RateLimited { limit, verdict: checked });
                outcome = Outcome::RateLimited;
            }
        }
        self.usage.record(Use {
            key_id: key.key_id,
            account_id: key.account_id,
            token_id: key.token_id,
            at,
            ip: client,
            outcome,
        });
        verdict
    }

    /// The in-memory part alone: `None` when the database would have to be asked.
    pub fn verify_cached(&self, presented: &str, client: IpAddr) -> Option<Result<Grant, Denied>> {
        let Ok(token) = Token::parse(presented) else {
            return Some(Err(Denied::Malformed));
        };
        let digest = digest(token.expose());
        let now = Instant::now();
        match self.cache.get(&digest, now) {
            Cached::Hit(key, acl) => Some(self.decide_and_record(&key, &acl, client, now)),
            Cached::Unknown => Some(Err(Denied::Unknown)),
            Cached::Miss => match self.tokens.may_exist(&digest) {
                Some(false) => Some(Err(Denied::Unknown)),
                _ => None,
            },
        }
    }

    /// Reads again the cached tokens queued past their refresh point, a
    /// batch at a time, so no request waits for the database for a token in
    /// use. What fails stays cached until its TTL, then is looked up as a miss.
    pub async fn refresh(&self, db: &impl ConnectionTrait) -> Result<usize, DbErr> {
        let due = self.cache.take_due();
        for (done, batch) in due.chunks(REFRESH_BATCH).enumerate() {
            let generation = self.cache.generation();
            let found = match api_keys::find_by_digests(db, batch).await {
                Ok(found) => found,
                Err(e) => {
                    metrics::refreshed("failed", due.len() - done * REFRESH_BATCH);
                    return Err(e);
                }
            };
            let mut gone: std::collections::HashSet<TokenDigest> = batch.iter().copied().collect();
            // Many tokens share an ACL: each is parsed once a batch.
            let mut acls: std::collections::HashMap<i32, Arc<CachedAcl>> = std::collections::HashMap::new();
            let found = found
                .into_iter()
                .map(|(digest, token, key, acl)| {
                    gone.remove(&digest);
                    let cached_acl = acls.entry(acl.id).or_insert_with(|| cached_acl(&acl)).clone();
                    (digest, cached_key(&key, &token, acl.id), acl.id, cached_acl)
                })
                .collect::<Vec<_>>();
            metrics::refreshed("renewed", found.len());
            metrics::refreshed("gone", gone.len());
            self.cache.keep_all(generation, found, gone.into_iter().collect());
        }
        Ok(due.len())
    }

    /// Puts a token in the cache and the index as if it had just been read
    /// (warm-up, benchmarks, tests).
    pub fn preload(&self, token: &api_key_token::Model, key: &api_key::Model, acl: &ip_acl::Model) {
        let Ok(digest) = TokenDigest::try_from(token.digest.as_slice()) else { return };
        let (cached_key, cached_acl) = cached(key, token, acl);
        self.tokens.learn(crate::domain::token_index::prefix(&digest));
        self.cache.preload(digest, cached_key, acl.id, cached_acl);
    }

    pub fn cached_keys(&self) -> usize {
        self.cache.len()
    }

    /// How many times the database was asked about a token.
    pub fn lookups(&self) -> u64 {
        self.lookups.load(Ordering::Relaxed)
    }

    /// Drops what the unknown-token brake remembers of quiet addresses.
    pub fn prune(&self) {
        self.unknown_limit.prune(Instant::now());
    }
}

fn cached(key: &api_key::Model, token: &api_key_token::Model, acl: &ip_acl::Model) -> (CachedKey, Arc<CachedAcl>) {
    (cached_key(key, token, acl.id), cached_acl(acl))
}

fn cached_acl(acl: &ip_acl::Model) -> Arc<CachedAcl> {
    let parsed = Acl::from_stored(&acl.entries);
    if parsed.is_none() {
        tracing::error!(ip_acl = acl.id, "stored IP ACL entries are unreadable; refusing its keys");
    }
    Arc::new(CachedAcl { name: acl.name.as_str().into(), acl: parsed, report_only: acl.report_only })
}

fn cached_key(key: &api_key::Model, token: &api_key_token::Model, acl_id: i32) -> CachedKey {
    let access = api_keys::access_of(key);
    let limit = api_keys::limit_of(key);
    let expires_at = lifecycle::stops_working(key.expires_at, token.expires_at);
    CachedKey {
        key_id: key.id,
        account_id: key.account_id,
        token_id: token.id,
        acl_id,
        disabled: key.disabled_at.is_some(),
        key_expires_at: key.expires_at,
        token_expires_at: token.expires_at,
        token_ended: token.ended,
        access,
        limit,
        answers: Arc::new(Answers::render(key.id, key.account_id, &key.name, access, expires_at, limit)),
        loaded: Instant::now(),
    }
}

/// The verdict, and how the use is recorded.
fn decide(key: &CachedKey, acl: &CachedAcl, client: IpAddr, now_ms: i64) -> (Result<Grant, Denied>, Outcome) {
    if let Err(refusal) =
        lifecycle::check(key.token_expires_at, key.token_ended, key.disabled, key.key_expires_at, now_ms)
    {
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
    let grant = Grant {
        key_id: key.key_id,
        account_id: key.account_id,
        access: key.access,
        limit: None,
        outside_report_only_acl: !inside,
        answers: key.answers.clone(),
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
            permissions: None,
            rate_limit: None,
            rate_per: None,
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
            ended: false,
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
    use crate::domain::token_index::prefix;
    use crate::server::public_api::cache::{DEFAULT_TTL, NEGATIVE_TTL, REFRESH_FROM, REFRESH_TO, Touch, refresh_after};

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
        let grant = verifier.verify_cached(t.expose(), ip("192.0.2.9")).unwrap().unwrap();
        let whoami: serde_json::Value = serde_json::from_slice(&grant.answers.whoami).unwrap();
        assert_eq!(
            (grant.key_id, &whoami["name"], &whoami["expires_at"]),
            (7, &"key 7".into(), &serde_json::Value::Null)
        );
        assert!(!grant.outside_report_only_acl);
        assert_eq!(
            verifier.verify_cached(t.expose(), ip("198.51.100.1")),
            Some(Err(Denied::IpNotAllowed(ip("198.51.100.1"))))
        );
        assert_eq!(verifier.usage().pending_usage(7).map(|u| u.ip), Some(ip("192.0.2.9")), "only allowed uses count");
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
        let whoami: serde_json::Value = serde_json::from_slice(&grant.answers.whoami).unwrap();
        let ends = chrono::DateTime::from_timestamp_millis(now + DAY_MS).unwrap();
        assert_eq!(
            whoami["expires_at"],
            ends.to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
            "the earlier of token and key expiry"
        );
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

    /// Roll Now used to write the writer's clock into the old token; a reader
    /// whose clock ran behind honoured it for the difference.
    #[test]
    fn an_ended_token_is_refused_whatever_the_clock_says() {
        let clock = Arc::new(Clock::default());
        let verifier = Verifier::new(Duration::from_secs(3600), clock.clone());
        let t = Token::generate().unwrap();
        let mut ended = token(1, &t);
        ended.expires_at = Some(clock.now_ms() + 10 * 60_000);
        ended.ended = true;
        verifier.preload(&ended, &key(1, 1), &acl(1, "0.0.0.0/0"));
        assert_eq!(
            verifier.verify_cached(t.expose(), ip("192.0.2.1")),
            Some(Err(Denied::Lifecycle(Refusal::TokenExpired)))
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
        let (usage, refusals) = verifier.usage().pending(1);
        let counts: Vec<_> = usage.unwrap().hours.into_values().collect();
        assert_eq!((counts[0].allowed, counts[0].would_refuse, counts[0].refused), (2, 1, 0));
        assert_eq!(refusals.len(), 1);
        assert!(refusals[0].report_only && refusals[0].ip == ip("198.51.100.1"));
        // Unknown and malformed tokens are never recorded against any key.
        let stranger = Token::generate().unwrap();
        assert!(verifier.verify_cached(stranger.expose(), ip("192.0.2.5")).is_none());
        assert_eq!(verifier.usage().pending(1).1.len(), 1);
    }

    #[test]
    fn malformed_tokens_are_decided_before_the_cache() {
        let verifier = Verifier::default();
        assert_eq!(verifier.verify_cached("tp_nonsense", ip("192.0.2.1")), Some(Err(Denied::Malformed)));
    }

    #[test]
    fn unknown_and_stale_entries_are_misses() {
        let verifier = Verifier::default();
        let t = Token::generate().unwrap();
        assert!(matches!(verifier.cache().get(&digest(t.expose()), Instant::now()), Cached::Miss));
        let t = cached_with(&verifier, 1, 1, "0.0.0.0/0");
        let later = Instant::now() + Duration::from_secs(31);
        assert!(matches!(verifier.cache().get(&digest(t.expose()), later), Cached::Miss));
    }

    #[test]
    fn forgetting_a_key_forgets_all_its_tokens_and_an_acl_all_its_keys() {
        let verifier = Verifier::default();
        let (a, a2) = (Token::generate().unwrap(), Token::generate().unwrap());
        verifier.preload(&token(1, &a), &key(1, 1), &acl(1, "0.0.0.0/0"));
        verifier.preload(&token(11, &a2), &key(1, 1), &acl(1, "0.0.0.0/0"));
        let b = cached_with(&verifier, 2, 2, "0.0.0.0/0");
        verifier.cache().forget(&[Touch::Key(1)]);
        for gone in [&a, &a2] {
            assert!(verifier.verify_cached(gone.expose(), ip("192.0.2.1")).is_none());
        }
        assert!(verifier.verify_cached(b.expose(), ip("192.0.2.1")).is_some());
        verifier.cache().forget(&[Touch::Acl(2)]);
        assert!(verifier.verify_cached(b.expose(), ip("192.0.2.1")).is_none());
        assert_eq!(verifier.cached_keys(), 0);
    }

    #[test]
    fn while_degraded_entries_live_one_second_and_clear_forgets_all() {
        let verifier = Verifier::default();
        let t = cached_with(&verifier, 1, 1, "0.0.0.0/0");
        let d = digest(t.expose());
        let in_two_seconds = Instant::now() + Duration::from_secs(2);
        assert!(matches!(verifier.cache().get(&d, in_two_seconds), Cached::Hit(..)));
        verifier.cache().set_degraded(true);
        assert!(matches!(verifier.cache().get(&d, in_two_seconds), Cached::Miss));
        assert!(matches!(verifier.cache().get(&d, Instant::now()), Cached::Hit(..)));
        verifier.cache().clear();
        assert_eq!(verifier.cached_keys(), 0);
    }

    #[tokio::test]
    async fn after_losing_track_the_last_known_state_answers_only_while_the_database_is_down() {
        let verifier = Verifier::default();
        let kept = cached_with(&verifier, 1, 1, "0.0.0.0/0");
        let changed_here = cached_with(&verifier, 2, 2, "0.0.0.0/0");
        verifier.cache().lose_track();
        verifier.tokens().distrust();
        assert_eq!(verifier.cached_keys(), 0, "every token is read afresh once the database answers");
        verifier.cache().forget(&[Touch::Key(2)]);
        let db = sea_orm::Database::connect("sqlite::memory:").await.unwrap();
        db.close_by_ref().await.unwrap();
        let client = ip("192.0.2.1");
        assert!(verifier.verify(&db, kept.expose(), client).await.unwrap().is_ok(), "the database is down");
        assert!(verifier.cache().database_known_down(Instant::now()));
        assert!(verifier.verify(&db, changed_here.expose(), client).await.is_err(), "forgotten since");
        let stranger = Token::generate().unwrap();
        assert!(verifier.verify(&db, stranger.expose(), client).await.is_err(), "never known: try again");
        verifier.cache().clear();
        assert!(verifier.verify(&db, kept.expose(), client).await.is_err(), "listening again: no last-known state");
    }

    #[tokio::test]
    async fn a_database_that_answers_ends_the_last_known_state() {
        let verifier = Verifier::default();
        let kept = cached_with(&verifier, 1, 1, "0.0.0.0/0");
        verifier.cache().lose_track();
        verifier.tokens().distrust();
        // The listener is down but the database works: a lookup succeeds (this
        // token is unknown to it), and changes may be committing unheard.
        let db = crate::db::connect("sqlite::memory:").await.unwrap();
        let stranger = Token::generate().unwrap();
        assert_eq!(verifier.verify(&db, stranger.expose(), ip("192.0.2.1")).await.unwrap(), Err(Denied::Unknown));
        db.close_by_ref().await.unwrap();
        assert!(verifier.verify(&db, kept.expose(), ip("192.0.2.1")).await.is_err(), "no longer known");
    }

    /// Cached as if read `age` ago.
    fn cached_since(verifier: &Verifier, id: i32, t: &Token, age: Duration) -> TokenDigest {
        let (mut cached_key, cached_acl) = cached(&key(id, id), &token(id, t), &acl(id, "0.0.0.0/0"));
        cached_key.loaded = Instant::now() - age;
        let d = digest(t.expose());
        verifier.cache().preload(d, cached_key, id, cached_acl);
        d
    }

    #[test]
    fn a_token_in_use_is_queued_for_a_refresh_once_past_its_point() {
        let verifier = Verifier::default();
        let d = cached_since(&verifier, 1, &Token::generate().unwrap(), Duration::ZERO);
        let due = Instant::now() + refresh_after(DEFAULT_TTL, &d);
        assert!(matches!(verifier.cache().get(&d, due - Duration::from_millis(5)), Cached::Hit(..)));
        assert!(verifier.cache().take_due().is_empty(), "not yet");
        assert!(matches!(verifier.cache().get(&d, due), Cached::Hit(..)), "answered from memory meanwhile");
        assert!(matches!(verifier.cache().get(&d, due), Cached::Hit(..)));
        assert_eq!(verifier.cache().take_due(), vec![d], "queued by the first request past the point only");
        assert!(matches!(verifier.cache().get(&d, Instant::now() + DEFAULT_TTL), Cached::Miss), "expired");
    }

    #[test]
    fn refresh_points_are_spread_over_the_end_of_the_ttl() {
        let points: Vec<f64> = (0..2000)
            .map(|_| refresh_after(DEFAULT_TTL, &digest(Token::generate().unwrap().expose())).as_secs_f64() / 30.0)
            .collect();
        assert!(points.iter().all(|p| (REFRESH_FROM..=REFRESH_TO).contains(p)), "within the window");
        let (low, high) = points.iter().fold((1.0f64, 0.0f64), |(lo, hi), p| (lo.min(*p), hi.max(*p)));
        assert!(low < 0.76 && high > 0.94, "spread over it, not bunched: {low}..{high}");
    }

    #[test]
    fn degraded_entries_are_not_refreshed_early() {
        let verifier = Verifier::default();
        verifier.cache().set_degraded(true);
        let d = cached_since(&verifier, 1, &Token::generate().unwrap(), Duration::from_millis(900));
        assert!(matches!(verifier.cache().get(&d, Instant::now()), Cached::Hit(..)));
        assert!(verifier.cache().take_due().is_empty());
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_refresh_renews_tokens_in_use_and_finds_keys_deleted_elsewhere() {
        use crate::db::service::{accounts, api_keys, ip_acls};
        let db = crate::db::connect("sqlite::memory:").await.unwrap();
        let account = accounts::create(&db, "Refresh").await.unwrap();
        let acl_id = ip_acls::all(&db, account.id).await.unwrap()[0].id;
        let master = crate::domain::crypto::MasterKey::from_bytes(&[1; 32]);
        let mut made = Vec::new();
        for name in ["kept", "deleted"] {
            let fields = api_keys::KeyFields::new(name, acl_id, None);
            made.push(api_keys::create(&db, &master, account.id, &fields, 0).await.unwrap());
        }
        let verifier = Verifier::default();
        let old = DEFAULT_TTL.mul_f64(REFRESH_TO);
        let digests: Vec<TokenDigest> =
            made.iter().map(|(key, _, t)| cached_since(&verifier, key.id, t, old)).collect();
        api_keys::delete(&db, account.id, made[1].0.id).await.unwrap();
        for d in &digests {
            assert!(matches!(verifier.cache().get(d, Instant::now()), Cached::Hit(..)), "cached, and now due");
        }
        // Counted for the operator as they come out (a recorder of this thread's own).
        let recorder = metrics_exporter_prometheus::PrometheusBuilder::new().build_recorder();
        let counts = recorder.handle();
        let refreshed =
            ::metrics::with_local_recorder(&recorder, || futures::executor::block_on(verifier.refresh(&db)));
        assert_eq!(refreshed.unwrap(), 2);
        let counts = counts.render();
        for outcome in ["renewed", "gone"] {
            let line = format!("textpeak_token_refreshes_total{{outcome=\"{outcome}\"}} 1");
            assert!(counts.contains(&line), "{line} in\n{counts}");
        }
        let later = Instant::now() + DEFAULT_TTL - old + Duration::from_secs(1);
        assert!(matches!(verifier.cache().get(&digests[0], later), Cached::Hit(..)), "renewed: lives on");
        assert!(matches!(verifier.cache().get(&digests[1], Instant::now()), Cached::Unknown), "deleted: refused");
        assert_eq!(verifier.lookups(), 0, "no request waited for the database");
    }

    #[tokio::test]
    async fn a_refresh_the_database_cannot_answer_leaves_the_entry_until_its_ttl() {
        let verifier = Verifier::default();
        let d = cached_since(&verifier, 1, &Token::generate().unwrap(), DEFAULT_TTL.mul_f64(REFRESH_TO));
        assert!(matches!(verifier.cache().get(&d, Instant::now()), Cached::Hit(..)));
        let db = sea_orm::Database::connect("sqlite::memory:").await.unwrap();
        db.close_by_ref().await.unwrap();
        assert!(verifier.refresh(&db).await.is_err());
        assert!(matches!(verifier.cache().get(&d, Instant::now()), Cached::Hit(..)), "still answering");
        assert!(matches!(verifier.cache().get(&d, Instant::now() + DEFAULT_TTL), Cached::Miss), "then looked up");
    }

    #[test]
    fn unknown_tokens_are_remembered_for_a_few_seconds() {
        let verifier = Verifier::default();
        let t = Token::generate().unwrap();
        let d = digest(t.expose());
        let generation = verifier.cache().generation();
        verifier.cache().keep_unknown(generation, d);
        assert!(matches!(verifier.cache().get(&d, Instant::now()), Cached::Unknown));
        assert!(matches!(verifier.cache().get(&d, Instant::now() + NEGATIVE_TTL), Cached::Miss));
    }

    #[test]
    fn an_unreadable_acl_admits_nobody() {
        let verifier = Verifier::default();
        let t = cached_with(&verifier, 1, 1, "garbage");
        assert!(matches!(verifier.verify_cached(t.expose(), ip("192.0.2.1")), Some(Err(Denied::IpNotAllowed(_)))));
    }

    /// Made-up tokens used to cost a database query each, and past sixty a
    /// minute an address was blocked, real tokens included.
    #[tokio::test]
    async fn made_up_tokens_never_reach_the_database_and_never_block_a_real_one() {
        let verifier = Verifier::default();
        let db = crate::db::connect("sqlite::memory:").await.unwrap();
        verifier.tokens().reload(&db).await.unwrap();
        let real = cached_with(&verifier, 1, 1, "0.0.0.0/0");
        verifier.cache().forget(&[Touch::Key(1)]);
        let client = ip("192.0.2.1");
        for _ in 0..200 {
            let made_up = Token::generate().unwrap();
            let verdict = verifier.verify(&db, made_up.expose(), client).await.unwrap();
            assert!(matches!(verdict, Err(Denied::Unknown | Denied::TooManyUnknownTokens { .. })), "{verdict:?}");
        }
        assert_eq!(verifier.lookups(), 0, "no made-up token was looked up");
        // The real one is not in this database, but the index says it may be:
        // it is looked up (here: found nowhere), never braked.
        assert_eq!(verifier.verify(&db, real.expose(), client).await.unwrap(), Err(Denied::Unknown));
        assert_eq!(verifier.lookups(), 1);
    }

    /// Ready only once it hears: before the listener's first LISTEN a change
    /// made on another instance would go unheard.
    #[test]
    fn an_instance_that_must_listen_does_not_count_as_listening_until_it_does() {
        let verifier = Verifier::default();
        assert!(verifier.cache().listening(), "SQLite: nothing to hear");
        verifier.cache().require_listening(Duration::from_secs(30));
        assert!(!verifier.cache().listening());
        verifier.cache().set_degraded(false); // what the listener does once LISTEN succeeds
        assert!(verifier.cache().listening());
    }

    #[test]
    fn a_stale_instance_answers_nothing_from_memory() {
        let verifier = Verifier::default();
        let t = cached_with(&verifier, 1, 1, "0.0.0.0/0");
        verifier.cache().require_listening(Duration::from_millis(50));
        assert!(!verifier.cache().stale(Instant::now()));
        assert!(verifier.cache().stale(Instant::now() + Duration::from_millis(60)));
        verifier.cache().heard(Instant::now() + Duration::from_millis(60));
        assert!(!verifier.cache().stale(Instant::now() + Duration::from_millis(100)));
        let _ = (t, prefix(&[0; 32]));
    }
}
