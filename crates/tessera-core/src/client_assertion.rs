//! `private_key_jwt` client authentication (RFC 7523 §2.2 and §3, OIDC Core
//! §9): a JWT the client signs with a key it registered as a credential.
//!
//! Checks, in order: size; header (`alg` one of the credentials' algorithms,
//! never `none` or HMAC; no `crit`); `iss` = `sub` = the client; a usable
//! credential the client enabled (`kid` selects when sent) whose `alg` is the
//! header's; the signature; `aud` (the issuer or the token endpoint); `exp`
//! (present, not past, at most five minutes ahead), `nbf`, `iat`; `jti`
//! (present; single use is the store's, [`crate::store::CredentialStore::record_assertion_jti`]).

use aws_lc_rs::signature::{self, RsaPublicKeyComponents, UnparsedPublicKey};
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde::Deserialize;

use crate::clock::UnixTime;
use crate::error::{OAuthError, Reason};
use crate::model::{Client, ClientCredential, CredentialAlg, PublicJwk};
use crate::types::Issuer;

/// RFC 7523 §2.2's `client_assertion_type`.
pub const JWT_BEARER: &str = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer";
/// Larger assertions are refused before any parsing.
pub const MAX_ASSERTION_BYTES: usize = 8 * 1024;
/// The longest an assertion may be valid ahead (`exp` − now).
pub const MAX_LIFETIME: i64 = 300;
/// Clock skew allowed on `exp`, `nbf` and `iat`.
pub const LEEWAY: i64 = 30;
/// Longest `jti` accepted (it is stored until the assertion expires).
pub const MAX_JTI_LEN: usize = 256;

fn refused(reason: Reason, description: &str) -> OAuthError {
    OAuthError::new(reason, description)
}

fn malformed() -> OAuthError {
    refused(
        Reason::ClientAssertionMalformed,
        "client_assertion is not a well-formed JWT",
    )
}

#[derive(Deserialize)]
struct Header {
    alg: String,
    #[serde(default)]
    kid: Option<String>,
    #[serde(default)]
    crit: Option<serde_json::Value>,
}

#[derive(Deserialize)]
#[serde(untagged)]
enum Audience {
    One(String),
    Many(Vec<String>),
}

#[derive(Deserialize)]
struct Claims {
    #[serde(default)]
    iss: Option<String>,
    #[serde(default)]
    sub: Option<String>,
    #[serde(default)]
    aud: Option<Audience>,
    #[serde(default)]
    exp: Option<serde_json::Number>,
    #[serde(default)]
    nbf: Option<serde_json::Number>,
    #[serde(default)]
    iat: Option<serde_json::Number>,
    #[serde(default)]
    jti: Option<String>,
}

/// A NumericDate (RFC 7519 §2), whole seconds.
fn seconds(n: &serde_json::Number) -> Option<i64> {
    n.as_i64()
        .or_else(|| n.as_f64().filter(|f| f.is_finite()).map(|f| f as i64))
}

struct Parts<'a> {
    header: Header,
    claims: Claims,
    signed: &'a str,
    signature: Vec<u8>,
}

fn parts(assertion: &str) -> Result<Parts<'_>, OAuthError> {
    if assertion.len() > MAX_ASSERTION_BYTES {
        return Err(refused(
            Reason::ClientAssertionTooLarge,
            "client_assertion is too large",
        ));
    }
    let mut it = assertion.split('.');
    let (Some(h), Some(p), Some(s), None) = (it.next(), it.next(), it.next(), it.next()) else {
        return Err(malformed());
    };
    let decode = |part: &str| URL_SAFE_NO_PAD.decode(part).map_err(|_| malformed());
    let header: Header = serde_json::from_slice(&decode(h)?).map_err(|_| malformed())?;
    let claims: Claims = serde_json::from_slice(&decode(p)?).map_err(|_| malformed())?;
    Ok(Parts {
        header,
        claims,
        signed: &assertion[..h.len() + 1 + p.len()],
        signature: decode(s)?,
    })
}

/// The client an assertion names (`iss`, which must equal `sub`), read
/// before anything is verified: it only says which client's keys to try.
pub fn client_id_of(assertion: &str) -> Result<String, OAuthError> {
    let parts = parts(assertion)?;
    match (parts.claims.iss, parts.claims.sub) {
        (Some(iss), Some(sub)) if iss == sub && !iss.is_empty() => Ok(iss),
        (Some(_), Some(_)) => Err(refused(
            Reason::ClientAssertionSubjectMismatch,
            "client_assertion's iss and sub must both be the client_id",
        )),
        _ => Err(refused(
            Reason::ClientAssertionClaimMissing,
            "client_assertion needs iss and sub",
        )),
    }
}

/// What the store must remember: the `jti`, until the assertion expires.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Accepted {
    pub jti: String,
    pub expires_at: UnixTime,
}

