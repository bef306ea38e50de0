//! `grant_type=client_credentials` (RFC 6749 §4.4): machine-to-machine tokens for
//! one API, within the client's client grant for it.

use super::{Ctx, GrantError, Issued, TokenResponse};
use crate::client_auth::{Authenticated, Presented};
use crate::error::{OAuthError, Reason};
use crate::jwt;
use crate::model::GrantType;
use crate::params::{Params, truncate};
use crate::token::access::{AccessClaims, Audience, issued_lifetime};
use crate::token::{TokenKind, new_jti};

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Request {
    /// `audience` (Auth0) or `resource` (RFC 8707).
    pub audience: Option<String>,
    pub scope: Option<Vec<String>>,
}

impl Request {
    pub fn parse(params: &Params) -> Result<Self, OAuthError> {
        let audience = super::common::requested_audience(params)?;
        let scope = params.get("scope").map(|s| {
            s.split(' ')
                .filter(|p| !p.is_empty())
                .map(str::to_owned)
                .collect()
        });
        Ok(Self { audience, scope })
    }
}

fn denied(reason: Reason, description: String) -> GrantError {
    OAuthError::new(reason, description).into()
}

pub async fn exchange(
    ctx: &Ctx<'_>,
    presented: &Presented,
    req: Request,
) -> Result<Issued, GrantError> {
    let client_id = presented.client_id();
    let Some(audience) = req.audience else {
        // Auth0's answer when no audience is given and no default is configured.
        return Err(denied(
            Reason::AudienceMissing,
            "No audience parameter was provided, and no default audience has been configured"
                .into(),
        ));
    };
    let found = ctx
        .store
        .client_credentials_context(client_id, &audience)
        .await?;
    match super::common::authenticate(ctx, presented, found.client.as_ref()).await? {
        Authenticated::Confidential => {}
        Authenticated::Public => {
            return Err(OAuthError::new(
                Reason::PublicClientCredentials,
                "public clients cannot use the client_credentials grant",
            )
            .into());
        }
    }
    let (client, _) = found
        .client
        .as_ref()
        .ok_or_else(|| OAuthError::new(Reason::ClientCredentialsInvalid, "unknown client"))?;
    if !client.allows(GrantType::ClientCredentials) {
        return Err(OAuthError::new(
            Reason::GrantTypeNotAllowed,
            "Grant type 'client_credentials' not allowed for the client.",
        )
        .into());
    }
    let Some(api) = found.resource_server else {
        return Err(denied(
            Reason::ApiUnknown,
            format!("Service not found: {}", truncate(&audience)),
        ));
    };
    let Some(grant) = found.grant else {
        return Err(denied(
            Reason::ClientGrantMissing,
            format!(
                "Client is not authorized to access \"{}\". You need to create a \"client-grant\" associated to this API.",
                api.identifier
            ),
        ));
    };
    // What the grant allows and the API still defines.
    let allowed: Vec<&String> = grant
        .scope
        .iter()
        .filter(|s| api.scopes.iter().any(|d| &d.value == *s))
        .collect();
    let granted: Vec<String> = match req.scope {
        None => allowed.iter().map(|s| (*s).clone()).collect(),
        Some(asked) => {
            // RFC 6749 §5.2: a scope beyond the grant is invalid_scope (we do not
            // narrow silently; the client learns what it may not have).
            let missing: Vec<&str> = asked
                .iter()
                .filter(|s| !allowed.iter().any(|a| a == s))
                .map(String::as_str)
                .collect();
            if !missing.is_empty() {
                let shown: Vec<String> = missing.iter().take(10).map(|m| truncate(m)).collect();
                return Err(OAuthError::new(
                    Reason::ScopeNotGranted,
                    format!("Client has not been granted scopes: {}", shown.join(", ")),
                )
                .into());
            }
            let mut unique: Vec<String> = Vec::new();
            for s in asked {
                if !unique.contains(&s) {
                    unique.push(s);
                }
            }
            unique
        }
    };
    let lifetime = issued_lifetime(&api);
    let kind = if api.is_system {
        TokenKind::ManagementApiToken
    } else {
        TokenKind::ClientCredentialsToken
    };
    // Not for the Management API: an action that denies, fails or hits a
    // full sandbox must never lock the operator out of the API that unbinds
    // it (Tessera's choice; Auth0 runs it for every API).
    let custom = if api.is_system {
        serde_json::Map::new()
    } else {
        ctx.actions
            .credentials_exchange(crate::extensibility::CredentialsExchange {
                client,
                api: &api,
                scope: &granted,
                request: ctx.request,
            })
            .await?
    };
    let scope = granted.join(" ");
    let claims = AccessClaims {
        iss: ctx.issuer.as_str().to_owned(),
        sub: format!("{client_id}@clients"),
        aud: Audience::One(api.identifier.clone()),
        iat: ctx.now,
        exp: ctx.now + lifetime,
        jti: new_jti()?,
        client_id: client_id.to_owned(),
        azp: client_id.to_owned(),
        scope: scope.clone(),
        gty: Some("client-credentials".into()),
        // Auth0: with RBAC and an `*_authz` dialect a machine token lists its
        // granted scopes as `permissions` too (the client grant decides).
        permissions: (api.settings.enforce_policies
            && crate::rbac::dialect_has_permissions(api.settings.token_dialect))
        .then(|| granted.clone()),
        custom: serde_json::Map::new(),
    }
    .with_custom(&custom);
    let access_token = jwt::sign(ctx.keys.current().signer(), jwt::TYP_AT_JWT, &claims)?;
    Ok(Issued {
        response: TokenResponse {
            access_token,
            token_type: "Bearer",
            expires_in: lifetime,
            scope: Some(scope),
            id_token: None,
            refresh_token: None,
            issued_token_type: None,
        },
        kinds: vec![kind],
        user_id: None,
        audience: Some(api.identifier.clone()),
    })
}
