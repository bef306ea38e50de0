//! `private_key_jwt` client authentication (RFC 7523 §2.2 and §3, OIDC Core
//! §9): a JWT the client signs with a key it registered as a credential.
//!
//! Checks, in order: size; header (`alg` one of the credentials' algorithms,
//! never `none` or HMAC; no `crit`); `iss` = `sub` = the client; a usable
//! credential the client enabled (`kid` selects when sent) whose `alg` is the
//! header's; the signature; `aud` (the issuer or the token endpoint, a string or a one-element array); `exp`
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
/// Clock skew allowed on `exp`, `nbf` and `iat`: an assertion is refused
/// from `exp + LEEWAY` on.
pub const LEEWAY: i64 = 30;
/// How long past `exp` its `jti` stays recorded: `LEEWAY` more than the
/// last second it is accepted, so nodes whose clocks differ by less than
/// that never both accept it (one still holds the record).
pub const JTI_KEPT_PAST_EXP: i64 = 2 * LEEWAY;
/// Longest `jti` accepted (it is stored until the assertion expires).
pub const MAX_JTI_LEN: usize = 256;

fn refused(reason: Reason, description: &str) -> OAuthError {
    OAuthError::new(reason, description)
}

/// A failure before the signature verifies: the same description for all
/// (what differs is only the typed reason), so the answer tells nothing of
/// the client, its keys or their algorithms.
fn unverified(reason: Reason) -> OAuthError {
    OAuthError::new(reason, crate::error::WRONG_CLIENT)
}

fn malformed() -> OAuthError {
    unverified(Reason::ClientAssertionMalformed)
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
        return Err(unverified(Reason::ClientAssertionTooLarge));
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
        (Some(_), Some(_)) => Err(unverified(Reason::ClientAssertionSubjectMismatch)),
        _ => Err(unverified(Reason::ClientAssertionClaimMissing)),
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
        return Err(unverified(Reason::ClientAssertionMalformed));
    }
    let Ok(alg) = parts.header.alg.parse::<CredentialAlg>() else {
        return Err(unverified(Reason::ClientAssertionAlgorithm));
    };
    if parts.claims.iss.as_deref() != Some(client.client_id.as_str())
        || parts.claims.sub.as_deref() != Some(client.client_id.as_str())
    {
        return Err(unverified(Reason::ClientAssertionSubjectMismatch));
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
        return Err(unverified(Reason::ClientAssertionUnknownKey));
    }
    let same_alg: Vec<&&ClientCredential> = candidates.iter().filter(|c| c.alg == alg).collect();
    if same_alg.is_empty() {
        return Err(unverified(Reason::ClientAssertionAlgorithm));
    }
    if !same_alg
        .iter()
        .any(|c| verifies(alg, &c.key, parts.signed.as_bytes(), &parts.signature))
    {
        return Err(unverified(Reason::ClientAssertionBadSignature));
    }
    check_claims(&parts.claims, issuer, now)
}

fn check_claims(claims: &Claims, issuer: &Issuer, now: UnixTime) -> Result<Accepted, OAuthError> {
    let token_endpoint = issuer.join("oauth/token");
    let ours = |a: &String| a == issuer.as_str() || *a == token_endpoint;
    let audience_ok = match &claims.aud {
        Some(Audience::One(a)) => ours(a),
        // A one-element array is the same audience; more values would let an
        // assertion made for another party be replayed here.
        Some(Audience::Many(list)) => matches!(list.as_slice(), [one] if ours(one)),
        None => false,
    };
    if !audience_ok {
        return Err(refused(
            Reason::ClientAssertionWrongAudience,
            "client_assertion's aud must be the issuer or the token endpoint, alone",
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
    if now >= exp.saturating_add(LEEWAY) {
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
        expires_at: exp.saturating_add(JTI_KEPT_PAST_EXP),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(exp: i64, aud: serde_json::Value, now: UnixTime) -> Result<Accepted, OAuthError> {
        let claims: Claims = serde_json::from_value(serde_json::json!({
            "iss": "c", "sub": "c", "aud": aud, "exp": exp, "jti": "j"
        }))
        .unwrap();
        let issuer = Issuer::parse("https://tessera.example/").unwrap();
        check_claims(&claims, &issuer, now)
    }

    #[test]
    fn the_last_accepted_second_is_before_exp_plus_leeway_and_the_jti_outlives_it() {
        let exp = 1_000_000;
        let aud = serde_json::json!("https://tessera.example/");
        let last = at(exp, aud.clone(), exp + LEEWAY - 1).unwrap();
        // Recorded LEEWAY past the last accepted second: a node whose clock
        // is up to LEEWAY behind still finds the record.
        assert_eq!(last.expires_at, exp + 2 * LEEWAY);
        assert!(last.expires_at >= exp + LEEWAY - 1 + LEEWAY);
        let refused = at(exp, aud, exp + LEEWAY).unwrap_err();
        assert_eq!(refused.reason(), Reason::ClientAssertionExpired);
    }

    #[test]
    fn aud_is_one_accepted_value() {
        let now = 1_000_000;
        let issuer = "https://tessera.example/";
        let endpoint = "https://tessera.example/oauth/token";
        for ok in [
            serde_json::json!(issuer),
            serde_json::json!(endpoint),
            serde_json::json!([issuer]),
            serde_json::json!([endpoint]),
        ] {
            assert!(at(now + 60, ok.clone(), now).is_ok(), "{ok}");
        }
        for bad in [
            serde_json::json!([issuer, "https://other.example/"]),
            serde_json::json!([issuer, endpoint]),
            serde_json::json!([]),
            serde_json::json!("https://tessera.example/api/v2/"),
        ] {
            let e = at(now + 60, bad.clone(), now).unwrap_err();
            assert_eq!(e.reason(), Reason::ClientAssertionWrongAudience, "{bad}");
        }
    }
}
