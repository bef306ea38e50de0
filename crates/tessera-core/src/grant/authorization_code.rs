//! `grant_type=authorization_code` (RFC 6749 §4.1.3, RFC 7636, OIDC Core §3.1.3).

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;

use super::common::{revoke_access_token, revoke_family};
use super::{Ctx, GrantError, Issued, Params, TokenResponse};
use crate::authorize::pkce_matches;
use crate::client_auth::{self, Authenticated, Presented};
use crate::error::{ErrorCode, OAuthError};
use crate::flow::{CodeIssue, CodeRecorded, CodeUse, IssuedToken, OpaqueToken};
use crate::ids::random_bytes;
use crate::jwt;
use crate::keys::MAX_TOKEN_LIFETIME;
use crate::model::{Client, ResourceServer, User};
use crate::token::access::{AccessClaims, Audience};
use crate::token::id::{IdTokenInput, at_hash, id_token_claims};
use crate::token::{TokenKind, new_jti};

/// Opaque access tokens (no API) live this long.
pub const OPAQUE_TOKEN_LIFETIME: i64 = 86400;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Request {
    pub code: String,
    pub redirect_uri: Option<String>,
    pub code_verifier: Option<String>,
}

impl Request {
    pub fn parse(params: &Params) -> Result<Self, OAuthError> {
        let code = params
            .get("code")
            .ok_or_else(|| OAuthError::new(ErrorCode::InvalidRequest, "code is required"))?;
        Ok(Self {
            code: code.to_owned(),
            redirect_uri: params.get("redirect_uri").map(str::to_owned),
            code_verifier: params.get("code_verifier").map(str::to_owned),
        })
    }
}

/// SHA-256 of a code or opaque token: what the store keeps.
pub fn token_hash(value: &str) -> Vec<u8> {
    crate::ids::sha256(value.as_bytes())
}

/// A fresh code or opaque token: 256 random bits, base64url.
pub fn new_secret_value() -> Result<String, crate::ids::RngError> {
    Ok(URL_SAFE_NO_PAD.encode(random_bytes::<32>()?))
}

fn invalid_grant(description: &str) -> GrantError {
    OAuthError::new(ErrorCode::InvalidGrant, description).into()
}

/// Authenticates the client as its `token_endpoint_auth_method` says.
pub fn authenticate_client(
    ctx: &Ctx<'_>,
    presented: &Presented,
    found: Option<&(Client, Option<crate::model::ClientSecret>)>,
) -> Result<Client, GrantError> {
    let kind = client_auth::authenticate(ctx.master, presented, found)?;
    let (client, _) =
        found.ok_or_else(|| OAuthError::new(ErrorCode::InvalidClient, "unknown client"))?;
    let public = client.token_endpoint_auth_method == "none";
    if public != (kind == Authenticated::Public) {
        return Err(OAuthError::new(
            ErrorCode::InvalidClient,
            "wrong client authentication method for this client",
        )
        .into());
    }
    Ok(client.clone())
}

