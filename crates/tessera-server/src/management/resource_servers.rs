//! `/api/v2/resource-servers`: the APIs tokens are issued for.

use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde::{Deserialize, Serialize};
use tessera_core::manage::resource_servers::{
    self, CreateError, NewResourceServer, ResourceServerChanges,
};
use tessera_core::model::{ResourceServer, ResourceServerScope};
use tessera_core::store::StoreError;
use utoipa::{IntoParams, ToSchema};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::auth::Caller;
use super::error::{ErrorBody, MgmtError, MgmtResult};
use super::extract::{Payload, QueryOf};
use super::paging::{ListParams, list_query, paged_listing};
use crate::state::AppState;

pub fn routes(api: OpenApiRouter<AppState>) -> OpenApiRouter<AppState> {
    api.routes(routes!(list, create))
        .routes(routes!(get_one, update, delete))
}

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ScopeDto {
    pub value: String,
    #[serde(default)]
    pub description: String,
}

/// A resource server as the API shows it.
#[derive(Debug, Serialize, ToSchema)]
pub struct ResourceServerDto {
    pub id: String,
    pub name: String,
    pub identifier: String,
    pub scopes: Vec<ScopeDto>,
    pub signing_alg: String,
    pub token_lifetime: i64,
    pub allow_offline_access: bool,
    pub skip_consent_for_verifiable_first_party_clients: bool,
    pub is_system: bool,
}

impl From<ResourceServer> for ResourceServerDto {
    fn from(rs: ResourceServer) -> Self {
        Self {
            id: rs.id,
            name: rs.name,
            identifier: rs.identifier,
            scopes: rs
                .scopes
                .into_iter()
                .map(|s| ScopeDto {
                    value: s.value,
                    description: s.description,
                })
                .collect(),
            signing_alg: rs.signing_alg,
            token_lifetime: rs.token_lifetime,
            allow_offline_access: rs.allow_offline_access,
            skip_consent_for_verifiable_first_party_clients: rs
                .skip_consent_for_verifiable_first_party_clients,
            is_system: rs.is_system,
        }
    }
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateResourceServer {
    pub identifier: String,
    #[serde(default)]
    pub name: Option<String>,
    #[serde(default)]
    pub scopes: Option<Vec<ScopeDto>>,
    #[serde(default)]
    pub signing_alg: Option<String>,
    #[serde(default)]
    pub token_lifetime: Option<i64>,
    #[serde(default)]
    pub allow_offline_access: Option<bool>,
    #[serde(default)]
    pub skip_consent_for_verifiable_first_party_clients: Option<bool>,
}

/// Every field optional; `identifier` cannot change.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct UpdateResourceServer {
    #[serde(default)]
    pub name: Option<String>,
    #[serde(default)]
    pub scopes: Option<Vec<ScopeDto>>,
    #[serde(default)]
    pub signing_alg: Option<String>,
    #[serde(default)]
    pub token_lifetime: Option<i64>,
    #[serde(default)]
    pub allow_offline_access: Option<bool>,
    #[serde(default)]
    pub skip_consent_for_verifiable_first_party_clients: Option<bool>,
}

list_query! {
    #[derive(Debug, Deserialize, IntoParams)]
    #[serde(deny_unknown_fields)]
    pub struct ListQuery {
        ..paging,
    }
}

fn to_scopes(scopes: Vec<ScopeDto>) -> Vec<ResourceServerScope> {
    scopes
        .into_iter()
        .map(|s| ResourceServerScope {
            value: s.value,
            description: s.description,
        })
        .collect()
}

fn not_found() -> MgmtError {
    MgmtError::not_found(
        "inexistent_resource_server",
        "The resource server does not exist.",
    )
}

/// By id, or by identifier (as Auth0 allows).
async fn find(state: &AppState, id: &str) -> MgmtResult<ResourceServer> {
    if let Some(rs) = state.store.get_resource_server(id).await? {
        return Ok(rs);
    }
    state
        .store
        .get_resource_server_by_identifier(id)
        .await?
        .ok_or_else(not_found)
}

/// List resource servers.
#[utoipa::path(get, path = "/api/v2/resource-servers", tag = "resource-servers", params(ListQuery),
    security(("bearer" = ["read:resource_servers"])),
    responses((status = 200, body = [ResourceServerDto]), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody)))]
async fn list(
    caller: Caller,
    State(state): State<AppState>,
    QueryOf(q): QueryOf<ListQuery>,
) -> MgmtResult<Response> {
    caller.require("read:resource_servers")?;
    let paging = q.paging()?;
    let (items, total) = state.store.list_resource_servers(paging.page()).await?;
    let items: Vec<ResourceServerDto> = items.into_iter().map(Into::into).collect();
    Ok(paged_listing("resource_servers", items, total, paging))
}

