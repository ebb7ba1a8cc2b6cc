//! What a key may do on the TextPeak API: one catalogue of permissions, the
//! resources the console groups them by (None / Read / Write per resource,
//! as Stripe's restricted keys), and a key's set of them. A key without a
//! set has full access, as every key had before restricted keys existed.
//!
//! Plain Rust, compiled for the browser too: the Add and Edit dialogs draw
//! their grid from the same catalogue the API checks against.

use serde::{Deserialize, Serialize};
use std::fmt;

/// One thing a key may be allowed to do.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Permission {
    SmsSend,
    SmsRead,
    InboundRead,
    NumbersRead,
    NumbersWrite,
    UsageRead,
}

impl Permission {
    pub const ALL: [Permission; 6] = [
        Permission::SmsSend,
        Permission::SmsRead,
        Permission::InboundRead,
        Permission::NumbersRead,
        Permission::NumbersWrite,
        Permission::UsageRead,
    ];

    /// As the API and the services name it.
    pub fn code(self) -> &'static str {
        match self {
            Permission::SmsSend => "sms:send",
            Permission::SmsRead => "sms:read",
            Permission::InboundRead => "inbound:read",
            Permission::NumbersRead => "numbers:read",
            Permission::NumbersWrite => "numbers:write",
            Permission::UsageRead => "usage:read",
        }
    }

    /// In words, for hover text and screen readers.
    pub fn words(self) -> &'static str {
        match self {
            Permission::SmsSend => "send SMS",
            Permission::SmsRead => "read sent messages and delivery reports",
            Permission::InboundRead => "read messages received",
            Permission::NumbersRead => "read phone numbers",
            Permission::NumbersWrite => "change phone numbers",
            Permission::UsageRead => "read usage",
        }
    }

    pub fn from_code(code: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|p| p.code() == code)
    }

    fn bit(self) -> u8 {
        1 << (self as u8)
    }
}

/// The console's rows: a resource and the access levels it offers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Resource {
    Sms,
    Inbound,
    Numbers,
    Usage,
}

/// One row's choice.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Level {
    None,
    Read,
    Write,
}

impl Level {
    pub fn label(self) -> &'static str {
        match self {
            Level::None => "None",
            Level::Read => "Read",
            Level::Write => "Write",
        }
    }

    pub fn code(self) -> &'static str {
        match self {
            Level::None => "none",
            Level::Read => "read",
            Level::Write => "write",
        }
    }
}

impl Resource {
    pub const ALL: [Resource; 4] = [Resource::Sms, Resource::Inbound, Resource::Numbers, Resource::Usage];

    pub fn label(self) -> &'static str {
        match self {
            Resource::Sms => "SMS",
            Resource::Inbound => "Inbound messages",
            Resource::Numbers => "Phone numbers",
            Resource::Usage => "Usage",
        }
    }

    pub fn code(self) -> &'static str {
        match self {
            Resource::Sms => "sms",
            Resource::Inbound => "inbound",
            Resource::Numbers => "numbers",
            Resource::Usage => "usage",
        }
    }

    /// The levels the resource offers (None first).
    pub fn levels(self) -> &'static [Level] {
        match self {
            Resource::Sms | Resource::Numbers => &[Level::None, Level::Read, Level::Write],
            Resource::Inbound | Resource::Usage => &[Level::None, Level::Read],
        }
    }

    /// What a level grants: Write includes Read.
    pub fn grants(self, level: Level) -> &'static [Permission] {
        use Permission::*;
        match (self, level) {
            (_, Level::None) => &[],
            (Resource::Sms, Level::Read) => &[SmsRead],
            (Resource::Sms, Level::Write) => &[SmsRead, SmsSend],
            (Resource::Inbound, _) => &[InboundRead],
            (Resource::Numbers, Level::Read) => &[NumbersRead],
            (Resource::Numbers, Level::Write) => &[NumbersRead, NumbersWrite],
            (Resource::Usage, _) => &[UsageRead],
        }
    }

    /// The level a set of permissions amounts to for this resource.
    pub fn level_in(self, scopes: Scopes) -> Level {
        self.levels()
            .iter()
            .rev()
            .copied()
            .find(|level| *level != Level::None && self.grants(*level).iter().all(|p| scopes.has(*p)))
            .unwrap_or(Level::None)
    }
}

/// A set of permissions, as bits: cheap to keep in the token cache and to test.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
pub struct Scopes(u8);

impl Scopes {
    pub const FULL: Scopes = Scopes(0b11_1111);

    pub fn of(permissions: impl IntoIterator<Item = Permission>) -> Self {
        Scopes(permissions.into_iter().fold(0, |bits, p| bits | p.bit()))
    }

    pub fn has(self, permission: Permission) -> bool {
        self.0 & permission.bit() != 0
    }

    pub fn is_empty(self) -> bool {
        self.0 == 0
    }

    pub fn iter(self) -> impl Iterator<Item = Permission> {
        Permission::ALL.into_iter().filter(move |p| self.has(*p))
    }

    pub fn bits(self) -> u8 {
        self.0
    }

    /// `sms:send,sms:read` (the stored form of a restricted key).
    pub fn to_codes(self) -> String {
        self.iter().map(Permission::code).collect::<Vec<_>>().join(",")
    }

