//! Checks a JWT access token this server signed: signature with a published key
//! (the algorithm comes from the key, never from the header alone), `typ`, `iss`,
//! `aud`, `exp`/`nbf`/`iat`.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde::Deserialize;

use super::access::AccessClaims;
use crate::clock::UnixTime;
use crate::error::{OAuthError, Reason};
use crate::keys::KeySet;

/// Tokens larger than this are refused before any parsing.
pub const MAX_TOKEN_BYTES: usize = 16 * 1024;

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum VerifyError {
    #[error("the token is not a well-formed JWS")]
    Malformed,
    #[error("the token is too large")]
    TooLarge,
    #[error("this is an ID token; it is meant for the application, not for an API")]
    IdToken,
    #[error("the token's typ is not at+jwt")]
    WrongType,
    #[error("the token names a critical header extension this server does not understand")]
    UnknownCritical,
    #[error("the token was not signed by a key this server publishes")]
    UnknownKey,
    #[error("the token's algorithm does not match its key")]
    AlgorithmMismatch,
    #[error("the token's signature is invalid")]
    BadSignature,
    #[error("the token was issued by another issuer")]
    WrongIssuer,
    #[error("the token is for another audience")]
    WrongAudience,
    #[error("the token has expired")]
    Expired,
    #[error("the token is not valid yet")]
    NotYetValid,
    #[error("the token has been revoked")]
    Revoked,
}

impl VerifyError {
    /// Why the token is refused, as an OAuth error reason.
    pub fn reason(&self) -> Reason {
        match self {
            Self::Malformed => Reason::TokenMalformed,
            Self::TooLarge => Reason::TokenTooLarge,
            Self::IdToken => Reason::TokenIsIdToken,
            Self::WrongType => Reason::TokenWrongType,
            Self::UnknownCritical => Reason::TokenUnknownCritical,
            Self::UnknownKey => Reason::TokenUnknownKey,
            Self::AlgorithmMismatch => Reason::TokenAlgorithmMismatch,
            Self::BadSignature => Reason::TokenBadSignature,
            Self::WrongIssuer => Reason::TokenWrongIssuer,
            Self::WrongAudience => Reason::TokenWrongAudience,
            Self::Expired => Reason::TokenExpired,
            Self::NotYetValid => Reason::TokenNotYetValid,
            Self::Revoked => Reason::TokenRevoked,
        }
    }
}

impl From<VerifyError> for OAuthError {
    fn from(e: VerifyError) -> Self {
        OAuthError::new(e.reason(), e.to_string())
    }
}

#[derive(Deserialize)]
struct Header {
    alg: String,
    #[serde(default)]
    kid: Option<String>,
    #[serde(default)]
    typ: Option<String>,
    #[serde(default)]
    crit: Option<Vec<String>>,
}

#[derive(Deserialize)]
struct TimeClaims {
    #[serde(default)]
    nbf: Option<UnixTime>,
    #[serde(default)]
    nonce: Option<serde_json::Value>,
    #[serde(default)]
    at_hash: Option<serde_json::Value>,
}

/// Verifies `token` for `audience`. `leeway` seconds of clock skew are allowed.
pub fn verify_access_token(
    keys: &KeySet,
    token: &str,
    issuer: &str,
    audience: &str,
    now: UnixTime,
    leeway: i64,
) -> Result<AccessClaims, VerifyError> {
    verify(keys, token, issuer, Some(audience), now, leeway)
}

/// Verifies `token` whatever its audience: for the authorization server itself
/// (introspection, RFC 7662; revocation, RFC 7009), which answers for tokens of
/// every API. Every other check is [`verify_access_token`]'s.
pub fn verify_access_token_any_audience(
    keys: &KeySet,
    token: &str,
    issuer: &str,
    now: UnixTime,
    leeway: i64,
) -> Result<AccessClaims, VerifyError> {
    verify(keys, token, issuer, None, now, leeway)
}

fn verify(
    keys: &KeySet,
    token: &str,
    issuer: &str,
    audience: Option<&str>,
    now: UnixTime,
    leeway: i64,
) -> Result<AccessClaims, VerifyError> {
    if token.len() > MAX_TOKEN_BYTES {
        return Err(VerifyError::TooLarge);
    }
    let mut parts = token.split('.');
    let (Some(h), Some(p), Some(s), None) =
        (parts.next(), parts.next(), parts.next(), parts.next())
    else {
        return Err(VerifyError::Malformed);
    };
    let header_bytes = URL_SAFE_NO_PAD
        .decode(h)
        .map_err(|_| VerifyError::Malformed)?;
    let header: Header =
        serde_json::from_slice(&header_bytes).map_err(|_| VerifyError::Malformed)?;
    if header.crit.is_some() {
        return Err(VerifyError::UnknownCritical);
    }
    let kid = header.kid.as_deref().ok_or(VerifyError::UnknownKey)?;
    let key = keys.verifier(kid).ok_or(VerifyError::UnknownKey)?;
    if header.alg != key.alg().as_str() {
        return Err(VerifyError::AlgorithmMismatch);
    }
    let signature = URL_SAFE_NO_PAD
        .decode(s)
        .map_err(|_| VerifyError::Malformed)?;
    let signed = &token[..h.len() + 1 + p.len()];
    if !key.verify(signed.as_bytes(), &signature) {
        return Err(VerifyError::BadSignature);
    }
    let payload = URL_SAFE_NO_PAD
        .decode(p)
        .map_err(|_| VerifyError::Malformed)?;
    let extra: TimeClaims = serde_json::from_slice(&payload).map_err(|_| VerifyError::Malformed)?;
    match header.typ.as_deref() {
        Some(t)
            if t.eq_ignore_ascii_case("at+jwt") || t.eq_ignore_ascii_case("application/at+jwt") => {
        }
        _ if extra.nonce.is_some() || extra.at_hash.is_some() => return Err(VerifyError::IdToken),
        Some("JWT") | None => return Err(VerifyError::IdToken),
        _ => return Err(VerifyError::WrongType),
    }
    let claims: AccessClaims =
        serde_json::from_slice(&payload).map_err(|_| VerifyError::Malformed)?;
    if claims.iss != issuer {
        return Err(VerifyError::WrongIssuer);
    }
    if audience.is_some_and(|a| !claims.aud.contains(a)) {
        return Err(VerifyError::WrongAudience);
    }
    if now >= claims.exp + leeway {
        return Err(VerifyError::Expired);
    }
    if extra.nbf.is_some_and(|nbf| now + leeway < nbf) || now + leeway < claims.iat {
        return Err(VerifyError::NotYetValid);
    }
    Ok(claims)
}
