//! `/api/v2/users/{id}/identities`: account linking, as Auth0 does it. The
//! secondary user's identity moves onto the primary's `identities[]` (with
//! its `profileData`); the secondary is no user of its own any more (its
//! GET answers 404, its sessions and refresh tokens end), a login through
//! it signs in as the primary, and its IdP tokens stay with its identity.
//! Unlinking makes it a user of its own again. The rules are checked by the
//! store under locks ([`tessera_core::store::IdentityLinkStore`]).

use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use serde::Deserialize;
use tessera_core::store::LinkRefusal;
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::auth::Caller;
use super::error::{ErrorBody, MgmtError, MgmtResult};
use super::extract::Payload;
use super::users::{IdentityDto, identities_of, not_found};
use crate::state::AppState;

pub fn routes(api: OpenApiRouter<AppState>) -> OpenApiRouter<AppState> {
    api.routes(routes!(link)).routes(routes!(unlink))
}

/// The secondary account to link: by its provider and its id there
/// (`auth0|…` or the part after `auth0|`), or (Auth0's other form, refused
/// here) by its ID token.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct LinkBody {
    pub provider: Option<String>,
    pub user_id: Option<String>,
    /// The secondary's connection, when given: it must be this one.
    pub connection_id: Option<String>,
    /// Auth0's user-initiated form (the secondary's ID token). Not supported:
    /// 400 `link_with_unsupported`.
    pub link_with: Option<String>,
}

/// The user id of the record of identity (`provider`, `user_id`).
fn record_id(provider: &str, user_id: &str) -> String {
    if user_id
        .strip_prefix(provider)
        .is_some_and(|rest| rest.starts_with('|'))
    {
        user_id.to_owned()
    } else {
        format!("{provider}|{user_id}")
    }
}

/// The one mapping of the store's refusals onto Auth0-shaped errors.
fn refused(refusal: LinkRefusal) -> MgmtError {
    match refusal {
        LinkRefusal::PrimaryMissing => not_found().with_reason("primary_missing"),
        LinkRefusal::SecondaryMissing => MgmtError::bad_request(
            "invalid_body",
            "The user to link (provider, user_id) does not exist.",
        )
        .with_reason("secondary_missing"),
        LinkRefusal::PrimaryIsLinked => MgmtError::bad_request(
            "invalid_body",
            "The main user is linked to another user; link onto that one.",
        )
        .with_reason("primary_is_linked"),
        LinkRefusal::SecondaryIsLinked => MgmtError::bad_request(
            "invalid_body",
            "The user to link is already linked to a user.",
        )
        .with_reason("secondary_is_linked"),
        LinkRefusal::SecondaryHasLinks => MgmtError::bad_request(
            "invalid_body",
            "The user to link has linked identities of its own; it can only be a main user.",
        )
        .with_reason("secondary_has_links"),
        LinkRefusal::SameConnection => MgmtError::bad_request(
            "invalid_body",
            "The main user already has an identity of this connection.",
        )
        .with_reason("same_connection"),
    }
}

/// The primary's identities after a change, as Auth0 answers them.
async fn answer(state: &AppState, primary: &str, caller: &Caller) -> MgmtResult<Vec<IdentityDto>> {
    let user = state.store.get_user(primary).await?.ok_or_else(not_found)?;
    identities_of(state, &user, caller).await
}

/// Link a user account (the secondary) to this user (the primary).
#[utoipa::path(post, path = "/api/v2/users/{id}/identities", tag = "users", request_body = LinkBody,
    params(("id" = String, Path, description = "The primary user's id")),
    security(("bearer" = ["update:users"])),
    responses((status = 201, body = [IdentityDto], description = "The primary's identities"),
        (status = 400, body = ErrorBody), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody),
        (status = 404, body = ErrorBody)))]
