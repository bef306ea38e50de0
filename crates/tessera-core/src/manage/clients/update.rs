//! Changing a client: what is given replaces what is stored (nested settings
//! merge), and the result is checked as a whole.

use super::payload::ClientChanges;
use super::payload::same_cross_origin;
use super::validate::{Sent, checked};
use crate::manage::Invalid;
use crate::manage::client_credentials::MAX_CREDENTIALS;
use crate::model::{Client, ClientAuthenticationMethods};

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
    let methods = changes.client_authentication_methods;
    let method_sent = changes.token_endpoint_auth_method.is_some();
    let mut next = checked(
        next,
        Sent {
            app_type: changes.app_type,
            token_endpoint_auth_method: changes.token_endpoint_auth_method,
            grant_types: changes.grant_types,
            refresh_token: changes.refresh_token,
        },
    )?;
    apply_authentication_methods(&mut next, methods, method_sent)?;
    *client = next;
    Ok(())
}

/// Whether `changes` would change how `client` authenticates through
/// `client_authentication_methods` (setting or clearing it, or a
/// `token_endpoint_auth_method` that replaces it): such a change needs
/// `update:client_credentials` (Auth0's rule), so a token holding only
/// `update:clients` cannot enable a key of its choosing.
pub fn touches_authentication_methods(client: &Client, changes: &ClientChanges) -> bool {
    match &changes.client_authentication_methods {
        Some(m) => m.as_ref() != client.client_authentication_methods.as_ref(),
        None => changes.token_endpoint_auth_method.is_some() && client.uses_private_key_jwt(),
    }
}

/// Auth0: `client_authentication_methods` and `token_endpoint_auth_method`
/// are mutually exclusive; a sent method replaces `private_key_jwt`.
fn apply_authentication_methods(
    next: &mut Client,
    methods: Option<Option<ClientAuthenticationMethods>>,
    method_sent: bool,
) -> Result<(), Invalid> {
    const PROPERTY: &str = "client_authentication_methods";
    match methods {
        Some(Some(_)) if method_sent => Err(Invalid::new(
            PROPERTY,
            "and token_endpoint_auth_method are mutually exclusive: send one of them",
        )),
        Some(Some(methods)) => {
            let ids: Vec<&str> = methods.private_key_jwt_ids().collect();
            if methods.private_key_jwt.is_some() && ids.is_empty() {
                return Err(Invalid::new(
                    PROPERTY,
                    "private_key_jwt.credentials must name at least one credential",
                ));
            }
            if ids.len() > MAX_CREDENTIALS {
                return Err(Invalid::new(
                    PROPERTY,
                    format!(
                        "private_key_jwt.credentials may name at most {MAX_CREDENTIALS} credentials"
                    ),
                ));
            }
            if ids.iter().enumerate().any(|(i, id)| ids[..i].contains(id)) {
                return Err(Invalid::new(PROPERTY, "names a credential twice"));
            }
            if next.is_public() {
                return Err(Invalid::new(
                    PROPERTY,
                    "private_key_jwt is for confidential clients: this client's token_endpoint_auth_method is none",
                ));
            }
            next.client_authentication_methods =
                methods.private_key_jwt.is_some().then_some(methods);
            Ok(())
        }
        Some(None) => {
            next.client_authentication_methods = None;
            Ok(())
        }
        None => {
            if method_sent {
                next.client_authentication_methods = None;
            }
            Ok(())
        }
    }
}
