//! A client as `/api/v2/clients` answers and `tessera clients --json` prints it.

use serde::Serialize;

use crate::model::{
    AppType, Client, GrantType, JwtConfiguration, RefreshTokenConfig, TokenEndpointAuthMethod,
};

/// A client in Auth0's shape: every setting present, the secret only when given.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema), schema(as = ClientDto))]
pub struct ClientView {
    pub client_id: String,
    pub name: String,
    pub description: String,
    pub app_type: AppType,
    pub token_endpoint_auth_method: TokenEndpointAuthMethod,
    pub grant_types: Vec<GrantType>,
    pub callbacks: Vec<String>,
    pub allowed_logout_urls: Vec<String>,
    pub web_origins: Vec<String>,
    pub is_first_party: bool,
    pub refresh_token: RefreshTokenConfig,
    pub jwt_configuration: JwtConfiguration,
    /// Present when just made, or for callers holding `read:client_keys`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub client_secret: Option<String>,
}

impl ClientView {
    pub fn new(client: Client, client_secret: Option<String>) -> Self {
        Self {
            client_id: client.client_id,
            name: client.name,
            description: client.description,
            app_type: client.app_type,
            token_endpoint_auth_method: client.token_endpoint_auth_method,
            grant_types: client.grant_types,
            callbacks: client.callbacks,
            allowed_logout_urls: client.allowed_logout_urls,
            web_origins: client.web_origins,
            is_first_party: client.is_first_party,
            refresh_token: client.refresh_token,
            jwt_configuration: client.jwt_configuration,
            client_secret,
        }
    }
}
