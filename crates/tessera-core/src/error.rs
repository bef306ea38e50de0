//! OAuth errors (RFC 6749 §5.2, RFC 6750 §3.1, RFC 7009, OIDC Core §3.1.2.6).
//!
//! Every error carries a typed [`Reason`]: one variant per distinct failure. The
//! reason decides the OAuth `error` code (and so the HTTP status); the
//! description is the human text. The server renders them in one place
//! (`tessera_server::error`) and sends the reason's name in the
//! `Tessera-Error-Reason` header, so clients, operators and tests tell failures
//! apart without reading prose.

use std::fmt;
use std::str::FromStr;

/// The OAuth `error` codes Tessera answers with.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ErrorCode {
    InvalidRequest,
    InvalidClient,
    InvalidGrant,
    UnauthorizedClient,
    UnsupportedGrantType,
    InvalidScope,
    AccessDenied,
    UnsupportedResponseType,
    InvalidToken,
    InsufficientScope,
    LoginRequired,
    ConsentRequired,
    ServerError,
    TemporarilyUnavailable,
    /// Auth0's code for a blocked user at the password grants (401).
    Unauthorized,
    /// Auth0's code for a brute-force lockout (429).
    TooManyAttempts,
}

impl ErrorCode {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::InvalidRequest => "invalid_request",
            Self::InvalidClient => "invalid_client",
            Self::InvalidGrant => "invalid_grant",
            Self::UnauthorizedClient => "unauthorized_client",
            Self::UnsupportedGrantType => "unsupported_grant_type",
            Self::InvalidScope => "invalid_scope",
            Self::AccessDenied => "access_denied",
            Self::UnsupportedResponseType => "unsupported_response_type",
            Self::InvalidToken => "invalid_token",
            Self::InsufficientScope => "insufficient_scope",
            Self::LoginRequired => "login_required",
            Self::ConsentRequired => "consent_required",
            Self::ServerError => "server_error",
            Self::TemporarilyUnavailable => "temporarily_unavailable",
            Self::Unauthorized => "unauthorized",
            Self::TooManyAttempts => "too_many_attempts",
        }
    }

    /// The HTTP status this code is answered with at the token endpoint and the
    /// other JSON endpoints.
    pub fn status(self) -> u16 {
        match self {
            Self::InvalidClient | Self::InvalidToken | Self::Unauthorized => 401,
            Self::TooManyAttempts => 429,
            Self::AccessDenied | Self::InsufficientScope => 403,
            Self::ServerError => 500,
            Self::TemporarilyUnavailable => 503,
            _ => 400,
        }
    }
}

impl fmt::Display for ErrorCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A reason's status: the table's, else its code's.
macro_rules! reason_status {
    ($code:ident) => {
        ErrorCode::$code.status()
    };
    ($code:ident $status:literal) => {
        $status
    };
}

