//! The rules of the product in plain Rust: no HTTP, no database, no Leptos.

pub mod acl;
pub mod address;
pub mod crypto;
pub mod device;
pub mod lifecycle;
pub mod password;
pub mod session;
pub mod token;
pub mod usage;
pub mod validation;