async fn link(
    caller: Caller,
    State(state): State<AppState>,
    Path(id): Path<String>,
    Payload(body): Payload<LinkBody>,
) -> MgmtResult<(StatusCode, Json<Vec<IdentityDto>>)> {
    caller.require("update:users")?;
    if body.link_with.is_some() {
        // Auth0's user-initiated form verifies the secondary's ID token and
        // needs `update:current_user_identities` on a user's token, which
        // this Management API never accepts (machine tokens only).
        return Err(MgmtError::invalid_body(
            "link_with",
            "linking with an ID token is not supported; send provider and user_id",
        )
        .with_reason("link_with_unsupported"));
    }
    let (Some(provider), Some(user_id)) = (body.provider.as_deref(), body.user_id.as_deref())
    else {
        return Err(MgmtError::invalid_body(
            "provider",
            "provider and user_id are required",
        ));
    };
    if provider.is_empty() || user_id.is_empty() {
        return Err(MgmtError::invalid_body(
            "user_id",
            "provider and user_id must not be empty",
        ));
    }
    let secondary = record_id(provider, user_id);
    if secondary == id {
        return Err(MgmtError::bad_request(
            "invalid_body",
            "Main identity and the new one are the same.",
        )
        .with_reason("link_self"));
    }
    if let Some(connection_id) = &body.connection_id {
        let named = state.store.get_connection(connection_id).await?;
        let found = state.store.find_login_identity(&secondary).await?;
        let matches =
            matches!((named, found), (Some(c), Some(f)) if f.identity.connection == c.name);
        if !matches {
            return Err(refused(LinkRefusal::SecondaryMissing));
        }
    }
    let now = state.clock.now();
    state
        .store
        .link_user(&id, &secondary, now)
        .await?
        .map_err(refused)?;
    // The secondary is no user of its own now: what it had open ends.
    let (sessions, families) = state.end_user_sessions(&secondary).await?;
    tracing::info!(primary = %id, secondary = %secondary, sessions, families, by = %caller.claims.client_id, "user linked");
    Ok((
        StatusCode::CREATED,
        Json(answer(&state, &id, &caller).await?),
    ))
}

/// Unlink an identity from this user: it becomes a user of its own again.
#[utoipa::path(delete, path = "/api/v2/users/{id}/identities/{provider}/{user_id}", tag = "users",
    params(("id" = String, Path, description = "The primary user's id"),
        ("provider" = String, Path, description = "The linked identity's provider"),
        ("user_id" = String, Path, description = "The linked identity's id within the provider")),
    security(("bearer" = ["update:users"])),
    responses((status = 200, body = [IdentityDto], description = "The primary's remaining identities"),
        (status = 400, body = ErrorBody), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody),
        (status = 404, body = ErrorBody)))]
async fn unlink(
    caller: Caller,
    State(state): State<AppState>,
    Path((id, provider, user_id)): Path<(String, String, String)>,
) -> MgmtResult<Json<Vec<IdentityDto>>> {
    caller.require("update:users")?;
    let primary = state.store.get_user(&id).await?.ok_or_else(not_found)?;
    let secondary = record_id(&provider, &user_id);
    if secondary == primary.user_id {
        return Err(MgmtError::bad_request(
            "invalid_body",
            "The main identity of a user cannot be unlinked.",
        )
        .with_reason("unlink_primary"));
    }
    let now = state.clock.now();
    if !state.store.unlink_user(&id, &secondary, now).await? {
        return Err(MgmtError::not_found(
            "inexistent_identity",
            "The user has no such linked identity.",
        )
        .with_reason("identity_not_linked"));
    }
    // Sessions and refresh tokens record no login identity, so those opened
    // through the link cannot be told apart: as a password change does, end
    // both users' SSO sessions and refresh-token families (with the access
    // tokens issued under them), so nothing opened through the separated
    // identity still acts as the primary.
    let (sessions, families) = state.end_user_sessions(&id).await?;
    let (own_sessions, own_families) = state.end_user_sessions(&secondary).await?;
    tracing::info!(primary = %id, secondary = %secondary, sessions = sessions + own_sessions, families = families + own_families, by = %caller.claims.client_id, "user unlinked");
    Ok(Json(answer(&state, &id, &caller).await?))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn identity_ids_with_or_without_the_provider() {
        assert_eq!(record_id("auth0", "abc"), "auth0|abc");
        assert_eq!(record_id("auth0", "auth0|abc"), "auth0|abc");
        assert_eq!(record_id("oidc", "corp|sub"), "oidc|corp|sub");
        assert_eq!(record_id("oidc", "oidc|corp|sub"), "oidc|corp|sub");
        assert_eq!(record_id("auth0", "auth0abc"), "auth0|auth0abc");
    }
}
