//! IP access lists: which client addresses may use a key's token.
//!
//! Parsing uses `ipnet` (well-kept, used by reqwest and hickory) rather than our
//! own CIDR code; matching is a short linear scan, since a list holds at most
//! 100 entries and each comparison is a mask and an integer compare.

use ipnet::{IpNet, Ipv4Net, Ipv6Net};
use std::fmt;
use std::net::IpAddr;

pub const MAX_ENTRIES: usize = 100;
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
    TooMany(usize),
}

impl fmt::Display for AclProblem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            AclProblem::BadLine { line, text } => {
                write!(f, "line {line}: {text} is not an IPv4 or IPv6 address or CIDR")
            }
            AclProblem::MoreBadLines(n) => write!(f, "…and {n} more lines that are not addresses or CIDRs"),
            AclProblem::NoEntries => f.write_str("Enter at least one address or CIDR."),
            AclProblem::TooMany(n) => {
                write!(f, "At most {MAX_ENTRIES} entries are allowed; this list has {n}.")
            }
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
        let mut acl = Acl::default();
        let mut notices = Vec::new();
        let mut problems = Vec::new();
        let mut count = 0usize;
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
            if acl.contains_entry(&masked) {
                notices.push(format!("line {line}: {masked} repeats an earlier entry; removed"));
                continue;
            }
            count += 1;
            match masked {
                IpNet::V4(n) => acl.v4.push(n),
                IpNet::V6(n) => acl.v6.push(n),
            }
        }
        if unlisted > 0 {
            problems.push(AclProblem::MoreBadLines(unlisted));
        }
        if problems.is_empty() {
            if count == 0 {
                problems.push(AclProblem::NoEntries);
            } else if count > MAX_ENTRIES {
                problems.push(AclProblem::TooMany(count));
            }
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

    fn contains_entry(&self, net: &IpNet) -> bool {
        match net {
            IpNet::V4(n) => self.v4.contains(n),
            IpNet::V6(n) => self.v6.contains(n),
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
        let paste = format!("{}\n", "x".repeat(1000)).repeat(500);
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
        assert_eq!(Acl::parse(&hundred_and_one).unwrap_err(), vec![AclProblem::TooMany(101)]);
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
