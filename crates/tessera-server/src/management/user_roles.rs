//! `/api/v2/users/{id}/roles` and `/api/v2/users/{id}/permissions`: a user's
//! roles and direct permissions (Auth0's RBAC, docs/rbac.md). The permission
//! listing shows every permission the user holds, with its `sources`.

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::Response;
use serde::{Deserialize, Serialize};
use tessera_core::model::User;
use tessera_core::rbac::PermissionSource;
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::auth::Caller;
use super::error::{ErrorBody, MgmtError, MgmtResult};
use super::extract::{Payload, QueryOf};
use super::paging::{ListParams, paged_listing};
use super::roles::{
    Holder, PageQuery, PermissionDto, PermissionsBody, RoleDto, change_permissions, described,
    items, require_read_members,
};
use crate::state::AppState;

pub fn routes(api: OpenApiRouter<AppState>) -> OpenApiRouter<AppState> {
    api.routes(routes!(list_roles, assign_roles, remove_roles))
        .routes(routes!(
            list_permissions,
            add_permissions,
            remove_permissions
        ))
}

/// `{"roles": [role_id, ...]}`, at least one.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RolesBody {
    #[serde(default)]
    pub roles: Option<Vec<String>>,
}

/// Where a permission comes from: `DIRECT` (empty id and name) or `ROLE`.
#[derive(Debug, Serialize, ToSchema)]
pub struct SourceDto {
    pub source_id: String,
    pub source_name: String,
    pub source_type: &'static str,
}

/// One of the user's permissions and its sources.
#[derive(Debug, Serialize, ToSchema)]
pub struct UserPermissionDto {
    #[serde(flatten)]
    pub permission: PermissionDto,
    pub sources: Vec<SourceDto>,
}

async fn existing_user(state: &AppState, id: &str) -> MgmtResult<User> {
    state
        .store
        .get_user(id)
        .await?
        .ok_or_else(super::users::not_found)
}

/// List a user's roles.
#[utoipa::path(get, path = "/api/v2/users/{id}/roles", tag = "users", params(("id" = String, Path, description = "The user's id"), PageQuery),
    security(("bearer" = ["read:role_members"]), ("bearer" = ["read:users", "read:roles"])),
    responses((status = 200, body = [RoleDto]), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)))]
async fn list_roles(
    caller: Caller,
    State(state): State<AppState>,
    Path(id): Path<String>,
    QueryOf(q): QueryOf<PageQuery>,
) -> MgmtResult<Response> {
    require_read_members(&caller)?;
    let paging = q.paging()?;
    existing_user(&state, &id).await?;
    let (roles, total) = state.store.list_user_roles(&id, paging.page()).await?;
    let items: Vec<RoleDto> = roles.into_iter().map(Into::into).collect();
    Ok(paged_listing("roles", items, total, paging))
}

/// The roles named, each existing, as `(user, role)` pairs.
async fn role_pairs(
    state: &AppState,
    user: &str,
    body: RolesBody,
) -> MgmtResult<Vec<(String, String)>> {
    let roles = items("roles", body.roles)?;
    let mut pairs = Vec::with_capacity(roles.len());
    for role in roles {
        if state.store.get_role(&role).await?.is_none() {
            return Err(MgmtError::not_found(
                "inexistent_role",
                "One or more of the roles do not exist.",
            ));
        }
        pairs.push((user.to_owned(), role));
    }
    Ok(pairs)
}

/// Assign roles to a user.
#[utoipa::path(post, path = "/api/v2/users/{id}/roles", tag = "users", request_body = RolesBody,
    params(("id" = String, Path, description = "The user's id")),
    security(("bearer" = ["update:users"]), ("bearer" = ["create:role_members"])),
    responses((status = 204, description = "Assigned"), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)))]
