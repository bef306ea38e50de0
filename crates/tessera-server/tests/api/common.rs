//! The shared harness lives in `tessera_server::testing`.

pub use tessera_core::error::Reason;
pub use tessera_server::testing::*;
