//! Client credentials (Auth0: `/api/v2/clients/{id}/credentials`): public keys
//! a client registers to authenticate with `private_key_jwt` (RFC 7523 §2.2,
//! OIDC Core §9), and the client property `client_authentication_methods`
//! that enables them. Only public key material is ever held here.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

use crate::clock::UnixTime;

/// The JWS algorithms a credential may verify: Auth0's (`RS256`, `RS384`,
/// `PS256`) and `ES256`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub enum CredentialAlg {
    RS256,
    RS384,
    PS256,
    ES256,
}

impl CredentialAlg {
    pub const ALL: [Self; 4] = [Self::RS256, Self::RS384, Self::PS256, Self::ES256];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::RS256 => "RS256",
            Self::RS384 => "RS384",
            Self::PS256 => "PS256",
            Self::ES256 => "ES256",
        }
    }

    /// The JWK key type this algorithm needs.
    pub fn kty(self) -> &'static str {
        match self {
            Self::ES256 => "EC",
            _ => "RSA",
        }
    }
}

impl fmt::Display for CredentialAlg {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for CredentialAlg {
    type Err = super::UnknownValue;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::ALL
            .into_iter()
            .find(|a| a.as_str() == s)
            .ok_or(super::UnknownValue)
    }
}

/// A public key as JWK members (RFC 7517): `RSA` (`n`, `e`) or `EC` P-256
/// (`crv`, `x`, `y`), base64url without padding. Never a private member.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PublicJwk {
    pub kty: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub n: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub e: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub crv: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub x: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub y: Option<String>,
}

/// A registered credential of one client.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ClientCredential {
    /// `cred_…`, made by Tessera.
    pub id: String,
    pub client_id: String,
    pub name: String,
    /// The `kid` an assertion names to select this key: the one sent at
    /// creation, else the key's RFC 7638 thumbprint.
    pub kid: String,
    pub alg: CredentialAlg,
    /// Always `public_key` (mTLS credential types are refused).
    pub credential_type: String,
    pub key: PublicJwk,
    /// SHA-256 of the certificate (base64url), when one was registered.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub thumbprint_sha256: Option<String>,
    /// The certificate's subject, when one was registered.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub subject_dn: Option<String>,
    pub created_at: UnixTime,
    pub updated_at: UnixTime,
    /// After this instant the credential verifies nothing.
    #[serde(default)]
    pub expires_at: Option<UnixTime>,
}

impl ClientCredential {
    /// Whether it may verify an assertion at `now`.
    pub fn usable_at(&self, now: UnixTime) -> bool {
        self.expires_at.is_none_or(|e| now < e)
    }
}

/// A credential named by id (Auth0's `{ "id": "cred_…" }`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct CredentialRef {
    pub id: String,
}

/// Auth0's `client_authentication_methods.private_key_jwt`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct PrivateKeyJwt {
    pub credentials: Vec<CredentialRef>,
}

/// Auth0's `client_authentication_methods`: with `private_key_jwt` the client
/// authenticates only with assertions signed by one of those credentials (its
/// `token_endpoint_auth_method` is answered `null`, and its secret is refused).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ClientAuthenticationMethods {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub private_key_jwt: Option<PrivateKeyJwt>,
}

impl ClientAuthenticationMethods {
    /// The credential ids enabled for `private_key_jwt` (none when it is off).
    pub fn private_key_jwt_ids(&self) -> impl Iterator<Item = &str> {
        self.private_key_jwt
            .iter()
            .flat_map(|p| p.credentials.iter().map(|c| c.id.as_str()))
    }
}