fn verifies(alg: CredentialAlg, key: &PublicJwk, message: &[u8], signature: &[u8]) -> bool {
    let bytes = |v: &Option<String>| v.as_deref().and_then(|s| URL_SAFE_NO_PAD.decode(s).ok());
    match alg {
        CredentialAlg::ES256 => {
            let (Some(x), Some(y)) = (bytes(&key.x), bytes(&key.y)) else {
                return false;
            };
            let mut point = vec![4u8];
            point.extend(x);
            point.extend(y);
            UnparsedPublicKey::new(&signature::ECDSA_P256_SHA256_FIXED, point)
                .verify(message, signature)
                .is_ok()
        }
        rsa => {
            let (Some(n), Some(e)) = (bytes(&key.n), bytes(&key.e)) else {
                return false;
            };
            let params = match rsa {
                CredentialAlg::RS384 => &signature::RSA_PKCS1_2048_8192_SHA384,
                CredentialAlg::PS256 => &signature::RSA_PSS_2048_8192_SHA256,
                _ => &signature::RSA_PKCS1_2048_8192_SHA256,
            };
            RsaPublicKeyComponents { n, e }
                .verify(params, message, signature)
                .is_ok()
        }
    }
}

/// Verifies `assertion` for `client` against its `credentials` (all of them:
/// only those it enabled and that have not expired are tried).
pub fn verify(
    assertion: &str,
    client: &Client,
    credentials: &[ClientCredential],
    issuer: &Issuer,
    now: UnixTime,
) -> Result<Accepted, OAuthError> {
    let parts = parts(assertion)?;
    if parts.header.crit.is_some() {
        return Err(refused(
            Reason::ClientAssertionMalformed,
            "client_assertion names a critical header extension",
        ));
    }
    let Ok(alg) = parts.header.alg.parse::<CredentialAlg>() else {
        return Err(refused(
            Reason::ClientAssertionAlgorithm,
            "client_assertion must be signed with RS256, RS384, PS256 or ES256",
        ));
    };
    if parts.claims.iss.as_deref() != Some(client.client_id.as_str())
        || parts.claims.sub.as_deref() != Some(client.client_id.as_str())
    {
        return Err(refused(
            Reason::ClientAssertionSubjectMismatch,
            "client_assertion's iss and sub must both be the client_id",
        ));
    }
    let enabled: Vec<&str> = client
        .client_authentication_methods
        .as_ref()
        .map(|m| m.private_key_jwt_ids().collect())
        .unwrap_or_default();
    let candidates: Vec<&ClientCredential> = credentials
        .iter()
        .filter(|c| c.client_id == client.client_id && enabled.contains(&c.id.as_str()))
        .filter(|c| c.usable_at(now))
        .filter(|c| parts.header.kid.as_deref().is_none_or(|kid| c.kid == kid))
        .collect();
    if candidates.is_empty() {
        return Err(refused(
            Reason::ClientAssertionUnknownKey,
            "no enabled, unexpired credential of this client matches client_assertion",
        ));
    }
    let same_alg: Vec<&&ClientCredential> = candidates.iter().filter(|c| c.alg == alg).collect();
    if same_alg.is_empty() {
        return Err(refused(
            Reason::ClientAssertionAlgorithm,
            "client_assertion's alg is not its credential's",
        ));
    }
    if !same_alg
        .iter()
        .any(|c| verifies(alg, &c.key, parts.signed.as_bytes(), &parts.signature))
    {
        return Err(refused(
            Reason::ClientAssertionBadSignature,
            "client_assertion's signature does not verify",
        ));
    }
    check_claims(&parts.claims, issuer, now)
}

fn check_claims(claims: &Claims, issuer: &Issuer, now: UnixTime) -> Result<Accepted, OAuthError> {
    let token_endpoint = issuer.join("oauth/token");
    let ours = |a: &String| a == issuer.as_str() || *a == token_endpoint;
    let audience_ok = match &claims.aud {
        Some(Audience::One(a)) => ours(a),
        Some(Audience::Many(list)) => list.iter().any(ours),
        None => false,
    };
    if !audience_ok {
        return Err(refused(
            Reason::ClientAssertionWrongAudience,
            "client_assertion's aud must be the issuer or the token endpoint",
        ));
    }
    let (Some(exp), Some(jti)) = (claims.exp.as_ref().and_then(seconds), claims.jti.as_ref())
    else {
        return Err(refused(
            Reason::ClientAssertionClaimMissing,
            "client_assertion needs exp and jti",
        ));
    };
    if jti.is_empty() || jti.len() > MAX_JTI_LEN {
        return Err(refused(
            Reason::ClientAssertionMalformed,
            "client_assertion's jti must be 1 to 256 characters",
        ));
    }
    if now > exp.saturating_add(LEEWAY) {
        return Err(refused(
            Reason::ClientAssertionExpired,
            "client_assertion has expired",
        ));
    }
    if exp > now.saturating_add(MAX_LIFETIME + LEEWAY) {
        return Err(refused(
            Reason::ClientAssertionLifetimeTooLong,
            "client_assertion's exp may be at most five minutes ahead",
        ));
    }
    let future = |n: &Option<serde_json::Number>| {
        n.as_ref()
            .and_then(seconds)
            .is_some_and(|t| t > now.saturating_add(LEEWAY))
    };
    if future(&claims.nbf) || future(&claims.iat) {
        return Err(refused(
            Reason::ClientAssertionNotYetValid,
            "client_assertion is not valid yet",
        ));
    }
    Ok(Accepted {
        jti: jti.clone(),
        expires_at: exp.saturating_add(LEEWAY),
    })
}
