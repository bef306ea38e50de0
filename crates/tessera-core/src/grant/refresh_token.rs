//! `grant_type=refresh_token` (RFC 6749 §6) with rotation and reuse detection
//! (RFC 9700 §4.14.2).
//!
//! The successor of a refresh token is derived from it with a keyed hash under
//! the master key. So a retry of the same token within the client's leeway (a
//! lost response, two browser tabs) is answered with the very same successor
//! without storing any token value, and concurrent requests can never give a
//! family two live successors.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;

use super::common::{UserGrant, authenticate_client, idle_expiry, issue_user_tokens, post_login};
use super::{Ctx, GrantError, Issued};
use crate::envelope::MasterKey;
use crate::error::{OAuthError, Reason};
use crate::flow::{IssuedToken, RefreshUse};
use crate::model::GrantType;
use crate::params::Params;
use crate::revocation::{revoke_access_token, revoke_family};
use crate::token::TokenKind;
use crate::token::opaque::token_hash;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Request {
    pub refresh_token: String,
    pub scope: Option<Vec<String>>,
}

impl Request {
    pub fn parse(params: &Params) -> Result<Self, OAuthError> {
        let token = params.get("refresh_token").ok_or_else(|| {
            OAuthError::new(Reason::ParameterMissing, "refresh_token is required")
        })?;
        Ok(Self {
            refresh_token: token.to_owned(),
            scope: params.get("scope").map(|s| {
                s.split(' ')
                    .filter(|p| !p.is_empty())
                    .map(str::to_owned)
                    .collect()
            }),
        })
    }
}

/// The successor of `token`: HMAC under the master key, base64url.
pub fn successor(master: &MasterKey, token: &str) -> String {
    URL_SAFE_NO_PAD.encode(master.keyed_hash("refresh-successor", token.as_bytes()))
}

/// Auth0's descriptions, which its SDKs match on: auth0-spa-js falls back to
/// the iframe on "invalid refresh token" and logs the user out on "user is
/// blocked". The typed reasons say which case it was.
const UNKNOWN_TOKEN: &str = "Unknown or invalid refresh token.";
const USER_BLOCKED: &str = "user is blocked";

fn invalid_grant(reason: Reason, description: &str) -> GrantError {
    OAuthError::new(reason, description).into()
}

fn widening() -> GrantError {
    OAuthError::new(
        Reason::ScopeWidened,
        "a refresh cannot widen the scope of the grant",
    )
    .into()
}

/// Runs post-login for a refresh of the live `family` before its token is
/// presented: `None` when the grant cannot be refreshed anyway (its user or
/// API gone, a widening scope: decided after the presentation, as before).
async fn refresh_actions(
    ctx: &Ctx<'_>,
    client: &crate::model::Client,
    family: &crate::flow::RefreshFamily,
    asked: Option<&[String]>,
) -> Result<Option<crate::extensibility::TokenCustomization>, GrantError> {
    let Some(user) = ctx.store.get_user(&family.user_id).await? else {
        return Ok(None);
    };
    if user.blocked {
        return Ok(None);
    }
    let scope = match asked {
        None => family.scope.clone(),
        Some(asked) if asked.iter().all(|s| family.scope.contains(s)) => asked.to_vec(),
        Some(_) => return Ok(None),
    };
    let api = match &family.audience {
        Some(aud) => match ctx.store.get_resource_server_by_identifier(aud).await? {
            Some(api) if crate::authorize::user_may_request(&api, &client.client_id).is_ok() => {
                Some(api)
            }
            _ => return Ok(None),
        },
        None => None,
    };
    let granted = crate::authorize::granted_scopes(&scope, api.as_ref());
    post_login(
        ctx,
        client,
        &user,
        &granted,
        api.as_ref(),
        crate::extensibility::Protocol::RefreshToken,
    )
    .await
    .map(Some)
}

