//! A limit on tokens that turn out to belong to no key, per client address
//! (IPv6 by /64). The checksum of a token is public, so a flood of made-up
//! well-formed tokens would otherwise cost one database query each and could
//! starve the pool that sessions and real tokens need. Real tokens that are
//! found never count, so a busy client with many keys is not slowed.
//!
//! Counting runs on `governor` (GCRA, keyed); past the allowance the address
//! is answered 429 until its next cell is due, without any lookup.

use governor::clock::{Clock, DefaultClock};
use governor::middleware::StateInformationMiddleware;
use governor::{DefaultKeyedRateLimiter, Quota};
use std::collections::HashMap;
use std::net::IpAddr;
use std::num::NonZeroU32;
use std::sync::Mutex;
use std::time::{Duration, Instant};

pub const UNKNOWN_PER_MINUTE: u32 = 60;
/// Past this many blocked addresses, expired ones are dropped at once rather than at the next prune.
const PRUNE_ABOVE: usize = 10_000;

pub struct UnknownTokenLimit {
    limiter: DefaultKeyedRateLimiter<IpAddr, StateInformationMiddleware>,
    blocked_until: Mutex<HashMap<IpAddr, Instant>>,
    clock: DefaultClock,
}

impl Default for UnknownTokenLimit {
    fn default() -> Self {
        Self::per_minute(UNKNOWN_PER_MINUTE)
    }
}

impl UnknownTokenLimit {
    pub fn per_minute(n: u32) -> Self {
        let quota = Quota::per_minute(NonZeroU32::new(n.max(1)).expect("at least 1"));
        Self {
            limiter: DefaultKeyedRateLimiter::keyed(quota).with_middleware::<StateInformationMiddleware>(),
            blocked_until: Mutex::new(HashMap::new()),
            clock: DefaultClock::default(),
        }
    }

    /// How long `client` must wait before its next lookup, if it spent its allowance.
    pub fn blocked(&self, client: &IpAddr, now: Instant) -> Option<Duration> {
        let blocked = self.blocked_until.lock().unwrap_or_else(|e| e.into_inner());
        blocked.get(client).and_then(|until| until.checked_duration_since(now)).filter(|d| !d.is_zero())
    }

    /// Counts one lookup that found nothing.
    pub fn count(&self, client: IpAddr, now: Instant) {
        let wait = match self.limiter.check_key(&client) {
            Ok(state) if state.remaining_burst_capacity() > 0 => return,
            Ok(state) => state.quota().replenish_interval(),
            Err(not_until) => not_until.wait_time_from(self.clock.now()),
        };
        let mut blocked = self.blocked_until.lock().unwrap_or_else(|e| e.into_inner());
        if blocked.len() > PRUNE_ABOVE {
            blocked.retain(|_, until| *until > now);
        }
        blocked.insert(client, now + wait);
    }

    /// Forgets addresses that are no longer blocked and whose allowance is whole.
    pub fn prune(&self, now: Instant) {
        self.blocked_until.lock().unwrap_or_else(|e| e.into_inner()).retain(|_, until| *until > now);
        self.limiter.retain_recent();
        self.limiter.shrink_to_fit();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sixty_unknown_tokens_then_blocked_per_address() {
        let limit = UnknownTokenLimit::default();
        let a: IpAddr = "192.0.2.1".parse().unwrap();
        let b: IpAddr = "192.0.2.2".parse().unwrap();
        let now = Instant::now();
        for _ in 0..59 {
            limit.count(a, now);
            assert_eq!(limit.blocked(&a, now), None);
        }
        limit.count(a, now);
        let wait = limit.blocked(&a, now).expect("the sixtieth spends the allowance");
        assert!(wait <= Duration::from_secs(1), "one cell a second: {wait:?}");
        assert_eq!(limit.blocked(&b, now), None, "another address has its own allowance");
        limit.prune(now + Duration::from_secs(2));
        assert_eq!(limit.blocked(&a, now + Duration::from_secs(2)), None);
    }
}
