//! `/authorize` (RFC 6749 §4.1.1, OIDC Core §3.1.2.1, RFC 7636, RFC 8707).
//!
//! - [`request`]: the request is checked in two stages. Until the client and its
//!   redirect URI are known good, errors are shown to the user and never
//!   redirect (RFC 6749 §4.1.2.1); after that, an ordered list of small checks
//!   builds the pending request, and errors go back to the client.
//! - [`decision`]: what happens next to a pending request — log in, consent,
//!   issue the code, or an error for the client — from the request, the
//!   browser's session, the user's consent and the clock. The HTTP layer only
//!   renders the [`Decision`].
//! - [`response`]: the ID token `/authorize` returns itself (implicit and
//!   hybrid response types).

pub mod decision;
pub mod request;
pub mod response;

pub use decision::{Decision, Situation, asks_consent, decide, grant_scope};
pub use request::{
    PageError, RedirectError, check_client, check_request, origin_listed, origin_of,
    web_origin_allowed,
};
pub use response::FrontChannelIdToken;

use crate::error::{OAuthError, Reason};
use crate::model::ResourceServer;
use crate::params::truncate;

/// How long a user may take to log in and consent.
pub const AUTHORIZE_TX_LIFETIME: i64 = 900;

/// Whether a user-bound token (any grant that acts for a user) may be issued for
/// `api`. The Management API is the key to everything: only client-credentials
/// tokens of machine clients with a grant reach it, never a user's login
/// (Auth0 answers `access_denied` for an API the client may not use).
pub fn user_may_request(api: &ResourceServer, client_id: &str) -> Result<(), OAuthError> {
    if api.is_system {
        return Err(OAuthError::new(
            Reason::ManagementApiForUser,
            format!(
                "Client \"{}\" is not authorized to access \"{}\": the Management API accepts only client-credentials tokens",
                truncate(client_id),
                api.identifier
            ),
        ));
    }
    Ok(())
}

/// The scopes a token may carry: the asked OIDC scopes, plus the asked scopes the
/// API defines (others are dropped, as Auth0 does). `offline_access` stays only
/// when the API (if any) allows offline access.
pub fn granted_scopes(asked: &[String], api: Option<&ResourceServer>) -> Vec<String> {
    asked
        .iter()
        .filter(|s| match s.as_str() {
            "offline_access" => api.is_none_or(|a| a.allow_offline_access),
            other => {
                crate::token::id::is_oidc_scope(other)
                    || api.is_some_and(|a| a.scopes.iter().any(|d| d.value == other))
            }
        })
        .cloned()
        .collect()
}

/// RFC 7636 §4.6: BASE64URL(SHA256(code_verifier)) == code_challenge, in
/// constant time; the verifier must be 43..128 unreserved characters.
pub fn pkce_matches(verifier: &str, challenge: &str) -> bool {
    use base64::Engine;
    let valid = (43..=128).contains(&verifier.len())
        && verifier
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"-._~".contains(&b));
    if !valid {
        return false;
    }
    let digest = aws_lc_rs::digest::digest(&aws_lc_rs::digest::SHA256, verifier.as_bytes());
    let computed = base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(digest.as_ref());
    aws_lc_rs::constant_time::verify_slices_are_equal(computed.as_bytes(), challenge.as_bytes())
        .is_ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rfc7636_appendix_b() {
        assert!(pkce_matches(
            "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk",
            "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM"
        ));
        assert!(!pkce_matches(
            "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXl",
            "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM"
        ));
        assert!(!pkce_matches(
            "short",
            "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM"
        ));
    }
}
