//! `/api/v2/roles`: roles, the permissions they grant, their users (Auth0's
//! RBAC, docs/rbac.md). A permission is a scope an API defines; the
//! Management API's own scopes are never granted to users (its tokens are
//! client-credentials only).

use std::collections::HashMap;

use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde::{Deserialize, Serialize};
use tessera_core::ids;
use tessera_core::model::ResourceServer;
use tessera_core::rbac::{Permission, Role};
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
        .routes(routes!(
            list_permissions,
            add_permissions,
            remove_permissions
        ))
        .routes(routes!(list_users, assign_users))
}

/// Most items (permissions, users, roles) one request may name.
pub(super) const MAX_ITEMS: usize = 1000;
/// Longest role name and description (characters).
const MAX_NAME: usize = 255;
const MAX_DESCRIPTION: usize = 1000;

/// A role as the API shows it.
#[derive(Debug, Serialize, ToSchema)]
pub struct RoleDto {
    pub id: String,
    pub name: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
}

impl From<Role> for RoleDto {
    fn from(r: Role) -> Self {
        Self {
            id: r.id,
            name: r.name,
            description: r.description,
        }
    }
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateRole {
    #[serde(default)]
    pub name: Option<String>,
    #[serde(default)]
    pub description: Option<String>,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct UpdateRole {
    #[serde(default)]
    pub name: Option<String>,
    #[serde(default)]
    pub description: Option<String>,
}

/// `{"resource_server_identifier", "permission_name"}`.
#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PermissionRef {
    pub resource_server_identifier: String,
    pub permission_name: String,
}

/// `{"permissions": [...]}`, at least one.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PermissionsBody {
    #[serde(default)]
    pub permissions: Option<Vec<PermissionRef>>,
}

/// `{"users": [user_id, ...]}`, at least one.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct UsersBody {
    #[serde(default)]
    pub users: Option<Vec<String>>,
}

/// A permission as listed: the API's name and the scope's description too.
#[derive(Debug, Serialize, ToSchema)]
pub struct PermissionDto {
    pub resource_server_identifier: String,
    pub permission_name: String,
    pub resource_server_name: String,
    pub description: String,
}

/// A role's user as listed.
#[derive(Debug, Serialize, ToSchema)]
pub struct RoleUserDto {
    pub user_id: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub picture: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub email: Option<String>,
}

list_query! {
    #[derive(Debug, Deserialize, IntoParams)]
    #[into_params(parameter_in = Query)]
    #[serde(deny_unknown_fields)]
    pub struct ListRolesQuery {
        ..paging,
        /// Only roles whose name contains this (case-insensitive).
        pub name_filter: Option<String>,
    }
}

list_query! {
    #[derive(Debug, Deserialize, IntoParams)]
    #[into_params(parameter_in = Query)]
    #[serde(deny_unknown_fields)]
    pub struct PageQuery {
        ..paging,
    }
}

pub(super) fn role_not_found() -> MgmtError {
    MgmtError::not_found("inexistent_role", "The role does not exist.")
}

pub(super) fn internal(e: &dyn std::fmt::Display) -> MgmtError {
    MgmtError::from(StoreError::Backend(e.to_string()))
}

/// The role, or Auth0's 404.
pub(super) async fn existing_role(state: &AppState, id: &str) -> MgmtResult<Role> {
    state.store.get_role(id).await?.ok_or_else(role_not_found)
}

/// A list of 1 to [`MAX_ITEMS`] items, or the property named.
pub(super) fn items<T>(property: &str, list: Option<Vec<T>>) -> MgmtResult<Vec<T>> {
    let list = list.ok_or_else(|| MgmtError::invalid_body(property, "is required"))?;
    if list.is_empty() {
        return Err(MgmtError::invalid_body(
            property,
            "Array is too short (0), minimum 1",
        ));
    }
    if list.len() > MAX_ITEMS {
        return Err(MgmtError::invalid_body(
            property,
            &format!("Array is too long ({}), maximum {MAX_ITEMS}", list.len()),
        ));
    }
    Ok(list)
}

