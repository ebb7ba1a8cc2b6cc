//! Throttling of sign-ins, so that guessing is slow, nobody can lock a real
//! admin out from elsewhere, and sign-in cannot be used to exhaust the server.
//!
//! - Failures are counted in the database (`db::service::throttle`, GCRA), 5
//!   a minute per key, so every instance on a shared database agrees.
//! - Keys: a browser that signed in as the admin before ([`KnownBrowser`]) is
//!   counted on its own, per (username, browser). Any other attempt is counted
//!   per username as typed, whether an admin has it or not (so the answers
//!   never tell a real username from a made-up one), and per client address
//!   (IPv6 by /64).
//! - An attempt is counted before it waits for its turn, and refunded only if
//!   it succeeds: hanging up mid-check still spends the attempt, and one
//!   address cannot queue more checks than it has guesses.
//! - Password checks take turns (Argon2 needs 19 MiB and tens of ms of CPU
//!   each), the turn is held for as long as the check runs; one address and
//!   one username hold at most two places in the queue at once, so nobody
//!   can fill it for everyone else; and when too many wait for a turn the
//!   next ones are told at once that the server is busy.

use crate::db::service::throttle::{self as counters, Quota};
use crate::domain::address::client_key;
use crate::domain::device::KnownBrowser;
use sea_orm::{ConnectionTrait, DbErr};
use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::sync::{OwnedSemaphorePermit, Semaphore};

pub const FAILURES_PER_MINUTE: i64 = 5;
/// Password checks at once: one leaves the other core to the TextPeak API.
const CHECKS_AT_ONCE: usize = 1;
/// Sign-ins waiting for a turn; past this, 503 at once rather than a queue without end.
pub const MAX_WAITING: usize = 16;
/// Past this many remembered refusals, expired ones are dropped at once.
const HINTS_MAX: usize = 10_000;
/// Places in the queue one address, or one username, may hold at once.
pub const PLACES_EACH: usize = 2;

/// What one sign-in attempt is counted under, and whose places in the queue it takes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Attempt {
    keys: Vec<String>,
    places: [String; 2],
}

/// A username's throttle key: the same form for real and made-up names, and
/// bounded in length whatever was typed.
fn user_key(typed: &str) -> String {
    let name = crate::domain::validation::username(typed).unwrap_or_else(|_| typed.trim().to_lowercase());
    let digest = crate::domain::crypto::digest(&name);
    format!("user:{}", digest[..16].iter().map(|b| format!("{b:02x}")).collect::<String>())
}

impl Attempt {
    /// `typed`: the username as typed, whether or not an admin has it.
    /// `browser`: the known-browser cookie the request carried, if valid.
    pub fn new(typed: &str, browser: Option<&KnownBrowser>, client: IpAddr) -> Self {
        let user = user_key(typed);
        let address = format!("ip:{}", client_key(client));
        let known = browser
            .filter(|browser| crate::domain::validation::username(typed).is_ok_and(|name| name == browser.username));
        let keys = match known {
            Some(browser) => vec![format!("browser:{}:{}", browser.username, browser.throttle_id())],
            None => vec![user.clone(), address.clone()],
        };
        Attempt { keys, places: [address, user] }
    }
}

/// A sign-in's turn: its place in the queue and the check's permit.
pub struct Turn {
    _permit: OwnedSemaphorePermit,
    _places: Places,
}

/// The places an attempt holds, given back when it is dropped.
struct Places {
    held: Arc<Mutex<HashMap<String, usize>>>,
    keys: [String; 2],
}

impl Drop for Places {
    fn drop(&mut self) {
        let mut held = self.held.lock().unwrap_or_else(|e| e.into_inner());
        for key in &self.keys {
            if let Some(n) = held.get_mut(key) {
                *n -= 1;
                if *n == 0 {
                    held.remove(key);
                }
            }
        }
    }
}

/// The cells an attempt took, to give back if it succeeds.
#[derive(Debug)]
pub struct Taken(Vec<String>);

/// Too many sign-ins are already waiting for a password check.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Busy;

pub struct SignInThrottle {
    quota: Quota,
    /// Refusals this instance already knows of, by key, until when (ms): a
    /// flood of refused attempts is answered without asking the database.
    hints: Mutex<HashMap<String, i64>>,
    checks: Arc<Semaphore>,
    waiting: AtomicUsize,
    /// Places held in the queue (waiting or checking), per address and per username.
    places: Arc<Mutex<HashMap<String, usize>>>,
    /// Password checks running and completed, for tests and the operator.
    hashing: AtomicUsize,
    checked: AtomicUsize,
}