pub async fn exchange(
    ctx: &Ctx<'_>,
    presented: &Presented,
    req: Request,
) -> Result<Issued, GrantError> {
    let found = ctx.store.get_client(presented.client_id()).await?;
    let client = authenticate_client(ctx, presented, found.as_ref())?;
    if !client.grant_types.iter().any(|g| g == "authorization_code") {
        return Err(OAuthError::new(
            ErrorCode::UnauthorizedClient,
            "Grant type 'authorization_code' not allowed for the client.",
        )
        .into());
    }
    let hash = token_hash(&req.code);
    let code = match ctx.store.consume_code(&hash, ctx.now).await? {
        CodeUse::First(code) => code,
        CodeUse::Replayed { issued, code } => {
            // RFC 6749 §4.1.2, RFC 9700 §4.5: a code used twice revokes what it
            // produced, refresh-token families included.
            revoke_issued(ctx, issued).await?;
            tracing::warn!(client_id = %code.client_id, "authorization code replayed; its tokens were revoked");
            return Err(replayed());
        }
        CodeUse::Unknown => {
            return Err(invalid_grant(
                "the authorization code is invalid or expired",
            ));
        }
    };
    if code.client_id != client.client_id {
        return Err(invalid_grant(
            "the authorization code was issued to another client",
        ));
    }
    if req.redirect_uri.as_deref() != Some(code.redirect_uri.as_str()) {
        return Err(invalid_grant(
            "redirect_uri does not match the authorization request",
        ));
    }
    match (&code.code_challenge, &req.code_verifier) {
        (Some(challenge), Some(verifier)) if pkce_matches(verifier, challenge) => {}
        (Some(_), _) => {
            return Err(invalid_grant(
                "code_verifier does not match the code_challenge",
            ));
        }
        // RFC 9700 §2.1.1: a verifier without a challenge is a downgrade attempt.
        (None, Some(_)) => {
            return Err(invalid_grant(
                "code_verifier sent, but no code_challenge was",
            ));
        }
        (None, None) => {}
    }
    let user = match ctx.store.get_user(&code.user_id).await? {
        Some(u) if !u.blocked => u,
        _ => return Err(invalid_grant("the user no longer exists or is blocked")),
    };
    let api = match &code.audience {
        Some(aud) => Some(
            ctx.store
                .get_resource_server_by_identifier(aud)
                .await?
                .ok_or_else(|| invalid_grant("the API of this grant no longer exists"))?,
        ),
        None => None,
    };
    let tokens = issue_user_tokens(
        ctx,
        UserGrant {
            client: &client,
            user: &user,
            scope: &code.scope,
            api: api.as_ref(),
            sid: &code.sid,
            auth_time: code.auth_time,
            nonce: code.nonce.as_deref(),
        },
    )
    .await?;
    let mut issued = tokens.issued;
    let mut record = CodeIssue {
        access_tokens: vec![IssuedToken {
            jti: tokens.jti.clone(),
            expires_at: ctx.now + issued.response.expires_in,
        }],
        families: Vec::new(),
    };
    if super::refresh_token::offline_allowed(&client, &code.scope, api.as_ref()) {
        let (refresh, family_id) = super::refresh_token::start_family(
            ctx,
            &client,
            &user,
            &code.scope,
            code.audience.as_deref(),
            &code.sid,
            code.auth_time,
        )
        .await?;
        ctx.store
            .record_family_token(
                &family_id,
                &tokens.jti,
                ctx.now + issued.response.expires_in,
            )
            .await?;
        record.families.push(family_id);
        issued.response.refresh_token = Some(refresh);
        issued.kinds.push(TokenKind::RefreshToken);
    }
    // A replay that came in after this redemption consumed the code but before
    // this record found nothing to revoke; it marked the code, and this record
    // sees the mark (each side writes, then reads the other's write).
    if ctx.store.record_code_issue(&hash, &record).await? == CodeRecorded::ReplayedMeanwhile {
        revoke_issued(ctx, record).await?;
        tracing::warn!(client_id = %client.client_id, "authorization code replayed during its redemption; its tokens were revoked");
        return Err(replayed());
    }
    // The login behind the code may have ended since the code was issued (a
    // logout, a password change or a block ends the user's sessions and then
    // revokes their families). Checked after this redemption's writes, so an
    // ending that raced it sees its family, or this check sees the ending.
    if !ctx.store.session_alive(&code.sid, ctx.now).await? {
        revoke_issued(ctx, record).await?;
        return Err(invalid_grant(
            "the login session of this authorization code has ended",
        ));
    }
    Ok(issued)
}

fn replayed() -> GrantError {
    invalid_grant("the authorization code was already used; its tokens have been revoked")
}

/// Revokes everything a code's redemption issued.
async fn revoke_issued(ctx: &Ctx<'_>, issued: CodeIssue) -> Result<(), GrantError> {
    for family in &issued.families {
        revoke_family(ctx, family).await?;
    }
    for token in issued.access_tokens {
        revoke_access_token(ctx, token).await?;
    }
    Ok(())
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
    let g = UserGrant { scope: &kept, ..g };
    let keys = ctx.keys.current();
    let signer = keys.signer();
    let openid = g.scope.iter().any(|s| s == "openid");
    let jti = new_jti()?;
    let mut kinds = Vec::new();
    let scope = g.scope.join(" ");
    let (access_token, expires_in) = match g.api {
        Some(api) => {
            let lifetime = api.token_lifetime.clamp(1, MAX_TOKEN_LIFETIME);
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
            };
            kinds.push(TokenKind::AccessToken);
            (jwt::sign(signer, jwt::TYP_AT_JWT, &claims)?, lifetime)
        }
        None => {
            let value = new_secret_value()?;
            let token = OpaqueToken {
                client_id: g.client.client_id.clone(),
                user_id: g.user.user_id.clone(),
                scope: g.scope.to_vec(),
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
        let claims = id_token_claims(
            g.user,
            g.scope,
            IdTokenInput {
                issuer: ctx.issuer.as_str(),
                client_id: &g.client.client_id,
                now: ctx.now,
                lifetime: g
                    .client
                    .jwt_configuration
                    .lifetime_in_seconds
                    .clamp(1, 36000),
                auth_time: g.auth_time,
                sid: g.sid,
                nonce: g.nonce,
                at_hash: Some(at_hash(signer.alg(), &access_token)),
            },
        );
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
            },
            kinds,
        },
        jti,
    })
}
