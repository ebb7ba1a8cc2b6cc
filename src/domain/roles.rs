//! Who may call what. Every server function the console exposes has one row
//! in [`RULES`]; the session guard reads it before the function runs, and a
//! function without a row is refused (and fails the test that walks them
//! all), so a new endpoint is closed until someone decides who may call it.
//!
//! Plain Rust, compiled for the browser too: the page hides what the role
//! cannot do, with the same words the server refuses it in.

use serde::{Deserialize, Serialize};

/// An admin's role in their account, weakest first (the order is used).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Role {
    /// Reads keys, IP ACLs, the team and the audit log.
    Viewer,
    /// Everything on API keys and IP ACLs, tokens included.
    Admin,
    /// Everything, the team and the account's security policy included.
    Owner,
}

impl Role {
    pub const ALL: [Role; 3] = [Role::Owner, Role::Admin, Role::Viewer];

    /// The stored form, and the value of the Role drop-down.
    pub fn code(self) -> &'static str {
        match self {
            Role::Viewer => "viewer",
            Role::Admin => "admin",
            Role::Owner => "owner",
        }
    }

    pub fn from_code(code: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|r| r.code() == code)
    }

    /// As the console writes it.
    pub fn label(self) -> &'static str {
        match self {
            Role::Viewer => "Viewer",
            Role::Admin => "Admin",
            Role::Owner => "Owner",
        }
    }

    /// Whether this role meets `need` (a signed-in need; see [`Need`]).
    pub fn may(self, need: Need) -> bool {
        match need {
            Need::Nobody | Need::SignedIn => true,
            Need::Manage => self >= Role::Admin,
            Need::Own => self == Role::Owner,
        }
    }

    /// Changes API keys and IP ACLs, and reveals tokens.
    pub fn manages_keys(self) -> bool {
        self.may(Need::Manage)
    }

    /// Changes the team and the account's policy.
    pub fn owns(self) -> bool {
        self.may(Need::Own)
    }
}

/// What a server function asks of its caller.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Need {
    /// Anyone, signed in or not: signing in, the second step, joining.
    Nobody,
    /// Any signed-in admin: reading, and their own password, two-factor and sessions.
    SignedIn,
    /// Admin or Owner: changing API keys and IP ACLs, showing tokens.
    Manage,
    /// Owner: the team and the account's policy.
    Own,
}

/// One server function's row.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Rule {
    /// The server function's endpoint (its path is `/rpc/<endpoint>`).
    pub endpoint: &'static str,
    pub need: Need,
    /// Needs a recent proof of identity (password or code): "Confirm access".
    pub confirm: bool,
    /// Allowed to an admin who must set up two-factor authentication first
    /// (the account requires it): everything else waits until it is on.
    pub before_two_factor: bool,
}

const fn rule(endpoint: &'static str, need: Need) -> Rule {
    Rule { endpoint, need, confirm: false, before_two_factor: false }
}

const fn confirmed(endpoint: &'static str, need: Need) -> Rule {
    Rule { endpoint, need, confirm: true, before_two_factor: false }
}

const fn setup(endpoint: &'static str, need: Need) -> Rule {
    Rule { endpoint, need, confirm: false, before_two_factor: true }
}

/// Setting two-factor up needs a fresh proof too, or a stolen session could
/// turn it on with its own secret and then confirm access with its codes.
/// Signing in is a proof, so an admin sent to set it up is within the window.
const fn confirmed_setup(endpoint: &'static str, need: Need) -> Rule {
    Rule { endpoint, need, confirm: true, before_two_factor: true }
}

use Need::{Manage, Nobody, Own, SignedIn};

/// The table. Reading is open to every role; changing keys and ACLs and
/// showing tokens to Admins and Owners; the team and the policy to Owners.
pub const RULES: &[Rule] = &[
    // Signing in and out, joining.
    rule("sign_in", Nobody),
    rule("verify_two_factor", Nobody),
    rule("invitation_details", Nobody),
    setup("sign_out", SignedIn),
    setup("current_admin", SignedIn),
    setup("confirm_access", SignedIn),
    // API keys.
    rule("list_api_keys", SignedIn),
    rule("api_key_details", SignedIn),
    rule("keys_needing_attention", SignedIn),
    rule("overview", SignedIn),
    rule("create_api_key", Manage),
    rule("update_api_key", Manage),
    rule("set_api_key_enabled", Manage),
    rule("lock_api_key_to_addresses", Manage),
    rule("restrict_api_key", Manage),
    confirmed("reveal_api_key", Manage),
    confirmed("roll_api_key", Manage),
    confirmed("delete_api_key", Manage),
    // IP ACLs.
    rule("list_ip_acls", SignedIn),
    rule("create_ip_acl", Manage),
    rule("update_ip_acl", Manage),
    rule("delete_ip_acl", Manage),
    // Audit log.
    rule("list_audit_log", SignedIn),
    // The team.
    rule("list_team", SignedIn),
    confirmed("invite_admin", Own),
    rule("cancel_invitation", Own),
    confirmed("change_admin_role", Own),
    confirmed("remove_admin", Own),
    confirmed("set_require_two_factor", Own),
    // The admin's own security.
    setup("security_settings", SignedIn),
    confirmed_setup("begin_two_factor_setup", SignedIn),
    confirmed_setup("turn_on_two_factor", SignedIn),
    // Asks for the current password itself.
    rule("change_password", SignedIn),
    confirmed("new_recovery_codes", SignedIn),
    // Asks for the password, and a recent proof: the code when two-factor is on.
    confirmed("turn_off_two_factor", SignedIn),
    rule("end_session", SignedIn),
    rule("end_other_sessions", SignedIn),
];

