//! The Management API's guard: a JWT access token this server signed for
//! `{issuer}api/v2/`, unexpired, `typ: at+jwt`, not revoked; then one scope per
//! endpoint. The revocation check reads memory only.

use axum::extract::FromRequestParts;
use axum::http::header;
use axum::http::request::Parts;
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
        .map_err(|e| MgmtError::unauthorized("invalid_token", message(&e)))?;
        if state.revocations.is_revoked(
            &claims.jti,
            &claims.client_id,
            &claims.aud.to_vec(),
            claims.iat,
        ) {
            return Err(MgmtError::unauthorized(
                "invalid_token",
                message(&VerifyError::Revoked),
            ));
        }
        Ok(Self { claims })
    }
}
