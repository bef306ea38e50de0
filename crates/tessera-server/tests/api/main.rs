//! The token endpoint and the Management API over a real socket. One test binary
//! (modules below) keeps link times down.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod blacklists;
mod client_grants;
mod client_keys;
mod clients;
mod common;
mod connections;
mod hostile;
mod http;
mod listing;
mod login;
mod oidc_rp;
mod refresh;
mod revocation;
mod revoke_introspect;
mod signing_keys;
mod token;
mod user_revocation;
mod users;

pub use common::*;
