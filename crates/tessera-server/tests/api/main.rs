//! The token endpoint and the Management API over a real socket. One test binary
//! (modules below) keeps link times down.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod blacklists;
mod client_grants;
mod client_keys;
mod client_payloads;
mod clients;
mod common;
mod connections;
mod consent_logout;
mod cookies;
mod cors;
mod enabled_clients;
mod enabled_clients_sessions;
mod escalation;
mod flows;
mod front_channel;
mod hosted;
mod hosted_posts;
mod hostile;
mod http;
mod jobs_common;
mod jobs_export;
mod jobs_import;
mod jobs_resume;
mod listing;
mod lockout;
mod login;
mod login_credentials;
mod logs;
mod management_api;
mod oidc_rp;
mod password_grant;
mod password_reset;
mod passwordless;
mod rate_limits;
mod refresh;
mod revocation;
mod revocation_bounds;
mod revoke_introspect;
mod schemas;
mod signing_keys;
mod signup_api;
mod slow_clients;
mod smtp;
mod tenant_settings;
mod tenant_settings_checks;
mod token;
mod unknown_routes;
mod user_revocation;
mod user_tickets;
mod users;
mod web_message;

pub use common::*;