impl Default for SignInThrottle {
    fn default() -> Self {
        Self::new(FAILURES_PER_MINUTE)
    }
}

impl SignInThrottle {
    pub fn new(failures_per_minute: i64) -> Self {
        Self {
            quota: Quota::per_minute(failures_per_minute.max(1)),
            hints: Mutex::new(HashMap::new()),
            checks: Arc::new(Semaphore::new(CHECKS_AT_ONCE)),
            waiting: AtomicUsize::new(0),
            places: Arc::new(Mutex::new(HashMap::new())),
            hashing: AtomicUsize::new(0),
            checked: AtomicUsize::new(0),
        }
    }

    /// How long the attempt must wait, if any of its keys has no failure left.
    /// Reads only: a refused client never holds or waits for a turn.
    pub async fn blocked(
        &self,
        db: &impl ConnectionTrait,
        attempt: &Attempt,
        now: i64,
    ) -> Result<Option<Duration>, DbErr> {
        if let Some(wait) = self.hinted(attempt, now) {
            return Ok(Some(wait));
        }
        let mut longest = None;
        for key in &attempt.keys {
            if let Some(wait) = counters::wait(db, key, now, self.quota).await? {
                self.hint(key, now + wait);
                longest = longest.max(Some(wait));
            }
        }
        Ok(longest.map(ms))
    }

    /// Waits for the turn to check a password, or answers [`Busy`] at once
    /// when too many are waiting already, or when the attempt's address or
    /// username already holds its places. Dropping the future while it waits
    /// leaves the queue.
    pub async fn turn(&self, attempt: &Attempt) -> Result<Turn, Busy> {
        let places = {
            let mut held = self.places.lock().unwrap_or_else(|e| e.into_inner());
            if attempt.places.iter().any(|key| held.get(key).copied().unwrap_or(0) >= PLACES_EACH) {
                return Err(Busy);
            }
            for key in &attempt.places {
                *held.entry(key.clone()).or_insert(0) += 1;
            }
            Places { held: self.places.clone(), keys: attempt.places.clone() }
        };
        if self.waiting.fetch_add(1, Ordering::AcqRel) >= MAX_WAITING {
            self.waiting.fetch_sub(1, Ordering::AcqRel);
            return Err(Busy);
        }
        let _waiting = LeaveQueue(&self.waiting);
        let permit = self.checks.clone().acquire_owned().await.expect("the semaphore is never closed");
        Ok(Turn { _permit: permit, _places: places })
    }

    /// Counts the attempt as a failure before its password is checked; `Err`
    /// with the wait if one of its keys had no failure left (nothing is taken then).
    pub async fn take(
        &self,
        db: &impl ConnectionTrait,
        attempt: &Attempt,
        now: i64,
    ) -> Result<Result<Taken, Duration>, DbErr> {
        let mut taken = Vec::new();
        for key in &attempt.keys {
            match counters::take(db, key, now, self.quota).await {
                Ok(Ok(())) => taken.push(key.clone()),
                Ok(Err(wait)) => {
                    self.hint(key, now + wait);
                    self.refund(db, Taken(taken)).await?;
                    return Ok(Err(ms(wait)));
                }
                Err(e) => {
                    let _ = self.refund(db, Taken(taken)).await;
                    return Err(e);
                }
            }
        }
        Ok(Ok(Taken(taken)))
    }

    /// The attempt succeeded: its cells are given back.
    pub async fn refund(&self, db: &impl ConnectionTrait, taken: Taken) -> Result<(), DbErr> {
        for key in taken.0 {
            counters::refund(db, &key, self.quota).await?;
            self.hints.lock().unwrap_or_else(|e| e.into_inner()).remove(&key);
        }
        Ok(())
    }

    /// Forgets what is over: expired hints here, whole allowances in the database.
    pub async fn prune(&self, db: &impl ConnectionTrait, now: i64) -> Result<u64, DbErr> {
        self.hints.lock().unwrap_or_else(|e| e.into_inner()).retain(|_, until| *until > now);
        counters::prune(db, now).await
    }

    /// How many sign-ins wait for a turn now.
    pub fn waiting(&self) -> usize {
        self.waiting.load(Ordering::Acquire)
    }

    /// How many password checks are running now (their turn is held).
    pub fn checking(&self) -> usize {
        CHECKS_AT_ONCE - self.checks.available_permits()
    }

