//! `POST oauth/revoke` (RFC 7009). The client authenticates as at the token
//! endpoint (a public client by its `client_id`) and may revoke only its own
//! tokens: a refresh token ends its whole family (with every access token
//! issued under it), an access token ends alone. Unknown tokens, other clients'
//! tokens and tokens already dead get the same empty 200 (§2.2), so the endpoint
//! tells nothing about tokens the caller does not hold.

use axum::extract::State;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use bytes::Bytes;
use tessera_core::client_auth;
use tessera_core::error::{OAuthError, Reason};
use tessera_core::flow::{RefreshFamily, RefreshUse};
use tessera_core::grant::common::authenticate_client;
use tessera_core::grant::{Ctx, GrantError};
use tessera_core::log_event::LogType;
use tessera_core::model::Client;
use tessera_core::params::Params;
use tessera_core::revocation::revoke_family;
use tessera_core::store::Revocation;
use tessera_core::token::opaque::token_hash;
use tessera_core::token::verify::{MAX_TOKEN_BYTES, verify_access_token_any_audience};

use super::token::oauth_params;
use crate::audit::RequestFacts;
use crate::cors;
use crate::error::token_endpoint_error;
use crate::state::AppState;

/// `token_type_hint` (RFC 7009 §2.1, RFC 7662 §2.1). An unknown hint is
/// ignored and every kind searched (RFC 7009 §2.2.1 allows either).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Hint {
    AccessToken,
    RefreshToken,
    None,
}

impl Hint {
    fn of(params: &Params) -> Self {
        match params.get("token_type_hint") {
            Some("access_token") => Self::AccessToken,
            Some("refresh_token") => Self::RefreshToken,
            _ => Self::None,
        }
    }
}

/// A revocation or introspection request from an authenticated client.
pub(crate) struct TokenQuery {
    pub client: Client,
    pub token: String,
    pub hint: Hint,
    pub used_basic: bool,
}

/// Reads the body and authenticates the client as the token endpoint does;
/// `token` is required (RFC 7009 §2.1, RFC 7662 §2.1).
pub(crate) async fn read_request(
    state: &AppState,
    headers: &HeaderMap,
    body: &Bytes,
) -> Result<TokenQuery, Response> {
    let authorization = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok());
    let tried_basic =
        authorization.is_some_and(|a| a.len() > 6 && a[..6].eq_ignore_ascii_case("basic "));
    let fail = |e: OAuthError| token_endpoint_error(e, tried_basic);
    let params = oauth_params(headers, body).map_err(fail)?;
    let presented = client_auth::presented_from(authorization, &params).map_err(fail)?;
    // From here the request names its client: its errors are open to that
    // client's origins (the caller's handler names it on its answers).
    let named = |res: Response| cors::for_client(res, presented.client_id());
    let ctx = state.grant_ctx(state.clock.now());
    let found = ctx
        .store
        .get_client(presented.client_id())
        .await
        .map_err(|e| named(token_endpoint_error(e, tried_basic)))?;
    let client = authenticate_client(&ctx, &presented, found.as_ref())
        .await
        .map_err(|e| named(token_endpoint_error(e, tried_basic)))?;
    let token = params
        .get("token")
        .ok_or_else(|| OAuthError::new(Reason::ParameterMissing, "token is required"))
        .map_err(|e| named(fail(e)))?;
    Ok(TokenQuery {
        client,
        token: token.to_owned(),
        hint: Hint::of(&params),
        used_basic: tried_basic,
    })
}

/// A JWS compact serialization has three parts; refresh tokens and opaque
/// access tokens are base64url without dots.
pub(crate) fn is_jwt(token: &str) -> bool {
    token.split('.').count() == 3
}

/// Adds `Cache-Control: no-store` and `Pragma: no-cache` (RFC 6749 §5.1).
pub(crate) fn no_store(mut res: Response) -> Response {
    res.headers_mut()
        .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    res.headers_mut()
        .insert(header::PRAGMA, HeaderValue::from_static("no-cache"));
    res
}

