//! IP access lists: which client addresses may use a key's token.
//!
//! Parsing uses `ipnet` (well-kept, used by reqwest and hickory) rather than our
//! own CIDR code; matching is a short linear scan, since a list holds at most
//! 100 entries and each comparison is a mask and an integer compare.
//!
//! The parser's work is bounded whatever is pasted: the text is refused
//! unread past [`MAX_TEXT_BYTES`], and parsing stops at the 101st entry, so a
//! megabyte of valid addresses costs microseconds, not seconds.

use ipnet::{IpNet, Ipv4Net, Ipv6Net};
use std::collections::HashSet;
use std::fmt;
use std::net::IpAddr;

pub const MAX_ENTRIES: usize = 100;
/// Room for 100 of the longest entries, each with a long comment, plus
/// comment-only lines: 100 × (43 + 200) bytes is about 24 KiB.
pub const MAX_TEXT_BYTES: usize = 32 * 1024;
/// How many bad lines are reported, and how much of each is echoed back.
pub const MAX_REPORTED: usize = 20;
const MAX_ECHO_CHARS: usize = 60;

/// One refused line of the admin's text, numbered from 1 as the text area shows it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AclProblem {
    BadLine {
        line: usize,
        text: String,
    },
    /// Bad lines past the first [`MAX_REPORTED`], counted rather than listed.
    MoreBadLines(usize),
    NoEntries,
    /// More than [`MAX_ENTRIES`]; parsing stopped at the first one too many.
    TooMany,
    /// The text itself is longer than [`MAX_TEXT_BYTES`]; it was not read.
    TooLong(usize),
}

impl fmt::Display for AclProblem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            AclProblem::BadLine { line, text } => {
                write!(f, "line {line}: {text} is not an IPv4 or IPv6 address or CIDR")
            }
            AclProblem::MoreBadLines(n) => write!(f, "…and {n} more lines that are not addresses or CIDRs"),
            AclProblem::NoEntries => f.write_str("Enter at least one address or CIDR."),
            AclProblem::TooMany => {
                write!(f, "At most {MAX_ENTRIES} entries are allowed; this list has more.")
            }
            AclProblem::TooLong(bytes) => write!(
                f,
                "The list is too long: at most {} KiB of text, this one has {} KiB.",
                MAX_TEXT_BYTES / 1024,
                bytes.div_ceil(1024)
            ),
        }
    }
}

/// A parsed list plus what was changed on the way, so the admin can be told.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Parsed {
    pub acl: Acl,
    pub notices: Vec<String>,
}

/// A validated, de-duplicated list of networks with host bits cleared.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Acl {
    v4: Vec<Ipv4Net>,
    v6: Vec<Ipv6Net>,
}

impl Acl {
    /// Parses the admin's text: one address or CIDR per line, `#` starts a comment.
    /// Every bad line is reported (the first [`MAX_REPORTED`] by number), not just the first.
    pub fn parse(text: &str) -> Result<Parsed, Vec<AclProblem>> {
        if text.len() > MAX_TEXT_BYTES {
            return Err(vec![AclProblem::TooLong(text.len())]);
        }
        let mut acl = Acl::default();
        let mut seen = HashSet::new();
        let mut notices = Vec::new();
        let mut problems = Vec::new();
        let mut unlisted = 0usize;
        for (index, raw) in text.lines().enumerate() {
            let line = index + 1;
            let entry = raw.split('#').next().unwrap_or("").trim();
            if entry.is_empty() {
                continue;
            }
            let Some(net) = parse_entry(entry) else {
                if problems.len() < MAX_REPORTED {
                    problems.push(AclProblem::BadLine { line, text: echo(entry) });
                } else {
                    unlisted += 1;
                }
                continue;
            };
            let masked = net.trunc();
            if masked != net {
                notices.push(format!("line {line}: {entry} has host bits set; stored as {masked}"));
            }
            if !seen.insert(masked) {
                notices.push(format!("line {line}: {masked} repeats an earlier entry; removed"));
                continue;
            }
            if seen.len() > MAX_ENTRIES {
                return Err(vec![AclProblem::TooMany]);
            }
            match masked {
                IpNet::V4(n) => acl.v4.push(n),
                IpNet::V6(n) => acl.v6.push(n),
            }
        }
        if unlisted > 0 {
            problems.push(AclProblem::MoreBadLines(unlisted));
        }
        if problems.is_empty() && acl.is_empty() {
            problems.push(AclProblem::NoEntries);
        }
        if problems.is_empty() { Ok(Parsed { acl, notices }) } else { Err(problems) }
    }

