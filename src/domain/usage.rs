//! What each key's token did, kept in memory between flushes: requests per
//! hour (allowed, refused, and allowed only because the IP ACL reports
//! rather than enforces), the client addresses that presented it, and the
//! refused uses. The verifier adds to it on every request; a background job
//! takes it and writes it as increments, so several instances add up.
//!
//! Memory stays bounded whatever the traffic: a key keeps at most twice
//! [`MAX_ADDRESSES`] addresses, cut back to the most recently seen
//! [`MAX_ADDRESSES`] when it gets there (and to that many wherever they are
//! written or shown), and the refusals of all keys share one buffer of
//! [`MAX_REFUSALS`], in which each account keeps a fair share: when it is
//! full, the account holding the most gives up its oldest, so one
//! account's flood cannot push out another's records.

use crate::domain::permissions::Permission;
use std::collections::{HashMap, VecDeque};
use std::net::IpAddr;

pub use crate::domain::lifecycle::HOUR_MS;
/// Addresses kept per key, in memory and in the database.
pub const MAX_ADDRESSES: usize = 100;
/// Refused uses waiting to be written, for all keys together.
pub const MAX_REFUSALS: usize = 10_000;

/// The hour a moment falls in, as hours since the Unix epoch (UTC).
pub fn hour_of(ms: i64) -> i64 {
    ms.div_euclid(HOUR_MS)
}

/// How a use of a real key's token was answered.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Outcome {
    Allowed,
    /// Allowed, though the key's report-only IP ACL does not list the address.
    WouldBeRefused,
    Refused(Reason),
    /// Over the key's rate limit: its own kind, not a refusal of the token.
    RateLimited,
}

/// Why a use was refused (or would have been), as the API names it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Reason {
    IpNotAllowed,
    KeyDisabled,
    KeyExpired,
    TokenExpired,
}

impl Reason {
    pub fn code(self) -> &'static str {
        match self {
            Reason::IpNotAllowed => "ip_not_allowed",
            Reason::KeyDisabled => "key_disabled",
            Reason::KeyExpired => "key_expired",
            Reason::TokenExpired => "token_expired",
        }
    }

    pub fn from_code(code: &str) -> Option<Self> {
        [Reason::IpNotAllowed, Reason::KeyDisabled, Reason::KeyExpired, Reason::TokenExpired]
            .into_iter()
            .find(|r| r.code() == code)
    }
}

/// Requests in one hour.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Counts {
    pub allowed: i64,
    pub refused: i64,
    /// Allowed only because the IP ACL is report-only (also counted in `allowed`).
    pub would_refuse: i64,
    /// Over the key's rate limit.
    pub rate_limited: i64,
}

impl Counts {
    fn add(&mut self, outcome: Outcome) {
        match outcome {
            Outcome::Allowed => self.allowed += 1,
            Outcome::WouldBeRefused => {
                self.allowed += 1;
                self.would_refuse += 1;
            }
            Outcome::Refused(_) => self.refused += 1,
            Outcome::RateLimited => self.rate_limited += 1,
        }
    }

    /// Every request, whatever became of it (`would_refuse` is part of `allowed`).
    pub fn requests(&self) -> i64 {
        self.allowed + self.refused + self.rate_limited
    }

    pub fn merge(&mut self, other: Counts) {
        self.allowed += other.allowed;
        self.refused += other.refused;
        self.would_refuse += other.would_refuse;
        self.rate_limited += other.rate_limited;
    }
}

/// How often a key's checks asked for one permission.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Asked {
    pub asked: i64,
    pub denied: i64,
    pub last_asked: i64,
}

impl Asked {
    pub fn merge(&mut self, other: Asked) {
        self.asked += other.asked;
        self.denied += other.denied;
        self.last_asked = self.last_asked.max(other.last_asked);
    }
}

/// One address's requests with a key's token.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct AddressStats {
    pub requests: i64,
    pub refused: i64,
    pub would_refuse: i64,
    pub last_seen: i64,
    /// The token of the latest use that was let through (0: none was), so a
    /// page can tell an address seen only with a token that has since ended.
    pub last_token: i32,
    /// When that use was.
    pub last_allowed: i64,
}

impl AddressStats {
    pub fn merge(&mut self, other: AddressStats) {
        self.requests += other.requests;
        self.refused += other.refused;
        self.would_refuse += other.would_refuse;
        self.last_seen = self.last_seen.max(other.last_seen);
        if other.last_allowed > self.last_allowed {
            self.last_allowed = other.last_allowed;
            self.last_token = other.last_token;
        }
    }

