//! Integration tests: the console over HTTP on loopback, and the `textpeak`
//! binary as an operator runs it. One test binary for all of them, because
//! each binary of a Leptos crate costs a long link and a lot of disk.

mod api_keys;
mod auth;
mod cli;
mod faults;
mod hardening;
mod insight;
mod instances;
mod ip_acls;
mod lifecycle;
mod operations;
mod overview;
mod scopes;
mod second_review;
mod support;
mod team;
