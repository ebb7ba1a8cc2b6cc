//! A key's rate limit: `requests` per second, minute or hour, with a burst
//! of the same number, enforced by GCRA (the generic cell rate algorithm:
//! one "theoretical arrival time" per key, no timers, no lists).
//!
//! Written here rather than taken from `governor` (which the unknown-token
//! brake uses) because each key has its own limit, changed at run time, and
//! a key's limit is shared by every instance: an instance must count the
//! requests other instances let through after the fact ([`Gcra::consume`]),
//! which governor's all-or-nothing `check_n` cannot do.

use serde::{Deserialize, Serialize};
use std::fmt;

pub const MAX_REQUESTS: u32 = 1_000_000;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum Period {
    Second,
    Minute,
    Hour,
}

impl Period {
    pub const ALL: [Period; 3] = [Period::Second, Period::Minute, Period::Hour];

    pub fn code(self) -> &'static str {
        match self {
            Period::Second => "second",
            Period::Minute => "minute",
            Period::Hour => "hour",
        }
    }

    pub fn label(self) -> &'static str {
        match self {
            Period::Second => "Second",
            Period::Minute => "Minute",
            Period::Hour => "Hour",
        }
    }

    pub fn from_code(code: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|p| p.code() == code)
    }

    pub fn nanos(self) -> u64 {
        match self {
            Period::Second => 1_000_000_000,
            Period::Minute => 60_000_000_000,
            Period::Hour => 3_600_000_000_000,
        }
    }
}

/// `requests` per `per`, the burst equal to `requests`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct RateLimit {
    pub requests: u32,
    pub per: Period,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LimitError {
    NotANumber,
    OutOfBounds,
    UnknownPeriod,
}

impl fmt::Display for LimitError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            LimitError::NotANumber => f.write_str("Enter the number of requests as a whole number."),
            LimitError::OutOfBounds => write!(f, "The number of requests must be from 1 to {}.", "1,000,000"),
            LimitError::UnknownPeriod => f.write_str("Choose Second, Minute or Hour."),
        }
    }
}

impl RateLimit {
    /// The form's fields: requests as typed, and the period's code.
    pub fn parse(requests: &str, per: &str) -> Result<RateLimit, LimitError> {
        let requests = requests.trim();
        if requests.len() > 12 || requests.is_empty() || !requests.bytes().all(|b| b.is_ascii_digit()) {
            return Err(LimitError::NotANumber);
        }
        let requests: u64 = requests.parse().map_err(|_| LimitError::NotANumber)?;
        if !(1..=u64::from(MAX_REQUESTS)).contains(&requests) {
            return Err(LimitError::OutOfBounds);
        }
        let per = Period::from_code(per.trim()).ok_or(LimitError::UnknownPeriod)?;
        Ok(RateLimit { requests: requests as u32, per })
    }

    /// From the stored columns; `None` when there is no (readable) limit.
    pub fn from_stored(requests: Option<i64>, per: Option<&str>) -> Option<RateLimit> {
        let requests = u32::try_from(requests?).ok().filter(|n| (1..=MAX_REQUESTS).contains(n))?;
        Some(RateLimit { requests, per: Period::from_code(per?)? })
    }

    /// The time one request takes of the allowance.
    fn interval(self) -> u64 {
        (self.per.nanos() / u64::from(self.requests)).max(1)
    }

    /// How many requests a span of used-up allowance amounts to (rounded up).
    pub fn requests_in(self, nanos: u64) -> u64 {
        nanos.div_ceil(self.interval())
    }

    /// How far ahead of now the theoretical arrival time may run: a full burst.
    fn tolerance(self) -> u64 {
        self.interval() * u64::from(self.requests - 1)
    }
}

impl fmt::Display for RateLimit {
    /// "5 per minute".
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} per {}", self.requests, self.per.code())
    }
}

/// What one request was told.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Verdict {
    pub allowed: bool,
    /// Requests left in the burst now.
    pub remaining: u32,
    /// Nanoseconds until the whole allowance is back.
    pub reset_nanos: u64,
    /// Nanoseconds until the next request would be let through (0 when allowed).
    pub retry_after_nanos: u64,
}

/// One key's state: the theoretical arrival time of its next request.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Gcra {
    tat: u64,
}

