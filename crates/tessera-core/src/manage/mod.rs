//! Validation, defaults and creation rules for tenant objects, shared by the
//! Management API and the operator CLI so both apply the same rules.
//! Each function takes plain inputs and returns a domain object or a
//! [`Invalid`] naming the property.

pub mod actions;
pub mod client_credentials;
pub mod client_secrets;
pub mod clients;
pub mod connection_options;
pub mod connections;
pub mod not_enforced;
pub mod resource_servers;
mod settings_body;
pub mod settings_limits;
pub mod tenant_settings;
pub mod upstream_options;
pub use settings_body::NULL_REFUSED;
pub(crate) use settings_body::{not_null, or_default, settings_body};
pub mod users;

pub use crate::error::Invalid;
