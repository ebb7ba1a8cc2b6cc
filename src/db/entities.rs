//! sea-orm entities: one table each, no behaviour (that lives in `service`).

pub mod account;
pub mod api_key;
pub mod ip_acl;