impl Gcra {
    /// One request at `now` (nanoseconds on any steady clock).
    pub fn check(&mut self, limit: RateLimit, now: u64) -> Verdict {
        let (interval, tolerance) = (limit.interval(), limit.tolerance());
        let tat = self.tat.max(now);
        if tat - now > tolerance {
            let retry = tat - now - tolerance;
            return Verdict { allowed: false, remaining: 0, reset_nanos: tat - now, retry_after_nanos: retry };
        }
        self.tat = tat + interval;
        let ahead = self.tat - now;
        let left = (tolerance + interval).saturating_sub(ahead) / interval;
        Verdict { allowed: true, remaining: left as u32, reset_nanos: ahead, retry_after_nanos: 0 }
    }

    /// `n` requests let through elsewhere (other instances) count here too,
    /// whether or not this instance would have let them through.
    pub fn consume(&mut self, limit: RateLimit, n: u64, now: u64) {
        self.tat = self.tat.max(now).saturating_add(limit.interval().saturating_mul(n));
    }

    /// How long until the allowance is whole again (0 when it is).
    pub fn ahead(&self, now: u64) -> u64 {
        self.tat.saturating_sub(now)
    }

    /// The allowance is whole again at `now`: the state can be forgotten.
    pub fn idle(&self, now: u64) -> bool {
        self.tat <= now
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const SECOND: u64 = 1_000_000_000;

    #[test]
    fn the_form_is_checked_and_words_read_well() {
        assert_eq!(RateLimit::parse("5", "minute"), Ok(RateLimit { requests: 5, per: Period::Minute }));
        assert_eq!(RateLimit::parse("5", "minute").unwrap().to_string(), "5 per minute");
        assert_eq!(RateLimit::parse("0", "second"), Err(LimitError::OutOfBounds));
        assert_eq!(RateLimit::parse("1000000000", "second"), Err(LimitError::OutOfBounds));
        assert_eq!(RateLimit::parse("1000001", "second"), Err(LimitError::OutOfBounds));
        assert_eq!(RateLimit::parse("-3", "second"), Err(LimitError::NotANumber));
        assert_eq!(RateLimit::parse("5", "week"), Err(LimitError::UnknownPeriod));
        assert_eq!(RateLimit::parse(&"9".repeat(1_000_000), "second"), Err(LimitError::NotANumber));
        assert_eq!(RateLimit::from_stored(Some(5), Some("hour")), Some(RateLimit { requests: 5, per: Period::Hour }));
        assert_eq!(RateLimit::from_stored(Some(0), Some("hour")), None);
    }

    #[test]
    fn a_burst_then_one_per_interval() {
        let limit = RateLimit { requests: 5, per: Period::Minute };
        let mut cell = Gcra::default();
        let now = 1_000 * SECOND;
        let remaining: Vec<u32> = (0..5)
            .map(|_| cell.check(limit, now))
            .map(|v| {
                assert!(v.allowed);
                v.remaining
            })
            .collect();
        assert_eq!(remaining, [4, 3, 2, 1, 0]);
        let sixth = cell.check(limit, now);
        assert!(!sixth.allowed);
        assert_eq!(sixth.retry_after_nanos, 12 * SECOND, "one request every 12 s");
        assert!(cell.check(limit, now + 12 * SECOND).allowed);
        assert!(!cell.check(limit, now + 12 * SECOND).allowed);
        // Six let through, one each 12 s: the allowance is whole again 72 s after the first.
        assert!(!cell.idle(now + 71 * SECOND));
        assert!(cell.idle(now + 72 * SECOND));
    }

    #[test]
    fn requests_let_through_elsewhere_are_counted_here() {
        let limit = RateLimit { requests: 10, per: Period::Second };
        let mut cell = Gcra::default();
        let now = 50 * SECOND;
        cell.consume(limit, 8, now);
        assert!(cell.check(limit, now).allowed);
        assert!(cell.check(limit, now).allowed);
        assert!(!cell.check(limit, now).allowed, "8 elsewhere and 2 here make 10");
        let mut fast = Gcra::default();
        let million = RateLimit { requests: MAX_REQUESTS, per: Period::Second };
        assert!((0..1000).all(|_| fast.check(million, now).allowed));
    }
}
