//! Black-box tests of the `tessera` binary: settings errors, first start,
//! restarts, master-key handling, key rotation through the CLI, private keys at
//! rest, graceful shutdown and HTTPS. Every server runs in its own temp directory on
//! its own port and is stopped (SIGTERM, then SIGKILL) when its guard drops.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod audit_log;
mod browser;
mod browser_kit;
mod browser_upstream;
mod common;
mod deploy_cli;
mod express_oidc;
mod inspect;
mod interop;
mod interop_reset;
mod keys;
mod node_auth0;
mod node_auth0_private_key_jwt;
mod operator;
mod shutdown;
mod spa_js;
mod startup;
mod tls;
