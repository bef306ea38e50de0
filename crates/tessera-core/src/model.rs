//! The tenant's configuration objects, in Auth0's shapes.

use serde::{Deserialize, Serialize};

use crate::clock::UnixTime;

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ResourceServerScope {
    pub value: String,
    #[serde(default)]
    pub description: String,
}

/// An API (Auth0: resource server). `identifier` is the `aud` of its access tokens.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ResourceServer {
    pub id: String,
    pub identifier: String,
    pub name: String,
    #[serde(default)]
    pub scopes: Vec<ResourceServerScope>,
    pub signing_alg: String,
    /// Access-token lifetime in seconds.
    pub token_lifetime: i64,
    #[serde(default)]
    pub allow_offline_access: bool,
    #[serde(default)]
    pub skip_consent_for_verifiable_first_party_clients: bool,
    /// The Management API itself: cannot be deleted or renamed.
    #[serde(default)]
    pub is_system: bool,
}

/// A connection: where users come from. The database connection's strategy is `auth0`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Connection {
    pub id: String,
    pub name: String,
    pub strategy: String,
    #[serde(default)]
    pub options: serde_json::Value,
    #[serde(default)]
    pub enabled_clients: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct JwtConfiguration {
    /// ID-token lifetime in seconds.
    pub lifetime_in_seconds: i64,
    #[serde(default = "default_alg")]
    pub alg: String,
}

fn default_alg() -> String {
    "RS256".into()
}

impl Default for JwtConfiguration {
    fn default() -> Self {
        Self {
            lifetime_in_seconds: 36000,
            alg: default_alg(),
        }
    }
}

/// An application (Auth0: client). The secret is kept apart, see [`ClientSecret`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Client {
    pub client_id: String,
    pub name: String,
    pub app_type: String,
    pub token_endpoint_auth_method: String,
    #[serde(default)]
    pub grant_types: Vec<String>,
    #[serde(default)]
    pub callbacks: Vec<String>,
    #[serde(default)]
    pub allowed_logout_urls: Vec<String>,
    #[serde(default)]
    pub web_origins: Vec<String>,
    #[serde(default = "yes")]
    pub is_first_party: bool,
    #[serde(default)]
    pub refresh_token: serde_json::Value,
    #[serde(default)]
    pub jwt_configuration: JwtConfiguration,
    #[serde(default)]
    pub description: String,
}

fn yes() -> bool {
    true
}

/// A client secret at rest: sealed under the master key (so `read:client_keys` can
/// return it) and a keyed hash (so checking it costs one HMAC, not a decryption or
/// a password hash). Neither reveals the secret without the master key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClientSecret {
    pub sealed: Vec<u8>,
    pub hash: Vec<u8>,
}

/// What a client may ask of an API with the client-credentials grant.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ClientGrant {
    pub id: String,
    pub client_id: String,
    pub audience: String,
    pub scope: Vec<String>,
}

/// Row timestamps kept by the store.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Stamps {
    pub created_at: UnixTime,
    pub updated_at: UnixTime,
}

/// One identity of a user: where the user logs in from.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Identity {
    pub connection: String,
    /// The id within the provider (for `auth0`, the part after `auth0|`).
    pub user_id: String,
    pub provider: String,
    #[serde(rename = "isSocial")]
    pub is_social: bool,
}

/// A user, in Auth0's shape. The password hash is kept apart (never serialised).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct User {
    pub user_id: String,
    pub connection: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub email: Option<String>,
    #[serde(default)]
    pub email_verified: bool,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub given_name: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub family_name: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub nickname: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub picture: Option<String>,
    #[serde(default)]
    pub user_metadata: serde_json::Map<String, serde_json::Value>,
    #[serde(default)]
    pub app_metadata: serde_json::Map<String, serde_json::Value>,
    #[serde(default)]
    pub blocked: bool,
    pub created_at: UnixTime,
    pub updated_at: UnixTime,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_login: Option<UnixTime>,
    #[serde(default)]
    pub logins_count: i64,
    #[serde(default)]
    pub identities: Vec<Identity>,
}
