//! `/api/v2/client-grants`: what a client may ask of an API with the
//! client-credentials grant. Narrowing or deleting a grant revokes the client's
//! outstanding tokens for that API.

use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde::{Deserialize, Serialize};
use tessera_core::ids;
use tessera_core::model::{ClientGrant, OrganizationUsage, ResourceServer};
use tessera_core::store::{GrantFilter, StoreError};
use utoipa::{IntoParams, ToSchema};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::auth::Caller;
use super::clients::revoke_client_tokens;
use super::error::{ErrorBody, MgmtError, MgmtResult};
use super::extract::{Payload, QueryOf};
use super::paging::{ListParams, list_query, paged_listing};
use crate::state::AppState;

pub fn routes(api: OpenApiRouter<AppState>) -> OpenApiRouter<AppState> {
    api.routes(routes!(list, create))
        .routes(routes!(get_one, update, delete))
}

/// Most scopes one grant may list.
const MAX_SCOPES: usize = 1000;

/// A client grant as the API shows it.
#[derive(Debug, Serialize, ToSchema)]
pub struct ClientGrantDto {
    pub id: String,
    pub client_id: String,
    /// The API's identifier.
    pub audience: String,
    pub scope: Vec<String>,
    /// Auth0's: whether the grant holds for any organization; Tessera has no
    /// organizations, so false.
    pub allow_any_organization: bool,
    /// Who the grant's tokens are for: only `client` here.
    pub subject_type: SubjectType,
    /// Auth0's grants it makes itself; none here.
    pub is_system: bool,
}

impl From<ClientGrant> for ClientGrantDto {
    fn from(g: ClientGrant) -> Self {
        Self {
            id: g.id,
            client_id: g.client_id,
            audience: g.audience,
            scope: g.scope,
            allow_any_organization: false,
            subject_type: SubjectType::Client,
            is_system: false,
        }
    }
}

/// Auth0's `subject_type` of a grant: machine-to-machine (`client`) or for
/// users (`user`, which Tessera does not offer).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum SubjectType {
    Client,
    User,
}

