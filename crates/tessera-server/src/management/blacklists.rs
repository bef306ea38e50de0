//! `/api/v2/blacklists/tokens`: Auth0's token blacklist. A blacklisted `jti` is
//! refused by the Management API at once on the node that took it, and on the
//! other nodes within the revocation refresh interval. An entry lives as long as
//! a token for its `aud` can (that API's token lifetime, or the longer one it
//! had before it was lowered or the API deleted, while tokens issued under it
//! may live; without `aud`, or for an audience that names no API now or then,
//! the longest of any API), so it outlives the token it names and then leaves
//! the revocation view.

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use serde::{Deserialize, Serialize};
use tessera_core::revocation::revocation_expires_at;
use tessera_core::store::BlacklistedToken;
use tessera_core::store::Revocation;
use utoipa::{IntoParams, ToSchema};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::auth::Caller;
use super::error::{ErrorBody, MgmtError, MgmtResult};
use super::extract::{Payload, QueryOf};
use crate::state::AppState;

const SCOPE: &str = "blacklist:tokens";
const MAX_JTI_LEN: usize = 512;
const MAX_AUD_LEN: usize = 600;

pub fn routes(api: OpenApiRouter<AppState>) -> OpenApiRouter<AppState> {
    api.routes(routes!(list, create))
}

/// A token to blacklist.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct BlacklistTokenBody {
    /// The audience of the token (kept for the listing; the `jti` alone decides
    /// what is refused).
    #[serde(default)]
    pub aud: Option<String>,
    /// The `jti` claim of the token.
    pub jti: String,
}

/// A blacklisted token.
#[derive(Debug, Serialize, ToSchema)]
pub struct BlacklistedTokenDto {
    /// The audience given when it was blacklisted; absent when none was
    /// (e.g. a token revoked at `oauth/revoke`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub aud: Option<String>,
    pub jti: String,
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct ListQuery {
    /// Only the tokens blacklisted for this audience.
    pub aud: Option<String>,
}

fn printable(s: &str) -> bool {
    !s.chars().any(|c| c.is_whitespace() || c.is_control())
}

fn validate(body: &BlacklistTokenBody) -> MgmtResult<()> {
    if body.jti.is_empty() || body.jti.len() > MAX_JTI_LEN || !printable(&body.jti) {
        return Err(MgmtError::invalid_body(
            "jti",
            &format!("must be 1 to {MAX_JTI_LEN} characters without white space"),
        ));
    }
    if let Some(aud) = &body.aud
        && (aud.is_empty() || aud.len() > MAX_AUD_LEN || !printable(aud))
    {
        return Err(MgmtError::invalid_body(
            "aud",
            &format!("must be 1 to {MAX_AUD_LEN} characters without white space"),
        ));
    }
    Ok(())
}

/// List the blacklisted tokens.
#[utoipa::path(get, path = "/api/v2/blacklists/tokens", tag = "blacklists", params(ListQuery),
    description = "Every blacklisted `jti` whose token may still be valid (tokens revoked at `oauth/revoke` included, without `aud`).",
    security(("bearer" = ["blacklist:tokens"])),
    responses((status = 200, body = [BlacklistedTokenDto]), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody)))]
async fn list(
    caller: Caller,
    State(state): State<AppState>,
    QueryOf(q): QueryOf<ListQuery>,
) -> MgmtResult<Json<Vec<BlacklistedTokenDto>>> {
    caller.require(SCOPE)?;
    let aud = q.aud.as_deref().filter(|a| !a.is_empty());
    let entries = state
        .store
        .list_blacklisted_tokens(state.clock.now(), aud)
        .await?;
    Ok(Json(
        entries
            .into_iter()
            .map(|t| BlacklistedTokenDto {
                aud: t.aud,
                jti: t.jti,
            })
            .collect(),
    ))
}

/// Blacklist a token by its `jti`.
#[utoipa::path(post, path = "/api/v2/blacklists/tokens", tag = "blacklists", request_body = BlacklistTokenBody,
    description = "The token with this `jti` is refused at once by this node and by the others within the revocation refresh interval.",
    security(("bearer" = ["blacklist:tokens"])),
    responses((status = 201, description = "Token blacklisted"), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody)))]
async fn create(
    caller: Caller,
    State(state): State<AppState>,
    Payload(body): Payload<BlacklistTokenBody>,
) -> MgmtResult<StatusCode> {
    caller.require(SCOPE)?;
    validate(&body)?;
    let now = state.clock.now();
    // Kept as long as a token for `aud` can live (without `aud`, or for an
    // unknown one, the longest of any API), counting the longer lifetime an API
    // had before it was lowered or deleted while its tokens may live.
    let expires_at = revocation_expires_at(state.store.as_ref(), body.aud.as_deref(), now).await?;
    let token = BlacklistedToken {
        aud: body.aud,
        jti: body.jti,
    };
    state
        .store
        .add_blacklisted_token(&token, expires_at)
        .await?;
    // Apply it here at once (the periodic refresh brings it to the other nodes).
    state.revocations.apply_local(Revocation::Jti {
        jti: token.jti.clone(),
        expires_at,
    });
    tracing::info!(jti = %token.jti, by = %caller.claims.client_id, "token blacklisted");
    Ok(StatusCode::CREATED)
}
