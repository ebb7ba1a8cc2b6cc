//! The rules of the product in plain Rust: no HTTP, no database, no Leptos.
//! Most of it runs on the server only; `roles` is shared with the browser,
//! which hides what a role cannot do in the same terms the server refuses it.

#[cfg(feature = "ssr")]
pub mod acl;
#[cfg(feature = "ssr")]
pub mod address;
#[cfg(feature = "ssr")]
pub mod crypto;
#[cfg(feature = "ssr")]
pub mod device;
#[cfg(feature = "ssr")]
pub mod lifecycle;
#[cfg(feature = "ssr")]
pub mod password;
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