    /// Every request from here was refused (a thief the IP ACL stopped, or
    /// a holder of a disabled or expired key).
    pub fn refused_only(&self) -> bool {
        self.requests > 0 && self.refused == self.requests
    }
}

/// One use of a real key's token, as the verifier saw it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Use {
    pub key_id: i32,
    pub account_id: i32,
    /// The token presented (a key has two while an old one is in its grace).
    pub token_id: i32,
    pub at: i64,
    pub ip: IpAddr,
    pub outcome: Outcome,
}

/// A refused use (or one a report-only ACL let through).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Refusal {
    pub key_id: i32,
    pub account_id: i32,
    pub at: i64,
    pub ip: IpAddr,
    pub reason: Reason,
    /// Let through: the IP ACL only reports.
    pub report_only: bool,
}

/// One key's uses since the last flush.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct KeyUsage {
    /// The key's account (0 until a use is recorded; a check alone does not say).
    pub account_id: i32,
    /// The latest use that was allowed, and from where.
    pub last_allowed: Option<(i64, IpAddr)>,
    pub hours: HashMap<i64, Counts>,
    /// Permissions its checks asked for, per hour.
    pub permissions: HashMap<(i64, Permission), Asked>,
    pub addresses: HashMap<IpAddr, AddressStats>,
    /// Addresses forgotten because more than [`MAX_ADDRESSES`] were seen.
    pub addresses_dropped: i64,
}

impl KeyUsage {
    /// Forgets all but the [`MAX_ADDRESSES`] most recently seen addresses.
    /// Called when twice that many have piled up, so a key seen from a new
    /// address on every request pays for one selection per hundred requests
    /// rather than a scan of a hundred on each (what is written and shown
    /// is cut to the most recent hundred there too).
    fn keep_most_recent_addresses(&mut self) {
        let mut seen: Vec<(i64, IpAddr)> = self.addresses.iter().map(|(ip, s)| (s.last_seen, *ip)).collect();
        if seen.len() <= MAX_ADDRESSES {
            return;
        }
        seen.select_nth_unstable_by_key(MAX_ADDRESSES, |(last_seen, _)| std::cmp::Reverse(*last_seen));
        for (_, ip) in &seen[MAX_ADDRESSES..] {
            self.addresses.remove(ip);
        }
        self.addresses_dropped += (seen.len() - MAX_ADDRESSES) as i64;
    }

    fn record(&mut self, at: i64, ip: IpAddr, token_id: i32, outcome: Outcome) {
        let allowed = matches!(outcome, Outcome::Allowed | Outcome::WouldBeRefused);
        if allowed && self.last_allowed.is_none_or(|(last, _)| last <= at) {
            self.last_allowed = Some((at, ip));
        }
        self.hours.entry(hour_of(at)).or_default().add(outcome);
        if self.addresses.len() >= 2 * MAX_ADDRESSES && !self.addresses.contains_key(&ip) {
            self.keep_most_recent_addresses();
        }
        let stats = self.addresses.entry(ip).or_default();
        stats.requests += 1;
        match outcome {
            Outcome::Refused(_) => stats.refused += 1,
            Outcome::WouldBeRefused => stats.would_refuse += 1,
            Outcome::Allowed | Outcome::RateLimited => {}
        }
        stats.last_seen = stats.last_seen.max(at);
        if allowed && at >= stats.last_allowed {
            stats.last_allowed = at;
            stats.last_token = token_id;
        }
    }
}

/// Refused uses waiting to be written, at most [`MAX_REFUSALS`] in all, each
/// account in its own queue.
#[derive(Debug, Clone, Default)]
pub struct RefusalBuffer {
    by_account: HashMap<i32, VecDeque<Refusal>>,
    len: usize,
    dropped: u64,
}

impl RefusalBuffer {
    /// Keeps `refusal`; when full, the account holding the most (the one
    /// flooding) loses its oldest.
    pub fn push(&mut self, refusal: Refusal) {
        if self.len >= MAX_REFUSALS {
            let largest = self.by_account.iter().max_by_key(|(_, queue)| queue.len()).map(|(account, _)| *account);
            if let Some(queue) = largest.and_then(|account| self.by_account.get_mut(&account)) {
                queue.pop_front();
                self.len -= 1;
                self.dropped += 1;
            }
            self.by_account.retain(|_, queue| !queue.is_empty());
        }
        self.by_account.entry(refusal.account_id).or_default().push_back(refusal);
        self.len += 1;
    }

