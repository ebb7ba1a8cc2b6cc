//! Files an admin downloads (the key list, the audit log) as CSV, RFC 4180
//! quoting by the `csv` crate.
//!
//! A cell an admin's spreadsheet would read as a formula (`=`, `+`, `-`,
//! `@`, or a tab or carriage return first) gets a leading `'`: a key named
//! `=HYPERLINK(…)` by one admin must not run in another admin's Excel
//! (OWASP, "CSV injection"). Nothing else is changed.

use std::borrow::Cow;

/// The header row of the API keys file.
pub const API_KEY_COLUMNS: [&str; 6] = ["name", "status", "IP ACL", "created", "last used", "expires"];
/// The header row of the audit log file.
pub const AUDIT_COLUMNS: [&str; 6] = ["time", "admin", "action", "key or ACL", "details", "client address"];

/// `value`, made safe to open in a spreadsheet.
pub fn cell(value: &str) -> Cow<'_, str> {
    match value.chars().next() {
        Some('=' | '+' | '-' | '@' | '\t' | '\r') => Cow::Owned(format!("'{value}")),
        _ => Cow::Borrowed(value),
    }
}

/// Writes rows of cells as CSV lines, each cell through [`cell`].
pub struct CsvLines {
    writer: csv::Writer<Vec<u8>>,
}

impl Default for CsvLines {
    fn default() -> Self {
        CsvLines { writer: new_writer() }
    }
}

fn new_writer() -> csv::Writer<Vec<u8>> {
    csv::WriterBuilder::new().terminator(csv::Terminator::CRLF).from_writer(Vec::new())
}

impl CsvLines {
    pub fn row<'a>(&mut self, cells: impl IntoIterator<Item = &'a str>) {
        // Writing to a Vec cannot fail.
        let _ = self.writer.write_record(cells.into_iter().map(|c| cell(c).into_owned()));
    }

    /// The lines written since the last call.
    pub fn take(&mut self) -> Vec<u8> {
        std::mem::replace(&mut self.writer, new_writer()).into_inner().unwrap_or_default()
    }
}

/// An ISO 8601 UTC time, as spreadsheets read it (`2026-12-07T09:30:00Z`); empty for none.
pub fn time(ms: Option<i64>) -> String {
    ms.and_then(chrono::DateTime::from_timestamp_millis)
        .map(|at| at.to_rfc3339_opts(chrono::SecondsFormat::Secs, true))
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formulas_are_defused_and_nothing_else_changes() {
        assert_eq!(cell("=HYPERLINK(\"http://x\")"), "'=HYPERLINK(\"http://x\")");
        assert_eq!(cell("+1"), "'+1");
        assert_eq!(cell("-2"), "'-2");
        assert_eq!(cell("@SUM(A1)"), "'@SUM(A1)");
        assert_eq!(cell("\tx"), "'\tx");
        assert_eq!(cell("Billing key"), "Billing key");
        assert_eq!(cell("a=b"), "a=b");
        assert_eq!(cell(""), "");
    }

    #[test]
    fn lines_are_quoted_as_rfc_4180_says() {
        let mut lines = CsvLines::default();
        lines.row(API_KEY_COLUMNS);
        lines.row(["Billing, \"prod\"", "Active", "Office", "", "", ""]);
        let text = String::from_utf8(lines.take()).unwrap();
        assert_eq!(
            text,
            "name,status,IP ACL,created,last used,expires\r\n\"Billing, \"\"prod\"\"\",Active,Office,,,\r\n"
        );
        assert!(lines.take().is_empty(), "what was taken is not given again");
    }

    #[test]
    fn times_are_utc() {
        assert_eq!(time(Some(1_765_099_800_000)), "2025-12-07T09:30:00Z");
        assert_eq!(time(None), "");
    }
}