/// Checks each permission names a scope of an existing API other than the
/// Management API: an unknown API is Auth0's 404, a scope the API does not
/// define a 400.
pub(super) async fn checked_permissions(
    state: &AppState,
    body: PermissionsBody,
) -> MgmtResult<Vec<Permission>> {
    let list = items("permissions", body.permissions)?;
    let mut apis: HashMap<String, ResourceServer> = HashMap::new();
    let mut out: Vec<Permission> = Vec::with_capacity(list.len());
    for p in list {
        if !apis.contains_key(&p.resource_server_identifier) {
            let api = state
                .store
                .get_resource_server_by_identifier(&p.resource_server_identifier)
                .await?
                .ok_or_else(|| {
                    let shown: String = p.resource_server_identifier.chars().take(200).collect();
                    MgmtError::not_found(
                        "inexistent_resource_server",
                        format!("The resource server does not exist: '{shown}'"),
                    )
                })?;
            apis.insert(p.resource_server_identifier.clone(), api);
        }
        let Some(api) = apis.get(&p.resource_server_identifier) else {
            return Err(internal(&"resource server lost"));
        };
        if api.is_system {
            return Err(MgmtError::invalid_body(
                "permissions",
                "the Management API's scopes cannot be granted to users or roles (its tokens are client-credentials only)",
            )
            .with_reason("management_api_permission"));
        }
        if !api.scopes.iter().any(|s| s.value == p.permission_name) {
            let shown: String = p.permission_name.chars().take(100).collect();
            return Err(MgmtError::invalid_body(
                "permissions",
                &format!(
                    "{shown:?} is not a permission (scope) of the resource server {}",
                    api.identifier
                ),
            )
            .with_reason("unknown_permission"));
        }
        let p = Permission {
            resource_server_identifier: p.resource_server_identifier,
            permission_name: p.permission_name,
        };
        if !out.contains(&p) {
            out.push(p);
        }
    }
    Ok(out)
}

/// Permissions named in a removal: well formed, known or not.
fn named_permissions(body: PermissionsBody) -> MgmtResult<Vec<Permission>> {
    Ok(items("permissions", body.permissions)?
        .into_iter()
        .map(|p| Permission {
            resource_server_identifier: p.resource_server_identifier,
            permission_name: p.permission_name,
        })
        .collect())
}

/// Who holds permissions: a role, or a user directly.
pub(super) enum Holder<'a> {
    Role(&'a str),
    User(&'a str),
}

/// Adds (checked: [`checked_permissions`]) or removes the permissions of
/// `body` to or from an existing holder (else Auth0's 404).
pub(super) async fn change_permissions(
    state: &AppState,
    holder: Holder<'_>,
    body: PermissionsBody,
    add: bool,
) -> MgmtResult<()> {
    let permissions = if add {
        checked_permissions(state, body).await?
    } else {
        named_permissions(body)?
    };
    let store = &state.store;
    let now = state.clock.now();
    match holder {
        Holder::Role(id) => {
            existing_role(state, id).await?;
            if add {
                store.add_role_permissions(id, &permissions, now).await?;
            } else {
                store.remove_role_permissions(id, &permissions).await?;
            }
        }
        Holder::User(id) => {
            store
                .get_user(id)
                .await?
                .ok_or_else(super::users::not_found)?;
            if add {
                store.add_user_permissions(id, &permissions, now).await?;
            } else {
                store.remove_user_permissions(id, &permissions).await?;
            }
        }
    }
    Ok(())
}

/// Listed permissions with their API's name and the scope's description
/// (one read per API on the page).
pub(super) async fn described(
    state: &AppState,
    permissions: Vec<Permission>,
) -> MgmtResult<Vec<PermissionDto>> {
    let mut apis: HashMap<String, Option<ResourceServer>> = HashMap::new();
    let mut out = Vec::with_capacity(permissions.len());
    for p in permissions {
        if !apis.contains_key(&p.resource_server_identifier) {
            let api = state
                .store
                .get_resource_server_by_identifier(&p.resource_server_identifier)
                .await?;
            apis.insert(p.resource_server_identifier.clone(), api);
        }
        let api = apis
            .get(&p.resource_server_identifier)
            .and_then(Option::as_ref);
        let description = api
            .and_then(|a| a.scopes.iter().find(|s| s.value == p.permission_name))
            .map(|s| s.description.clone())
            .unwrap_or_default();
        out.push(PermissionDto {
            resource_server_name: api.map(|a| a.name.clone()).unwrap_or_default(),
            description,
            resource_server_identifier: p.resource_server_identifier,
            permission_name: p.permission_name,
        });
    }
    Ok(out)
}

fn checked_name(name: &str) -> MgmtResult<()> {
    let n = name.chars().count();
    if n == 0 || n > MAX_NAME {
        return Err(MgmtError::invalid_body(
            "name",
            &format!("String length must be between 1 and {MAX_NAME}"),
        ));
    }
    Ok(())
}

fn checked_description(d: Option<&str>) -> MgmtResult<()> {
    if d.is_some_and(|d| d.chars().count() > MAX_DESCRIPTION) {
        return Err(MgmtError::invalid_body(
            "description",
            &format!("String is too long, maximum {MAX_DESCRIPTION}"),
        ));
    }
    Ok(())
}

fn name_taken() -> MgmtError {
    MgmtError::conflict("conflict", "A role with this name already exists.")
}

/// Auth0: `read:role_members`, or both `read:users` and `read:roles`.
pub(super) fn require_read_members(caller: &Caller) -> MgmtResult<()> {
    if caller.has("read:role_members") || (caller.has("read:users") && caller.has("read:roles")) {
        Ok(())
    } else {
        Err(MgmtError::insufficient_scope("read:role_members"))
    }
}

/// List roles.
#[utoipa::path(get, path = "/api/v2/roles", tag = "roles", params(ListRolesQuery),
    security(("bearer" = ["read:roles"])),
    responses((status = 200, body = [RoleDto]), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody)))]