    /// Reads the canonical form written by [`Acl::to_stored`]; anything it cannot
    /// read is a corrupted row, and the caller refuses access rather than guess.
    pub fn from_stored(stored: &str) -> Option<Self> {
        let parsed = Acl::parse(stored).ok()?;
        parsed.notices.is_empty().then_some(parsed.acl)
    }

    /// One CIDR per line, IPv4 first, in the admin's order.
    pub fn to_stored(&self) -> String {
        self.entries().map(|n| n.to_string()).collect::<Vec<_>>().join("\n")
    }

    pub fn entries(&self) -> impl Iterator<Item = IpNet> + '_ {
        self.v4.iter().copied().map(IpNet::V4).chain(self.v6.iter().copied().map(IpNet::V6))
    }

    pub fn len(&self) -> usize {
        self.v4.len() + self.v6.len()
    }

    /// Lets every IPv4 and every IPv6 address through (`0.0.0.0/0` and `::/0`).
    pub fn allows_any(&self) -> bool {
        let any = |v4: bool| self.entries().any(|net| net.prefix_len() == 0 && matches!(net, IpNet::V4(_)) == v4);
        any(true) && any(false)
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Does the list admit this client? An IPv4-mapped IPv6 address
    /// (`::ffff:192.0.2.1`, what a dual-stack socket reports) is matched as IPv4 too.
    pub fn allows(&self, ip: IpAddr) -> bool {
        match ip {
            IpAddr::V4(v4) => self.v4.iter().any(|n| n.contains(&v4)),
            IpAddr::V6(v6) => {
                v6.to_ipv4_mapped().is_some_and(|v4| self.v4.iter().any(|n| n.contains(&v4)))
                    || self.v6.iter().any(|n| n.contains(&v6))
            }
        }
    }
}

/// A refused line as the message quotes it: long pastes are cut short.
fn echo(entry: &str) -> String {
    match entry.char_indices().nth(MAX_ECHO_CHARS) {
        Some((cut, _)) => format!("{}…", &entry[..cut]),
        None => entry.to_owned(),
    }
}