    pub fn len(&self) -> usize {
        self.len
    }

    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// How many were dropped since the last flush.
    pub fn dropped(&self) -> u64 {
        self.dropped
    }

    /// The dropped count was reported; what is put back starts from nothing.
    pub fn forget_dropped(&mut self) {
        self.dropped = 0;
    }

    pub fn iter(&self) -> impl Iterator<Item = &Refusal> {
        self.by_account.values().flatten()
    }

    pub fn of_account(&self, account_id: i32) -> usize {
        self.by_account.get(&account_id).map_or(0, VecDeque::len)
    }

    pub fn of_key(&self, key_id: i32) -> Vec<Refusal> {
        self.iter().filter(|r| r.key_id == key_id).copied().collect()
    }

    /// Puts back what a flush could not write, older than what came since.
    fn restore(&mut self, unwritten: RefusalBuffer) {
        let newer = std::mem::take(self);
        self.dropped = newer.dropped + unwritten.dropped;
        let mut all: Vec<Refusal> = unwritten.iter().chain(newer.iter()).copied().collect();
        all.sort_by_key(|r| r.at);
        for refusal in all {
            self.push(refusal);
        }
    }
}

/// Everything recorded since the last flush.
#[derive(Debug, Clone, Default)]
pub struct Recorded {
    pub keys: HashMap<i32, KeyUsage>,
    pub refusals: RefusalBuffer,
}

impl Recorded {
    /// Adds one use of a real key's token (unknown tokens are never recorded).
    pub fn record(&mut self, one: Use) {
        let Use { key_id, account_id, token_id, at, ip, outcome } = one;
        let usage = self.keys.entry(key_id).or_default();
        usage.account_id = account_id;
        usage.record(at, ip, token_id, outcome);
        let (reason, report_only) = match outcome {
            Outcome::Refused(reason) => (reason, false),
            Outcome::WouldBeRefused => (Reason::IpNotAllowed, true),
            Outcome::Allowed | Outcome::RateLimited => return,
        };
        self.refusals.push(Refusal { key_id, account_id, at, ip, reason, report_only });
    }

    /// A service asked whether the key may do `permission` (`GET /api/v1/check`).
    pub fn record_check(&mut self, key_id: i32, at: i64, permission: Permission, granted: bool) {
        let asked = self.keys.entry(key_id).or_default().permissions.entry((hour_of(at), permission)).or_default();
        asked.asked += 1;
        asked.denied += i64::from(!granted);
        asked.last_asked = asked.last_asked.max(at);
    }

