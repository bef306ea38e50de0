//! JWT access tokens (RFC 9068 §2.2), in Auth0's shape.

use serde::{Deserialize, Serialize};

use crate::clock::UnixTime;
use crate::keys::MAX_TOKEN_LIFETIME;
use crate::model::ResourceServer;

/// Auth0 caps Management API tokens at 24 hours.
pub const MANAGEMENT_TOKEN_LIFETIME: i64 = 86400;

/// How long an access token for `api` lives, whatever the grant: the API's
/// lifetime within 1 s..30 days, and at most a day for the Management API.
/// Revocations rely on it to outlive every token they refuse.
pub fn issued_lifetime(api: &ResourceServer) -> i64 {
    let lifetime = api.token_lifetime.clamp(1, MAX_TOKEN_LIFETIME);
    if api.is_system {
        lifetime.min(MANAGEMENT_TOKEN_LIFETIME)
    } else {
        lifetime
    }
}

/// `aud`: one string, or several.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum Audience {
    One(String),
    Many(Vec<String>),
}

impl Audience {
    pub fn contains(&self, aud: &str) -> bool {
        match self {
            Self::One(a) => a == aud,
            Self::Many(all) => all.iter().any(|a| a == aud),
        }
    }
    pub fn to_vec(&self) -> Vec<String> {
        match self {
            Self::One(a) => vec![a.clone()],
            Self::Many(all) => all.clone(),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AccessClaims {
    pub iss: String,
    pub sub: String,
    pub aud: Audience,
    pub iat: UnixTime,
    pub exp: UnixTime,
    pub jti: String,
    pub client_id: String,
    pub azp: String,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub scope: String,
    /// `client-credentials` for machine-to-machine tokens (Auth0).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub gty: Option<String>,
    /// The `*_authz` dialects of an API enforcing RBAC: the user's
    /// permissions for the API (all held, asked or not), or a machine
    /// token's granted scopes (docs/rbac.md).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub permissions: Option<Vec<String>>,
    /// Custom claims set by Actions (never one of the names above: see
    /// [`AccessClaims::with_custom`]).
    #[serde(flatten)]
    pub custom: serde_json::Map<String, serde_json::Value>,
}

/// The claims an access token carries itself, which a custom claim may never
/// name (with `permissions`, which RBAC owns).
pub const OWN_CLAIMS: &[&str] = &[
    "iss",
    "sub",
    "aud",
    "iat",
    "exp",
    "jti",
    "client_id",
    "azp",
    "scope",
    "gty",
    "permissions",
];

impl AccessClaims {
    /// Adds the custom claims whose names the token does not carry itself.
    pub fn with_custom(mut self, custom: &serde_json::Map<String, serde_json::Value>) -> Self {
        for (name, value) in custom {
            if !OWN_CLAIMS.contains(&name.as_str()) {
                self.custom.insert(name.clone(), value.clone());
            }
        }
        self
    }
    pub fn scopes(&self) -> impl Iterator<Item = &str> {
        self.scope.split(' ').filter(|s| !s.is_empty())
    }
    pub fn has_scope(&self, wanted: &str) -> bool {
        self.scopes().any(|s| s == wanted)
    }
}