pub async fn exchange(
    ctx: &Ctx<'_>,
    presented: &crate::client_auth::Presented,
    req: Request,
) -> Result<Issued, GrantError> {
    let found = ctx.store.get_client(presented.client_id()).await?;
    let client = authenticate_client(ctx, presented, found.as_ref()).await?;
    if !client.allows(GrantType::RefreshToken) {
        return Err(OAuthError::new(
            Reason::GrantTypeNotAllowed,
            "Grant type 'refresh_token' not allowed for the client.",
        )
        .into());
    }
    let rotate = client.refresh_token.rotates();
    let hash = token_hash(&req.refresh_token);
    // The user's connection must still let this client in: checked before the
    // token is presented (and rotated), so a refused token works again once
    // the client is enabled again. Checked again below for a retired token.
    if let Some(family) = ctx.store.live_refresh_family(&hash, ctx.now).await?
        && family.client_id == client.client_id
        && let Some(user) = ctx.store.get_user(&family.user_id).await?
    {
        super::common::check_user_connection(ctx, &user, &client.client_id).await?;
    }
    // A refresh may narrow the grant, never widen it. Checked before the token
    // is presented (and rotated), so a refused request leaves it usable: nothing
    // was issued (RFC 6749 §6). A retired token is checked after, below.
    if let Some(asked) = &req.scope
        && let Some(family) = ctx.store.live_refresh_family(&hash, ctx.now).await?
        && family.client_id == client.client_id
        && asked.iter().any(|s| !family.scope.contains(s))
    {
        return Err(widening());
    }
    // Auth0 runs post-login again at every refresh. It runs before the token
    // is presented (and rotated), so a denial or a failed action leaves the
    // token usable: nothing was issued, the family stays as it is.
    let early = match ctx.store.live_refresh_family(&hash, ctx.now).await? {
        Some(family) if family.client_id == client.client_id => {
            refresh_actions(ctx, &client, &family, req.scope.as_deref())
                .await?
                .map(|custom| (family.id, custom))
        }
        _ => None,
    };
    let next = successor(ctx.master, &req.refresh_token);
    let used = ctx
        .store
        .use_refresh_token(
            &client.client_id,
            &hash,
            &token_hash(&next),
            rotate,
            client.refresh_token.leeway.max(0),
            ctx.now,
            idle_expiry(&client.refresh_token, ctx.now),
        )
        .await?;
    let (family, refresh_token) = match used {
        RefreshUse::Rotated(f) | RefreshUse::Replayed(f) => (f, next),
        RefreshUse::Live(f) => (f, req.refresh_token.clone()),
        RefreshUse::Reused(f) => {
            revoke_family(ctx.store, ctx.revocations, &f.id, ctx.now).await?;
            tracing::warn!(client_id = %f.client_id, family = %f.id, "refresh token reused; its family was revoked");
            return Err(invalid_grant(Reason::RefreshTokenReused, UNKNOWN_TOKEN));
        }
        RefreshUse::Invalid => {
            return Err(invalid_grant(Reason::RefreshTokenInvalid, UNKNOWN_TOKEN));
        }
    };
    let user = match ctx.store.get_user(&family.user_id).await? {
        Some(u) if !u.blocked => u,
        found => {
            revoke_family(ctx.store, ctx.revocations, &family.id, ctx.now).await?;
            return Err(match found {
                Some(_) => invalid_grant(Reason::UserBlocked, USER_BLOCKED),
                None => invalid_grant(Reason::UserUnavailable, UNKNOWN_TOKEN),
            });
        }
    };
    // A refresh may narrow the grant, never widen it.
    let scope = match req.scope {
        None => family.scope.clone(),
        Some(asked) => {
            if asked.iter().any(|s| !family.scope.contains(s)) {
                return Err(widening());
            }
            asked
        }
    };
    let api = match &family.audience {
        Some(aud) => Some(
            ctx.store
                .get_resource_server_by_identifier(aud)
                .await?
                .ok_or_else(|| {
                    invalid_grant(Reason::ApiGone, "the API of this grant no longer exists")
                })?,
        ),
        None => None,
    };
    // A family for an API no user-bound token may reach (the Management API)
    // is dead: it can only predate the rule.
    if let Some(api) = &api
        && let Err(e) = crate::authorize::user_may_request(api, &client.client_id)
    {
        revoke_family(ctx.store, ctx.revocations, &family.id, ctx.now).await?;
        return Err(e.into());
    }
    // The actions' answer from before the presentation; a token retired
    // within the leeway (an idempotent retry) had no live family then.
    let custom = match early {
        Some((id, custom)) if id == family.id => custom,
        _ => {
            let granted = crate::authorize::granted_scopes(&scope, api.as_ref());
            post_login(
                ctx,
                &client,
                &user,
                &granted,
                api.as_ref(),
                crate::extensibility::Protocol::RefreshToken,
            )
            .await?
        }
    };
    let mut tokens = issue_user_tokens(
        ctx,
        UserGrant {
            client: &client,
            user: &user,
            scope: &scope,
            api: api.as_ref(),
            sid: &family.sid,
            auth_time: family.auth_time,
            nonce: None,
            custom: &custom,
        },
    )
    .await?;
    let expires_at = ctx.now + tokens.issued.response.expires_in;
    ctx.store
        .record_family_token(&family.id, &tokens.jti, expires_at)
        .await?;
    // A concurrent reuse of the same token may have revoked the family after
    // this presentation was decided and before this access token was recorded
    // under it, so that revocation missed it. Each side writes, then reads what
    // the other writes, so one of them sees the other: revoke it here.
    if ctx
        .store
        .get_refresh_family(&family.id)
        .await?
        .is_none_or(|f| f.revoked_at.is_some())
    {
        revoke_access_token(
            ctx.store,
            ctx.revocations,
            IssuedToken {
                jti: tokens.jti.clone(),
                expires_at,
            },
            ctx.now,
        )
        .await?;
    }
    tokens.issued.response.refresh_token = Some(refresh_token);
    tokens.issued.kinds.push(TokenKind::RefreshToken);
    Ok(tokens.issued)
}
