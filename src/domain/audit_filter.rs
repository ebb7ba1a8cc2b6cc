//! The Audit Log's filters as the server applies them: one admin, one
//! action, a key or ACL name containing some text (ignoring case), and a
//! range of whole UTC days, both ends included. The page and the CSV
//! download send them as text from the URL; this checks that text.

use chrono::NaiveDate;

/// Longest text a filter takes (a key or ACL name is at most 100 characters).
pub const MAX_TEXT: usize = 200;
const DAY_MS: i64 = 24 * 60 * 60 * 1000;

/// What to select; `None` selects everything for that filter.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct AuditFilter {
    pub admin: Option<String>,
    /// An action's stored code; the caller checks that it names one.
    pub action: Option<String>,
    /// Lower-cased.
    pub contains: Option<String>,
    /// Milliseconds: from this instant (included) …
    pub since: Option<i64>,
    /// … to this one (excluded: the day after **To** begins).
    pub until: Option<i64>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum FilterError {
    #[error("From is not a date: write it as YYYY-MM-DD.")]
    BadFrom,
    #[error("To is not a date: write it as YYYY-MM-DD.")]
    BadTo,
    #[error("To is before From: no entry can be in that range.")]
    Reversed,
    #[error("A filter's text is too long: at most 200 characters.")]
    TooLong,
}

/// The filters as typed; blank means "any".
#[derive(Debug, Clone, Copy, Default)]
pub struct Typed<'a> {
    pub admin: &'a str,
    pub action: &'a str,
    pub contains: &'a str,
    pub from: &'a str,
    pub to: &'a str,
}

impl AuditFilter {
    pub fn parse(typed: Typed<'_>) -> Result<Self, FilterError> {
        let text = |value: &str| -> Result<Option<String>, FilterError> {
            let value = value.trim();
            match value.chars().count() {
                0 => Ok(None),
                n if n > MAX_TEXT => Err(FilterError::TooLong),
                _ => Ok(Some(value.to_owned())),
            }
        };
        let since = day(typed.from).map_err(|()| FilterError::BadFrom)?;
        let until = day(typed.to).map_err(|()| FilterError::BadTo)?.map(|start| start + DAY_MS);
        if let (Some(since), Some(until)) = (since, until)
            && until <= since
        {
            return Err(FilterError::Reversed);
        }
        Ok(AuditFilter {
            admin: text(typed.admin)?,
            action: text(typed.action)?,
            contains: text(typed.contains)?.map(|c| c.to_lowercase()),
            since,
            until,
        })
    }
}

/// The start of a UTC day written `YYYY-MM-DD`, in milliseconds; blank is `None`.
fn day(text: &str) -> Result<Option<i64>, ()> {
    let text = text.trim();
    if text.is_empty() {
        return Ok(None);
    }
    let date = NaiveDate::parse_from_str(text, "%Y-%m-%d").map_err(|_| ())?;
    let start = date.and_hms_opt(0, 0, 0).ok_or(())?.and_utc().timestamp_millis();
    Ok(Some(start))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn blank_filters_select_everything() {
        assert_eq!(AuditFilter::parse(Typed::default()), Ok(AuditFilter::default()));
        let spaces = Typed { admin: " ", action: "", contains: "  ", from: " ", to: "" };
        assert_eq!(AuditFilter::parse(spaces), Ok(AuditFilter::default()));
    }

    #[test]
    fn days_are_whole_utc_days_both_included() {
        let f = AuditFilter::parse(Typed { from: "2026-12-01", to: "2026-12-01", ..Typed::default() }).unwrap();
        assert_eq!(f.since, Some(1_796_083_200_000));
        assert_eq!(f.until, Some(1_796_083_200_000 + DAY_MS));
    }

    #[test]
    fn text_is_trimmed_and_contains_ignores_case() {
        let f = AuditFilter::parse(Typed { admin: " alice ", contains: "Billing KEY", ..Typed::default() }).unwrap();
        assert_eq!(f.admin.as_deref(), Some("alice"));
        assert_eq!(f.contains.as_deref(), Some("billing key"));
    }

    #[test]
    fn bad_input_names_the_problem() {
        let parse = |from, to| AuditFilter::parse(Typed { from, to, ..Typed::default() });
        assert_eq!(parse("yesterday", ""), Err(FilterError::BadFrom));
        assert_eq!(parse("", "2026-02-30"), Err(FilterError::BadTo));
        assert_eq!(parse("2026-12-02", "2026-12-01"), Err(FilterError::Reversed));
        let long = "x".repeat(MAX_TEXT + 1);
        assert_eq!(AuditFilter::parse(Typed { contains: &long, ..Typed::default() }), Err(FilterError::TooLong));
        assert!(AuditFilter::parse(Typed { contains: &"é".repeat(MAX_TEXT), ..Typed::default() }).is_ok());
    }
}
