//! How an API key lives and dies: its status, when it expires, and how long an
//! old token keeps working after a roll. Times are milliseconds since the Unix
//! epoch, in UTC, everywhere: no time zone enters a decision.

use std::fmt;

pub const DAY_MS: i64 = 24 * 60 * 60 * 1000;
pub const HOUR_MS: i64 = 60 * 60 * 1000;
/// Within this many days of its expiry a key says so in the table.
pub const EXPIRES_SOON_DAYS: i64 = 14;
/// An expiry date at most this far ahead (5 years of 365 days, plus a leap day or two).
pub const MAX_EXPIRY_AHEAD_MS: i64 = (5 * 365 + 2) * DAY_MS;
/// A key unused for this long is listed as needing attention.
pub const UNUSED_DAYS: i64 = 90;

/// What the table's Status column says of a key.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Status {
    Active,
    /// Active, but it expires within [`EXPIRES_SOON_DAYS`]: in how many
    /// calendar days (UTC) its last working day is, as the date the admin
    /// picked says: 0 is today, 1 tomorrow.
    ExpiresSoon {
        days: i64,
    },
    Disabled,
    Expired,
}

impl Status {
    /// A key's status at `now`. Disabled wins over expired: enabling it is
    /// the first thing the admin must do either way, and says so.
    pub fn of(disabled: bool, expires_at: Option<i64>, now: i64) -> Self {
        if disabled {
            return Status::Disabled;
        }
        match expires_at {
            Some(at) if at <= now => Status::Expired,
            Some(at) if at - now <= EXPIRES_SOON_DAYS * DAY_MS => {
                // The last instant it works is `at - 1`; "On a date" puts `at` at the next midnight.
                Status::ExpiresSoon { days: (at - 1).div_euclid(DAY_MS) - now.div_euclid(DAY_MS) }
            }
            _ => Status::Active,
        }
    }
}

/// Why a token that belongs to a key is refused, before its IP ACL is asked.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Refusal {
    /// The token was rolled and its grace is over.
    TokenExpired,
    KeyDisabled,
    KeyExpired,
}

/// When a token stops working: the key's expiry or the end of the token's
/// grace after a roll, whichever comes first (what whoami tells its caller).
pub fn stops_working(key_expires_at: Option<i64>, token_expires_at: Option<i64>) -> Option<i64> {
    match (key_expires_at, token_expires_at) {
        (Some(a), Some(b)) => Some(a.min(b)),
        (a, b) => a.or(b),
    }
}

/// Decides whether a token may be used at `now`. An instant equal to an
/// expiry is already past it: "expires at T" means "works before T".
pub fn check(
    token_expires_at: Option<i64>,
    token_ended: bool,
    disabled: bool,
    key_expires_at: Option<i64>,
    now: i64,
) -> Result<(), Refusal> {
    // An ended token is refused whatever `now` says: a reader whose clock
    // runs behind the writer's must not honour it for the difference.
    if token_ended || token_expires_at.is_some_and(|at| at <= now) {
        return Err(Refusal::TokenExpired);
    }
    if disabled {
        return Err(Refusal::KeyDisabled);
    }
    if key_expires_at.is_some_and(|at| at <= now) {
        return Err(Refusal::KeyExpired);
    }
    Ok(())
}

/// How long the old token keeps working after a roll.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Grace {
    Now,
    OneHour,
    OneDay,
    SevenDays,
}

impl Grace {
    pub const ALL: [Grace; 4] = [Grace::Now, Grace::OneHour, Grace::OneDay, Grace::SevenDays];

    pub fn ms(self) -> i64 {
        match self {
            Grace::Now => 0,
            Grace::OneHour => HOUR_MS,
            Grace::OneDay => DAY_MS,
            Grace::SevenDays => 7 * DAY_MS,
        }
    }

    /// The form's value for this choice.
    pub fn code(self) -> &'static str {
        match self {
            Grace::Now => "now",
            Grace::OneHour => "1h",
            Grace::OneDay => "24h",
            Grace::SevenDays => "7d",
        }
    }

    pub fn from_code(code: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|g| g.code() == code)
    }
}