/// A CIDR, or a bare address meaning exactly that host.
fn parse_entry(entry: &str) -> Option<IpNet> {
    if entry.contains('/') { entry.parse::<IpNet>().ok() } else { entry.parse::<IpAddr>().ok().map(IpNet::from) }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn acl(text: &str) -> Acl {
        Acl::parse(text).unwrap().acl
    }

    fn ip(s: &str) -> IpAddr {
        s.parse().unwrap()
    }

    #[test]
    fn ipv4_cidr_and_single_host() {
        let a = acl("10.0.0.0/8\n192.0.2.7");
        assert!(a.allows(ip("10.255.1.2")));
        assert!(a.allows(ip("192.0.2.7")));
        assert!(!a.allows(ip("192.0.2.8")));
        assert!(!a.allows(ip("11.0.0.1")));
    }

    #[test]
    fn slash_32_and_slash_128_are_exact() {
        let a = acl("127.0.0.2/32\n2001:db8::1/128");
        assert!(a.allows(ip("127.0.0.2")));
        assert!(!a.allows(ip("127.0.0.1")));
        assert!(a.allows(ip("2001:db8::1")));
        assert!(!a.allows(ip("2001:db8::2")));
    }

    #[test]
    fn ipv6_ranges() {
        let a = acl("2001:db8::/32");
        assert!(a.allows(ip("2001:db8:ffff::1")));
        assert!(!a.allows(ip("2001:db9::1")));
        assert!(!a.allows(ip("10.0.0.1")));
    }

    #[test]
    fn slash_zero_admits_everything_of_its_family() {
        let v4 = acl("0.0.0.0/0");
        assert!(v4.allows(ip("203.0.113.9")));
        assert!(!v4.allows(ip("2001:db8::1")));
        let both = acl("0.0.0.0/0\n::/0");
        assert!(both.allows(ip("2001:db8::1")));
        assert!(both.allows(ip("1.2.3.4")));
    }

    #[test]
    fn ipv4_mapped_ipv6_matches_ipv4_entries() {
        let a = acl("192.0.2.0/24");
        assert!(a.allows(ip("::ffff:192.0.2.10")));
        assert!(!a.allows(ip("::ffff:198.51.100.1")));
    }

    #[test]
    fn host_bits_are_masked_and_reported() {
        let parsed = Acl::parse("10.1.2.3/8").unwrap();
        assert_eq!(parsed.acl.to_stored(), "10.0.0.0/8");
        assert_eq!(parsed.notices, vec!["line 1: 10.1.2.3/8 has host bits set; stored as 10.0.0.0/8"]);
    }

    #[test]
    fn comments_blank_lines_and_duplicates() {
        let parsed = Acl::parse("# office\n\n10.0.0.0/8 # vpn\n10.0.0.0/8\n  ::1  ").unwrap();
        assert_eq!(parsed.acl.to_stored(), "10.0.0.0/8\n::1/128");
        assert_eq!(parsed.notices.len(), 1);
        assert!(parsed.notices[0].starts_with("line 4:"));
    }

    #[test]
    fn every_bad_line_is_named_with_its_number() {
        let problems = Acl::parse("10.0.0.0/8\n# fine\n10.0.0.300/24\nexample.com\n10.0.0.0/33").unwrap_err();
        let messages: Vec<String> = problems.iter().map(ToString::to_string).collect();
        assert_eq!(
            messages,
            vec![
                "line 3: 10.0.0.300/24 is not an IPv4 or IPv6 address or CIDR",
                "line 4: example.com is not an IPv4 or IPv6 address or CIDR",
                "line 5: 10.0.0.0/33 is not an IPv4 or IPv6 address or CIDR",
            ]
        );
    }

    #[test]
    fn a_huge_bad_paste_gives_a_short_answer() {
        let paste = format!("{}\n", "x".repeat(61)).repeat(500);
        assert!(paste.len() <= MAX_TEXT_BYTES);
        let problems = Acl::parse(&paste).unwrap_err();
        assert_eq!(problems.len(), MAX_REPORTED + 1);
        assert!(problems[0].to_string().len() < 150, "{}", problems[0]);
        assert_eq!(problems[MAX_REPORTED], AclProblem::MoreBadLines(480));
    }

    #[test]
    fn at_least_one_entry() {
        assert_eq!(Acl::parse("# nothing\n\n").unwrap_err(), vec![AclProblem::NoEntries]);
    }

    #[test]
    fn at_most_one_hundred_entries() {
        let hundred: String = (0..100).map(|i| format!("10.0.{i}.0/24\n")).collect();
        assert_eq!(Acl::parse(&hundred).unwrap().acl.len(), 100);
        let hundred_and_one = format!("{hundred}10.1.0.0/24");
        assert_eq!(Acl::parse(&hundred_and_one).unwrap_err(), vec![AclProblem::TooMany]);
        // Repeats are not entries: a hundred distinct ones written twice is fine.
        assert_eq!(Acl::parse(&format!("{hundred}{hundred}")).unwrap().acl.len(), 100);
    }

    /// A paste of valid distinct addresses used to be parsed whole, comparing
    /// each entry with every earlier one: seconds for a couple of megabytes.
    #[test]
    fn a_huge_paste_of_valid_addresses_is_refused_without_reading_it() {
        let paste: String =
            (0..100_000u32).map(|i| format!("{}\n", std::net::Ipv4Addr::from(0x0a00_0000 + i))).collect();
        assert!(paste.len() > 1024 * 1024);
        assert_eq!(Acl::parse(&paste).unwrap_err(), vec![AclProblem::TooLong(paste.len())]);
        // Just under the byte limit, parsing still stops at the 101st entry.
        let fits: String = paste.lines().take(2000).map(|l| format!("{l}\n")).collect();
        assert!(fits.len() <= MAX_TEXT_BYTES);
        assert_eq!(Acl::parse(&fits).unwrap_err(), vec![AclProblem::TooMany]);
    }

    #[test]
    fn stored_form_round_trips() {
        let a = acl("2001:db8::/32\n10.0.0.0/8");
        let stored = a.to_stored();
        assert_eq!(stored, "10.0.0.0/8\n2001:db8::/32");
        assert_eq!(Acl::from_stored(&stored), Some(a));
        assert_eq!(Acl::from_stored("not an acl"), None);
    }
}