/// Declares [`Reason`] from one table: variant, wire name, OAuth code, and
/// where Auth0 answers that code with another status than the code's own,
/// that status (`@ 403`).
macro_rules! reasons {
    ($($(#[$doc:meta])* $variant:ident = $name:literal => $code:ident $(@ $status:literal)?,)+) => {
        /// Why a request failed: one variant per distinct failure.
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
        #[non_exhaustive]
        pub enum Reason {
            $($(#[$doc])* $variant,)+
        }

        impl Reason {
            /// Every reason, for documentation and tests.
            pub const ALL: &'static [Reason] = &[$(Reason::$variant,)+];

            /// The stable name sent in `Tessera-Error-Reason`.
            pub fn as_str(self) -> &'static str {
                match self {
                    $(Reason::$variant => $name,)+
                }
            }

            /// The OAuth `error` code this failure is answered with.
            pub fn code(self) -> ErrorCode {
                match self {
                    $(Reason::$variant => ErrorCode::$code,)+
                }
            }

            /// The HTTP status of the answer: the code's, unless the table
            /// says otherwise.
            pub fn status(self) -> u16 {
                match self {
                    $(Reason::$variant => reason_status!($code $($status)?),)+
                }
            }
        }

        impl FromStr for Reason {
            type Err = UnknownReason;
            fn from_str(s: &str) -> Result<Self, UnknownReason> {
                match s {
                    $($name => Ok(Reason::$variant),)+
                    _ => Err(UnknownReason),
                }
            }
        }
    };
}

reasons! {
    // The request itself.
    /// A parameter was sent twice.
    ParameterRepeated = "parameter_repeated" => InvalidRequest,
    /// A parameter is longer than allowed.
    ParameterTooLong = "parameter_too_long" => InvalidRequest,
    /// A parameter's name or value holds a NUL character.
    ParameterNulByte = "parameter_nul_byte" => InvalidRequest,
    /// The form body does not parse.
    FormMalformed = "form_malformed" => InvalidRequest,
    /// The JSON body does not parse.
    JsonMalformed = "json_malformed" => InvalidRequest,
    /// The JSON body is not an object.
    JsonNotObject = "json_not_object" => InvalidRequest,
    /// A JSON member is an array or object.
    ParameterNotString = "parameter_not_string" => InvalidRequest,
    /// Neither form nor JSON.
    ContentTypeUnsupported = "content_type_unsupported" => InvalidRequest,
    /// `audience` and `resource` name different APIs.
    AudienceResourceMismatch = "audience_resource_mismatch" => InvalidRequest,

    // Client authentication.
    /// An `Authorization` scheme other than Basic.
    AuthorizationSchemeUnsupported = "authorization_scheme_unsupported" => InvalidClient,
    /// Basic credentials that do not decode.
    BasicMalformed = "basic_malformed" => InvalidClient,
    /// Basic and `client_secret` together.
    ClientAuthMethodsMixed = "client_auth_methods_mixed" => InvalidRequest,
    /// The body's `client_id` differs from the Basic one.
    ClientIdMismatch = "client_id_mismatch" => InvalidRequest,
    /// No client credentials at all.
    ClientAuthMissing = "client_auth_missing" => InvalidClient,
    /// An unknown client or a wrong secret (one answer for both).
    ClientCredentialsInvalid = "client_credentials_invalid" => InvalidClient,
    /// A `client_secret_basic` client sent its secret in the body.
    SecretMustUseBasic = "secret_must_use_basic" => InvalidClient,
    /// A confidential client sent no secret.
    ClientSecretRequired = "client_secret_required" => InvalidClient,
    /// The client authenticated in a way its registration does not allow.
    ClientAuthMethodWrong = "client_auth_method_wrong" => InvalidClient,
    /// A public client at an endpoint for confidential clients.
    PublicClientRefused = "public_client_refused" => InvalidClient,
    /// `client_assertion` without `client_assertion_type` `urn:ietf:params:oauth:client-assertion-type:jwt-bearer`, or the type without an assertion.
    ClientAssertionTypeUnsupported = "client_assertion_type_unsupported" => InvalidClient,
    /// A client assertion together with a secret (Basic or `client_secret`): one method at a time.
    ClientAssertionWithSecret = "client_assertion_with_secret" => InvalidClient,
    /// A client assertion over 8 KiB.
    ClientAssertionTooLarge = "client_assertion_too_large" => InvalidClient,
    /// A client assertion that is not a well-formed JWS (or has `crit`, or a bad `jti`).
    ClientAssertionMalformed = "client_assertion_malformed" => InvalidClient,
    /// A client assertion whose `iss`, `sub` and `client_id` do not all name the client.
    ClientAssertionSubjectMismatch = "client_assertion_subject_mismatch" => InvalidClient,
    /// A client assertion without `iss`, `sub`, `exp` or `jti`.
    ClientAssertionClaimMissing = "client_assertion_claim_missing" => InvalidClient,
    /// A client assertion for a client not configured for `private_key_jwt` (public clients included).
    ClientAssertionNotAllowed = "client_assertion_not_allowed" => InvalidClient,
    /// A `private_key_jwt` client sent a secret or nothing: it must send a client assertion.
    ClientAssertionRequired = "client_assertion_required" => InvalidClient,
    /// A client assertion signed with `none`, HMAC or an algorithm other than its credential's.
    ClientAssertionAlgorithm = "client_assertion_algorithm" => InvalidClient,
    /// No enabled, unexpired credential of the client matches the assertion (`kid`).
    ClientAssertionUnknownKey = "client_assertion_unknown_key" => InvalidClient,
    /// A client assertion whose signature does not verify with the client's credentials.
    ClientAssertionBadSignature = "client_assertion_bad_signature" => InvalidClient,
    /// A client assertion whose `aud` is neither the issuer nor the token endpoint.
    ClientAssertionWrongAudience = "client_assertion_wrong_audience" => InvalidClient,
    /// A client assertion past its `exp`.
    ClientAssertionExpired = "client_assertion_expired" => InvalidClient,
    /// A client assertion whose `exp` is more than five minutes ahead.
    ClientAssertionLifetimeTooLong = "client_assertion_lifetime_too_long" => InvalidClient,
    /// A client assertion whose `nbf` or `iat` is in the future.
    ClientAssertionNotYetValid = "client_assertion_not_yet_valid" => InvalidClient,
    /// A client assertion whose `jti` was used before.
    ClientAssertionReplayed = "client_assertion_replayed" => InvalidClient,

    // The token endpoint.
    /// No `grant_type`.
    GrantTypeMissing = "grant_type_missing" => InvalidRequest,
    /// A `grant_type` Tessera does not implement.
    GrantTypeUnsupported = "grant_type_unsupported" => UnsupportedGrantType,
    /// The client may not use this grant type.
    GrantTypeNotAllowed = "grant_type_not_allowed" => UnauthorizedClient,
    /// A public client asked for client credentials.
    PublicClientCredentials = "public_client_credentials" => UnauthorizedClient,
    /// A required parameter is missing (`code`, `refresh_token`, `token`).
    ParameterMissing = "parameter_missing" => InvalidRequest,
    /// The authorization code is unknown or expired.
    CodeInvalid = "code_invalid" => InvalidGrant,
    /// The authorization code was used before; what it issued is revoked.
    CodeReplayed = "code_replayed" => InvalidGrant,
    /// The authorization code belongs to another client.
    CodeClientMismatch = "code_client_mismatch" => InvalidGrant,
    /// `redirect_uri` differs from the authorization request's.
    RedirectUriMismatch = "redirect_uri_mismatch" => InvalidGrant,
    /// The PKCE verifier does not match the challenge.
    PkceMismatch = "pkce_mismatch" => InvalidGrant,
    /// A verifier without a challenge (a downgrade attempt).
    PkceDowngrade = "pkce_downgrade" => InvalidGrant,
    /// The login session behind the code has ended.
    SessionEnded = "session_ended" => InvalidGrant,
    /// The user was deleted or blocked.
    UserUnavailable = "user_unavailable" => InvalidGrant,
    /// A refresh for a blocked user (Auth0: "user is blocked").
    UserBlocked = "user_blocked" => InvalidGrant,
    /// The user's connection is no longer enabled for the client (or no
    /// longer logs users in): codes and refresh tokens stop working.
    ConnectionNotEnabled = "connection_not_enabled" => InvalidGrant,
    /// A passwordless code that does not match (a try is used up).
    OtpWrong = "otp_wrong" => InvalidGrant,
    /// No live passwordless code for the email: none sent, expired, used, or
    /// its tries used up.
    OtpUnavailable = "otp_unavailable" => InvalidGrant,
    /// The grant's API was deleted.
    ApiGone = "api_gone" => InvalidGrant,
    /// The refresh token is unknown, expired or revoked.
    RefreshTokenInvalid = "refresh_token_invalid" => InvalidGrant,
    /// The refresh token was used before; its family is revoked.
    RefreshTokenReused = "refresh_token_reused" => InvalidGrant,
    /// A refresh asked for more scope than the grant.
    ScopeWidened = "scope_widened" => InvalidScope,
    /// Client credentials asked for scopes beyond the client grant.
    ScopeNotGranted = "scope_not_granted" => InvalidScope,
    /// Client credentials without an audience.
    AudienceMissing = "audience_missing" => AccessDenied,
    /// The audience names no API.
    ApiUnknown = "api_unknown" => AccessDenied,
    /// The client has no client grant for the API.
    ClientGrantMissing = "client_grant_missing" => AccessDenied,
    /// A user-bound token for the Management API.
    ManagementApiForUser = "management_api_for_user" => AccessDenied,
    /// A password grant with an unknown email or a wrong password (one answer
    /// for both, after the same work; Auth0 answers 403).
    PasswordWrong = "password_wrong" => InvalidGrant @ 403,
    /// Too many failed logins for this account from this address.
    LoginAttemptsExceeded = "login_attempts_exceeded" => TooManyAttempts,
    /// A password grant for a blocked user (Auth0: "user is blocked").
    LoginUserBlocked = "login_user_blocked" => Unauthorized,
    /// A third-party client asked for a password grant (it would skip the
    /// user's consent; Auth0 refuses these grants to third-party apps).
    ThirdPartyPasswordGrant = "third_party_password_grant" => UnauthorizedClient,
    /// A trusted client's `auth0-forwarded-for` is not one IP address.
    ForwardedForMalformed = "forwarded_for_malformed" => InvalidRequest,
    /// The `realm` names no database connection.
    RealmUnknown = "realm_unknown" => InvalidRequest,
    /// The `realm`'s connection is not enabled for the client.
    RealmNotEnabled = "realm_not_enabled" => UnauthorizedClient,

    // /authorize.
    /// A `response_mode` Tessera does not implement.
    ResponseModeUnsupported = "response_mode_unsupported" => InvalidRequest,
    /// No `response_type`.
    ResponseTypeMissing = "response_type_missing" => InvalidRequest,
    /// A `response_type` Tessera does not implement.
    ResponseTypeUnsupported = "response_type_unsupported" => UnsupportedResponseType,
    /// A response mode that would put an ID token in the query string.
    ResponseModeNotAllowed = "response_mode_not_allowed" => InvalidRequest,
    /// An ID token asked for without `nonce` (OIDC Core §3.2.2.1).
    NonceRequired = "nonce_required" => InvalidRequest,
    /// An ID token asked for without the `openid` scope.
    OpenidScopeRequired = "openid_scope_required" => InvalidScope,
    /// A public client without PKCE.
    PkceRequired = "pkce_required" => InvalidRequest,
    /// `code_challenge_method` without `code_challenge`.
    PkceMethodWithoutChallenge = "pkce_method_without_challenge" => InvalidRequest,
    /// The `plain` method (or none, which means plain).
    PkcePlainRefused = "pkce_plain_refused" => InvalidRequest,
    /// An unknown `code_challenge_method`.
    PkceMethodUnsupported = "pkce_method_unsupported" => InvalidRequest,
    /// A challenge that is not a base64url SHA-256 digest.
    PkceChallengeMalformed = "pkce_challenge_malformed" => InvalidRequest,
    /// An unknown `prompt` value.
    PromptUnsupported = "prompt_unsupported" => InvalidRequest,
    /// `prompt=none` with other values.
    PromptNoneCombined = "prompt_none_combined" => InvalidRequest,
    /// `max_age` is not a non-negative integer.
    MaxAgeInvalid = "max_age_invalid" => InvalidRequest,
    /// A scope value is too long.
    ScopeTooLong = "scope_too_long" => InvalidScope,
    /// Too many scope values.
    TooManyScopes = "too_many_scopes" => InvalidScope,
    /// `prompt=none` and the user is not logged in (or must log in again).
    LoginRequired = "login_required" => LoginRequired,
    /// `prompt=none` and the user has not consented.
    ConsentRequired = "consent_required" => ConsentRequired,
    /// The user denied consent.
    ConsentDenied = "consent_denied" => AccessDenied,
    /// A post-login or credentials-exchange action called `api.access.deny`.
    ActionDenied = "action_denied" => AccessDenied,
    /// An action threw, ran out of time or memory, or never finished.
    ActionFailed = "action_failed" => AccessDenied,
    /// A credentials-exchange action denied with `invalid_request`.
    ActionDeniedInvalidRequest = "action_denied_invalid_request" => InvalidRequest,
    /// A credentials-exchange action denied with `invalid_scope`.
    ActionDeniedInvalidScope = "action_denied_invalid_scope" => InvalidScope,
    /// A credentials-exchange action denied with `server_error` (Auth0: 500).
    ActionDeniedServerError = "action_denied_server_error" => ServerError,
    /// The client was deleted while the user logged in.
    ClientGone = "client_gone" => UnauthorizedClient,
    /// The named connection does not exist or takes no passwords.
    ConnectionUnusable = "connection_unusable" => InvalidRequest,
    /// The upstream identity provider answered `error` (e.g. the user
    /// refused), or its user is blocked here.
    UpstreamDenied = "upstream_denied" => AccessDenied,
    /// The upstream provider could not be reached or did not answer in time.
    UpstreamUnavailable = "upstream_unavailable" => TemporarilyUnavailable,
    /// The upstream provider's answer failed a check (token exchange refused,
    /// an ID token with a bad signature, issuer, audience, nonce or expiry, an
    /// unusable profile).
    UpstreamInvalid = "upstream_invalid" => AccessDenied,
    /// The upstream connection is misconfigured (its secret does not open).
    UpstreamMisconfigured = "upstream_misconfigured" => ServerError,
    /// Token Vault: `subject_token_type` is neither a refresh nor an access
    /// token (RFC 8693 §2.2.2).
    SubjectTokenTypeUnsupported = "subject_token_type_unsupported" => InvalidRequest,
    /// Token Vault: `requested_token_type` is not Auth0's federated
    /// connection access token.
    RequestedTokenTypeUnsupported = "requested_token_type_unsupported" => InvalidRequest,
    /// Token Vault: the subject token is unknown, expired, revoked, rotated,
    /// an ID token, a machine token or garbage.
    SubjectTokenInvalid = "subject_token_invalid" => InvalidGrant,
    /// Token Vault: the subject token was issued to another client.
    SubjectTokenClientMismatch = "subject_token_client_mismatch" => InvalidGrant,
    /// Token Vault: a public client cannot use the exchange.
    TokenVaultPublicClient = "token_vault_public_client" => UnauthorizedClient,
    /// Token Vault: a third-party client (`is_first_party: false`) cannot
    /// use the exchange (Auth0 requires a first-party client).
    TokenVaultThirdParty = "token_vault_third_party" => UnauthorizedClient,
    /// Token Vault: the subject token's user has no identity (or no stored
    /// tokens) for the connection, or none matching `login_hint` (Auth0
    /// answers 401).
    FederatedIdentityMissing = "federated_identity_missing" => Unauthorized,
    /// Token Vault: the upstream access token expired and there is no
    /// upstream refresh token (or the provider refused it before).
    UpstreamTokenExpired = "upstream_token_expired" => InvalidGrant,
    /// Token Vault: the provider refused to refresh the upstream token.
    UpstreamRefreshRefused = "upstream_refresh_refused" => InvalidGrant,

    // Bearer tokens (RFC 6750).
    /// No token was sent (answered with a bare challenge).
    BearerMissing = "bearer_missing" => InvalidToken,
    /// The `Authorization` header is not one Bearer token.
    BearerMalformed = "bearer_malformed" => InvalidToken,
    /// The token was sent in more than one place.
    BearerInTwoPlaces = "bearer_in_two_places" => InvalidRequest,
    /// Not a JWS compact serialisation Tessera could read.
    TokenMalformed = "token_malformed" => InvalidToken,
    /// The token is larger than any Tessera issues.
    TokenTooLarge = "token_too_large" => InvalidToken,
    /// An ID token where an access token belongs.
    TokenIsIdToken = "token_is_id_token" => InvalidToken,
    /// A JWT of another type (`typ` is not `at+jwt`).
    TokenWrongType = "token_wrong_type" => InvalidToken,
    /// A `crit` header parameter Tessera does not understand.
    TokenUnknownCritical = "token_unknown_critical" => InvalidToken,
    /// Signed with a key Tessera does not publish.
    TokenUnknownKey = "token_unknown_key" => InvalidToken,
    /// `alg` differs from the key's algorithm.
    TokenAlgorithmMismatch = "token_algorithm_mismatch" => InvalidToken,
    /// The signature does not verify.
    TokenBadSignature = "token_bad_signature" => InvalidToken,
    /// Another issuer's token.
    TokenWrongIssuer = "token_wrong_issuer" => InvalidToken,
    /// A token for another audience.
    TokenWrongAudience = "token_wrong_audience" => InvalidToken,
    /// The token has expired.
    TokenExpired = "token_expired" => InvalidToken,
    /// The token is not valid yet.
    TokenNotYetValid = "token_not_yet_valid" => InvalidToken,
    /// The token was revoked.
    TokenRevoked = "token_revoked" => InvalidToken,
    /// An opaque token that is unknown, expired or revoked.
    TokenUnknown = "token_unknown" => InvalidToken,
    /// The token's user was deleted or blocked.
    TokenUserUnavailable = "token_user_unavailable" => InvalidToken,
    /// A valid token without the scope the endpoint needs.
    ScopeMissing = "scope_missing" => InsufficientScope,
}

/// Why a storage operation failed. Storage is a server fault, never the
/// client's: it has no [`Reason`].
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// A uniqueness or optimistic-concurrency check failed; nothing was written.
    #[error("conflict: {0}")]
    Conflict(String),
    /// The database cannot be reached.
    #[error("database unavailable: {0}")]
    Unavailable(String),
    /// A stored row does not decode.
    #[error("corrupt row: {0}")]
    Corrupt(String),
    #[error("database error: {0}")]
    Backend(String),
}

/// A rejected input: which property, and why.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{property}: {problem}")]
pub struct Invalid {
    pub property: String,
    pub problem: String,
    /// A precise, stable reason name when the problem is not just a bad
    /// value (a setting Tessera does not enforce, a reserved name, …); the
    /// Management API sends it in `Tessera-Error-Reason` (docs/errors.md).
    pub reason: Option<&'static str>,
}

impl Invalid {
    pub fn new(property: impl Into<String>, problem: impl Into<String>) -> Self {
        Self {
            property: property.into(),
            problem: problem.into(),
            reason: None,
        }
    }
    /// Names the precise reason (see [`Invalid::reason`]).
    pub fn with_reason(self, reason: &'static str) -> Self {
        Self {
            reason: Some(reason),
            ..self
        }
    }
}

/// A name that is no [`Reason`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("unknown error reason")]
pub struct UnknownReason;

impl fmt::Display for Reason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The one `error_description` of every client authentication failure that
/// could tell a caller something (the client exists, how it authenticates,
/// which of its keys exists or with which algorithm, a leaked secret still
/// right): before an assertion's signature verifies, every failure reads the
/// same. The typed reason (`Tessera-Error-Reason`, logs) stays distinct.
pub const WRONG_CLIENT: &str = "unknown client or wrong client credentials";

/// An error to show a client: why, and a description safe to show.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{reason}: {description}")]
pub struct OAuthError {
    reason: Reason,
    description: String,
}

impl OAuthError {
    pub fn new(reason: Reason, description: impl Into<String>) -> Self {
        Self {
            reason,
            description: description.into(),
        }
    }
    pub fn reason(&self) -> Reason {
        self.reason
    }
    pub fn code(&self) -> ErrorCode {
        self.reason.code()
    }
    /// The HTTP status of the answer ([`Reason::status`]).
    pub fn status(&self) -> u16 {
        self.reason.status()
    }
    pub fn description(&self) -> &str {
        &self.description
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_unique_and_parse_back() {
        let mut seen = std::collections::HashSet::new();
        for r in Reason::ALL {
            assert!(seen.insert(r.as_str()), "{r:?}");
            assert_eq!(r.as_str().parse::<Reason>(), Ok(*r));
            assert!(
                r.as_str()
                    .bytes()
                    .all(|b| b.is_ascii_lowercase() || b == b'_')
            );
        }
        assert_eq!("nope".parse::<Reason>(), Err(UnknownReason));
    }

    #[test]
    fn docs_list_every_reason_with_its_code() {
        let docs = include_str!("../../../docs/errors.md");
        for r in Reason::ALL {
            let row = format!("| `{}` | `{}` |", r.as_str(), r.code().as_str());
            assert!(docs.contains(&row), "docs/errors.md lacks {row}");
        }
    }
}
