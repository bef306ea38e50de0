//! The token endpoint and the Management API over a real socket. One test binary
//! (modules below) keeps link times down.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;
mod token;

pub use common::*;
