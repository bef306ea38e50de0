//! `/api/v2/connections`: where users come from. Database connections
//! (strategy `auth0`) only, for now. Deleting a connection deletes its users.

use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde::{Deserialize, Serialize};
use tessera_core::manage::connections::{self, ConnectionChanges, CreateError, NewConnection};
use tessera_core::model::Connection;
use tessera_core::store::{ConnectionFilter, StoreError};
use utoipa::{IntoParams, ToSchema};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::auth::Caller;
use super::error::{ErrorBody, MgmtError, MgmtResult};
use super::extract::{FieldsQuery, Payload, QueryOf, project, projected};
use super::paging::{ListParams, list_query, paged_listing};
use crate::state::AppState;

pub fn routes(api: OpenApiRouter<AppState>) -> OpenApiRouter<AppState> {
    api.routes(routes!(list, create))
        .routes(routes!(get_one, update, delete))
}

/// A connection as the API shows it.
#[derive(Debug, Serialize, ToSchema)]
pub struct ConnectionDto {
    /// `con_…`
    pub id: String,
    pub name: String,
    /// `auth0` for a database connection.
    pub strategy: String,
    /// For `auth0`: `passwordPolicy`, `password_complexity_options.min_length`.
    #[schema(value_type = Object)]
    pub options: serde_json::Value,
    /// Client ids that may use the connection.
    pub enabled_clients: Vec<String>,
    /// `[name]`.
    pub realms: Vec<String>,
    pub is_domain_connection: bool,
}

impl From<Connection> for ConnectionDto {
    fn from(c: Connection) -> Self {
        Self {
            realms: vec![c.name.clone()],
            id: c.id,
            name: c.name,
            strategy: c.strategy,
            options: c.options,
            enabled_clients: c.enabled_clients,
            is_domain_connection: false,
        }
    }
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateConnection {
    /// 1 to 128 characters from `[A-Za-z0-9_-]`; unique.
    #[serde(default)]
    pub name: Option<String>,
    /// `auth0` (a database connection).
    #[serde(default)]
    pub strategy: Option<String>,
    /// Default `{"passwordPolicy": "fair", "password_complexity_options": {"min_length": 8}}`.
    #[serde(default)]
    #[schema(value_type = Option<Object>)]
    pub options: Option<serde_json::Value>,
    /// Existing client ids.
    #[serde(default)]
    pub enabled_clients: Option<Vec<String>>,
}

/// `options` replaces the whole object; name and strategy cannot change.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct UpdateConnection {
    #[serde(default)]
    #[schema(value_type = Option<Object>)]
    pub options: Option<serde_json::Value>,
    #[serde(default)]
    pub enabled_clients: Option<Vec<String>>,
    /// Refused: a connection's name cannot change.
    #[serde(default)]
    pub name: Option<String>,
    /// Refused: a connection's strategy cannot change.
    #[serde(default)]
    pub strategy: Option<String>,
}

list_query! {
    #[derive(Debug, Deserialize, IntoParams)]
    #[into_params(parameter_in = Query)]
    #[serde(deny_unknown_fields)]
    pub struct ListQuery {
        ..paging_and_checkpoint,
        /// Only connections of this strategy.
        pub strategy: Option<String>,
        /// Only the connection of this name.
        pub name: Option<String>,
        /// Comma-separated top-level properties to include (or, with
        /// `include_fields=false`, to exclude).
        pub fields: Option<String>,
        /// Whether `fields` lists properties to include (default) or to exclude.
        pub include_fields: Option<bool>,
    }
}

fn not_found() -> MgmtError {
    MgmtError::not_found("inexistent_connection", "The connection does not exist.")
}

fn create_error(e: CreateError) -> MgmtError {
    match e {
        CreateError::Invalid(invalid) => invalid.into(),
        CreateError::Rng(e) => MgmtError::from(StoreError::Backend(e.to_string())),
    }
}

/// Every id names an existing client.
async fn check_clients(state: &AppState, ids: &[String]) -> MgmtResult<()> {
    for id in ids {
        if state.store.get_client(id).await?.is_none() {
            let shown: String = id.chars().take(100).collect();
            return Err(MgmtError::invalid_body(
                "enabled_clients",
                &format!("{shown:?} is not an existing client"),
            ));
        }
    }
    Ok(())
}

/// List connections.
#[utoipa::path(get, path = "/api/v2/connections", tag = "connections", params(ListQuery),
    security(("bearer" = ["read:connections"])),
    responses((status = 200, body = [ConnectionDto]), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody)))]
