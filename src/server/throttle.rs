//! Throttling of failed sign-ins, per username and per client address, on
//! `governor` (GCRA; the rate limiter behind tower_governor and many others).
//!
//! Only failures spend the allowance: 5 a minute, refilled one cell every
//! 12 s. When a key has none left, attempts are refused (429) without looking
//! at the password until the next cell is due.

use governor::clock::{Clock, DefaultClock};
use governor::middleware::StateInformationMiddleware;
use governor::{DefaultKeyedRateLimiter, Quota};
use std::collections::HashMap;
use std::hash::Hash;
use std::net::IpAddr;
use std::num::NonZeroU32;
use std::sync::Mutex;
use std::time::{Duration, Instant};

pub const FAILURES_PER_MINUTE: u32 = 5;
/// Past this many tracked keys, forgotten ones are pruned.
const PRUNE_ABOVE: usize = 10_000;

type Limiter<K> = DefaultKeyedRateLimiter<K, StateInformationMiddleware>;

struct PerKey<K: Hash + Eq + Clone> {
    limiter: Limiter<K>,
    blocked_until: Mutex<HashMap<K, Instant>>,
}

impl<K: Hash + Eq + Clone> PerKey<K> {
    fn new(quota: Quota) -> Self {
        Self {
            limiter: DefaultKeyedRateLimiter::keyed(quota).with_middleware::<StateInformationMiddleware>(),
            blocked_until: Mutex::new(HashMap::new()),
        }
    }

    fn wait(&self, key: &K, now: Instant) -> Option<Duration> {
        let blocked = self.blocked_until.lock().unwrap_or_else(|e| e.into_inner());
        blocked.get(key).and_then(|until| until.checked_duration_since(now)).filter(|d| !d.is_zero())
    }

    fn fail(&self, key: K, now: Instant, clock: &DefaultClock) -> Option<Duration> {
        let wait = match self.limiter.check_key(&key) {
            Ok(state) if state.remaining_burst_capacity() > 0 => None,
            Ok(state) => Some(state.quota().replenish_interval()),
            Err(not_until) => Some(not_until.wait_time_from(clock.now())),
        }?;
        let mut blocked = self.blocked_until.lock().unwrap_or_else(|e| e.into_inner());
        if blocked.len() > PRUNE_ABOVE {
            blocked.retain(|_, until| *until > now);
            self.limiter.retain_recent();
        }
        blocked.insert(key, now + wait);
        Some(wait)
    }
}

pub struct SignInThrottle {
    by_username: PerKey<String>,
    by_address: PerKey<IpAddr>,
    clock: DefaultClock,
    /// One password check at a time.
    verifying: tokio::sync::Semaphore,
}

impl Default for SignInThrottle {
    fn default() -> Self {
        Self::new(FAILURES_PER_MINUTE)
    }
}

impl SignInThrottle {
    pub fn new(failures_per_minute: u32) -> Self {
        let quota = Quota::per_minute(NonZeroU32::new(failures_per_minute.max(1)).expect("at least 1"));
        Self {
            by_username: PerKey::new(quota),
            by_address: PerKey::new(quota),
            clock: DefaultClock::default(),
            verifying: tokio::sync::Semaphore::new(1),
        }
    }

    /// Waits for the turn to check a password. One at a time: a burst of
    /// parallel guesses is taken in turn, each seeing the failures counted
    /// before it, so no more than the allowance is ever tried; and Argon2's
    /// 19 MiB per check cannot pile up. Argon2 takes about 30 ms here, so this
    /// still admits some 30 sign-ins a second, plenty for a console.
    pub async fn turn(&self) -> tokio::sync::SemaphorePermit<'_> {
        self.verifying.acquire().await.expect("the semaphore is never closed")
    }

    /// How long this attempt must wait, if the username or the address is blocked.
    pub fn wait(&self, username: &str, address: IpAddr) -> Option<Duration> {
        let now = Instant::now();
        let by_name = self.by_username.wait(&username.to_lowercase(), now);
        let by_address = self.by_address.wait(&address, now);
        by_name.max(by_address)
    }

    /// Counts a failed attempt; returns the wait now imposed, if the allowance is spent.
    pub fn failed(&self, username: &str, address: IpAddr) -> Option<Duration> {
        let now = Instant::now();
        let by_name = self.by_username.fail(username.to_lowercase(), now, &self.clock);
        let by_address = self.by_address.fail(address, now, &self.clock);
        by_name.max(by_address)
    }
}

/// Whole seconds to tell the admin, never "0 s".
pub fn seconds(wait: Duration) -> u64 {
    wait.as_secs() + u64::from(wait.subsec_nanos() > 0)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ip(s: &str) -> IpAddr {
        s.parse().unwrap()
    }

    #[test]
    fn five_failures_then_blocked() {
        let throttle = SignInThrottle::default();
        for attempt in 1..=4 {
            assert_eq!(throttle.wait("admin", ip("192.0.2.1")), None, "attempt {attempt}");
            assert_eq!(throttle.failed("admin", ip("192.0.2.1")), None, "attempt {attempt}");
        }
        assert_eq!(throttle.wait("admin", ip("192.0.2.1")), None);
        let wait = throttle.failed("admin", ip("192.0.2.1")).expect("the fifth failure spends the allowance");
        assert!(wait <= Duration::from_secs(12) && wait > Duration::from_secs(10), "{wait:?}");
        let wait = throttle.wait("admin", ip("192.0.2.1")).unwrap();
        assert!((11..=12).contains(&seconds(wait)), "{wait:?}");
    }

    #[test]
    fn the_username_is_blocked_from_every_address_and_case() {
        let throttle = SignInThrottle::default();
        for i in 1..=5 {
            throttle.failed("Admin", ip(&format!("192.0.2.{i}")));
        }
        assert!(throttle.wait("admin", ip("198.51.100.7")).is_some());
        assert_eq!(throttle.wait("someone-else", ip("198.51.100.7")), None);
    }

    #[test]
    fn the_address_is_blocked_for_every_username() {
        let throttle = SignInThrottle::default();
        for i in 1..=5 {
            throttle.failed(&format!("user{i}"), ip("203.0.113.9"));
        }
        assert!(throttle.wait("fresh-name", ip("203.0.113.9")).is_some());
        assert_eq!(throttle.wait("fresh-name", ip("203.0.113.10")), None);
    }

    #[test]
    fn seconds_round_up() {
        assert_eq!(seconds(Duration::from_millis(11_001)), 12);
        assert_eq!(seconds(Duration::from_secs(12)), 12);
    }
}
