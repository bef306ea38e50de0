//! JWS compact serialisation (RFC 7515 §7.1) with a held signing key.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde::Serialize;

use crate::keys::{KeyMaterialError, SigningKey};

/// `typ` of an access token (RFC 9068 §2.1).
pub const TYP_AT_JWT: &str = "at+jwt";
/// `typ` of an ID token.
pub const TYP_JWT: &str = "JWT";

#[derive(Debug, thiserror::Error)]
pub enum JwtError {
    #[error("claims do not serialise: {0}")]
    Claims(#[from] serde_json::Error),
    #[error(transparent)]
    Sign(#[from] KeyMaterialError),
}

#[derive(Serialize)]
struct Header<'a> {
    alg: &'a str,
    kid: &'a str,
    typ: &'a str,
}

/// Signs `claims` as a compact JWS with header `{alg, kid, typ}`.
pub fn sign<C: Serialize>(key: &SigningKey, typ: &str, claims: &C) -> Result<String, JwtError> {
    let header = serde_json::to_vec(&Header {
        alg: key.alg().as_str(),
        kid: key.kid(),
        typ,
    })?;
    let payload = serde_json::to_vec(claims)?;
    let mut out = String::with_capacity((header.len() + payload.len()) * 4 / 3 + 360);
    URL_SAFE_NO_PAD.encode_string(&header, &mut out);
    out.push('.');
    URL_SAFE_NO_PAD.encode_string(&payload, &mut out);
    let signature = key.sign(out.as_bytes())?;
    out.push('.');
    URL_SAFE_NO_PAD.encode_string(&signature, &mut out);
    Ok(out)
}
