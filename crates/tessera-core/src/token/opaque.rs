//! Opaque values: access tokens without an API, codes, refresh tokens and
//! session secrets are 256 random bits; the store keeps only their SHA-256.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;

use crate::ids::random_bytes;

/// Opaque access tokens (no API) live this long.
pub const OPAQUE_TOKEN_LIFETIME: i64 = 86400;

/// SHA-256 of a code or opaque token: what the store keeps.
pub fn token_hash(value: &str) -> Vec<u8> {
    crate::ids::sha256(value.as_bytes())
}

/// A fresh code or opaque token: 256 random bits, base64url.
pub fn new_secret_value() -> Result<String, crate::ids::RngError> {
    Ok(URL_SAFE_NO_PAD.encode(random_bytes::<32>()?))
}