async fn assign_roles(
    caller: Caller,
    State(state): State<AppState>,
    Path(id): Path<String>,
    Payload(body): Payload<RolesBody>,
) -> MgmtResult<StatusCode> {
    if !caller.has("create:role_members") {
        caller.require("update:users")?;
    }
    existing_user(&state, &id).await?;
    let pairs = role_pairs(&state, &id, body).await?;
    state
        .store
        .add_user_roles(&pairs, state.clock.now())
        .await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Remove roles from a user.
#[utoipa::path(delete, path = "/api/v2/users/{id}/roles", tag = "users", request_body = RolesBody,
    params(("id" = String, Path, description = "The user's id")),
    security(("bearer" = ["update:users"]), ("bearer" = ["delete:role_members"])),
    responses((status = 204, description = "Removed"), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)))]
async fn remove_roles(
    caller: Caller,
    State(state): State<AppState>,
    Path(id): Path<String>,
    Payload(body): Payload<RolesBody>,
) -> MgmtResult<StatusCode> {
    if !caller.has("delete:role_members") {
        caller.require("update:users")?;
    }
    existing_user(&state, &id).await?;
    let pairs: Vec<(String, String)> = items("roles", body.roles)?
        .into_iter()
        .map(|role| (id.clone(), role))
        .collect();
    state.store.remove_user_roles(&pairs).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// List a user's permissions, direct or through roles, with their sources.
#[utoipa::path(get, path = "/api/v2/users/{id}/permissions", tag = "users", params(("id" = String, Path, description = "The user's id"), PageQuery),
    security(("bearer" = ["read:users"])),
    responses((status = 200, body = [UserPermissionDto]), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)))]
async fn list_permissions(
    caller: Caller,
    State(state): State<AppState>,
    Path(id): Path<String>,
    QueryOf(q): QueryOf<PageQuery>,
) -> MgmtResult<Response> {
    caller.require("read:users")?;
    let paging = q.paging()?;
    existing_user(&state, &id).await?;
    let (held, total) = state
        .store
        .list_user_permissions(&id, paging.page())
        .await?;
    let (permissions, sources): (Vec<_>, Vec<_>) =
        held.into_iter().map(|h| (h.permission, h.sources)).unzip();
    let items: Vec<UserPermissionDto> = described(&state, permissions)
        .await?
        .into_iter()
        .zip(sources)
        .map(|(permission, sources)| UserPermissionDto {
            permission,
            sources: sources
                .into_iter()
                .map(|s| match s {
                    PermissionSource::Direct => SourceDto {
                        source_id: String::new(),
                        source_name: String::new(),
                        source_type: "DIRECT",
                    },
                    PermissionSource::Role { id, name } => SourceDto {
                        source_id: id,
                        source_name: name,
                        source_type: "ROLE",
                    },
                })
                .collect(),
        })
        .collect();
    Ok(paged_listing("permissions", items, total, paging))
}

/// Give a user permissions directly.
#[utoipa::path(post, path = "/api/v2/users/{id}/permissions", tag = "users", request_body = PermissionsBody,
    params(("id" = String, Path, description = "The user's id")),
    security(("bearer" = ["update:users"])),
    responses((status = 201, description = "Added"), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)))]
async fn add_permissions(
    caller: Caller,
    State(state): State<AppState>,
    Path(id): Path<String>,
    Payload(body): Payload<PermissionsBody>,
) -> MgmtResult<StatusCode> {
    caller.require("update:users")?;
    change_permissions(&state, Holder::User(&id), body, true).await?;
    Ok(StatusCode::CREATED)
}

/// Remove a user's direct permissions (those through roles stay).
#[utoipa::path(delete, path = "/api/v2/users/{id}/permissions", tag = "users", request_body = PermissionsBody,
    params(("id" = String, Path, description = "The user's id")),
    security(("bearer" = ["update:users"])),
    responses((status = 204, description = "Removed"), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)))]
async fn remove_permissions(
    caller: Caller,
    State(state): State<AppState>,
    Path(id): Path<String>,
    Payload(body): Payload<PermissionsBody>,
) -> MgmtResult<StatusCode> {
    caller.require("update:users")?;
    change_permissions(&state, Holder::User(&id), body, false).await?;
    Ok(StatusCode::NO_CONTENT)
}
