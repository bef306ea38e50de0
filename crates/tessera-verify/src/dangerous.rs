//! Dangerous: decoding a JWT without verifying it (for `tessera token inspect`).
//! What this returns is unauthenticated: show it to a person, never decide on
//! it. The module's name says so at every call site.

use serde_json::Value;

use crate::VerifyError;
use crate::jws::{b64, split};

/// Tokens longer than this are not decoded (inspection only; verification has
/// its own, smaller cap).
const MAX_INSPECT_BYTES: usize = 1 << 20;

/// The header and the claims of a compact JWS, as JSON, signature unchecked.
/// The signature part is not decoded, so `alg: none` tokens decode too.
pub fn decode_unverified(token: &str) -> Result<(Value, Value), VerifyError> {
    let token = token.trim();
    if token.len() > MAX_INSPECT_BYTES {
        return Err(VerifyError::TooLarge);
    }
    let (h, p, _) = split(token)?;
    let header: Value = serde_json::from_slice(&b64(h, "header")?)
        .map_err(|e| VerifyError::Malformed(format!("the header is not JSON: {e}")))?;
    if !header.is_object() {
        return Err(VerifyError::Malformed(
            "the header is not a JSON object".into(),
        ));
    }
    let claims: Value = serde_json::from_slice(&b64(p, "payload")?)
        .map_err(|e| VerifyError::Malformed(format!("the payload is not JSON: {e}")))?;
    if !claims.is_object() {
        return Err(VerifyError::Malformed(
            "the payload is not a JSON object".into(),
        ));
    }
    Ok((header, claims))
}
