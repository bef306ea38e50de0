//! Random identifiers and secrets, from the operating system's CSPRNG.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;

const ALPHANUMERIC: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";

#[derive(Debug, thiserror::Error)]
#[error("the system random number generator failed")]
pub struct RngError;

pub fn random_bytes<const N: usize>() -> Result<[u8; N], RngError> {
    let mut buf = [0u8; N];
    aws_lc_rs::rand::fill(&mut buf).map_err(|_| RngError)?;
    Ok(buf)
}

/// 96 random bits as 24 lowercase hex characters (user ids, Auth0's `_id`s).
pub fn hex_id() -> Result<String, RngError> {
    Ok(random_bytes::<12>()?
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect())
}

/// `len` characters from `[A-Za-z0-9]`, uniformly (rejection sampling).
pub fn alphanumeric(len: usize) -> Result<String, RngError> {
    let mut out = String::with_capacity(len);
    while out.len() < len {
        for b in random_bytes::<64>()? {
            // 248 = 4 * 62: bytes at or above it would bias the first characters.
            if b < 248 && out.len() < len {
                out.push(ALPHANUMERIC[(b % 62) as usize] as char);
            }
        }
    }
    Ok(out)
}

/// A prefixed id such as `con_…` or `cgr_…` (Auth0's shapes).
pub fn prefixed(prefix: &str) -> Result<String, RngError> {
    Ok(format!("{prefix}_{}", alphanumeric(16)?))
}

/// A client id: 32 alphanumerics, as Auth0's.
pub fn client_id() -> Result<String, RngError> {
    alphanumeric(32)
}

/// A client secret: 384 random bits, base64url (64 characters).
pub fn client_secret() -> Result<String, RngError> {
    Ok(URL_SAFE_NO_PAD.encode(random_bytes::<48>()?))
}

/// SHA-256 of `data`.
pub fn sha256(data: &[u8]) -> Vec<u8> {
    aws_lc_rs::digest::digest(&aws_lc_rs::digest::SHA256, data)
        .as_ref()
        .to_vec()
}

/// A CSP source expression for an inline script or style: `'sha256-…'`.
pub fn csp_hash(inline: &str) -> String {
    use base64::engine::general_purpose::STANDARD;
    format!("'sha256-{}'", STANDARD.encode(sha256(inline.as_bytes())))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shapes() {
        let id = client_id().unwrap();
        assert_eq!(id.len(), 32);
        assert!(id.bytes().all(|b| b.is_ascii_alphanumeric()));
        assert_ne!(id, client_id().unwrap());
        assert_eq!(client_secret().unwrap().len(), 64);
        assert!(prefixed("con").unwrap().starts_with("con_"));
    }
}