impl fmt::Display for Grace {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Grace::Now => "at once",
            Grace::OneHour => "after 1 hour",
            Grace::OneDay => "after 24 hours",
            Grace::SevenDays => "after 7 days",
        })
    }
}

/// The admin's choice in the Expires field.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Expiry {
    Never,
    Days(i64),
    /// Through the end of this UTC date, given as days since 1970-01-01.
    Date(i64),
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ExpiryError {
    #[error("Choose when the key expires.")]
    Unknown,
    #[error("Enter the expiry date as YYYY-MM-DD.")]
    NotADate,
    #[error("The expiry date is in the past; choose today or a later date.")]
    Past,
    #[error("The expiry date is more than 5 years ahead; choose an earlier date.")]
    TooFar,
}

impl Expiry {
    /// Reads the form: `choice` is `never`, `30d`, `90d`, `1y` or `date`;
    /// `date` is the Expiry date field (`YYYY-MM-DD`), read only for `date`.
    pub fn parse(choice: &str, date: &str) -> Result<Self, ExpiryError> {
        match choice {
            "never" | "" => Ok(Expiry::Never),
            "30d" => Ok(Expiry::Days(30)),
            "90d" => Ok(Expiry::Days(90)),
            "1y" => Ok(Expiry::Days(365)),
            "date" => parse_date(date.trim()).map(Expiry::Date).ok_or(ExpiryError::NotADate),
            _ => Err(ExpiryError::Unknown),
        }
    }

    /// When a key given this choice at `now` expires; a date must be today
    /// or later and at most 5 years ahead.
    pub fn resolve(self, now: i64) -> Result<Option<i64>, ExpiryError> {
        let at = match self {
            Expiry::Never => return Ok(None),
            Expiry::Days(days) => now + days * DAY_MS,
            // The key works through the whole chosen day, UTC.
            Expiry::Date(day) => (day + 1) * DAY_MS,
        };
        if at <= now {
            return Err(ExpiryError::Past);
        }
        if at - now > MAX_EXPIRY_AHEAD_MS {
            return Err(ExpiryError::TooFar);
        }
        Ok(Some(at))
    }
}

/// Days since 1970-01-01 of a `YYYY-MM-DD` date (proleptic Gregorian, UTC).
pub fn parse_date(text: &str) -> Option<i64> {
    let mut parts = text.split('-');
    let (Some(y), Some(m), Some(d), None) = (parts.next(), parts.next(), parts.next(), parts.next()) else {
        return None;
    };
    if y.len() != 4 || m.len() != 2 || d.len() != 2 {
        return None;
    }
    let (y, m, d): (i64, i64, i64) = (y.parse().ok()?, m.parse().ok()?, d.parse().ok()?);
    let leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
    let month_days = [31, if leap { 29 } else { 28 }, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31];
    if !(1..=12).contains(&m) || d < 1 || d > month_days[(m - 1) as usize] {
        return None;
    }
    Some(days_from_civil(y, m, d))
}

