//! The tenant's configuration objects, in Auth0's shapes.

use serde::{Deserialize, Serialize};

use crate::clock::UnixTime;

mod action;
mod api_settings;
mod client;
mod credential;

pub use action::*;
pub use api_settings::*;
pub use client::*;
pub use credential::*;

/// A scope an API defines. Unknown properties are refused (a request body
/// names this shape, and Tessera never stores others).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema), schema(as = ScopeDto))]
pub struct ResourceServerScope {
    pub value: String,
    #[serde(default)]
    pub description: String,
}

/// An API (Auth0: resource server). `identifier` is the `aud` of its access tokens.
/// Also the answer of `/api/v2/resource-servers` and `tessera apis --json`: its
/// serde form, properties in this order.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(
    feature = "openapi",
    derive(utoipa::ToSchema),
    schema(as = ResourceServerDto)
)]
pub struct ResourceServer {
    pub id: String,
    pub name: String,
    pub identifier: String,
    #[serde(default)]
    pub scopes: Vec<ResourceServerScope>,
    pub signing_alg: String,
    /// Access-token lifetime in seconds.
    pub token_lifetime: i64,
    #[serde(default)]
    pub allow_offline_access: bool,
    #[serde(default)]
    pub skip_consent_for_verifiable_first_party_clients: bool,
    /// The properties Tessera stores and answers but does not act on yet.
    #[serde(flatten)]
    pub settings: ResourceServerSettings,
    /// The Management API itself: cannot be deleted or renamed.
    #[serde(default)]
    pub is_system: bool,
}

/// The strategy of database connections (users with passwords).
pub const DATABASE_STRATEGY: &str = "auth0";

/// A connection: where users come from. The database connection's strategy is
/// `auth0`. Besides what Tessera acts on (`name`, `strategy`, `options`,
/// `enabled_clients`), Auth0's other properties are kept and returned (see
/// docs/management-api.md: accepted, no effect yet). Stored as a JSON
/// document: properties added later default when an older document lacks them.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Connection {
    pub id: String,
    pub name: String,
    pub strategy: String,
    #[serde(default)]
    pub options: serde_json::Value,
    #[serde(default)]
    pub enabled_clients: Vec<String>,
    /// Shown on the login page instead of the name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub display_name: Option<String>,
    /// Up to 10 string properties.
    #[serde(default)]
    pub metadata: serde_json::Map<String, serde_json::Value>,
    /// Realms of the password-realm grant; empty means `[name]`.
    #[serde(default)]
    pub realms: Vec<String>,
    #[serde(default)]
    pub is_domain_connection: bool,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub show_as_button: Option<bool>,
    /// `{active: bool}`: the connection may be used to log in.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub authentication: Option<serde_json::Value>,
    /// `{active: bool}`: the connection may store Token Vault accounts.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub connected_accounts: Option<serde_json::Value>,
}

impl Connection {
    /// Does the connection refuse new users (`options.disable_signup`)?
    pub fn signup_disabled(&self) -> bool {
        self.options
            .get("disable_signup")
            .and_then(|v| v.as_bool())
            .unwrap_or(false)
    }

    /// Whether `client_id` may use this connection: it is one of the
    /// `enabled_clients` (Auth0: an empty list enables no client; a new client
    /// is added to every connection while the tenant flag
    /// `enable_client_connections` is on).
    pub fn enabled_for(&self, client_id: &str) -> bool {
        self.enabled_clients.iter().any(|c| c == client_id)
    }

    /// Whether the connection logs users in at all: Auth0's
    /// `authentication.active` (absent means on).
    pub fn login_active(&self) -> bool {
        self.authentication
            .as_ref()
            .and_then(|a| a.get("active"))
            .and_then(|v| v.as_bool())
            .unwrap_or(true)
    }

    /// Whether `client_id` may log users in through this connection now: it
    /// is enabled for the client and its authentication is active.
    pub fn usable_by(&self, client_id: &str) -> bool {
        self.login_active() && self.enabled_for(client_id)
    }

    /// A database connection (strategy `auth0`): users with passwords.
    pub fn is_database(&self) -> bool {
        self.strategy == DATABASE_STRATEGY
    }
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
    /// Lower-cased; unique in the connection; only in connections with
    /// `options.requires_username`. Stored and returned: logins use the email.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub username: Option<String>,
    /// E.164 (`+` and up to 15 digits). Stored and returned only.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub phone_number: Option<String>,
    /// Set (false by default) once the user has a `phone_number`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub phone_verified: Option<bool>,
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

impl User {
    /// The user as `Store::record_login` leaves it: the login being made
    /// counted. What post-login's `event.user` and `event.stats` show, as on
    /// Auth0 (`logins_count` is 1 at the first login).
    pub fn with_login_counted(mut self, now: UnixTime) -> Self {
        self.logins_count += 1;
        self.last_login = Some(now);
        self
    }
}
