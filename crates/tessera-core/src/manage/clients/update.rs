//! Changing a client: what is given replaces what is stored (nested settings
//! merge), and the result is checked as a whole.

use super::payload::ClientChanges;
use super::payload::same_cross_origin;
use super::validate::{Sent, checked};
use crate::manage::Invalid;
use crate::model::Client;

/// Applies `changes` to `client`, or leaves it untouched and names the first bad
/// property. The result is checked as a whole (e.g. switching to `none` while
/// `client_credentials` is granted is refused). `client_secret` is not applied:
/// see [`crate::manage::client_secrets::secret_plan`].
pub fn apply_changes(client: &mut Client, mut changes: ClientChanges) -> Result<(), Invalid> {
    let mut next = client.clone();
    same_cross_origin(
        &mut changes.cross_origin_authentication,
        &mut changes.cross_origin_auth,
    )?;
    changes.take_settings(&mut next.settings);
    if let Some(v) = changes.name {
        next.name = v;
    }
    if let Some(v) = changes.description {
        next.description = v;
    }
    if let Some(v) = changes.callbacks {
        next.callbacks = v;
    }
    if let Some(v) = changes.allowed_logout_urls {
        next.allowed_logout_urls = v;
    }
    if let Some(v) = changes.web_origins {
        next.web_origins = v;
    }
    if let Some(v) = changes.allowed_origins {
        next.allowed_origins = v;
    }
    if let Some(v) = changes.is_first_party {
        next.is_first_party = v;
    }
    if let Some(v) = changes.is_token_endpoint_ip_header_trusted {
        next.is_token_endpoint_ip_header_trusted = v;
    }
    if let Some(v) = changes.jwt_configuration {
        v.merge_into(&mut next.jwt_configuration);
    }
    *client = checked(
        next,
        Sent {
            app_type: changes.app_type,
            token_endpoint_auth_method: changes.token_endpoint_auth_method,
            grant_types: changes.grant_types,
            refresh_token: changes.refresh_token,
        },
    )?;
    Ok(())
}
