//! The Management API's guard: a JWT access token this server signed for
//! `{issuer}api/v2/`, unexpired, `typ: at+jwt`, not revoked, and a
//! client-credentials token (`gty: client-credentials`, `sub` =
//! `{client_id}@clients`) of an existing client that still holds a client grant
//! for the Management API; then one scope per endpoint, out of the token's scopes
//! that the grant still allows. A user-bound token never passes, whatever its
//! scopes (Auth0 accepts user tokens only for `…:current_user` scopes, which
//! Tessera does not offer). The revocation check reads memory only; the client
//! and grant check is one database read.

use axum::extract::FromRequestParts;
use axum::http::header;
use axum::http::request::Parts;
use tessera_core::model::GrantType;
use tessera_core::token::access::AccessClaims;
use tessera_core::token::verify::{VerifyError, verify_access_token};

use super::error::MgmtError;
use crate::state::AppState;

/// A caller holding a valid Management API token.
#[derive(Debug, Clone)]
pub struct Caller {
    pub claims: AccessClaims,
}

impl Caller {
    /// 403 `insufficient_scope` unless the token carries `scope`.
    pub fn require(&self, scope: &str) -> Result<(), MgmtError> {
        if self.claims.has_scope(scope) {
            Ok(())
        } else {
            Err(MgmtError::insufficient_scope(scope))
        }
    }
    pub fn has(&self, scope: &str) -> bool {
        self.claims.has_scope(scope)
    }
}

fn message(e: &VerifyError) -> &'static str {
    match e {
        VerifyError::Expired => "Expired token",
        VerifyError::IdToken => {
            "ID tokens are not accepted here: use an access token for the Management API"
        }
        VerifyError::WrongAudience => "The token is not for the Management API (bad audience)",
        VerifyError::WrongIssuer => "The token was issued by another issuer",
        VerifyError::Revoked => "Revoked token",
        VerifyError::NotYetValid => "The token is not valid yet",
        VerifyError::UnknownKey | VerifyError::BadSignature | VerifyError::AlgorithmMismatch => {
            "Invalid token signature"
        }
        _ => "Invalid token",
    }
}

impl FromRequestParts<AppState> for Caller {
    type Rejection = MgmtError;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &AppState,
    ) -> Result<Self, Self::Rejection> {
        let Some(value) = parts.headers.get(header::AUTHORIZATION) else {
            return Err(MgmtError::unauthorized(
                "missing_token",
                "Missing authentication",
            ));
        };
        let value = value.to_str().map_err(|_| {
            MgmtError::unauthorized("invalid_token", "Bad HTTP authentication header format")
        })?;
        let token = match value.split_once(' ') {
            Some((scheme, token))
                if scheme.eq_ignore_ascii_case("bearer") && !token.trim().is_empty() =>
            {
                token.trim()
            }
            _ => {
                return Err(MgmtError::unauthorized(
                    "invalid_token",
                    "Bad HTTP authentication header format",
                ));
            }
        };
        let now = state.clock.now();
        let audience = state.config.issuer.management_audience();
        let claims = verify_access_token(
            &state.keys.current(),
            token,
            state.config.issuer.as_str(),
            &audience,
            now,
            0,
        )
        .map_err(|e| {
            MgmtError::unauthorized("invalid_token", message(&e)).with_reason(e.reason().as_str())
        })?;
        if state.revocations.is_revoked(
            &claims.jti,
            &claims.client_id,
            &claims.aud.to_vec(),
            claims.iat,
        ) {
            return Err(
                MgmtError::unauthorized("invalid_token", message(&VerifyError::Revoked))
                    .with_reason(VerifyError::Revoked.reason().as_str()),
            );
        }
        let mut claims = claims;
        check_machine_client(state, &mut claims, &audience).await?;
        // The tenant's log names the (verified) caller of a write.
        if let Some(caller) = parts.extensions.get::<crate::audit::ManagementCaller>() {
            caller.set(&claims.client_id);
        }
        Ok(Self { claims })
    }
}

/// Why a verified token for the Management API is still refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum NotMachine {
    /// No `gty: client-credentials`, or `sub` is not `{client_id}@clients`: a
    /// user's token (or a forged mix).
    UserBound,
    /// The client no longer exists, may no longer use client credentials, or
    /// holds no grant for the Management API.
    NoGrant,
}

impl NotMachine {
    fn message(self) -> &'static str {
        match self {
            Self::UserBound => {
                "The Management API accepts only client-credentials tokens of machine-to-machine applications"
            }
            Self::NoGrant => {
                "The application of this token is not authorized for the Management API"
            }
        }
    }
}

/// The token must be a client-credentials token of a client that still holds a
/// Management API grant; its scopes are narrowed to what that grant allows now.
async fn check_machine_client(
    state: &AppState,
    claims: &mut AccessClaims,
    audience: &str,
) -> Result<(), MgmtError> {
    let refuse = |why: NotMachine| MgmtError::unauthorized("invalid_token", why.message());
    let machine = claims.gty.as_deref() == Some("client-credentials")
        && claims.azp == claims.client_id
        && claims
            .sub
            .strip_suffix("@clients")
            .is_some_and(|id| id == claims.client_id);
    if !machine {
        return Err(refuse(NotMachine::UserBound));
    }
    let found = state
        .store
        .client_credentials_context(&claims.client_id, audience)
        .await?;
    let (Some((client, _)), Some(api), Some(grant)) =
        (found.client, found.resource_server, found.grant)
    else {
        return Err(refuse(NotMachine::NoGrant));
    };
    if !api.is_system || !client.allows(GrantType::ClientCredentials) {
        return Err(refuse(NotMachine::NoGrant));
    }
    let allowed: Vec<&str> = claims
        .scopes()
        .filter(|s| grant.scope.iter().any(|g| g == s))
        .collect();
    claims.scope = allowed.join(" ");
    Ok(())
}