async fn list(
    caller: Caller,
    State(state): State<AppState>,
    QueryOf(q): QueryOf<ListRolesQuery>,
) -> MgmtResult<Response> {
    caller.require("read:roles")?;
    let paging = q.paging()?;
    let (roles, total) = state
        .store
        .list_roles(q.name_filter.as_deref(), paging.page())
        .await?;
    let items: Vec<RoleDto> = roles.into_iter().map(Into::into).collect();
    Ok(paged_listing("roles", items, total, paging))
}

/// Create a role.
#[utoipa::path(post, path = "/api/v2/roles", tag = "roles", request_body = CreateRole,
    security(("bearer" = ["create:roles"])),
    responses((status = 200, body = RoleDto), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody), (status = 409, body = ErrorBody)))]
async fn create(
    caller: Caller,
    State(state): State<AppState>,
    Payload(body): Payload<CreateRole>,
) -> MgmtResult<Json<RoleDto>> {
    caller.require("create:roles")?;
    let name = body
        .name
        .ok_or_else(|| MgmtError::invalid_body("name", "is required"))?;
    checked_name(&name)?;
    checked_description(body.description.as_deref())?;
    let role = Role {
        id: ids::prefixed("rol").map_err(|e| internal(&e))?,
        name,
        description: body.description,
    };
    match state.store.create_role(&role, state.clock.now()).await {
        Err(StoreError::Conflict(_)) => Err(name_taken()),
        other => other.map_err(MgmtError::from),
    }?;
    Ok(Json(role.into()))
}

/// Get a role.
#[utoipa::path(get, path = "/api/v2/roles/{id}", tag = "roles",
    params(("id" = String, Path, description = "The role's id")),
    security(("bearer" = ["read:roles"])),
    responses((status = 200, body = RoleDto), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)))]
async fn get_one(
    caller: Caller,
    State(state): State<AppState>,
    Path(id): Path<String>,
) -> MgmtResult<Json<RoleDto>> {
    caller.require("read:roles")?;
    Ok(Json(existing_role(&state, &id).await?.into()))
}

/// Update a role's name or description.
#[utoipa::path(patch, path = "/api/v2/roles/{id}", tag = "roles", request_body = UpdateRole,
    params(("id" = String, Path, description = "The role's id")),
    security(("bearer" = ["update:roles"])),
    responses((status = 200, body = RoleDto), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody), (status = 409, body = ErrorBody)))]
async fn update(
    caller: Caller,
    State(state): State<AppState>,
    Path(id): Path<String>,
    Payload(body): Payload<UpdateRole>,
) -> MgmtResult<Json<RoleDto>> {
    caller.require("update:roles")?;
    let mut role = existing_role(&state, &id).await?;
    if let Some(name) = body.name {
        checked_name(&name)?;
        role.name = name;
    }
    if let Some(description) = body.description {
        checked_description(Some(&description))?;
        role.description = Some(description);
    }
    match state.store.update_role(&role, state.clock.now()).await {
        Err(StoreError::Conflict(_)) => Err(name_taken()),
        Ok(false) => Err(role_not_found()),
        other => other.map_err(MgmtError::from).map(|_| ()),
    }?;
    Ok(Json(role.into()))
}

/// Delete a role: it leaves every user holding it.
#[utoipa::path(delete, path = "/api/v2/roles/{id}", tag = "roles",
    params(("id" = String, Path, description = "The role's id")),
    security(("bearer" = ["delete:roles"])),
    responses((status = 200, description = "Deleted"), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)))]