/// Create a resource server.
#[utoipa::path(post, path = "/api/v2/resource-servers", tag = "resource-servers", request_body = CreateResourceServer,
    security(("bearer" = ["create:resource_servers"])),
    responses((status = 201, body = ResourceServerDto), (status = 400, body = ErrorBody), (status = 409, body = ErrorBody)))]
async fn create(
    caller: Caller,
    State(state): State<AppState>,
    Payload(body): Payload<CreateResourceServer>,
) -> MgmtResult<Response> {
    caller.require("create:resource_servers")?;
    let rs = resource_servers::create(NewResourceServer {
        identifier: body.identifier,
        name: body.name,
        scopes: to_scopes(body.scopes.unwrap_or_default()),
        signing_alg: body.signing_alg,
        token_lifetime: body.token_lifetime,
        allow_offline_access: body.allow_offline_access,
        skip_consent_for_verifiable_first_party_clients: body
            .skip_consent_for_verifiable_first_party_clients,
    })
    .map_err(|e| match e {
        CreateError::Invalid(invalid) => MgmtError::from(invalid),
        CreateError::Rng(e) => MgmtError::from(StoreError::Backend(e.to_string())),
    })?;
    match state
        .store
        .create_resource_server(&rs, state.clock.now())
        .await
    {
        Err(StoreError::Conflict(_)) => {
            return Err(MgmtError::conflict(
                "resource_server_conflict",
                "A resource server with the same identifier already exists.",
            ));
        }
        other => other?,
    }
    Ok((StatusCode::CREATED, Json(ResourceServerDto::from(rs))).into_response())
}

/// Get a resource server by id or identifier.
#[utoipa::path(get, path = "/api/v2/resource-servers/{id}", tag = "resource-servers",
    params(("id" = String, Path, description = "The resource server's id or identifier")),
    security(("bearer" = ["read:resource_servers"])),
    responses((status = 200, body = ResourceServerDto), (status = 404, body = ErrorBody)))]
async fn get_one(
    caller: Caller,
    State(state): State<AppState>,
    Path(id): Path<String>,
) -> MgmtResult<Json<ResourceServerDto>> {
    caller.require("read:resource_servers")?;
    Ok(Json(find(&state, &id).await?.into()))
}

/// Update a resource server (the identifier cannot change).
#[utoipa::path(patch, path = "/api/v2/resource-servers/{id}", tag = "resource-servers", request_body = UpdateResourceServer,
    params(("id" = String, Path, description = "The resource server's id or identifier")),
    security(("bearer" = ["update:resource_servers"])),
    responses((status = 200, body = ResourceServerDto), (status = 400, body = ErrorBody), (status = 404, body = ErrorBody)))]
async fn update(
    caller: Caller,
    State(state): State<AppState>,
    Path(id): Path<String>,
    Payload(body): Payload<UpdateResourceServer>,
) -> MgmtResult<Json<ResourceServerDto>> {
    caller.require("update:resource_servers")?;
    let mut rs = find(&state, &id).await?;
    if rs.is_system {
        return Err(MgmtError::bad_request(
            "operation_not_supported",
            "The Management API cannot be modified.",
        ));
    }
    resource_servers::apply_changes(
        &mut rs,
        ResourceServerChanges {
            name: body.name,
            scopes: body.scopes.map(to_scopes),
            signing_alg: body.signing_alg,
            token_lifetime: body.token_lifetime,
            allow_offline_access: body.allow_offline_access,
            skip_consent_for_verifiable_first_party_clients: body
                .skip_consent_for_verifiable_first_party_clients,
        },
    )?;
    // A lower token_lifetime does not shorten tokens already issued: the store
    // remembers, in the same transaction, until when they may live.
    if !state
        .store
        .update_resource_server(&rs, state.clock.now())
        .await?
    {
        return Err(not_found());
    }
    Ok(Json(rs.into()))
}

/// Delete a resource server and its client grants.
#[utoipa::path(delete, path = "/api/v2/resource-servers/{id}", tag = "resource-servers",
    params(("id" = String, Path, description = "The resource server's id or identifier")),
    security(("bearer" = ["delete:resource_servers"])),
    responses((status = 204), (status = 404, body = ErrorBody)))]
async fn delete(
    caller: Caller,
    State(state): State<AppState>,
    Path(id): Path<String>,
) -> MgmtResult<StatusCode> {
    caller.require("delete:resource_servers")?;
    let rs = find(&state, &id).await?;
    if rs.is_system {
        return Err(MgmtError::bad_request(
            "operation_not_supported",
            "The Management API cannot be deleted.",
        ));
    }
    // The store remembers how long its tokens may live, so revocations made
    // later (a blacklisted jti, a rotated secret) still outlive them.
    state
        .store
        .delete_resource_server(&rs.id, state.clock.now())
        .await?
        .ok_or_else(not_found)?;
    Ok(StatusCode::NO_CONTENT)
}