pub async fn revoke(
    State(state): State<AppState>,
    facts: RequestFacts,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let req = match read_request(&state, &headers, &body).await {
        Ok(r) => r,
        Err(res) => return res,
    };
    let ctx = state.grant_ctx(state.clock.now());
    let res = match revoke_token(&ctx, &req).await {
        Ok(revoked) => {
            // Auth0 logs the revocation of a refresh token (`srrt`).
            if let Some(family) = revoked {
                let mut event = facts.stamp(state.logs.event(LogType::SuccessRevocation));
                event.client_id = Some(family.client_id);
                event.user_id = Some(family.user_id);
                event.audience = family.audience;
                state.logs.record(event);
            }
            no_store(StatusCode::OK.into_response())
        }
        Err(e) => token_endpoint_error(e, req.used_basic),
    };
    cors::for_client(res, &req.client.client_id)
}

/// Revokes the token; the refresh-token family it ended, if it was one.
async fn revoke_token(
    ctx: &Ctx<'_>,
    req: &TokenQuery,
) -> Result<Option<RefreshFamily>, GrantError> {
    if req.token.len() > MAX_TOKEN_BYTES {
        return Ok(None);
    }
    if is_jwt(&req.token) {
        revoke_jwt(ctx, req).await?;
        return Ok(None);
    }
    // Both lookups are by hash; the hint only decides which runs first.
    let access_first = req.hint == Hint::AccessToken;
    if access_first && revoke_opaque(ctx, req).await? {
        return Ok(None);
    }
    if let Some(family) = revoke_refresh(ctx, req).await? {
        return Ok(Some(family));
    }
    if !access_first {
        revoke_opaque(ctx, req).await?;
    }
    Ok(None)
}

/// A JWT access token this server signed for the caller: its `jti` is revoked
/// until the token would have expired.
async fn revoke_jwt(ctx: &Ctx<'_>, req: &TokenQuery) -> Result<(), GrantError> {
    let Ok(claims) = verify_access_token_any_audience(
        &ctx.keys.current(),
        &req.token,
        ctx.issuer.as_str(),
        ctx.now,
        0,
    ) else {
        return Ok(());
    };
    if claims.client_id != req.client.client_id {
        return Ok(());
    }
    ctx.revocations
        .revoke(Revocation::Jti {
            jti: claims.jti.clone(),
            expires_at: claims.exp,
        })
        .await?;
    tracing::info!(client_id = %claims.client_id, jti = %claims.jti, "access token revoked");
    Ok(())
}

/// A refresh token of the caller, live or retired, ends its family (RFC 7009
/// §2.1: the access tokens of the same grant go too). Whether it is one is
/// decided by the store's one atomic presentation: another client's token, an
/// unknown one or one of a dead family is `Invalid` and nothing changes; a live
/// token is presented without rotation and its idle expiry set to now; a
/// retired one, with no leeway, counts as reuse, which revokes the family in
/// the same transaction. Either way the family is then revoked with its access
/// tokens. The family, when the token was a refresh token.
async fn revoke_refresh(
    ctx: &Ctx<'_>,
    req: &TokenQuery,
) -> Result<Option<RefreshFamily>, GrantError> {
    let hash = token_hash(&req.token);
    let used = ctx
        .store
        .use_refresh_token(
            &req.client.client_id,
            &hash,
            &hash,
            false,
            0,
            ctx.now,
            ctx.now,
        )
        .await?;
    let family = match used {
        RefreshUse::Invalid => return Ok(None),
        RefreshUse::Rotated(f)
        | RefreshUse::Replayed(f)
        | RefreshUse::Reused(f)
        | RefreshUse::Live(f) => f,
    };
    revoke_family(ctx.store, ctx.revocations, &family.id, ctx.now).await?;
    tracing::info!(client_id = %family.client_id, family = %family.id, "refresh token revoked with its family");
    Ok(Some(family))
}

/// An opaque access token: deleted, and its `jti` revoked (so it is listed
/// with the other revoked tokens). True when the token was one, whoever's.
async fn revoke_opaque(ctx: &Ctx<'_>, req: &TokenQuery) -> Result<bool, GrantError> {
    let Some((token, jti)) = ctx
        .store
        .find_opaque_token(&token_hash(&req.token), ctx.now)
        .await?
    else {
        return Ok(false);
    };
    if token.client_id == req.client.client_id {
        ctx.store.delete_opaque_token_by_jti(&jti).await?;
        ctx.revocations
            .revoke(Revocation::Jti {
                jti: jti.clone(),
                expires_at: token.expires_at,
            })
            .await?;
        tracing::info!(client_id = %token.client_id, %jti, "opaque access token revoked");
    }
    Ok(true)
}
