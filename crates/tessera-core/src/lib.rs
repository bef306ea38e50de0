//! Tessera's protocol and token logic.
//!
//! This crate knows nothing of HTTP or SQL: the server and the store crates
//! depend on it, never the other way round.

pub mod authorize;
pub mod bootstrap;
pub mod client_assertion;
pub mod client_auth;
pub mod clock;
pub mod envelope;
pub mod error;
pub mod extensibility;
pub mod flow;
pub mod grant;
pub mod idp_vault;
pub mod ids;
pub mod jobs;
pub mod jwt;
pub mod keys;
pub mod log_event;
pub mod log_query;
pub mod manage;
pub mod model;
pub mod page;
pub mod params;
pub mod password;
pub mod password_import;
pub mod passwordless;
pub mod rbac;
pub mod rbac_store;
pub mod revocation;
pub mod scopes;
pub mod store;
pub mod ticket;
pub mod token;
pub mod types;
pub mod upstream;

pub use clock::{Clock, SystemClock};
pub use types::{Issuer, Secret};

#[cfg(test)]
mod layering;
