//! `/authorize` (RFC 6749 §4.1.1, OIDC Core §3.1.2.1, RFC 7636, RFC 8707): the
//! request is checked in two stages. Until the client and its redirect URI are
//! known good, errors are shown to the user and never redirect (RFC 6749
//! §4.1.2.1); after that, errors go back to the client.

use crate::clock::UnixTime;
use crate::error::{ErrorCode, OAuthError};
use crate::flow::AuthorizeTx;
use crate::model::{Client, ResourceServer};
use crate::params::{Params, truncate};

/// How long a user may take to log in and consent.
pub const AUTHORIZE_TX_LIFETIME: i64 = 900;

/// An error for the user's eyes only: the client or redirect URI is not trusted.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PageError {
    pub title: &'static str,
    pub detail: String,
}

/// An error to send back to the client's redirect URI.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RedirectError {
    pub redirect_uri: String,
    pub response_mode: String,
    pub state: Option<String>,
    pub error: OAuthError,
}

/// Stage one: which client and redirect URI. `client` is the stored client for
/// `client_id` (if any).
pub fn check_client<'a>(
    params: &Params,
    client: Option<&'a Client>,
) -> Result<(&'a Client, String), PageError> {
    let Some(client_id) = params.get("client_id") else {
        return Err(PageError {
            title: "Missing client_id",
            detail: "The request names no application (client_id).".into(),
        });
    };
    let Some(client) = client else {
        return Err(PageError {
            title: "Unknown application",
            detail: format!(
                "No application has the client_id {:?}.",
                truncate(client_id)
            ),
        });
    };
    let redirect_uri = match params.get("redirect_uri") {
        Some(uri) => uri.to_owned(),
        // RFC 6749 §3.1.2.3: may be omitted when exactly one is registered.
        None if client.callbacks.len() == 1 => client.callbacks[0].clone(),
        None => {
            return Err(PageError {
                title: "Missing redirect_uri",
                detail: "The request names no redirect_uri and the application has several.".into(),
            });
        }
    };
    // Exact string comparison (RFC 9700 §4.1.3): no prefix, wildcard or
    // normalisation.
    if !client.callbacks.iter().any(|c| c == &redirect_uri) {
        return Err(PageError {
            title: "Callback URL mismatch",
            detail: format!(
                "The redirect_uri {:?} is not one of the application's allowed callback URLs.",
                truncate(&redirect_uri)
            ),
        });
    }
    Ok((client, redirect_uri))
}

