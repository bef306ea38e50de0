//! `grant_type=authorization_code` (RFC 6749 §4.1.3, RFC 7636, OIDC Core §3.1.3).

use super::common::{
    UserGrant, authenticate_client, issue_user_tokens, offline_allowed, start_family,
};
use super::{Ctx, GrantError};
use crate::authorize::pkce_matches;
use crate::client_auth::Presented;
use crate::error::{OAuthError, Reason};
use crate::flow::{CodeIssue, CodeRecorded, CodeUse, IssuedToken};
use crate::model::GrantType;
use crate::params::Params;
use crate::revocation::{revoke_access_token, revoke_family};
use crate::token::TokenKind;
use crate::token::opaque::token_hash;

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
            .ok_or_else(|| OAuthError::new(Reason::ParameterMissing, "code is required"))?;
        Ok(Self {
            code: code.to_owned(),
            redirect_uri: params.get("redirect_uri").map(str::to_owned),
            code_verifier: params.get("code_verifier").map(str::to_owned),
        })
    }
}

fn invalid_grant(reason: Reason, description: &str) -> GrantError {
    OAuthError::new(reason, description).into()
}

pub async fn exchange(
    ctx: &Ctx<'_>,
    presented: &Presented,
    req: Request,
) -> Result<super::Issued, GrantError> {
    let found = ctx.store.get_client(presented.client_id()).await?;
    let client = authenticate_client(ctx, presented, found.as_ref()).await?;
    if !client.allows(GrantType::AuthorizationCode) {
        return Err(OAuthError::new(
            Reason::GrantTypeNotAllowed,
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
                Reason::CodeInvalid,
                "the authorization code is invalid or expired",
            ));
        }
    };
    if code.client_id != client.client_id {
        return Err(invalid_grant(
            Reason::CodeClientMismatch,
            "the authorization code was issued to another client",
        ));
    }
    if req.redirect_uri.as_deref() != Some(code.redirect_uri.as_str()) {
        return Err(invalid_grant(
            Reason::RedirectUriMismatch,
            "redirect_uri does not match the authorization request",
        ));
    }
    match (&code.code_challenge, &req.code_verifier) {
        (Some(challenge), Some(verifier)) if pkce_matches(verifier, challenge) => {}
        (Some(_), _) => {
            return Err(invalid_grant(
                Reason::PkceMismatch,
                "code_verifier does not match the code_challenge",
            ));
        }
        // RFC 9700 §2.1.1: a verifier without a challenge is a downgrade attempt.
        (None, Some(_)) => {
            return Err(invalid_grant(
                Reason::PkceDowngrade,
                "code_verifier sent, but no code_challenge was",
            ));
        }
        (None, None) => {}
    }
    let user = match ctx.store.get_user(&code.user_id).await? {
        Some(u) if !u.blocked => u,
        _ => {
            return Err(invalid_grant(
                Reason::UserUnavailable,
                "the user no longer exists or is blocked",
            ));
        }
    };
    super::common::check_user_connection(ctx, &user, &code.client_id).await?;
    let api = match &code.audience {
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
            // The post-login actions ran when the code was issued.
            custom: &code.custom,
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
    if offline_allowed(&client, &code.scope, api.as_ref()) {
        let (refresh, family_id) = start_family(
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
            Reason::SessionEnded,
            "the login session of this authorization code has ended",
        ));
    }
    Ok(issued)
}

fn replayed() -> GrantError {
    invalid_grant(
        Reason::CodeReplayed,
        "the authorization code was already used; its tokens have been revoked",
    )
}

/// Revokes everything a code's redemption issued.
async fn revoke_issued(ctx: &Ctx<'_>, issued: CodeIssue) -> Result<(), GrantError> {
    for family in &issued.families {
        revoke_family(ctx.store, ctx.revocations, family, ctx.now).await?;
    }
    for token in issued.access_tokens {
        revoke_access_token(ctx.store, ctx.revocations, token, ctx.now).await?;
    }
    Ok(())
}