async fn delete(
    caller: Caller,
    State(state): State<AppState>,
    Path(id): Path<String>,
) -> MgmtResult<StatusCode> {
    caller.require("delete:roles")?;
    if !state.store.delete_role(&id).await? {
        return Err(role_not_found());
    }
    Ok(StatusCode::OK)
}

/// List the permissions a role grants.
#[utoipa::path(get, path = "/api/v2/roles/{id}/permissions", tag = "roles", params(("id" = String, Path, description = "The role's id"), PageQuery),
    security(("bearer" = ["read:roles"])),
    responses((status = 200, body = [PermissionDto]), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)))]
async fn list_permissions(
    caller: Caller,
    State(state): State<AppState>,
    Path(id): Path<String>,
    QueryOf(q): QueryOf<PageQuery>,
) -> MgmtResult<Response> {
    caller.require("read:roles")?;
    let paging = q.paging()?;
    existing_role(&state, &id).await?;
    let (permissions, total) = state
        .store
        .list_role_permissions(&id, paging.page())
        .await?;
    let items = described(&state, permissions).await?;
    Ok(paged_listing("permissions", items, total, paging))
}

/// Add permissions to a role.
#[utoipa::path(post, path = "/api/v2/roles/{id}/permissions", tag = "roles", request_body = PermissionsBody,
    params(("id" = String, Path, description = "The role's id")),
    security(("bearer" = ["update:roles"])),
    responses((status = 201, description = "Added"), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)))]
async fn add_permissions(
    caller: Caller,
    State(state): State<AppState>,
    Path(id): Path<String>,
    Payload(body): Payload<PermissionsBody>,
) -> MgmtResult<StatusCode> {
    caller.require("update:roles")?;
    change_permissions(&state, Holder::Role(&id), body, true).await?;
    Ok(StatusCode::CREATED)
}

/// Remove permissions from a role.
#[utoipa::path(delete, path = "/api/v2/roles/{id}/permissions", tag = "roles", request_body = PermissionsBody,
    params(("id" = String, Path, description = "The role's id")),
    security(("bearer" = ["update:roles"])),
    responses((status = 200, description = "Removed"), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)))]
async fn remove_permissions(
    caller: Caller,
    State(state): State<AppState>,
    Path(id): Path<String>,
    Payload(body): Payload<PermissionsBody>,
) -> MgmtResult<StatusCode> {
    caller.require("update:roles")?;
    change_permissions(&state, Holder::Role(&id), body, false).await?;
    Ok(StatusCode::OK)
}

/// List a role's users.
#[utoipa::path(get, path = "/api/v2/roles/{id}/users", tag = "roles", params(("id" = String, Path, description = "The role's id"), PageQuery),
    security(("bearer" = ["read:role_members"]), ("bearer" = ["read:users", "read:roles"])),
    responses((status = 200, body = [RoleUserDto]), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)))]
async fn list_users(
    caller: Caller,
    State(state): State<AppState>,
    Path(id): Path<String>,
    QueryOf(q): QueryOf<PageQuery>,
) -> MgmtResult<Response> {
    require_read_members(&caller)?;
    let paging = q.paging()?;
    existing_role(&state, &id).await?;
    let (users, total) = state.store.list_role_users(&id, paging.page()).await?;
    let items: Vec<RoleUserDto> = users
        .into_iter()
        .map(|u| RoleUserDto {
            user_id: u.user_id,
            picture: u.picture,
            name: u.name,
            email: u.email,
        })
        .collect();
    Ok(paged_listing("users", items, total, paging))
}

/// Assign users to a role.
#[utoipa::path(post, path = "/api/v2/roles/{id}/users", tag = "roles", request_body = UsersBody,
    params(("id" = String, Path, description = "The role's id")),
    security(("bearer" = ["update:roles"]), ("bearer" = ["create:role_members"])),
    responses((status = 200, description = "Assigned"), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)))]
async fn assign_users(
    caller: Caller,
    State(state): State<AppState>,
    Path(id): Path<String>,
    Payload(body): Payload<UsersBody>,
) -> MgmtResult<Response> {
    if !caller.has("create:role_members") {
        caller.require("update:roles")?;
    }
    let users = items("users", body.users)?;
    existing_role(&state, &id).await?;
    let mut pairs = Vec::with_capacity(users.len());
    for user in users {
        if state.store.get_user(&user).await?.is_none() {
            return Err(MgmtError::not_found(
                "inexistent_user",
                "One or more of the users do not exist.",
            ));
        }
        pairs.push((user, id.clone()));
    }
    state
        .store
        .add_user_roles(&pairs, state.clock.now())
        .await?;
    Ok(StatusCode::OK.into_response())
}