async fn list(
    caller: Caller,
    State(state): State<AppState>,
    QueryOf(q): QueryOf<ListQuery>,
) -> MgmtResult<Response> {
    caller.require("read:connections")?;
    let paging = q.paging()?;
    let filter = ConnectionFilter {
        strategy: q.strategy,
        name: q.name,
    };
    let (items, total) = state.store.list_connections(&filter, paging.page()).await?;
    let items: Vec<ConnectionDto> = items.into_iter().map(Into::into).collect();
    let items = project(items, q.fields.as_deref(), q.include_fields);
    Ok(paged_listing("connections", items, total, paging))
}

/// Create a database connection.
#[utoipa::path(post, path = "/api/v2/connections", tag = "connections", request_body = CreateConnection,
    security(("bearer" = ["create:connections"])),
    responses((status = 201, body = ConnectionDto), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody), (status = 409, body = ErrorBody)))]
async fn create(
    caller: Caller,
    State(state): State<AppState>,
    Payload(body): Payload<CreateConnection>,
) -> MgmtResult<Response> {
    caller.require("create:connections")?;
    let connection = connections::create(NewConnection {
        name: body.name,
        strategy: body.strategy,
        options: body.options,
        enabled_clients: body.enabled_clients,
    })
    .map_err(create_error)?;
    check_clients(&state, &connection.enabled_clients).await?;
    match state
        .store
        .create_connection(&connection, state.clock.now())
        .await
    {
        Err(StoreError::Conflict(_)) => {
            return Err(MgmtError::conflict(
                "connection_conflict",
                "A connection with the same name already exists.",
            ));
        }
        other => other?,
    }
    Ok((StatusCode::CREATED, Json(ConnectionDto::from(connection))).into_response())
}

/// Get a connection.
#[utoipa::path(get, path = "/api/v2/connections/{id}", tag = "connections",
    params(FieldsQuery, ("id" = String, Path, description = "The connection id")),
    security(("bearer" = ["read:connections"])),
    responses((status = 200, body = ConnectionDto), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)))]
async fn get_one(
    caller: Caller,
    State(state): State<AppState>,
    Path(id): Path<String>,
    QueryOf(fields): QueryOf<FieldsQuery>,
) -> MgmtResult<Response> {
    caller.require("read:connections")?;
    let connection = state
        .store
        .get_connection(&id)
        .await?
        .ok_or_else(not_found)?;
    Ok(projected(ConnectionDto::from(connection), &fields))
}

/// Update a connection's options or enabled clients (`options` is replaced as a whole).
#[utoipa::path(patch, path = "/api/v2/connections/{id}", tag = "connections", request_body = UpdateConnection,
    params(("id" = String, Path, description = "The connection id")),
    security(("bearer" = ["update:connections"])),
    responses((status = 200, body = ConnectionDto), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)))]
async fn update(
    caller: Caller,
    State(state): State<AppState>,
    Path(id): Path<String>,
    Payload(body): Payload<UpdateConnection>,
) -> MgmtResult<Json<ConnectionDto>> {
    caller.require("update:connections")?;
    if body.name.is_some() {
        return Err(MgmtError::invalid_body("name", "cannot be changed"));
    }
    if body.strategy.is_some() {
        return Err(MgmtError::invalid_body("strategy", "cannot be changed"));
    }
    let mut connection = state
        .store
        .get_connection(&id)
        .await?
        .ok_or_else(not_found)?;
    let check_enabled = body.enabled_clients.is_some();
    connections::apply_changes(
        &mut connection,
        ConnectionChanges {
            options: body.options,
            enabled_clients: body.enabled_clients,
        },
    )?;
    if check_enabled {
        check_clients(&state, &connection.enabled_clients).await?;
    }
    if !state
        .store
        .update_connection(&connection, state.clock.now())
        .await?
    {
        return Err(not_found());
    }
    Ok(Json(connection.into()))
}

/// Delete a connection and every user of it.
#[utoipa::path(delete, path = "/api/v2/connections/{id}", tag = "connections",
    params(("id" = String, Path, description = "The connection id")),
    security(("bearer" = ["delete:connections"])),
    responses((status = 204), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)))]
async fn delete(
    caller: Caller,
    State(state): State<AppState>,
    Path(id): Path<String>,
) -> MgmtResult<StatusCode> {
    caller.require("delete:connections")?;
    state
        .store
        .delete_connection(&id)
        .await?
        .ok_or_else(not_found)?;
    Ok(StatusCode::NO_CONTENT)
}
