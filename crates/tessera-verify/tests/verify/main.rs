//! tessera-verify against tokens from a real in-process Tessera and against
//! crafted hostile tokens, each refused with its exact error. One test binary
//! (modules below) keeps link times down.
#![allow(clippy::unwrap_used, clippy::expect_used)]

#[cfg(feature = "axum")]
mod axum_support;
mod claims;
mod clock;
mod common;
mod dangerous;
mod hostile;
mod jwks_cache;
mod options;
mod real_tokens;
