//! Creating a client: a fresh id, the defaults of its app type, and a secret
//! when it is confidential.

use super::DEFAULT_APP_TYPE;
use super::payload::NewClient;
use super::payload::same_cross_origin;
use super::validate::{Sent, checked, parse_app_type};
use crate::bootstrap::seal_client_secret;
use crate::envelope::MasterKey;
use crate::ids::{self, RngError};
use crate::manage::Invalid;
use crate::model::{Client, ClientSecret, ClientSettings, JwtConfiguration, RefreshTokenConfig};
use crate::types::Secret;

/// Why a client could not be built.
#[derive(Debug, thiserror::Error)]
pub enum CreateError {
    #[error(transparent)]
    Invalid(#[from] Invalid),
    #[error(transparent)]
    Rng(#[from] RngError),
}

/// A new client, with its secret when it is confidential.
#[derive(Debug)]
pub struct Created {
    pub client: Client,
    /// The secret in clear, shown once to whoever created the client.
    pub secret: Option<Secret<String>>,
    /// The secret as stored: sealed and hashed.
    pub stored_secret: Option<ClientSecret>,
}

/// A fresh secret (384 bits): in clear, and sealed for the store.
pub fn generate_secret(
    master: &MasterKey,
    client_id: &str,
) -> Result<(Secret<String>, ClientSecret), RngError> {
    let secret = ids::client_secret()?;
    let stored = seal_client_secret(master, client_id, &secret)?;
    Ok((Secret::new(secret), stored))
}

/// The stored secret in clear (for `read:client_keys` callers). `None` when it
/// does not open under this master key or is not UTF-8.
pub fn reveal_secret(
    master: &MasterKey,
    client_id: &str,
    stored: &ClientSecret,
) -> Option<Secret<String>> {
    let clear = master
        .open(&format!("client_secret:{client_id}"), &stored.sealed)
        .ok()?;
    String::from_utf8(clear.to_vec()).ok().map(Secret::new)
}

/// A new client with a fresh id, every default applied, and a secret when it is
/// confidential.
pub fn create(master: &MasterKey, input: NewClient) -> Result<Created, CreateError> {
    let client = build(ids::client_id()?, input)?;
    let (secret, stored_secret) = if client.is_confidential() {
        let (secret, stored) = generate_secret(master, &client.client_id)?;
        (Some(secret), Some(stored))
    } else {
        (None, None)
    };
    Ok(Created {
        client,
        secret,
        stored_secret,
    })
}

/// A new client with the given id and every default applied (no secret: see
/// [`create`] and [`generate_secret`]). The name is required and the app type
/// checked first: the other defaults follow it.
pub fn build(client_id: String, mut input: NewClient) -> Result<Client, Invalid> {
    let mut settings = ClientSettings::default();
    same_cross_origin(
        &mut input.cross_origin_authentication,
        &mut input.cross_origin_auth,
    )?;
    input.take_settings(&mut settings);
    let name = input
        .name
        .ok_or_else(|| Invalid::new("name", "is required"))?;
    let app_type = match input.app_type {
        Some(v) => parse_app_type(&v)?,
        None => DEFAULT_APP_TYPE,
    };
    let mut jwt_configuration = JwtConfiguration::default();
    if let Some(changes) = input.jwt_configuration {
        changes.merge_into(&mut jwt_configuration);
    }
    let client = Client {
        client_id,
        name,
        app_type,
        token_endpoint_auth_method: app_type.default_auth_method(),
        grant_types: app_type.default_grant_types(),
        callbacks: input.callbacks.unwrap_or_default(),
        allowed_logout_urls: input.allowed_logout_urls.unwrap_or_default(),
        web_origins: input.web_origins.unwrap_or_default(),
        allowed_origins: input.allowed_origins.unwrap_or_default(),
        is_first_party: input.is_first_party.unwrap_or(true),
        refresh_token: RefreshTokenConfig::defaults(app_type),
        jwt_configuration,
        settings,
        description: input.description.unwrap_or_default(),
        is_token_endpoint_ip_header_trusted: input
            .is_token_endpoint_ip_header_trusted
            .unwrap_or(false),
        client_authentication_methods: None,
    };
    if input.client_authentication_methods.is_some() {
        return Err(Invalid::new(
            "client_authentication_methods",
            "is set on an existing client: create the client, add its credentials (POST /api/v2/clients/{id}/credentials), then enable them with PATCH /api/v2/clients/{id}",
        ));
    }
    checked(
        client,
        Sent {
            app_type: None,
            token_endpoint_auth_method: input.token_endpoint_auth_method,
            grant_types: input.grant_types,
            refresh_token: input.refresh_token,
        },
    )
}
