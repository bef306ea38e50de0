//! What several grants share: client authentication, the user grant that mints
//! ID, access and refresh tokens, starting refresh-token families. Grant modules
//! import from here, never from each other; revoking what a grant issued is
//! [`crate::revocation`]'s.

use super::{Ctx, GrantError, Issued, TokenResponse};
use crate::client_assertion;
use crate::client_auth::{self, Authenticated, Presented};
use crate::clock::UnixTime;
use crate::error::{OAuthError, Reason};
use crate::extensibility::{PostLogin, Protocol, TokenCustomization, merge_claims};
use crate::flow::{OpaqueToken, RefreshFamily};
use crate::ids;
use crate::jwt;
use crate::model::{Client, GrantType, RefreshTokenConfig, ResourceServer, User};
use crate::token::access::{AccessClaims, Audience, issued_lifetime};
use crate::token::id::{IdTokenInput, half_hash, id_token_claims};
use crate::token::opaque::{OPAQUE_TOKEN_LIFETIME, new_secret_value, token_hash};
use crate::token::{TokenKind, new_jti};

/// Authenticates the client as its registration says: a secret, nothing
/// (public clients), or a client assertion (`private_key_jwt`), whose `jti` is
/// recorded so it is used once.
pub async fn authenticate(
    ctx: &Ctx<'_>,
    presented: &Presented,
    found: Option<&(Client, Option<crate::model::ClientSecret>)>,
) -> Result<Authenticated, GrantError> {
    let Presented::Assertion { assertion, .. } = presented else {
        return Ok(client_auth::authenticate(ctx.master, presented, found)?);
    };
    let Some((client, _)) = found else {
        return Err(
            OAuthError::new(Reason::ClientCredentialsInvalid, client_auth::WRONG_CLIENT).into(),
        );
    };
    if !client.uses_private_key_jwt() || client.is_public() {
        return Err(
            OAuthError::new(Reason::ClientAssertionNotAllowed, client_auth::WRONG_CLIENT).into(),
        );
    }
    let credentials = ctx.store.list_client_credentials(&client.client_id).await?;
    let accepted = client_assertion::verify(
        assertion.expose(),
        client,
        &credentials,
        ctx.issuer,
        ctx.now,
    )?;
    // RFC 7523 §3: a jti is used once (recorded until the assertion expires).
    if !ctx
        .store
        .record_assertion_jti(
            &client.client_id,
            &accepted.jti,
            accepted.expires_at,
            ctx.now,
        )
        .await?
    {
        return Err(OAuthError::new(
            Reason::ClientAssertionReplayed,
            "client_assertion was used before",
        )
        .into());
    }
    Ok(Authenticated::Confidential)
}

/// Authenticates the client (see [`authenticate`]) and returns it.
pub async fn authenticate_client(
    ctx: &Ctx<'_>,
    presented: &Presented,
    found: Option<&(Client, Option<crate::model::ClientSecret>)>,
) -> Result<Client, GrantError> {
    let kind = authenticate(ctx, presented, found).await?;
    let (client, _) =
        found.ok_or_else(|| OAuthError::new(Reason::ClientCredentialsInvalid, "unknown client"))?;
    let public = client.is_public();
    if public != (kind == Authenticated::Public) {
        return Err(OAuthError::new(
            Reason::ClientAuthMethodWrong,
            "wrong client authentication method for this client",
        )
        .into());
    }
    Ok(client.clone())
}

/// The API a token request names by `audience` (Auth0) or `resource` (RFC
/// 8707); both must name the same one.
pub fn requested_audience(params: &crate::params::Params) -> Result<Option<String>, OAuthError> {
    match (params.get("audience"), params.get("resource")) {
        (Some(a), Some(r)) if a != r => Err(OAuthError::new(
            Reason::AudienceResourceMismatch,
            "audience and resource name different APIs",
        )),
        (Some(a), _) | (None, Some(a)) => Ok(Some(a.to_owned())),
        (None, None) => Ok(None),
    }
}

/// "Never expires" for infinite lifetimes: far enough, and safe to add to.
const FOREVER: i64 = 100 * 365 * 86400;

pub(super) fn idle_expiry(config: &RefreshTokenConfig, now: UnixTime) -> UnixTime {
    if config.infinite_idle_token_lifetime {
        now + FOREVER
    } else {
        now + config.idle_token_lifetime.max(1)
    }
}

/// Whether a grant earns a refresh token: `offline_access` asked, the client
/// may use the grant, and the API (if any) allows offline access.
pub fn offline_allowed(client: &Client, scope: &[String], api: Option<&ResourceServer>) -> bool {
    scope.iter().any(|s| s == "offline_access")
        && client.allows(GrantType::RefreshToken)
        && api.is_none_or(|a| a.allow_offline_access)
}