/// Auth0's grant properties for organizations, user grants, rich
/// authorization requests and default grants, none of which Tessera has:
/// accepted with the values that mean "none", refused otherwise (rather than
/// stored and ignored).
fn only_what_this_server_has(
    organization_usage: Option<OrganizationUsage>,
    allow_any_organization: Option<bool>,
    subject_type: Option<SubjectType>,
    authorization_details_types: Option<&[String]>,
    allow_all_scopes: Option<bool>,
    default_for: Option<&str>,
) -> MgmtResult<()> {
    let unsupported = |property: &str, what: &str| {
        Err(MgmtError::invalid_body(
            property,
            &format!("this server has no {what}"),
        ))
    };
    if organization_usage.is_some_and(|u| u != OrganizationUsage::Deny) {
        return unsupported("organization_usage", "organizations (only deny)");
    }
    if allow_any_organization == Some(true) {
        return unsupported("allow_any_organization", "organizations (only false)");
    }
    if subject_type == Some(SubjectType::User) {
        return unsupported("subject_type", "user client grants (only client)");
    }
    if authorization_details_types.is_some_and(|t| !t.is_empty()) {
        return unsupported(
            "authorization_details_types",
            "rich authorization requests (only [])",
        );
    }
    if allow_all_scopes == Some(true) {
        return unsupported("allow_all_scopes", "grants of every scope (only false)");
    }
    if default_for.is_some() {
        return unsupported("default_for", "default client grants");
    }
    Ok(())
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateClientGrant {
    #[serde(default)]
    pub client_id: Option<String>,
    /// The API's identifier.
    #[serde(default)]
    pub audience: Option<String>,
    /// Scopes the API defines.
    #[serde(default)]
    pub scope: Option<Vec<String>>,
    /// Only `deny` (no organizations here).
    #[serde(default)]
    pub organization_usage: Option<OrganizationUsage>,
    /// Only false.
    #[serde(default)]
    pub allow_any_organization: Option<bool>,
    /// Only `client`.
    #[serde(default)]
    pub subject_type: Option<SubjectType>,
    /// Only empty.
    #[serde(default)]
    pub authorization_details_types: Option<Vec<String>>,
    /// Only false.
    #[serde(default)]
    pub allow_all_scopes: Option<bool>,
    /// Not supported (default grants).
    #[serde(default)]
    pub default_for: Option<String>,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct UpdateClientGrant {
    /// Replaces the granted scopes.
    #[serde(default)]
    pub scope: Option<Vec<String>>,
    /// Only `deny` (no organizations here).
    #[serde(default)]
    pub organization_usage: Option<OrganizationUsage>,
    /// Only false.
    #[serde(default)]
    pub allow_any_organization: Option<bool>,
    /// Only empty.
    #[serde(default)]
    pub authorization_details_types: Option<Vec<String>>,
    /// Only false.
    #[serde(default)]
    pub allow_all_scopes: Option<bool>,
}

list_query! {
    #[derive(Debug, Deserialize, IntoParams)]
    #[into_params(parameter_in = Query)]
    #[serde(deny_unknown_fields)]
    pub struct ListQuery {
        ..paging_and_checkpoint,
        /// Only grants for this API identifier.
        pub audience: Option<String>,
        /// Only grants of this client.
        pub client_id: Option<String>,
        /// Only grants for any organization (true: none here) or the others.
        pub allow_any_organization: Option<bool>,
        /// Only grants of this subject type (`user`: none here).
        pub subject_type: Option<SubjectType>,
        /// Only default grants (none here).
        pub default_for: Option<String>,
    }
}

fn not_found() -> MgmtError {
    MgmtError::not_found(
        "inexistent_client_grant",
        "The client grant does not exist.",
    )
}

fn required(property: &str) -> MgmtError {
    MgmtError::invalid_body(property, "is required")
}

/// Every scope defined by the API; duplicates dropped, order kept.
fn checked_scopes(api: &ResourceServer, scopes: Vec<String>) -> MgmtResult<Vec<String>> {
    if scopes.len() > MAX_SCOPES {
        return Err(MgmtError::invalid_body(
            "scope",
            &format!("at most {MAX_SCOPES} scopes"),
        ));
    }
    let mut out: Vec<String> = Vec::with_capacity(scopes.len());
    for s in scopes {
        if !api.scopes.iter().any(|d| d.value == s) {
            let shown: String = s.chars().take(100).collect();
            return Err(MgmtError::invalid_body(
                "scope",
                &format!("{shown:?} is not a scope of the API {}", api.identifier),
            ));
        }
        if !out.contains(&s) {
            out.push(s);
        }
    }
    Ok(out)
}

/// List client grants.
#[utoipa::path(get, path = "/api/v2/client-grants", tag = "client-grants", params(ListQuery),
    security(("bearer" = ["read:client_grants"])),
    responses((status = 200, body = [ClientGrantDto]), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody)))]
async fn list(
    caller: Caller,
    State(state): State<AppState>,
    QueryOf(q): QueryOf<ListQuery>,
) -> MgmtResult<Response> {
    caller.require("read:client_grants")?;
    let paging = q.paging()?;
    let none_here = q.allow_any_organization == Some(true)
        || q.subject_type == Some(SubjectType::User)
        || q.default_for.is_some();
    let filter = GrantFilter {
        audience: q.audience,
        client_id: q.client_id,
    };
    let (items, total) = if none_here {
        (Vec::new(), 0)
    } else {
        state
            .store
            .list_client_grants(&filter, paging.page())
            .await?
    };
    let items: Vec<ClientGrantDto> = items.into_iter().map(Into::into).collect();
    Ok(paged_listing("client_grants", items, total, paging))
}

/// Create a client grant.
#[utoipa::path(post, path = "/api/v2/client-grants", tag = "client-grants", request_body = CreateClientGrant,
    security(("bearer" = ["create:client_grants"])),
    responses((status = 201, body = ClientGrantDto), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody), (status = 409, body = ErrorBody)))]
