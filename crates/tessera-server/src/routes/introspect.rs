//! `POST oauth/introspect` (RFC 7662), for confidential clients only.
//!
//! What a caller may learn (RFC 7662 §4): about its own tokens of every kind;
//! about a JWT access token issued to another client only when the caller
//! holds a client grant for one of the token's audiences, i.e. it is that API's
//! own machine identity. Everything else (expired, revoked, unknown, malformed,
//! another issuer's, another client's) is answered exactly `{"active": false}`.
//! `token_type` names the kind of token: `access_token` or `refresh_token`.

use axum::Json;
use axum::extract::State;
use axum::http::HeaderMap;
use axum::response::{IntoResponse, Response};
use bytes::Bytes;
use serde::Serialize;
use tessera_core::clock::UnixTime;
use tessera_core::error::{OAuthError, Reason};
use tessera_core::model::Client;
use tessera_core::store::StoreError;
use tessera_core::token::access::Audience;
use tessera_core::token::opaque::token_hash;
use tessera_core::token::verify::{MAX_TOKEN_BYTES, verify_access_token_any_audience};

use super::revoke::{Hint, TokenQuery, is_jwt, no_store, read_request};
use crate::error::token_endpoint_error;
use crate::state::AppState;

/// An active token's description (RFC 7662 §2.2).
#[derive(Debug, Serialize)]
struct Active {
    active: bool,
    scope: String,
    client_id: String,
    sub: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    aud: Option<Audience>,
    iss: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    exp: Option<UnixTime>,
    iat: UnixTime,
    token_type: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    jti: Option<String>,
}

pub async fn introspect(
    State(state): State<AppState>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let req = match read_request(&state, &headers, &body).await {
        Ok(r) => r,
        Err(res) => return res,
    };
    if req.client.is_public() {
        let e = OAuthError::new(
            Reason::PublicClientRefused,
            "introspection is for confidential clients; a public client cannot authenticate",
        );
        return token_endpoint_error(e, req.used_basic);
    }
    let answer = match describe(&state, &req).await {
        Ok(Some(active)) => Json(active).into_response(),
        Ok(None) => Json(serde_json::json!({ "active": false })).into_response(),
        Err(e) => return token_endpoint_error(e, req.used_basic),
    };
    no_store(answer)
}

async fn describe(state: &AppState, req: &TokenQuery) -> Result<Option<Active>, StoreError> {
    if req.token.len() > MAX_TOKEN_BYTES {
        return Ok(None);
    }
    if is_jwt(&req.token) {
        return describe_jwt(state, req).await;
    }
    // Both lookups are by hash; the hint only decides which runs first.
    let hash = token_hash(&req.token);
    if req.hint == Hint::AccessToken {
        if let Some(found) = describe_opaque(state, &req.client, &hash).await? {
            return Ok(found);
        }
        return Ok(describe_refresh(state, &req.client, &hash).await?.flatten());
    }
    if let Some(found) = describe_refresh(state, &req.client, &hash).await? {
        return Ok(found);
    }
    Ok(describe_opaque(state, &req.client, &hash).await?.flatten())
}

/// Is the user behind a token still allowed in? (A blocked or deleted user's
/// tokens stop working at once, as their refresh tokens do.)
/// An access token (`issued_at`) from before the user's unlink is refused.
async fn user_active(
    state: &AppState,
    user_id: &str,
    issued_at: Option<tessera_core::clock::UnixTime>,
) -> Result<bool, StoreError> {
    let active = state
        .store
        .get_user(user_id)
        .await?
        .is_some_and(|u| !u.blocked);
    if !active {
        return Ok(false);
    }
    match issued_at {
        Some(iat) => {
            Ok(
                !tessera_core::revocation::issued_before_cutoff(state.store.as_ref(), user_id, iat)
                    .await?,
            )
        }
        None => Ok(true),
    }
}

async fn describe_jwt(state: &AppState, req: &TokenQuery) -> Result<Option<Active>, StoreError> {
    let now = state.clock.now();
    let Ok(claims) = verify_access_token_any_audience(
        &state.keys.current(),
        &req.token,
        state.config.issuer.as_str(),
        now,
        0,
    ) else {
        return Ok(None);
    };
    let audiences = claims.aud.to_vec();
    if state
        .revocations
        .is_revoked(&claims.jti, &claims.client_id, &audiences, claims.iat)
    {
        return Ok(None);
    }
    if claims.client_id != req.client.client_id {
        let mut speaks_for_api = false;
        for aud in &audiences {
            if state
                .store
                .get_client_grant(&req.client.client_id, aud)
                .await?
                .is_some()
            {
                speaks_for_api = true;
                break;
            }
        }
        if !speaks_for_api {
            return Ok(None);
        }
    }
    let machine = claims.gty.as_deref() == Some("client-credentials");
    if !machine && !user_active(state, &claims.sub, Some(claims.iat)).await? {
        return Ok(None);
    }
    Ok(Some(Active {
        active: true,
        scope: claims.scope,
        client_id: claims.client_id,
        sub: claims.sub,
        aud: Some(claims.aud),
        iss: claims.iss,
        exp: Some(claims.exp),
        iat: claims.iat,
        token_type: "access_token",
        jti: Some(claims.jti),
    }))
}

/// `None`: not an opaque access token; `Some(None)`: one, but inactive for
/// this caller.
async fn describe_opaque(
    state: &AppState,
    caller: &Client,
    hash: &[u8],
) -> Result<Option<Option<Active>>, StoreError> {
    let now = state.clock.now();
    let Some((token, jti)) = state.store.find_opaque_token(hash, now).await? else {
        return Ok(None);
    };
    if token.client_id != caller.client_id
        || state
            .revocations
            .is_revoked(&jti, &token.client_id, &[], token.issued_at)
        || !user_active(state, &token.user_id, Some(token.issued_at)).await?
    {
        return Ok(Some(None));
    }
    let issuer = &state.config.issuer;
    Ok(Some(Some(Active {
        active: true,
        scope: token.scope.join(" "),
        client_id: token.client_id,
        sub: token.user_id,
        // Accepted only by UserInfo.
        aud: Some(Audience::One(issuer.join("userinfo"))),
        iss: issuer.as_str().to_owned(),
        exp: Some(token.expires_at),
        iat: token.issued_at,
        token_type: "access_token",
        jti: Some(jti),
    })))
}

/// `None`: not a live refresh token; `Some(None)`: one, but inactive for this
/// caller. `iat` is when the grant (the family) was issued; `exp` its absolute
/// expiry, absent when it has none.
async fn describe_refresh(
    state: &AppState,
    caller: &Client,
    hash: &[u8],
) -> Result<Option<Option<Active>>, StoreError> {
    let now = state.clock.now();
    let Some(family) = state.store.live_refresh_family(hash, now).await? else {
        return Ok(None);
    };
    if family.client_id != caller.client_id || !user_active(state, &family.user_id, None).await? {
        return Ok(Some(None));
    }
    Ok(Some(Some(Active {
        active: true,
        scope: family.scope.join(" "),
        client_id: family.client_id,
        sub: family.user_id,
        aud: family.audience.map(Audience::One),
        iss: state.config.issuer.as_str().to_owned(),
        exp: family.expires_at,
        iat: family.created_at,
        token_type: "refresh_token",
        jti: None,
    })))
}
