//! `/api/v2/resource-servers`: the APIs tokens are issued for.

use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde::Deserialize;
use tessera_core::manage::resource_servers::{
    self, CreateError, NewResourceServer, ResourceServerChanges,
};
use tessera_core::model::ResourceServer;
use tessera_core::store::StoreError;
use utoipa::IntoParams;
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

list_query! {
    #[derive(Debug, Deserialize, IntoParams)]
    #[serde(deny_unknown_fields)]
    pub struct ListQuery {
        ..paging,
    }
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
    responses((status = 200, body = [ResourceServer]), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody)))]
async fn list(
    caller: Caller,
    State(state): State<AppState>,
    QueryOf(q): QueryOf<ListQuery>,
) -> MgmtResult<Response> {
    caller.require("read:resource_servers")?;
    let paging = q.paging()?;
    let (items, total) = state.store.list_resource_servers(paging.page()).await?;
    Ok(paged_listing("resource_servers", items, total, paging))
}

/// Create a resource server.
#[utoipa::path(post, path = "/api/v2/resource-servers", tag = "resource-servers", request_body = NewResourceServer,
    security(("bearer" = ["create:resource_servers"])),
    responses((status = 201, body = ResourceServer), (status = 400, body = ErrorBody), (status = 409, body = ErrorBody)))]
async fn create(
    caller: Caller,
    State(state): State<AppState>,
    Payload(body): Payload<NewResourceServer>,
) -> MgmtResult<Response> {
    caller.require("create:resource_servers")?;
    let rs = resource_servers::create(body).map_err(|e| match e {
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
    Ok((StatusCode::CREATED, Json(rs)).into_response())
}

/// Get a resource server by id or identifier.
#[utoipa::path(get, path = "/api/v2/resource-servers/{id}", tag = "resource-servers",
    params(("id" = String, Path, description = "The resource server's id or identifier")),
    security(("bearer" = ["read:resource_servers"])),
    responses((status = 200, body = ResourceServer), (status = 404, body = ErrorBody)))]
async fn get_one(
    caller: Caller,
    State(state): State<AppState>,
    Path(id): Path<String>,
) -> MgmtResult<Json<ResourceServer>> {
    caller.require("read:resource_servers")?;
    Ok(Json(find(&state, &id).await?))
}

/// Update a resource server (the identifier cannot change).
#[utoipa::path(patch, path = "/api/v2/resource-servers/{id}", tag = "resource-servers", request_body = ResourceServerChanges,
    params(("id" = String, Path, description = "The resource server's id or identifier")),
    security(("bearer" = ["update:resource_servers"])),
    responses((status = 200, body = ResourceServer), (status = 400, body = ErrorBody), (status = 404, body = ErrorBody)))]
async fn update(
    caller: Caller,
    State(state): State<AppState>,
    Path(id): Path<String>,
    Payload(body): Payload<ResourceServerChanges>,
) -> MgmtResult<Json<ResourceServer>> {
    caller.require("update:resource_servers")?;
    let mut rs = find(&state, &id).await?;
    if rs.is_system {
        return Err(MgmtError::bad_request(
            "operation_not_supported",
            "The Management API cannot be modified.",
        ));
    }
    resource_servers::apply_changes(&mut rs, body)?;
    // A lower token_lifetime does not shorten tokens already issued: the store
    // remembers, in the same transaction, until when they may live.
    if !state
        .store
        .update_resource_server(&rs, state.clock.now())
        .await?
    {
        return Err(not_found());
    }
    Ok(Json(rs))
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