async fn create(
    caller: Caller,
    State(state): State<AppState>,
    Payload(body): Payload<CreateClientGrant>,
) -> MgmtResult<Response> {
    caller.require("create:client_grants")?;
    only_what_this_server_has(
        body.organization_usage,
        body.allow_any_organization,
        body.subject_type,
        body.authorization_details_types.as_deref(),
        body.allow_all_scopes,
        body.default_for.as_deref(),
    )?;
    let client_id = body.client_id.ok_or_else(|| required("client_id"))?;
    let audience = body.audience.ok_or_else(|| required("audience"))?;
    let scope = body.scope.ok_or_else(|| required("scope"))?;
    if state.store.get_client(&client_id).await?.is_none() {
        return Err(MgmtError::not_found(
            "inexistent_client",
            "The client does not exist.",
        ));
    }
    let api = state
        .store
        .get_resource_server_by_identifier(&audience)
        .await?
        .ok_or_else(|| {
            MgmtError::not_found(
                "inexistent_resource_server",
                "The resource server (audience) does not exist.",
            )
        })?;
    let grant = ClientGrant {
        id: ids::prefixed("cgr")
            .map_err(|e| MgmtError::from(StoreError::Backend(e.to_string())))?,
        client_id,
        audience,
        scope: checked_scopes(&api, scope)?,
    };
    match state
        .store
        .create_client_grant(&grant, state.clock.now())
        .await
    {
        Err(StoreError::Conflict(_)) => {
            return Err(MgmtError::conflict(
                "conflict",
                "A client grant for this client and audience already exists.",
            ));
        }
        other => other?,
    }
    Ok((StatusCode::CREATED, Json(ClientGrantDto::from(grant))).into_response())
}

/// Get a client grant.
#[utoipa::path(get, path = "/api/v2/client-grants/{id}", tag = "client-grants",
    params(("id" = String, Path, description = "The client grant id")),
    security(("bearer" = ["read:client_grants"])),
    responses((status = 200, body = ClientGrantDto), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)))]
async fn get_one(
    caller: Caller,
    State(state): State<AppState>,
    Path(id): Path<String>,
) -> MgmtResult<Json<ClientGrantDto>> {
    caller.require("read:client_grants")?;
    let grant = state
        .store
        .get_client_grant_by_id(&id)
        .await?
        .ok_or_else(not_found)?;
    Ok(Json(grant.into()))
}

/// Change a client grant's scopes. Removing a scope revokes the client's
/// outstanding tokens for the API.
#[utoipa::path(patch, path = "/api/v2/client-grants/{id}", tag = "client-grants", request_body = UpdateClientGrant,
    params(("id" = String, Path, description = "The client grant id")),
    security(("bearer" = ["update:client_grants"])),
    responses((status = 200, body = ClientGrantDto), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)))]
async fn update(
    caller: Caller,
    State(state): State<AppState>,
    Path(id): Path<String>,
    Payload(body): Payload<UpdateClientGrant>,
) -> MgmtResult<Json<ClientGrantDto>> {
    caller.require("update:client_grants")?;
    let current = state
        .store
        .get_client_grant_by_id(&id)
        .await?
        .ok_or_else(not_found)?;
    only_what_this_server_has(
        body.organization_usage,
        body.allow_any_organization,
        None,
        body.authorization_details_types.as_deref(),
        body.allow_all_scopes,
        None,
    )?;
    let Some(scope) = body.scope else {
        return Ok(Json(current.into()));
    };
    // The grant's API exists (grants go with their API).
    let api = state
        .store
        .get_resource_server_by_identifier(&current.audience)
        .await?
        .ok_or_else(not_found)?;
    let scope = checked_scopes(&api, scope)?;
    let updated = state
        .store
        .update_client_grant(&id, &scope, state.clock.now())
        .await?
        .ok_or_else(not_found)?;
    let narrowed = current.scope.iter().any(|s| !updated.scope.contains(s));
    if narrowed {
        revoke_client_tokens(&state, &updated.client_id, Some(updated.audience.clone())).await?;
    }
    Ok(Json(updated.into()))
}

/// Delete a client grant; the client's outstanding tokens for the API are revoked.
#[utoipa::path(delete, path = "/api/v2/client-grants/{id}", tag = "client-grants",
    params(("id" = String, Path, description = "The client grant id")),
    security(("bearer" = ["delete:client_grants"])),
    responses((status = 204), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)))]
async fn delete(
    caller: Caller,
    State(state): State<AppState>,
    Path(id): Path<String>,
) -> MgmtResult<StatusCode> {
    caller.require("delete:client_grants")?;
    let grant = state
        .store
        .delete_client_grant(&id)
        .await?
        .ok_or_else(not_found)?;
    revoke_client_tokens(&state, &grant.client_id, Some(grant.audience)).await?;
    Ok(StatusCode::NO_CONTENT)
}
