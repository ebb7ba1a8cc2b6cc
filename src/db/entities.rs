//! sea-orm entities: one table each, no behaviour (that lives in `service`).

pub mod account;
pub mod account_usage_day;
pub mod admin;
pub mod api_key;
pub mod api_key_token;
pub mod audit_entry;
pub mod invitation;
pub mod ip_acl;
pub mod key_address;
pub mod key_permission_hour;
pub mod key_refusal;
pub mod key_usage_day;
pub mod key_usage_hour;
pub mod key_usage_week;
pub mod known_browser;
pub mod rate_limit_count;
pub mod recovery_code;
pub mod session;
pub mod sign_in_challenge;
pub mod sign_in_throttle;