    /// The permissions in words, for hover text.
    pub fn words(self) -> String {
        self.iter().map(Permission::words).collect::<Vec<_>>().join(", ")
    }
}

/// What a key may do: everything (the default), or a non-empty set.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
pub enum Access {
    #[default]
    Full,
    Restricted(Scopes),
}

impl Access {
    pub fn scopes(self) -> Scopes {
        match self {
            Access::Full => Scopes::FULL,
            Access::Restricted(scopes) => scopes,
        }
    }

    pub fn allows(self, permission: Permission) -> bool {
        self.scopes().has(permission)
    }

    /// The stored form: `None` for full access.
    pub fn to_stored(self) -> Option<String> {
        match self {
            Access::Full => None,
            Access::Restricted(scopes) => Some(scopes.to_codes()),
        }
    }

    pub fn from_stored(stored: Option<&str>) -> Access {
        match stored {
            None => Access::Full,
            // A stored list this build cannot read grants only what it can.
            Some(codes) => Access::Restricted(Scopes::of(codes.split(',').filter_map(Permission::from_code))),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AccessError {
    UnknownPermission(String),
    NoneChosen,
    /// The request listed more than there are permissions (a flood, not a mistake).
    TooLong,
}

impl fmt::Display for AccessError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            AccessError::UnknownPermission(name) => {
                let shown: String = name.chars().take(40).collect();
                write!(f, "There is no permission named \u{201c}{shown}\u{201d}.")
            }
            AccessError::NoneChosen => f.write_str("A restricted key needs at least one permission: choose Read or Write for one resource, or Full access."),
            AccessError::TooLong => f.write_str("That list of permissions is too long."),
        }
    }
}

/// Reads the form's choice: `full` (or nothing), or a comma-separated list
/// of codes. `none` or an empty list is a restricted key with nothing
/// chosen, not full access: a grid left at None must not grant everything.
pub fn parse(choice: Option<&str>) -> Result<Access, AccessError> {
    let Some(choice) = choice.map(str::trim).filter(|c| *c != "full") else {
        return Ok(Access::Full);
    };
    if choice == "none" {
        return Err(AccessError::NoneChosen);
    }
    if choice.len() > 200 {
        return Err(AccessError::TooLong);
    }
    let mut scopes = Scopes::default();
    for code in choice.split(',').map(str::trim).filter(|c| !c.is_empty()) {
        let permission = Permission::from_code(code).ok_or_else(|| AccessError::UnknownPermission(code.to_owned()))?;
        scopes = Scopes(scopes.0 | permission.bit());
    }
    if scopes.is_empty() {
        return Err(AccessError::NoneChosen);
    }
    Ok(Access::Restricted(scopes))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_round_trip_and_are_the_catalogue() {
        let codes: Vec<&str> = Permission::ALL.iter().map(|p| p.code()).collect();
        assert_eq!(codes, ["sms:send", "sms:read", "inbound:read", "numbers:read", "numbers:write", "usage:read"]);
        for p in Permission::ALL {
            assert_eq!(Permission::from_code(p.code()), Some(p));
        }
        assert_eq!(Permission::from_code("sms:delete"), None);
    }

    #[test]
    fn write_includes_read_and_levels_come_back() {
        let sms_write = Scopes::of(Resource::Sms.grants(Level::Write).iter().copied());
        assert!(sms_write.has(Permission::SmsSend) && sms_write.has(Permission::SmsRead));
        assert!(!sms_write.has(Permission::NumbersRead));
        assert_eq!(Resource::Sms.level_in(sms_write), Level::Write);
        assert_eq!(Resource::Numbers.level_in(sms_write), Level::None);
        assert_eq!(
            Resource::Sms.level_in(Scopes::of([Permission::SmsSend])),
            Level::None,
            "send without read is no level"
        );
        assert_eq!(Resource::Usage.levels(), &[Level::None, Level::Read]);
    }

    #[test]
    fn the_form_is_read_strictly() {
        assert_eq!(parse(None), Ok(Access::Full));
        assert_eq!(parse(Some("full")), Ok(Access::Full));
        let restricted = parse(Some("sms:send, sms:read")).unwrap();
        assert_eq!(restricted.to_stored().as_deref(), Some("sms:send,sms:read"));
        assert_eq!(Access::from_stored(restricted.to_stored().as_deref()), restricted);
        assert!(restricted.allows(Permission::SmsSend) && !restricted.allows(Permission::UsageRead));
        assert_eq!(parse(Some("sms:fly")), Err(AccessError::UnknownPermission("sms:fly".into())));
        assert_eq!(parse(Some(",")), Err(AccessError::NoneChosen));
        assert_eq!(parse(Some("")), Err(AccessError::NoneChosen), "an empty grid is not full access");
        assert_eq!(parse(Some("none")), Err(AccessError::NoneChosen));
        assert_eq!(parse(Some(&"sms:send,".repeat(100_000))), Err(AccessError::TooLong));
        assert!(Access::Full.allows(Permission::NumbersWrite));
        assert_eq!(Access::from_stored(None), Access::Full);
    }
}