    /// Runs a password check, counted while it runs (with its turn held).
    pub fn check<T>(&self, hash: impl FnOnce() -> T) -> T {
        self.hashing.fetch_add(1, Ordering::AcqRel);
        let result = hash();
        self.checked.fetch_add(1, Ordering::AcqRel);
        self.hashing.fetch_sub(1, Ordering::AcqRel);
        result
    }

    /// How many password hashes are running now.
    pub fn hashing(&self) -> usize {
        self.hashing.load(Ordering::Acquire)
    }

    /// How many password checks have run to their end.
    pub fn checks_done(&self) -> usize {
        self.checked.load(Ordering::Acquire)
    }

    fn hinted(&self, attempt: &Attempt, now: i64) -> Option<Duration> {
        let hints = self.hints.lock().unwrap_or_else(|e| e.into_inner());
        attempt.keys.iter().filter_map(|key| hints.get(key)).map(|until| until - now).filter(|w| *w > 0).max().map(ms)
    }

    fn hint(&self, key: &str, until: i64) {
        let mut hints = self.hints.lock().unwrap_or_else(|e| e.into_inner());
        if hints.len() >= HINTS_MAX {
            let now = crate::db::service::now_ms();
            hints.retain(|_, u| *u > now);
            if hints.len() >= HINTS_MAX {
                hints.clear();
            }
        }
        hints.insert(key.to_owned(), until);
    }
}

struct LeaveQueue<'a>(&'a AtomicUsize);

impl Drop for LeaveQueue<'_> {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::AcqRel);
    }
}

fn ms(millis: i64) -> Duration {
    Duration::from_millis(millis.max(0) as u64)
}

