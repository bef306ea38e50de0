//! Token formats: building and signing (access tokens, RFC 9068) and checking
//! the tokens this server signed.

pub mod access;
pub mod id;
pub mod opaque;
pub mod verify;

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;

use crate::ids::{RngError, random_bytes};

/// A fresh `jti`: 128 random bits.
pub fn new_jti() -> Result<String, RngError> {
    Ok(URL_SAFE_NO_PAD.encode(random_bytes::<16>()?))
}

/// The kinds of token Tessera issues (for metrics and logs).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TokenKind {
    IdToken,
    AccessToken,
    OpaqueAccessToken,
    RefreshToken,
    ManagementApiToken,
    ClientCredentialsToken,
}

impl TokenKind {
    pub const ALL: [TokenKind; 6] = [
        Self::IdToken,
        Self::AccessToken,
        Self::OpaqueAccessToken,
        Self::RefreshToken,
        Self::ManagementApiToken,
        Self::ClientCredentialsToken,
    ];
    pub fn as_str(self) -> &'static str {
        match self {
            Self::IdToken => "id_token",
            Self::AccessToken => "access_token",
            Self::OpaqueAccessToken => "opaque_access_token",
            Self::RefreshToken => "refresh_token",
            Self::ManagementApiToken => "management_api_token",
            Self::ClientCredentialsToken => "client_credentials_token",
        }
    }
}