/// Stage two, for a trusted client and redirect URI. `find_api` looks an API up
/// by identifier.
pub fn check_request(
    params: &Params,
    client: &Client,
    redirect_uri: String,
    api: Option<&ResourceServer>,
    now: UnixTime,
) -> Result<AuthorizeTx, RedirectError> {
    let state = params.get("state").map(str::to_owned);
    let mut response_mode = "query".to_owned();
    let fail = |mode: &str, code: ErrorCode, description: String| RedirectError {
        redirect_uri: redirect_uri.clone(),
        response_mode: mode.to_owned(),
        state: state.clone(),
        error: OAuthError::new(code, description),
    };
    match params.get("response_mode") {
        None | Some("query") => {}
        Some("form_post") => response_mode = "form_post".into(),
        Some(other) => {
            return Err(fail(
                "query",
                ErrorCode::InvalidRequest,
                format!("unsupported response_mode {:?}", truncate(other)),
            ));
        }
    }
    let fail = |code: ErrorCode, description: String| fail(&response_mode, code, description);
    match params.get("response_type") {
        Some("code") => {}
        None => {
            return Err(fail(
                ErrorCode::InvalidRequest,
                "response_type is required".into(),
            ));
        }
        Some(other) => {
            return Err(fail(
                ErrorCode::UnsupportedResponseType,
                format!(
                    "response_type {:?} is not supported; use code",
                    truncate(other)
                ),
            ));
        }
    }
    if !client.grant_types.iter().any(|g| g == "authorization_code") {
        return Err(fail(
            ErrorCode::UnauthorizedClient,
            "the application may not use the authorization code flow".into(),
        ));
    }
    let public = client.token_endpoint_auth_method == "none";
    let code_challenge = match (
        params.get("code_challenge"),
        params.get("code_challenge_method"),
    ) {
        (None, None) if public => {
            return Err(fail(
                ErrorCode::InvalidRequest,
                "public clients must use PKCE (code_challenge with S256)".into(),
            ));
        }
        (None, None) => None,
        (None, Some(_)) => {
            return Err(fail(
                ErrorCode::InvalidRequest,
                "code_challenge_method without code_challenge".into(),
            ));
        }
        (Some(_), None | Some("plain")) => {
            return Err(fail(
                ErrorCode::InvalidRequest,
                "code_challenge_method must be S256 (plain is refused)".into(),
            ));
        }
        (Some(challenge), Some("S256")) => {
            // RFC 7636 §4.2: BASE64URL(SHA256(verifier)) is 43 characters.
            let ok = challenge.len() == 43
                && challenge
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_');
            if !ok {
                return Err(fail(
                    ErrorCode::InvalidRequest,
                    "code_challenge is not a base64url SHA-256 digest".into(),
                ));
            }
            Some(challenge.to_owned())
        }
        (Some(_), Some(other)) => {
            return Err(fail(
                ErrorCode::InvalidRequest,
                format!("unsupported code_challenge_method {:?}", truncate(other)),
            ));
        }
    };
    let audience = match (params.get("audience"), params.get("resource")) {
        (Some(a), Some(r)) if a != r => {
            return Err(fail(
                ErrorCode::InvalidRequest,
                "audience and resource name different APIs".into(),
            ));
        }
        (Some(a), _) | (None, Some(a)) => Some(a.to_owned()),
        (None, None) => None,
    };
    if let Some(aud) = &audience
        && api.is_none()
    {
        return Err(fail(
            ErrorCode::AccessDenied,
            format!("Service not found: {}", truncate(aud)),
        ));
    }
    if let Some(api) = api
        && let Err(e) = user_may_request(api, &client.client_id)
    {
        return Err(fail(e.code, e.description));
    }
    let prompt: Vec<String> = params
        .get("prompt")
        .map(|p| {
            p.split(' ')
                .filter(|s| !s.is_empty())
                .map(str::to_owned)
                .collect()
        })
        .unwrap_or_default();
    for p in &prompt {
        if !["none", "login", "consent", "select_account"].contains(&p.as_str()) {
            return Err(fail(
                ErrorCode::InvalidRequest,
                format!("unsupported prompt {:?}", truncate(p)),
            ));
        }
    }
    if prompt.iter().any(|p| p == "none") && prompt.len() > 1 {
        return Err(fail(
            ErrorCode::InvalidRequest,
            "prompt=none cannot be combined with other values".into(),
        ));
    }
    let max_age = match params.get("max_age") {
        None => None,
        Some(v) => match v.parse::<i64>() {
            Ok(n) if n >= 0 => Some(n),
            _ => {
                return Err(fail(
                    ErrorCode::InvalidRequest,
                    "max_age must be a non-negative integer".into(),
                ));
            }
        },
    };
    let scope: Vec<String> = {
        let mut out: Vec<String> = Vec::new();
        for s in params
            .get("scope")
            .unwrap_or("")
            .split(' ')
            .filter(|s| !s.is_empty())
        {
            if s.len() > 256 {
                return Err(fail(
                    ErrorCode::InvalidScope,
                    "a scope value is too long".into(),
                ));
            }
            if !out.iter().any(|o| o == s) {
                out.push(s.to_owned());
            }
        }
        out
    };
    if scope.len() > 100 {
        return Err(fail(ErrorCode::InvalidScope, "too many scopes".into()));
    }
    for (name, max) in [
        ("state", 2048),
        ("nonce", 512),
        ("login_hint", 256),
        ("connection", 128),
    ] {
        if params.get(name).is_some_and(|v| v.len() > max) {
            return Err(fail(
                ErrorCode::InvalidRequest,
                format!("{name} is too long"),
            ));
        }
    }
    Ok(AuthorizeTx {
        id: String::new(),
        client_id: client.client_id.clone(),
        redirect_uri,
        response_mode,
        scope,
        audience,
        state,
        nonce: params.get("nonce").map(str::to_owned),
        code_challenge,
        prompt,
        max_age,
        login_hint: params.get("login_hint").map(str::to_owned),
        connection: params.get("connection").map(str::to_owned),
        browser_binding: Vec::new(),
        created_at: now,
        expires_at: now + AUTHORIZE_TX_LIFETIME,
    })
}

/// Whether a user-bound token (any grant that acts for a user) may be issued for
/// `api`. The Management API is the key to everything: only client-credentials
/// tokens of machine clients with a grant reach it, never a user's login
/// (Auth0 answers `access_denied` for an API the client may not use).
pub fn user_may_request(api: &ResourceServer, client_id: &str) -> Result<(), OAuthError> {
    if api.is_system {
        return Err(OAuthError::new(
            ErrorCode::AccessDenied,
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