#[cfg(test)]
mod properties {
    use super::*;
    use ipnet::{Ipv4Net, Ipv6Net};
    use proptest::prelude::*;
    use std::net::{Ipv4Addr, Ipv6Addr};

    fn net() -> impl Strategy<Value = IpNet> {
        prop_oneof![
            (any::<u32>(), 0u8..=32).prop_map(|(a, len)| IpNet::V4(Ipv4Net::new(Ipv4Addr::from(a), len).unwrap())),
            (any::<u128>(), 0u8..=128).prop_map(|(a, len)| IpNet::V6(Ipv6Net::new(Ipv6Addr::from(a), len).unwrap())),
        ]
    }

    fn address() -> impl Strategy<Value = IpAddr> {
        prop_oneof![
            any::<u32>().prop_map(|a| IpAddr::from(Ipv4Addr::from(a))),
            any::<u128>().prop_map(|a| IpAddr::from(Ipv6Addr::from(a)))
        ]
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(10_000))]

        /// Whatever is pasted, the parser answers; it never panics.
        #[test]
        fn any_text_gets_an_answer(text in prop_oneof![any::<String>(), "[0-9a-fA-F:./# \\n\\t]{0,300}"]) {
            let _ = Acl::parse(&text);
        }

        /// A parsed list, written out and parsed again, is the same set of networks
        /// as the admin's entries with their host bits cleared.
        #[test]
        fn stored_lists_parse_back_to_the_same_set(
            nets in prop::collection::vec(net(), 1..=40),
            comment in "[a-z ]{0,20}",
        ) {
            let text: String = nets.iter().map(|n| format!("{n} # {comment}\n")).collect();
            let parsed = Acl::parse(&text).unwrap();
            let expected: HashSet<IpNet> = nets.iter().map(IpNet::trunc).collect();
            prop_assert_eq!(parsed.acl.entries().collect::<HashSet<_>>(), expected);
            let again = Acl::parse(&parsed.acl.to_stored()).unwrap();
            prop_assert_eq!(&again.acl, &parsed.acl);
            prop_assert!(again.notices.is_empty());
            prop_assert_eq!(Acl::from_stored(&parsed.acl.to_stored()), Some(parsed.acl));
        }

        /// `allows` agrees with `ipnet`'s own containment, entry by entry.
        #[test]
        fn allows_is_membership(nets in prop::collection::vec(net(), 1..=20), ip in address()) {
            let text: String = nets.iter().map(|n| format!("{n}\n")).collect();
            let acl = Acl::parse(&text).unwrap().acl;
            let mapped = match ip { IpAddr::V6(v6) => v6.to_ipv4_mapped().map(IpAddr::V4), IpAddr::V4(_) => None };
            let expected = nets.iter().any(|n| n.contains(&ip) || mapped.is_some_and(|m| n.contains(&m)));
            prop_assert_eq!(acl.allows(ip), expected);
        }
    }

    #[test]
    fn any_address_means_both_families() {
        let parsed = |text: &str| Acl::parse(text).unwrap().acl;
        assert!(parsed("0.0.0.0/0\n::/0").allows_any());
        assert!(!parsed("0.0.0.0/0").allows_any(), "IPv6 is still refused");
        assert!(!parsed("10.0.0.0/8\n::/0").allows_any());
    }
}
