//! `GET/POST userinfo` (OIDC Core §5.3): the claims about the user that the
//! access token's scopes release. The token comes in `Authorization: Bearer`,
//! or for POST in an `access_token` form field (RFC 6750 §2.2), never both.
//!
//! Accepted: a JWT access token this server signed whose `aud` includes
//! `{issuer}userinfo` (RFC 9068; an ID token is refused), or an opaque access
//! token. Either must carry `openid`. Failures follow RFC 6750 §3: 401
//! `invalid_token` (expired, revoked, unknown, an ID token, a blocked or deleted
//! user), 403 `insufficient_scope` for a valid token without `openid`, and a
//! bare 401 `Bearer realm` challenge when no token was sent.

use axum::Json;
use axum::extract::State;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use bytes::Bytes;
use serde_json::json;
use tessera_core::store::StoreError;
use tessera_core::token::id::user_claims;
use tessera_core::token::opaque::token_hash;
use tessera_core::token::verify::{MAX_TOKEN_BYTES, verify_access_token};

use super::{form_pairs, is_form, param};
use crate::error::ApiError;
use crate::state::AppState;

const REALM: &str = "tessera";

/// Keeps a description safe inside a quoted header parameter (RFC 6750 §3:
/// printable ASCII without `"` and `\`).
fn header_safe(s: &str) -> String {
    s.chars()
        .filter(|c| (' '..='~').contains(c) && *c != '"' && *c != '\\')
        .collect()
}

/// A bearer challenge: `status`, the RFC 6750 error (none when no token was
/// sent) and a JSON body.
fn challenge(
    status: StatusCode,
    error: Option<&str>,
    description: &str,
    scope: Option<&str>,
) -> Response {
    let mut value = format!("Bearer realm=\"{REALM}\"");
    if let Some(code) = error {
        value.push_str(&format!(
            ", error=\"{code}\", error_description=\"{}\"",
            header_safe(description)
        ));
    }
    if let Some(scope) = scope {
        value.push_str(&format!(", scope=\"{scope}\""));
    }
    let body = json!({
        "error": error.unwrap_or("invalid_token"),
        "error_description": description,
    });
    let mut res = (status, Json(body)).into_response();
    let h = res.headers_mut();
    if let Ok(v) = HeaderValue::from_str(&value) {
        h.insert(header::WWW_AUTHENTICATE, v);
    }
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    res
}

fn invalid_token(description: &str) -> Response {
    challenge(
        StatusCode::UNAUTHORIZED,
        Some("invalid_token"),
        description,
        None,
    )
}

fn store_error(e: StoreError) -> Response {
    // Not the client's fault, and never a 500 for it: retry later.
    ApiError::Unavailable(e.to_string()).into_response()
}

/// The bearer token of the `Authorization` header: `Some(None)` when the header
/// is absent or another scheme, `None` when it is malformed.
fn header_token(headers: &HeaderMap) -> Option<Option<String>> {
    let Some(value) = headers.get(header::AUTHORIZATION) else {
        return Some(None);
    };
    let Ok(text) = value.to_str() else {
        return None;
    };
    match text.split_once(' ') {
        Some((scheme, token)) if scheme.eq_ignore_ascii_case("bearer") => {
            let token = token.trim();
            if token.is_empty() {
                None
            } else {
                Some(Some(token.to_owned()))
            }
        }
        _ => Some(None),
    }
}

/// `GET userinfo`.
pub async fn userinfo_get(State(state): State<AppState>, headers: HeaderMap) -> Response {
    match header_token(&headers) {
        Some(token) => answer(&state, token.as_deref()).await,
        None => invalid_token("the Authorization header is malformed"),
    }
}

/// `POST userinfo`: the token in the header or in an `access_token` form field.
pub async fn userinfo_post(
    State(state): State<AppState>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let Some(in_header) = header_token(&headers) else {
        return invalid_token("the Authorization header is malformed");
    };
    let in_body = if is_form(&headers) {
        match form_pairs(&headers, &body) {
            Some(pairs) => param(&pairs, "access_token").map(str::to_owned),
            None => {
                return challenge(
                    StatusCode::BAD_REQUEST,
                    Some("invalid_request"),
                    "the form body is malformed",
                    None,
                );
            }
        }
    } else {
        None
    };
    match (in_header, in_body) {
        (Some(_), Some(_)) => challenge(
            StatusCode::BAD_REQUEST,
            Some("invalid_request"),
            "send the access token in one place only",
            None,
        ),
        (Some(t), None) | (None, Some(t)) => answer(&state, Some(&t)).await,
        (None, None) => answer(&state, None).await,
    }
}

async fn answer(state: &AppState, token: Option<&str>) -> Response {
    let Some(token) = token else {
        return challenge(
            StatusCode::UNAUTHORIZED,
            None,
            "an access token is required",
            None,
        );
    };
    if token.len() > MAX_TOKEN_BYTES {
        return invalid_token("the access token is too large");
    }
    let now = state.clock.now();
    let (user_id, scopes) = if token.split('.').count() == 3 {
        let keys = state.keys.current();
        let audience = state.config.issuer.join("userinfo");
        match verify_access_token(
            &keys,
            token,
            state.config.issuer.as_str(),
            &audience,
            now,
            0,
        ) {
            Ok(claims) => {
                if state.revocations.is_revoked(
                    &claims.jti,
                    &claims.client_id,
                    &claims.aud.to_vec(),
                    claims.iat,
                ) {
                    return invalid_token("the access token has been revoked");
                }
                let scopes: Vec<String> = claims.scopes().map(str::to_owned).collect();
                (claims.sub, scopes)
            }
            Err(e) => return invalid_token(&e.to_string()),
        }
    } else {
        match state.store.get_opaque_token(&token_hash(token), now).await {
            Ok(Some(t)) => {
                if state
                    .revocations
                    .is_revoked("", &t.client_id, &[], t.issued_at)
                {
                    return invalid_token("the access token has been revoked");
                }
                (t.user_id, t.scope)
            }
            Ok(None) => return invalid_token("the access token is unknown, expired or revoked"),
            Err(e) => return store_error(e),
        }
    };
    if !scopes.iter().any(|s| s == "openid") {
        return challenge(
            StatusCode::FORBIDDEN,
            Some("insufficient_scope"),
            "the access token does not carry the openid scope",
            Some("openid"),
        );
    }
    let user = match state.store.get_user(&user_id).await {
        Ok(Some(u)) if !u.blocked => u,
        Ok(_) => return invalid_token("the user no longer exists or is blocked"),
        Err(e) => return store_error(e),
    };
    let mut res = Json(user_claims(&user, &scopes)).into_response();
    res.headers_mut()
        .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    res.headers_mut()
        .insert(header::PRAGMA, HeaderValue::from_static("no-cache"));
    res
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn header_tokens() {
        let mut h = HeaderMap::new();
        assert_eq!(header_token(&h), Some(None));
        h.insert(
            header::AUTHORIZATION,
            HeaderValue::from_static("Bearer abc"),
        );
        assert_eq!(header_token(&h), Some(Some("abc".into())));
        h.insert(
            header::AUTHORIZATION,
            HeaderValue::from_static("bearer  abc "),
        );
        assert_eq!(header_token(&h), Some(Some("abc".into())));
        h.insert(header::AUTHORIZATION, HeaderValue::from_static("Basic abc"));
        assert_eq!(header_token(&h), Some(None));
        h.insert(header::AUTHORIZATION, HeaderValue::from_static("Bearer "));
        assert_eq!(header_token(&h), None);
        assert_eq!(header_safe("a\"b\\c\nd"), "abcd");
    }
}
