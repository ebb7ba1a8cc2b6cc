//! The rules of the product in plain Rust: no HTTP, no database, no Leptos.
//! Most of it runs on the server only; `roles`, `permissions` and
//! `rate_limit` are shared with the browser, which offers and words them in
//! the same terms the server checks.

#[cfg(feature = "ssr")]
pub mod acl;
#[cfg(feature = "ssr")]
pub mod address;
#[cfg(feature = "ssr")]
pub mod audit_filter;
#[cfg(feature = "ssr")]
pub mod crypto;
#[cfg(feature = "ssr")]
pub mod device;
#[cfg(feature = "ssr")]
pub mod export;
#[cfg(feature = "ssr")]
pub mod lifecycle;
#[cfg(feature = "ssr")]
pub mod password;
pub mod permissions;
pub mod rate_limit;
#[cfg(feature = "ssr")]
pub mod recovery;
pub mod roles;
#[cfg(feature = "ssr")]
pub mod session;
#[cfg(feature = "ssr")]
pub mod token;
#[cfg(feature = "ssr")]
pub mod token_index;
#[cfg(feature = "ssr")]
pub mod totp;
#[cfg(feature = "ssr")]
pub mod usage;
#[cfg(feature = "ssr")]
pub mod user_agent;
#[cfg(feature = "ssr")]
pub mod validation;
