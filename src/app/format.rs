//! How the console writes times: in UTC, the same for every admin wherever
//! they sit, to the minute. The server sends raw milliseconds since the Unix
//! epoch; the page (server-rendered and hydrated alike) formats them here.

const DAY_MS: i64 = 24 * 60 * 60 * 1000;

/// `2026-11-28 04:00 UTC`.
pub fn utc_minute(ms: i64) -> String {
    let (days, in_day) = (ms.div_euclid(DAY_MS), ms.rem_euclid(DAY_MS));
    let (y, m, d) = civil_from_days(days);
    let minutes = in_day / 60_000;
    format!("{y:04}-{m:02}-{d:02} {:02}:{:02} UTC", minutes / 60, minutes % 60)
}

/// `2026-11-28 04:00:01 UTC`, for the audit log.
pub fn utc_second(ms: i64) -> String {
    let minute = utc_minute(ms);
    format!("{}:{:02} UTC", &minute[..minute.len() - 4], ms.rem_euclid(60_000) / 1000)
}

/// `2026-11-28`, as a date field holds it.
pub fn utc_date(ms: i64) -> String {
    let (y, m, d) = civil_from_days(ms.div_euclid(DAY_MS));
    format!("{y:04}-{m:02}-{d:02}")
}

/// Percent-encodes a query value (RFC 3986 unreserved characters stay as they are).
pub fn query_value(value: &str) -> String {
    let mut out = String::with_capacity(value.len());
    for byte in value.bytes() {
        if byte.is_ascii_alphanumeric() || matches!(byte, b'-' | b'_' | b'.' | b'~') {
            out.push(byte as char);
        } else {
            out.push_str(&format!("%{byte:02X}"));
        }
    }
    out
}

/// Howard Hinnant's `civil_from_days`: the Gregorian date of a day number.
fn civil_from_days(z: i64) -> (i64, i64, i64) {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    (yoe + era * 400 + i64::from(m <= 2), m, d)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn times_are_utc_to_the_minute() {
        assert_eq!(utc_minute(0), "1970-01-01 00:00 UTC");
        assert_eq!(utc_minute(1_795_838_400_000), "2026-11-28 04:00 UTC");
        assert_eq!(utc_minute(1_795_838_459_999), "2026-11-28 04:00 UTC");
        assert_eq!(utc_minute(951_782_400_000), "2000-02-29 00:00 UTC");
        assert_eq!(utc_date(1_795_838_400_000), "2026-11-28");
        assert_eq!(utc_second(1_795_838_401_999), "2026-11-28 04:00:01 UTC");
    }
}
