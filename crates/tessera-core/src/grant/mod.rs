//! The token endpoint's grants: the request is parsed into [`TokenRequest`] and
//! matched in one place.

pub mod authorization_code;
pub mod client_credentials;
pub mod common;
pub mod password;
pub mod password_realm;
pub mod passwordless_otp;
pub mod refresh_token;
pub mod resource_owner;
pub mod token_vault;

use std::net::IpAddr;

use serde::Serialize;

use crate::client_auth::Presented;
use crate::clock::UnixTime;
use crate::envelope::MasterKey;
use crate::error::{OAuthError, Reason};
use crate::keys::{KeyMaterialError, Keys};
use crate::params::{Params, truncate};
use crate::store::{Store, StoreError};
use crate::token::TokenKind;
use crate::types::Issuer;

/// Declares the grants from one table: the `TokenRequest` variant, the
/// `grant_type` value, the module that parses (`Request::parse`) and exchanges
/// (`exchange`) it. A new grant is one module and one row.
macro_rules! grants {
    ($($variant:ident = $grant_type:literal => $module:ident,)+) => {
        /// A token request, parsed by its `grant_type`. (Not `Clone`: a
        /// password grant's request holds the password, once.)
        #[derive(Debug)]
        pub enum TokenRequest {
            $($variant($module::Request),)+
        }

        /// The `grant_type` values the token endpoint implements (discovery's
        /// `grant_types_supported`).
        pub const GRANT_TYPES: &[&str] = &[$($grant_type,)+];

        impl TokenRequest {
            pub fn parse(params: &Params) -> Result<Self, OAuthError> {
                match params.get("grant_type") {
                    None => Err(OAuthError::new(
                        Reason::GrantTypeMissing,
                        "grant_type is required",
                    )),
                    $(Some($grant_type) => Ok(Self::$variant($module::Request::parse(params)?)),)+
                    Some(other) => Err(OAuthError::new(
                        Reason::GrantTypeUnsupported,
                        format!("grant type {:?} is not supported", truncate(other)),
                    )),
                }
            }
        }

        /// Authenticates the client and runs the grant.
        pub async fn exchange(
            ctx: &Ctx<'_>,
            client: &Presented,
            request: TokenRequest,
        ) -> Result<Issued, GrantError> {
            match request {
                $(TokenRequest::$variant(req) => $module::exchange(ctx, client, req).await,)+
            }
        }
    };
}

grants! {
    AuthorizationCode = "authorization_code" => authorization_code,
    RefreshToken = "refresh_token" => refresh_token,
    ClientCredentials = "client_credentials" => client_credentials,
    Password = "password" => password,
    PasswordRealm = "http://auth0.com/oauth/grant-type/password-realm" => password_realm,
    PasswordlessOtp = "http://auth0.com/oauth/grant-type/passwordless/otp" => passwordless_otp,
    TokenVault = "urn:auth0:params:oauth:grant-type:token-exchange:federated-connection-access-token" => token_vault,
}

/// The JSON body of a successful token response (RFC 6749 §5.1).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct TokenResponse {
    pub access_token: String,
    pub token_type: &'static str,
    pub expires_in: i64,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub scope: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub id_token: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub refresh_token: Option<String>,
    /// RFC 8693 §2.2.1 (the Token Vault exchange).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub issued_token_type: Option<&'static str>,
}

/// A response and the kinds of token in it (for metrics), with whom and what
/// for (for the tenant's log).
#[derive(Debug, Clone)]
pub struct Issued {
    pub response: TokenResponse,
    pub kinds: Vec<TokenKind>,
    /// The user the tokens are for (none for client credentials).
    pub user_id: Option<String>,
    /// The API the access token is for, if any.
    pub audience: Option<String>,
}

/// Why a grant failed: the client's fault (an OAuth error), or the server's.
#[derive(Debug, thiserror::Error)]
pub enum GrantError {
    #[error(transparent)]
    OAuth(#[from] OAuthError),
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error("signing key: {0}")]
    Key(#[from] KeyMaterialError),
    #[error("signing: {0}")]
    Jwt(#[from] crate::jwt::JwtError),
    #[error(transparent)]
    Rng(#[from] crate::ids::RngError),
    /// The password gate is full: answer 503 with `Retry-After`.
    #[error("busy; retry after {retry_after} s")]
    Busy { retry_after: u64 },
    /// The password check produced no result (its task failed).
    #[error("the password check failed")]
    PasswordTask,
}

impl From<crate::extensibility::HookError> for GrantError {
    fn from(e: crate::extensibility::HookError) -> Self {
        match e {
            crate::extensibility::HookError::Refused(e) => Self::OAuth(e),
            crate::extensibility::HookError::Store(e) => Self::Store(e),
        }
    }
}

/// Where a token request comes from, for the brute-force lockout of the
/// password grants.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Origin {
    /// The TCP peer (IPv6 reduced to its /64), when known.
    pub peer: Option<IpAddr>,
    /// Auth0's `auth0-forwarded-for` header, when it holds an address; used
    /// only for a confidential client that authenticated and is trusted
    /// (`is_token_endpoint_ip_header_trusted`).
    pub forwarded_for: Option<IpAddr>,
    /// `auth0-forwarded-for` was sent but holds no single address (refused
    /// from a trusted client, whose lockout would otherwise fall back to its
    /// own address and lock its users out together).
    pub forwarded_for_malformed: bool,
}

/// What a grant needs.
pub struct Ctx<'a> {
    pub store: &'a dyn Store,
    pub keys: &'a Keys,
    pub master: &'a MasterKey,
    pub issuer: &'a Issuer,
    pub revocations: &'a crate::revocation::Revocations,
    pub now: UnixTime,
    /// The password check of the password grants.
    pub passwords: &'a dyn resource_owner::PasswordCheck,
    /// The database connection of `grant_type=password`.
    pub default_directory: &'a str,
    /// The API of a password grant that names none (Auth0's tenant setting
    /// `default_audience`).
    pub default_audience: Option<&'a str>,
    pub origin: Origin,
    /// The upstream providers (the Token Vault exchange's refresh).
    pub upstream: &'a dyn token_vault::UpstreamRefresh,
    /// The post-login and credentials-exchange triggers.
    pub actions: &'a dyn crate::extensibility::ActionHooks,
    /// The token request, as actions see it (`event.request`).
    pub request: &'a crate::extensibility::RequestFacts,
}