/// Starts a family for a new login grant; the first refresh token.
pub async fn start_family(
    ctx: &Ctx<'_>,
    client: &Client,
    user: &User,
    scope: &[String],
    audience: Option<&str>,
    sid: &str,
    auth_time: UnixTime,
) -> Result<(String, String), GrantError> {
    let config = &client.refresh_token;
    let token = new_secret_value()?;
    let family = RefreshFamily {
        id: ids::prefixed("rtf")?,
        client_id: client.client_id.clone(),
        user_id: user.user_id.clone(),
        scope: scope.to_vec(),
        audience: audience.map(str::to_owned),
        sid: sid.to_owned(),
        auth_time,
        created_at: ctx.now,
        expires_at: (!config.infinite_token_lifetime)
            .then(|| ctx.now + config.token_lifetime.max(1)),
        last_used_at: ctx.now,
        revoked_at: None,
    };
    ctx.store
        .create_refresh_family(&family, &token_hash(&token), idle_expiry(config, ctx.now))
        .await?;
    Ok((token, family.id))
}

/// A user's grant, whatever the grant type that redeems it.
pub struct UserGrant<'a> {
    pub client: &'a Client,
    pub user: &'a User,
    pub scope: &'a [String],
    pub api: Option<&'a ResourceServer>,
    pub sid: &'a str,
    pub auth_time: i64,
    pub nonce: Option<&'a str>,
    /// What the post-login actions asked for these tokens.
    pub custom: &'a TokenCustomization,
}

pub struct UserTokens {
    pub issued: Issued,
    /// The access token's jti (opaque tokens have one too, for revocation).
    pub jti: String,
}

/// Mints the access token (a JWT for an API, else opaque) and, with `openid`,
/// the ID token.
pub async fn issue_user_tokens(ctx: &Ctx<'_>, g: UserGrant<'_>) -> Result<UserTokens, GrantError> {
    // Every user-bound token passes here, whatever the grant: never one for the
    // Management API (checked at /authorize too; this is the last line).
    if let Some(api) = g.api {
        crate::authorize::user_may_request(api, &g.client.client_id)?;
    }
    // What the API still defines: a scope removed from the API since the login
    // leaves the tokens of every later refresh too.
    let kept = crate::authorize::granted_scopes(g.scope, g.api);
    // RBAC (docs/rbac.md), read at every mint: a role or permission removed
    // since the login is gone from the next token, refreshes included.
    let (kept, permissions) = match g.api {
        Some(api) => {
            let enforced = crate::rbac::enforce(ctx.store, &g.user.user_id, api, kept).await?;
            (enforced.scope, enforced.permissions)
        }
        None => (kept, None),
    };
    let g = UserGrant { scope: &kept, ..g };
    let keys = ctx.keys.current();
    let signer = keys.signer();
    let openid = g.scope.iter().any(|s| s == "openid");
    let jti = new_jti()?;
    let mut kinds = Vec::new();
    // Actions' addScope/removeScope shape the access token's scope (and the
    // response's); the ID token's profile claims follow the granted scope.
    let access_scope = g.custom.access_scope(g.scope);
    let scope = access_scope.join(" ");
    let (access_token, expires_in) = match g.api {
        Some(api) => {
            let lifetime = issued_lifetime(api);
            let aud = if openid {
                Audience::Many(vec![api.identifier.clone(), ctx.issuer.join("userinfo")])
            } else {
                Audience::One(api.identifier.clone())
            };
            let claims = AccessClaims {
                iss: ctx.issuer.as_str().to_owned(),
                sub: g.user.user_id.clone(),
                aud,
                iat: ctx.now,
                exp: ctx.now + lifetime,
                jti: jti.clone(),
                client_id: g.client.client_id.clone(),
                azp: g.client.client_id.clone(),
                scope: scope.clone(),
                gty: None,
                permissions,
                custom: serde_json::Map::new(),
            }
            .with_custom(&g.custom.access_token_claims);
            kinds.push(TokenKind::AccessToken);
            (jwt::sign(signer, jwt::TYP_AT_JWT, &claims)?, lifetime)
        }
        None => {
            let value = new_secret_value()?;
            let token = OpaqueToken {
                client_id: g.client.client_id.clone(),
                user_id: g.user.user_id.clone(),
                scope: access_scope.clone(),
                sid: g.sid.to_owned(),
                issued_at: ctx.now,
                expires_at: ctx.now + OPAQUE_TOKEN_LIFETIME,
            };
            ctx.store
                .put_opaque_token(&token_hash(&value), &token, &jti)
                .await?;
            kinds.push(TokenKind::OpaqueAccessToken);
            (value, OPAQUE_TOKEN_LIFETIME)
        }
    };
    let id_token = if openid {
        let mut claims = id_token_claims(
            g.user,
            g.scope,
            IdTokenInput {
                issuer: ctx.issuer.as_str(),
                client_id: &g.client.client_id,
                now: ctx.now,
                lifetime: g.client.id_token_lifetime(),
                auth_time: g.auth_time,
                sid: g.sid,
                nonce: g.nonce,
                at_hash: Some(half_hash(signer.alg(), &access_token)),
                c_hash: None,
            },
        );
        merge_claims(&mut claims, &g.custom.id_token_claims);
        kinds.push(TokenKind::IdToken);
        Some(jwt::sign(signer, jwt::TYP_JWT, &claims)?)
    } else {
        None
    };
    Ok(UserTokens {
        issued: Issued {
            response: TokenResponse {
                access_token,
                token_type: "Bearer",
                expires_in,
                scope: Some(scope),
                id_token,
                refresh_token: None,
                issued_token_type: None,
            },
            kinds,
            user_id: Some(g.user.user_id.clone()),
            audience: g.api.map(|api| api.identifier.clone()),
        },
        jti,
    })
}