/// Whole seconds to tell the admin, never "0 s".
pub fn seconds(wait: Duration) -> u64 {
    wait.as_secs() + u64::from(wait.subsec_nanos() > 0)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::db;

    fn ip(s: &str) -> IpAddr {
        s.parse().unwrap()
    }

    fn browser(username: &str, nonce: u8) -> KnownBrowser {
        KnownBrowser { username: username.into(), nonce: [nonce; 16], issued_at: 0 }
    }

    async fn fail(throttle: &SignInThrottle, db: &impl ConnectionTrait, attempt: &Attempt, now: i64) -> bool {
        throttle.take(db, attempt, now).await.unwrap().is_ok()
    }

    #[test]
    fn unknown_browsers_count_per_username_and_address_known_ones_on_their_own() {
        let stranger = Attempt::new("admin", None, ip("2001:db8::1"));
        assert_eq!(stranger.keys, vec![user_key("admin"), "ip:2001:db8::".to_owned()]);
        assert_eq!(user_key("Admin "), user_key("admin"), "as the sign-in form reads it");
        let nobody = Attempt::new("nobody", None, ip("192.0.2.1"));
        assert_eq!(nobody.keys.len(), 2);
        assert_ne!(nobody.keys[0], stranger.keys[0], "a made-up name has a key of its own, like a real one");
        assert_eq!(user_key(&"x".repeat(100_000)).len(), user_key("a").len());
        let known = Attempt::new("admin", Some(&browser("admin", 7)), ip("192.0.2.1"));
        assert_eq!(known.keys.len(), 1);
        assert!(known.keys[0].starts_with("browser:admin:"));
        // A cookie for another admin is no help.
        let other = Attempt::new("admin", Some(&browser("beta", 7)), ip("192.0.2.1"));
        assert_eq!(other.keys[0], user_key("admin"));
    }

    #[tokio::test]
    async fn strangers_cannot_lock_a_known_browser_out() {
        let db = db::connect("sqlite::memory:").await.unwrap();
        let throttle = SignInThrottle::default();
        let now = 1_000_000_000;
        let stranger = Attempt::new("admin", None, ip("198.51.100.9"));
        for _ in 0..5 {
            assert!(fail(&throttle, &db, &stranger, now).await);
        }
        assert!(!fail(&throttle, &db, &stranger, now).await);
        // Another unknown browser elsewhere shares the username's limit...
        let elsewhere = Attempt::new("admin", None, ip("203.0.113.1"));
        assert!(throttle.blocked(&db, &elsewhere, now).await.unwrap().is_some());
        // ...but the admin's own browser does not.
        let own = Attempt::new("admin", Some(&browser("admin", 1)), ip("198.51.100.9"));
        assert_eq!(throttle.blocked(&db, &own, now).await.unwrap(), None);
        assert!(fail(&throttle, &db, &own, now).await);
    }

    #[tokio::test]
    async fn ipv6_counts_by_slash_64() {
        let db = db::connect("sqlite::memory:").await.unwrap();
        let throttle = SignInThrottle::default();
        let now = 2_000_000_000;
        // Five failures from one /64 under different usernames block that /64.
        for i in 0..5 {
            let attempt = Attempt::new(&format!("user{i}"), None, ip(&format!("2001:db8:1:1::{i}")));
            assert!(fail(&throttle, &db, &attempt, now).await);
        }
        let same_64 = Attempt::new("admin", None, ip("2001:db8:1:1:ffff::1"));
        assert!(throttle.blocked(&db, &same_64, now).await.unwrap().is_some());
        let next_64 = Attempt::new("admin", None, ip("2001:db8:1:2::1"));
        assert_eq!(throttle.blocked(&db, &next_64, now).await.unwrap(), None);
    }

    #[tokio::test]
    async fn a_refused_key_takes_nothing_from_the_others_and_success_refunds() {
        let db = db::connect("sqlite::memory:").await.unwrap();
        let throttle = SignInThrottle::default();
        let now = 3_000_000_000;
        // The address is spent on five other usernames.
        for i in 0..5 {
            assert!(fail(&throttle, &db, &Attempt::new(&format!("u{i}"), None, ip("192.0.2.5")), now).await);
        }
        let admin_here = Attempt::new("admin", None, ip("192.0.2.5"));
        assert!(!fail(&throttle, &db, &admin_here, now).await);
        // admin's own count was not touched by that refusal.
        let admin_elsewhere = Attempt::new("admin", None, ip("192.0.2.6"));
        for _ in 0..4 {
            assert!(fail(&throttle, &db, &admin_elsewhere, now).await);
        }
        let taken = throttle.take(&db, &admin_elsewhere, now).await.unwrap().unwrap();
        throttle.refund(&db, taken).await.unwrap();
        assert!(fail(&throttle, &db, &admin_elsewhere, now).await, "the refunded cell is there again");
    }

    #[tokio::test]
    async fn too_many_waiting_are_told_at_once() {
        let throttle = Arc::new(SignInThrottle::default());
        let attempt = |i: usize| Attempt::new(&format!("user{i}"), None, ip(&format!("192.0.2.{}", i + 1)));
        let first = throttle.turn(&attempt(100)).await.unwrap();
        let mut waiting = Vec::new();
        for i in 0..MAX_WAITING {
            let throttle = throttle.clone();
            waiting.push(tokio::spawn(async move { throttle.turn(&attempt(i)).await.map(drop) }));
        }
        while throttle.waiting() < MAX_WAITING {
            tokio::task::yield_now().await;
        }
        assert_eq!(throttle.turn(&attempt(200)).await.err(), Some(Busy));
        // Leaving the queue (a client that hung up) makes room again.
        waiting.pop().unwrap().abort();
        while throttle.waiting() >= MAX_WAITING {
            tokio::task::yield_now().await;
        }
        drop(first);
        for task in waiting {
            assert_eq!(task.await.unwrap(), Ok(()));
        }
    }

    #[tokio::test]
    async fn one_address_or_username_holds_two_places_at_most() {
        let throttle = Arc::new(SignInThrottle::default());
        let from = |name: &str, addr: &str| Attempt::new(name, None, ip(addr));
        let queue = |attempt: Attempt| {
            let throttle = throttle.clone();
            tokio::spawn(async move { throttle.turn(&attempt).await.map(drop) })
        };
        let running = throttle.turn(&from("a", "192.0.2.1")).await.unwrap();
        let same_address = queue(from("b", "192.0.2.1"));
        let same_name = queue(from("a", "192.0.2.2"));
        while throttle.waiting() < 2 {
            tokio::task::yield_now().await;
        }
        assert_eq!(throttle.turn(&from("c", "192.0.2.1")).await.err(), Some(Busy), "a third place for the address");
        assert_eq!(throttle.turn(&from("A", "192.0.2.3")).await.err(), Some(Busy), "a third place for the username");
        // Another address with another username still gets its turn.
        let other = queue(from("z", "198.51.100.1"));
        drop(running);
        for task in [same_address, same_name, other] {
            assert_eq!(task.await.unwrap(), Ok(()));
        }
        // All places given back.
        assert!(throttle.turn(&from("c", "192.0.2.1")).await.is_ok());
    }

    #[test]
    fn seconds_round_up() {
        assert_eq!(seconds(Duration::from_millis(11_001)), 12);
        assert_eq!(seconds(Duration::from_secs(12)), 12);
    }
}