/// The row of an endpoint, if it has one.
pub fn rule_for(endpoint: &str) -> Option<&'static Rule> {
    RULES.iter().find(|rule| rule.endpoint == endpoint)
}

/// Why a signed-in caller may not call an endpoint.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Refused {
    /// No row: nobody may call it.
    Unlisted,
    /// The role is too weak.
    Role(Role),
    /// Two-factor authentication must be set up first.
    TwoFactorSetup,
    /// A recent proof of identity is needed.
    ConfirmAccess,
}

/// What the caller of `endpoint` is, as the guard knows it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Standing {
    pub role: Role,
    /// The account requires two-factor authentication and this admin has not set it up.
    pub must_set_up_two_factor: bool,
    /// The session proved who it is (signed in, or confirmed access) recently enough.
    pub recently_proved: bool,
}

/// Decides a signed-in call; the checks go from what cannot be fixed to what
/// can (a role says more than "confirm your password first").
pub fn decide(endpoint: &str, standing: Standing) -> Result<&'static Rule, Refused> {
    let rule = rule_for(endpoint).ok_or(Refused::Unlisted)?;
    if !standing.role.may(rule.need) {
        return Err(Refused::Role(standing.role));
    }
    if standing.must_set_up_two_factor && !rule.before_two_factor {
        return Err(Refused::TwoFactorSetup);
    }
    if rule.confirm && !standing.recently_proved {
        return Err(Refused::ConfirmAccess);
    }
    Ok(rule)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn standing(role: Role) -> Standing {
        Standing { role, must_set_up_two_factor: false, recently_proved: true }
    }

    #[test]
    fn every_endpoint_has_one_row() {
        let mut seen = std::collections::HashSet::new();
        for rule in RULES {
            assert!(seen.insert(rule.endpoint), "{} twice", rule.endpoint);
        }
    }

    #[test]
    fn roles_are_ordered_and_round_trip() {
        assert!(Role::Viewer < Role::Admin && Role::Admin < Role::Owner);
        for role in Role::ALL {
            assert_eq!(Role::from_code(role.code()), Some(role));
        }
        assert_eq!(Role::from_code("root"), None);
    }

    #[test]
    fn viewers_read_admins_manage_keys_owners_the_team() {
        assert!(decide("list_api_keys", standing(Role::Viewer)).is_ok());
        assert_eq!(decide("create_api_key", standing(Role::Viewer)), Err(Refused::Role(Role::Viewer)));
        assert_eq!(decide("reveal_api_key", standing(Role::Viewer)), Err(Refused::Role(Role::Viewer)));
        assert!(decide("create_api_key", standing(Role::Admin)).is_ok());
        assert_eq!(decide("invite_admin", standing(Role::Admin)), Err(Refused::Role(Role::Admin)));
        assert!(decide("invite_admin", standing(Role::Owner)).is_ok());
        assert!(decide("change_password", standing(Role::Viewer)).is_ok());
        assert_eq!(decide("no_such_function", standing(Role::Owner)), Err(Refused::Unlisted));
    }

    #[test]
    fn confirm_access_and_two_factor_setup_come_after_the_role() {
        let stale = Standing { recently_proved: false, ..standing(Role::Admin) };
        assert_eq!(decide("roll_api_key", stale), Err(Refused::ConfirmAccess));
        assert!(decide("update_api_key", stale).is_ok());
        let viewer = Standing { recently_proved: false, ..standing(Role::Viewer) };
        assert_eq!(decide("roll_api_key", viewer), Err(Refused::Role(Role::Viewer)));
        let setting_up = Standing { must_set_up_two_factor: true, ..standing(Role::Owner) };
        assert_eq!(decide("list_api_keys", setting_up), Err(Refused::TwoFactorSetup));
        assert!(decide("turn_on_two_factor", setting_up).is_ok());
        let stale_setup = Standing { recently_proved: false, ..setting_up };
        assert_eq!(decide("turn_on_two_factor", stale_setup), Err(Refused::ConfirmAccess));
        assert!(decide("sign_out", setting_up).is_ok());
    }
}
