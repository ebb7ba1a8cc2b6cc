//! The console's use cases: what each server function does once the request
//! has been let in. Each checks its input, calls `db::service`, sends what it
//! changed through `changes`, and says what failed in the admin's words.

pub mod api_keys;
pub mod audit_log;
pub mod auth;
pub mod export;
pub mod ip_acls;
pub mod key_insight;
pub mod overview;
pub mod security;
pub mod team;
pub mod throttle;

/// Times in audit details are written in UTC, the same for every admin
/// wherever they sit: to the minute.
pub fn format_minute(ms: i64) -> String {
    chrono::DateTime::from_timestamp_millis(ms).map(|t| t.format("%Y-%m-%d %H:%M UTC").to_string()).unwrap_or_default()
}

#[cfg(test)]
mod tests {
    #[test]
    fn times_are_utc() {
        assert_eq!(super::format_minute(0), "1970-01-01 00:00 UTC");
        assert_eq!(super::format_minute(1_795_838_400_000), "2026-11-28 04:00 UTC");
    }
}