/// Runs the post-login actions of a login or refresh at the token endpoint.
pub async fn post_login(
    ctx: &Ctx<'_>,
    client: &Client,
    user: &User,
    scope: &[String],
    api: Option<&ResourceServer>,
    protocol: Protocol,
) -> Result<TokenCustomization, GrantError> {
    ctx.actions
        .post_login(PostLogin {
            client,
            user,
            api,
            scope,
            protocol,
            redirect_uri: None,
            request: ctx.request,
        })
        .await
        .map_err(Into::into)
}

/// The API a login without a browser asks for by `audience`: a registered API
/// other than the Management API (`access_denied` otherwise).
pub async fn login_api(
    ctx: &Ctx<'_>,
    client: &Client,
    audience: Option<&str>,
) -> Result<Option<ResourceServer>, GrantError> {
    let Some(audience) = audience else {
        return Ok(None);
    };
    let api = ctx
        .store
        .get_resource_server_by_identifier(audience)
        .await?
        .ok_or_else(|| {
            OAuthError::new(
                Reason::ApiUnknown,
                format!("Service not found: {}", crate::params::truncate(audience)),
            )
        })?;
    crate::authorize::user_may_request(&api, &client.client_id)?;
    Ok(Some(api))
}

/// What a login without a browser session issued (the password and
/// passwordless grants): the answer, its access token and refresh family.
pub struct LoginTokens {
    pub issued: Issued,
    pub access: crate::flow::IssuedToken,
    pub family: Option<String>,
}

/// The tokens of a login without a browser session: `scope` as the API allows
/// it, a fresh `sid` that no session carries (this login's), ID and access
/// tokens, and a refresh token under the usual rules, its family recording
/// the access token.
pub async fn issue_login_tokens(
    ctx: &Ctx<'_>,
    client: &Client,
    user: &User,
    scope: &[String],
    api: Option<&ResourceServer>,
    protocol: Protocol,
) -> Result<LoginTokens, GrantError> {
    let scope = crate::authorize::granted_scopes(scope, api);
    let custom = post_login(ctx, client, user, &scope, api, protocol).await?;
    let sid = ids::alphanumeric(32)?;
    let tokens = issue_user_tokens(
        ctx,
        UserGrant {
            client,
            user,
            scope: &scope,
            api,
            sid: &sid,
            auth_time: ctx.now,
            nonce: None,
            custom: &custom,
        },
    )
    .await?;
    let mut issued = tokens.issued;
    let access = crate::flow::IssuedToken {
        jti: tokens.jti,
        expires_at: ctx.now + issued.response.expires_in,
    };
    let mut family = None;
    if offline_allowed(client, &scope, api) {
        let audience = api.map(|a| a.identifier.as_str());
        let (refresh, family_id) =
            start_family(ctx, client, user, &scope, audience, &sid, ctx.now).await?;
        ctx.store
            .record_family_token(&family_id, &access.jti, access.expires_at)
            .await?;
        family = Some(family_id);
        issued.response.refresh_token = Some(refresh);
        issued.kinds.push(TokenKind::RefreshToken);
    }
    Ok(LoginTokens {
        issued,
        access,
        family,
    })
}

/// Refuses a code or refresh token whose user's connection no longer lets the
/// client in (its `enabled_clients` no longer lists it, or its
/// `authentication.active` is off): `invalid_grant`, typed
/// `connection_not_enabled`.
pub async fn check_user_connection(
    ctx: &Ctx<'_>,
    user: &User,
    client_id: &str,
) -> Result<(), GrantError> {
    match ctx.store.get_connection_by_name(&user.connection).await? {
        Some(c) if c.usable_by(client_id) => Ok(()),
        _ => Err(OAuthError::new(
            Reason::ConnectionNotEnabled,
            "the user's connection is not enabled for this client",
        )
        .into()),
    }
}