    /// Puts back what a flush could not write, under anything recorded since.
    pub fn restore(&mut self, unwritten: Recorded) {
        for (key_id, usage) in unwritten.keys {
            let now = self.keys.entry(key_id).or_default();
            if now.account_id == 0 {
                now.account_id = usage.account_id;
            }
            if now.last_allowed.is_none() {
                now.last_allowed = usage.last_allowed;
            }
            for (hour, counts) in usage.hours {
                now.hours.entry(hour).or_default().merge(counts);
            }
            for (at, asked) in usage.permissions {
                now.permissions.entry(at).or_default().merge(asked);
            }
            for (ip, stats) in usage.addresses {
                now.addresses.entry(ip).or_default().merge(stats);
            }
            // The same rule as recording: past twice the limit, the most recent stay.
            if now.addresses.len() >= 2 * MAX_ADDRESSES {
                now.keep_most_recent_addresses();
            }
            now.addresses_dropped += usage.addresses_dropped;
        }
        self.refusals.restore(unwritten.refusals);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const T0: i64 = 1_795_838_400_000; // 2026-11-28 04:00:00 UTC, on the hour

    fn ip(s: &str) -> IpAddr {
        s.parse().unwrap()
    }

    /// A use of key `key_id` (account 1, token `key_id`).
    fn one(key_id: i32, at: i64, ip: IpAddr, outcome: Outcome) -> Use {
        Use { key_id, account_id: 1, token_id: key_id, at, ip, outcome }
    }

    #[test]
    fn hours_begin_exactly_on_the_hour() {
        assert_eq!(hour_of(T0), hour_of(T0 + HOUR_MS - 1));
        assert_eq!(hour_of(T0) + 1, hour_of(T0 + HOUR_MS));
        assert_eq!(hour_of(T0 - 1), hour_of(T0) - 1);
        assert_eq!(hour_of(-1), -1, "before 1970 too");
    }

    #[test]
    fn uses_count_per_hour_and_address() {
        let mut recorded = Recorded::default();
        let a = ip("192.0.2.1");
        recorded.record(one(7, T0 + HOUR_MS - 1, a, Outcome::Allowed));
        recorded.record(one(7, T0 + HOUR_MS, a, Outcome::Refused(Reason::KeyDisabled)));
        recorded.record(one(7, T0 + HOUR_MS + 5, ip("192.0.2.2"), Outcome::WouldBeRefused));
        let usage = &recorded.keys[&7];
        assert_eq!(usage.hours[&hour_of(T0)], Counts { allowed: 1, ..Counts::default() });
        assert_eq!(
            usage.hours[&(hour_of(T0) + 1)],
            Counts { allowed: 1, refused: 1, would_refuse: 1, rate_limited: 0 }
        );
        assert_eq!(
            usage.addresses[&a],
            AddressStats {
                requests: 2,
                refused: 1,
                would_refuse: 0,
                last_seen: T0 + HOUR_MS,
                last_token: 7,
                last_allowed: T0 + HOUR_MS - 1
            }
        );
        assert_eq!(usage.last_allowed, Some((T0 + HOUR_MS + 5, ip("192.0.2.2"))), "a refused use is not a use");
        let reasons: Vec<(Reason, bool)> = recorded.refusals.iter().map(|r| (r.reason, r.report_only)).collect();
        assert_eq!(reasons, [(Reason::KeyDisabled, false), (Reason::IpNotAllowed, true)]);
    }

    #[test]
    fn past_two_hundred_addresses_the_hundred_most_recent_are_kept() {
        let mut recorded = Recorded::default();
        let numbered = |i: i64| ip(&format!("10.0.{}.{}", i / 250, i % 250));
        for i in 0..2 * MAX_ADDRESSES as i64 {
            recorded.record(one(1, T0 + i, numbered(i), Outcome::Allowed));
        }
        assert_eq!(recorded.keys[&1].addresses.len(), 2 * MAX_ADDRESSES);
        assert_eq!(recorded.keys[&1].addresses_dropped, 0);
        // The first address is seen again: it is among the most recent now.
        recorded.record(one(1, T0 + 1000, numbered(0), Outcome::Allowed));
        recorded.record(one(1, T0 + 1001, ip("192.0.2.9"), Outcome::Allowed));
        let usage = &recorded.keys[&1];
        assert_eq!(usage.addresses.len(), MAX_ADDRESSES + 1);
        assert_eq!(usage.addresses_dropped, MAX_ADDRESSES as i64);
        assert!(usage.addresses.contains_key(&numbered(0)));
        assert_eq!(usage.addresses[&numbered(0)].requests, 2);
        assert!(!usage.addresses.contains_key(&numbered(1)));
        // Kept: 0 (seen again) and 101..=199, the hundred most recent; 1..=100 went.
        assert!(!usage.addresses.contains_key(&numbered(100)));
        assert!(usage.addresses.contains_key(&numbered(101)));
        assert!(usage.addresses.contains_key(&ip("192.0.2.9")));
        // A known address never makes room, however many there are.
        let before = usage.addresses_dropped;
        recorded.record(one(1, T0 + 1002, numbered(150), Outcome::Allowed));
        assert_eq!(recorded.keys[&1].addresses_dropped, before);
    }

    #[test]
    fn the_refusal_buffer_drops_the_oldest_and_counts_them() {
        let mut recorded = Recorded::default();
        for i in 0..(MAX_REFUSALS as i64 + 3) {
            recorded.record(one(1, T0 + i, ip("192.0.2.1"), Outcome::Refused(Reason::IpNotAllowed)));
        }
        assert_eq!(recorded.refusals.len(), MAX_REFUSALS);
        assert_eq!(recorded.refusals.dropped(), 3);
        assert_eq!(recorded.refusals.iter().map(|r| r.at).min(), Some(T0 + 3));
    }

    /// One account's flood used to push every other account's records out.
    #[test]
    fn a_flooding_account_gives_up_its_own_oldest_first() {
        let mut recorded = Recorded::default();
        let quiet = Use { account_id: 2, ..one(20, T0, ip("198.51.100.1"), Outcome::Refused(Reason::IpNotAllowed)) };
        for i in 0..10 {
            recorded.record(Use { at: T0 + i, ..quiet });
        }
        for i in 0..(2 * MAX_REFUSALS as i64) {
            recorded.record(one(1, T0 + 100 + i, ip("192.0.2.1"), Outcome::Refused(Reason::KeyDisabled)));
        }
        assert_eq!(recorded.refusals.len(), MAX_REFUSALS);
        assert_eq!(recorded.refusals.of_account(2), 10, "the quiet account keeps all of its own");
        assert_eq!(recorded.refusals.of_account(1), MAX_REFUSALS - 10);
        assert_eq!(recorded.refusals.dropped(), MAX_REFUSALS as u64 + 10);
    }

    #[test]
    fn rate_limited_uses_and_permission_checks_are_their_own_counts() {
        let mut recorded = Recorded::default();
        let a = ip("192.0.2.1");
        recorded.record(one(1, T0, a, Outcome::RateLimited));
        recorded.record_check(1, T0 + 5, Permission::SmsSend, true);
        recorded.record_check(1, T0 + 9, Permission::SmsSend, false);
        let usage = &recorded.keys[&1];
        assert_eq!(usage.hours[&hour_of(T0)], Counts { rate_limited: 1, ..Counts::default() });
        assert_eq!(
            usage.permissions[&(hour_of(T0), Permission::SmsSend)],
            Asked { asked: 2, denied: 1, last_asked: T0 + 9 }
        );
        assert_eq!(usage.last_allowed, None, "a rate-limited use is not a use");
        assert!(recorded.refusals.is_empty(), "nor a refusal of the token");
    }

    #[test]
    fn an_address_remembers_the_token_it_was_last_let_through_with() {
        let mut recorded = Recorded::default();
        let a = ip("192.0.2.1");
        recorded.record(Use { token_id: 3, ..one(1, T0, a, Outcome::Allowed) });
        recorded.record(Use { token_id: 4, ..one(1, T0 + 1, a, Outcome::Refused(Reason::TokenExpired)) });
        let stats = recorded.keys[&1].addresses[&a];
        assert_eq!((stats.last_token, stats.last_allowed), (3, T0), "a refused use changes nothing");
        assert!(!stats.refused_only());
        let b = ip("192.0.2.2");
        recorded.record(one(1, T0 + 2, b, Outcome::Refused(Reason::IpNotAllowed)));
        assert!(recorded.keys[&1].addresses[&b].refused_only());
    }

    #[test]
    fn what_could_not_be_written_merges_with_what_came_since() {
        let mut unwritten = Recorded::default();
        unwritten.record(one(1, T0, ip("192.0.2.1"), Outcome::Allowed));
        let mut now = Recorded::default();
        now.record(one(1, T0 + 10, ip("192.0.2.1"), Outcome::Refused(Reason::KeyExpired)));
        now.restore(unwritten);
        let usage = &now.keys[&1];
        assert_eq!(usage.hours[&hour_of(T0)], Counts { allowed: 1, refused: 1, ..Counts::default() });
        assert_eq!(usage.addresses[&ip("192.0.2.1")].requests, 2);
        assert_eq!(usage.addresses[&ip("192.0.2.1")].last_seen, T0 + 10);
        assert_eq!(now.refusals.len(), 1);
    }

    #[test]
    fn what_could_not_be_written_keeps_the_most_recent_addresses_too() {
        let numbered = |i: i64| ip(&format!("10.1.{}.{}", i / 250, i % 250));
        let mut unwritten = Recorded::default();
        for i in 0..150 {
            unwritten.record(one(1, T0 + i, numbered(i), Outcome::Allowed));
        }
        let mut now = Recorded::default();
        for i in 150..250 {
            now.record(one(1, T0 + i, numbered(i), Outcome::Allowed));
        }
        now.restore(unwritten);
        let usage = &now.keys[&1];
        assert_eq!(usage.addresses.len(), MAX_ADDRESSES);
        assert_eq!(usage.addresses_dropped, 150);
        assert!(usage.addresses.contains_key(&numbered(150)));
        assert!(!usage.addresses.contains_key(&numbered(149)), "older than the hundred kept");
    }
}