/// Howard Hinnant's `days_from_civil`: exact for every Gregorian date.
fn days_from_civil(y: i64, m: i64, d: i64) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let doy = (153 * (if m > 2 { m - 3 } else { m + 9 }) + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

#[cfg(test)]
mod tests {
    use super::*;

    const T0: i64 = 1_795_838_400_000; // 2026-11-28 04:00 UTC

    #[test]
    fn a_token_stops_working_at_the_earlier_of_its_grace_and_its_keys_expiry() {
        assert_eq!(stops_working(None, None), None);
        assert_eq!(stops_working(Some(T0), None), Some(T0));
        assert_eq!(stops_working(None, Some(T0)), Some(T0));
        assert_eq!(stops_working(Some(T0 + DAY_MS), Some(T0)), Some(T0));
        assert_eq!(stops_working(Some(T0), Some(T0 + DAY_MS)), Some(T0));
    }

    #[test]
    fn status_rules() {
        assert_eq!(Status::of(false, None, T0), Status::Active);
        assert_eq!(Status::of(true, None, T0), Status::Disabled);
        assert_eq!(Status::of(true, Some(T0 - 1), T0), Status::Disabled, "disabled wins over expired");
        assert_eq!(Status::of(false, Some(T0), T0), Status::Expired, "at the instant it is over");
        assert_eq!(Status::of(false, Some(T0 + 1), T0), Status::ExpiresSoon { days: 0 }, "today");
        assert_eq!(Status::of(false, Some(T0 + 14 * DAY_MS), T0), Status::ExpiresSoon { days: 14 });
        // "On a date…" five calendar days ahead: works through that day, so
        // its expiry is the midnight after it, 5 days 20 hours from 04:00.
        let today = T0.div_euclid(DAY_MS) * DAY_MS;
        assert_eq!(Status::of(false, Some(today + 6 * DAY_MS), T0), Status::ExpiresSoon { days: 5 });
        assert_eq!(Status::of(false, Some(today + 2 * DAY_MS), T0), Status::ExpiresSoon { days: 1 }, "tomorrow");
        assert_eq!(
            Status::of(false, Some(today + DAY_MS), T0),
            Status::ExpiresSoon { days: 0 },
            "through the end of today"
        );
        assert_eq!(Status::of(false, Some(T0 + 14 * DAY_MS + 1), T0), Status::Active);
    }

    #[test]
    fn a_token_works_until_the_instant_it_expires() {
        assert_eq!(check(Some(T0 + 1), false, false, None, T0), Ok(()));
        assert_eq!(check(Some(T0), false, false, None, T0), Err(Refusal::TokenExpired));
        assert_eq!(check(Some(T0 + 1), true, false, None, T0), Err(Refusal::TokenExpired), "ended, whatever the clock");
        assert_eq!(check(None, false, true, None, T0), Err(Refusal::KeyDisabled));
        assert_eq!(check(None, false, false, Some(T0), T0), Err(Refusal::KeyExpired));
        assert_eq!(check(None, false, false, Some(T0 + 1), T0), Ok(()));
        // An old token past its grace says so, whatever else holds.
        assert_eq!(check(Some(T0 - 1), false, true, Some(T0 - 1), T0), Err(Refusal::TokenExpired));
    }

    #[test]
    fn grace_periods() {
        assert_eq!(Grace::Now.ms(), 0);
        assert_eq!(Grace::OneDay.ms(), 86_400_000);
        for grace in Grace::ALL {
            assert_eq!(Grace::from_code(grace.code()), Some(grace));
        }
        assert_eq!(Grace::from_code("2d"), None);
    }

    #[test]
    fn dates_are_exact() {
        assert_eq!(parse_date("1970-01-01"), Some(0));
        assert_eq!(parse_date("2026-11-28"), Some(T0 / DAY_MS));
        assert_eq!(parse_date("2024-02-29"), Some(19_782));
        assert_eq!(parse_date("2023-02-29"), None);
        assert_eq!(parse_date("2100-02-29"), None);
        assert_eq!(parse_date("2000-02-29"), Some(11_016));
        for bad in ["", "2026-1-01", "2026-13-01", "2026-00-10", "2026-12-32", "26-12-01", "2026/12/01", "2026-12-01x"]
        {
            assert_eq!(parse_date(bad), None, "{bad}");
        }
    }

    #[test]
    fn expiry_choices() {
        assert_eq!(Expiry::parse("never", "").unwrap().resolve(T0), Ok(None));
        assert_eq!(Expiry::parse("30d", "").unwrap().resolve(T0), Ok(Some(T0 + 30 * DAY_MS)));
        assert_eq!(Expiry::parse("1y", "ignored").unwrap().resolve(T0), Ok(Some(T0 + 365 * DAY_MS)));
        assert_eq!(Expiry::parse("sometime", ""), Err(ExpiryError::Unknown));
        assert_eq!(Expiry::parse("date", "soon"), Err(ExpiryError::NotADate));
        // Today works through its end; yesterday is refused.
        let today = Expiry::parse("date", "2026-11-28").unwrap().resolve(T0).unwrap().unwrap();
        assert_eq!(today, (T0 / DAY_MS + 1) * DAY_MS);
        assert_eq!(Expiry::parse("date", "2026-11-27").unwrap().resolve(T0), Err(ExpiryError::Past));
        assert!(Expiry::parse("date", "2031-11-28").unwrap().resolve(T0).is_ok());
        assert_eq!(Expiry::parse("date", "2031-12-31").unwrap().resolve(T0), Err(ExpiryError::TooFar));
    }
}
