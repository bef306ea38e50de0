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
use axum::http::{HeaderMap, HeaderValue, header};
use axum::response::{IntoResponse, Response};
use bytes::Bytes;
use tessera_core::error::{OAuthError, Reason};
use tessera_core::store::StoreError;
use tessera_core::token::id::user_claims;
use tessera_core::token::opaque::token_hash;
use tessera_core::token::verify::{MAX_TOKEN_BYTES, verify_access_token};

use super::{form_pairs, is_form, param};
use crate::cors;
use crate::error::{ApiError, bearer_error};
use crate::state::AppState;

const REALM: &str = "tessera";

/// A refusal (RFC 6750 §3).
fn refuse(reason: Reason, description: &str) -> Response {
    bearer_error(&OAuthError::new(reason, description), REALM, None)
}

fn store_error(e: StoreError) -> Response {
    // Not the client's fault, and never a 500 for it: retry later.
    ApiError::Unavailable(e).into_response()
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
        None => refuse(
            Reason::BearerMalformed,
            "the Authorization header is malformed",
        ),
    }
}

/// `POST userinfo`: the token in the header or in an `access_token` form field.
pub async fn userinfo_post(
    State(state): State<AppState>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let Some(in_header) = header_token(&headers) else {
        return refuse(
            Reason::BearerMalformed,
            "the Authorization header is malformed",
        );
    };
    let in_body = if is_form(&headers) {
        match form_pairs(&headers, &body) {
            Some(pairs) => param(&pairs, "access_token").map(str::to_owned),
            None => {
                return refuse(Reason::FormMalformed, "the form body is malformed");
            }
        }
    } else {
        None
    };
    match (in_header, in_body) {
        (Some(_), Some(_)) => refuse(
            Reason::BearerInTwoPlaces,
            "send the access token in one place only",
        ),
        (Some(t), None) | (None, Some(t)) => answer(&state, Some(&t)).await,
        (None, None) => answer(&state, None).await,
    }
}

async fn answer(state: &AppState, token: Option<&str>) -> Response {
    let Some(token) = token else {
        return refuse(Reason::BearerMissing, "an access token is required");
    };
    if token.len() > MAX_TOKEN_BYTES {
        return refuse(Reason::TokenTooLarge, "the access token is too large");
    }
    let now = state.clock.now();
    let (user_id, scopes, client_id, issued_at) = if token.split('.').count() == 3 {
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
                    return refuse(Reason::TokenRevoked, "the access token has been revoked");
                }
                let scopes: Vec<String> = claims.scopes().map(str::to_owned).collect();
                (claims.sub, scopes, claims.client_id, claims.iat)
            }
            Err(e) => return bearer_error(&e.into(), REALM, None),
        }
    } else {
        match state.store.get_opaque_token(&token_hash(token), now).await {
            Ok(Some(t)) => {
                if state
                    .revocations
                    .is_revoked("", &t.client_id, &[], t.issued_at)
                {
                    return refuse(Reason::TokenRevoked, "the access token has been revoked");
                }
                (t.user_id, t.scope, t.client_id, t.issued_at)
            }
            Ok(None) => {
                return refuse(
                    Reason::TokenUnknown,
                    "the access token is unknown, expired or revoked",
                );
            }
            Err(e) => return store_error(e),
        }
    };
    // The token names its client: the answers from here are open to that
    // client's origins.
    cors::for_client(
        release(state, &user_id, &scopes, issued_at).await,
        &client_id,
    )
}

/// The claims of a valid token's user that its scopes release.
async fn release(
    state: &AppState,
    user_id: &str,
    scopes: &[String],
    issued_at: tessera_core::clock::UnixTime,
) -> Response {
    if !scopes.iter().any(|s| s == "openid") {
        return bearer_error(
            &OAuthError::new(
                Reason::ScopeMissing,
                "the access token does not carry the openid scope",
            ),
            REALM,
            Some("openid"),
        );
    }
    let user = match state.store.get_user(user_id).await {
        Ok(Some(u)) if !u.blocked => u,
        Ok(_) => {
            return refuse(
                Reason::TokenUserUnavailable,
                "the user no longer exists or is blocked",
            );
        }
        Err(e) => return store_error(e),
    };
    // An access token from before the user's unlink stays dead.
    match tessera_core::revocation::issued_before_cutoff(state.store.as_ref(), user_id, issued_at)
        .await
    {
        Ok(false) => {}
        Ok(true) => {
            return refuse(Reason::TokenRevoked, "the access token has been revoked");
        }
        Err(e) => return store_error(e),
    }
    let mut res = Json(user_claims(&user, scopes)).into_response();
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
    }
}
