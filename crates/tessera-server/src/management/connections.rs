//! `/api/v2/connections`: where users come from. Database (`auth0`),
//! passwordless (`email`) and upstream (`oidc`, `oauth2`) connections; an
//! upstream `client_secret` is sealed before it is stored and never shown.
//! Deleting a connection deletes its users.

use axum::Json;
use axum::extract::{Path, RawQuery, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde::{Deserialize, Serialize};
use tessera_core::manage::connections::{
    self, ConnectionChanges, CreateError, NewConnection, Presentation,
};
use tessera_core::manage::{connection_options, upstream_options};
use tessera_core::model::Connection;
use tessera_core::store::{ConnectionFilter, StoreError};
use utoipa::{IntoParams, ToSchema};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::auth::Caller;
use super::error::{ErrorBody, MgmtError, MgmtResult};
use super::extract::{FieldsQuery, Payload, QueryOf, parse_query, project, projected};
use super::paging::{ListParams, list_query, paged_listing};
use crate::state::AppState;

pub fn routes(api: OpenApiRouter<AppState>) -> OpenApiRouter<AppState> {
    api.routes(routes!(list, create))
        .routes(routes!(get_one, update, delete))
}

/// A connection as the API shows it (secret options never shown).
#[derive(Debug, Serialize, ToSchema)]
pub struct ConnectionDto {
    /// `con_…`
    pub id: String,
    pub name: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub display_name: Option<String>,
    /// `auth0` for a database connection, `email` for passwordless email,
    /// `oidc` or `oauth2` for an upstream identity provider.
    pub strategy: String,
    /// The strategy's options (see docs/management-api.md).
    #[schema(value_type = Object)]
    pub options: serde_json::Value,
    /// Client ids that may use the connection.
    pub enabled_clients: Vec<String>,
    /// Default `[name]`.
    pub realms: Vec<String>,
    pub is_domain_connection: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub show_as_button: Option<bool>,
    #[schema(value_type = Object)]
    pub metadata: serde_json::Map<String, serde_json::Value>,
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<Object>)]
    pub authentication: Option<serde_json::Value>,
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<Object>)]
    pub connected_accounts: Option<serde_json::Value>,
}

impl From<Connection> for ConnectionDto {
    fn from(c: Connection) -> Self {
        Self {
            realms: if c.realms.is_empty() {
                vec![c.name.clone()]
            } else {
                c.realms
            },
            options: connection_options::shown_options(&c.options),
            id: c.id,
            name: c.name,
            display_name: c.display_name,
            strategy: c.strategy,
            enabled_clients: c.enabled_clients,
            is_domain_connection: c.is_domain_connection,
            show_as_button: c.show_as_button,
            metadata: c.metadata,
            authentication: c.authentication,
            connected_accounts: c.connected_accounts,
        }
    }
}

/// The body of a create (`name` and `strategy` required) and of an update
/// (`name` and `strategy` refused: they cannot change; `options` replaces
/// the whole object, keeping stored secrets it does not name).
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ConnectionBody {
    /// 1 to 128 characters from `[A-Za-z0-9_-]`; unique.
    #[serde(default)]
    pub name: Option<String>,
    /// `auth0` (a database connection), `email` (passwordless, named `email`),
    /// `oidc` or `oauth2` (an upstream identity provider).
    #[serde(default)]
    pub strategy: Option<String>,
    /// Default `{"passwordPolicy": "fair", "password_complexity_options": {"min_length": 8}}`.
    #[serde(default)]
    #[schema(value_type = Option<Object>)]
    pub options: Option<serde_json::Value>,
    /// Existing client ids (Auth0: deprecated, see `/connections/{id}/clients`).
    #[serde(default)]
    pub enabled_clients: Option<Vec<String>>,
    /// At most 128 characters.
    #[serde(default)]
    pub display_name: Option<String>,
    /// At most 10 string properties of 255 characters.
    #[serde(default)]
    #[schema(value_type = Option<Object>)]
    pub metadata: Option<serde_json::Map<String, serde_json::Value>>,
    /// At most 10 names.
    #[serde(default)]
    pub realms: Option<Vec<String>>,
    #[serde(default)]
    pub is_domain_connection: Option<bool>,
    #[serde(default)]
    pub show_as_button: Option<bool>,
    /// `{"active": bool}`.
    #[serde(default)]
    #[schema(value_type = Option<Object>)]
    pub authentication: Option<serde_json::Value>,
    /// `{"active": bool}`.
    #[serde(default)]
    #[schema(value_type = Option<Object>)]
    pub connected_accounts: Option<serde_json::Value>,
}

impl ConnectionBody {
    fn presentation(&mut self) -> Presentation {
        Presentation {
            display_name: self.display_name.take(),
            metadata: self.metadata.take(),
            realms: self.realms.take(),
            is_domain_connection: self.is_domain_connection.take(),
            show_as_button: self.show_as_button.take(),
            authentication: self.authentication.take(),
            connected_accounts: self.connected_accounts.take(),
        }
    }
}

list_query! {
    #[derive(Debug, Deserialize, IntoParams)]
    #[into_params(parameter_in = Query)]
    #[serde(deny_unknown_fields)]
    pub struct ListQuery {
        ..paging_and_checkpoint,
        /// Only connections of these strategies (repeatable, or comma separated).
        #[allow(dead_code)] // read apart (repeatable); declared for the docs
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

/// `query` without its `name` parameters, and their values (each split at
/// commas): Auth0 lets `strategy` repeat, which one serde pass cannot take.
fn take_repeated(query: &str, name: &str) -> (String, Vec<String>) {
    let mut values = Vec::new();
    let mut rest = url::form_urlencoded::Serializer::new(String::new());
    for (k, v) in url::form_urlencoded::parse(query.as_bytes()) {
        if k == name {
            values.extend(
                v.split(',')
                    .map(str::trim)
                    .filter(|s| !s.is_empty())
                    .map(str::to_owned),
            );
        } else {
            rest.append_pair(&k, &v);
        }
    }
    (rest.finish(), values)
}

pub(super) fn not_found() -> MgmtError {
    MgmtError::not_found("inexistent_connection", "The connection does not exist.")
}

fn create_error(e: CreateError) -> MgmtError {
    match e {
        CreateError::Invalid(invalid) => invalid.into(),
        CreateError::Rng(e) => MgmtError::from(StoreError::Backend(e.to_string())),
    }
}

/// Every id names an existing client.
pub(super) async fn check_clients(state: &AppState, ids: &[String]) -> MgmtResult<()> {
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
    RawQuery(query): RawQuery,
) -> MgmtResult<Response> {
    let (query, strategies) = take_repeated(query.as_deref().unwrap_or(""), "strategy");
    let q: ListQuery = parse_query(&query)?;
    caller.require("read:connections")?;
    let paging = q.paging()?;
    let filter = ConnectionFilter {
        strategies,
        name: q.name,
    };
    let (items, total) = state.store.list_connections(&filter, paging.page()).await?;
    let items: Vec<ConnectionDto> = items.into_iter().map(Into::into).collect();
    let items = project(items, q.fields.as_deref(), q.include_fields);
    Ok(paged_listing("connections", items, total, paging))
}

/// Create a connection.
#[utoipa::path(post, path = "/api/v2/connections", tag = "connections", request_body = ConnectionBody,
    security(("bearer" = ["create:connections"])),
    responses((status = 201, body = ConnectionDto), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody), (status = 409, body = ErrorBody)))]
async fn create(
    caller: Caller,
    State(state): State<AppState>,
    Payload(mut body): Payload<ConnectionBody>,
) -> MgmtResult<Response> {
    caller.require("create:connections")?;
    let presentation = body.presentation();
    let mut connection = connections::create(NewConnection {
        name: body.name,
        strategy: body.strategy,
        options: body.options,
        enabled_clients: body.enabled_clients,
        presentation,
    })
    .map_err(create_error)?;
    if upstream_options::is_upstream(&connection.strategy) {
        upstream_options::check_urls(
            &connection.strategy,
            &connection.options,
            state.config.upstream_allow_loopback_http,
        )?;
    }
    // Sealed before anything stores it; the answer never shows it.
    upstream_options::seal_client_secret(&state.master, &connection.id, &mut connection.options)
        .map_err(|e| create_error(CreateError::Rng(e)))?;
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
#[utoipa::path(patch, path = "/api/v2/connections/{id}", tag = "connections", request_body = ConnectionBody,
    params(("id" = String, Path, description = "The connection id")),
    security(("bearer" = ["update:connections"])),
    responses((status = 200, body = ConnectionDto), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)))]
async fn update(
    caller: Caller,
    State(state): State<AppState>,
    Path(id): Path<String>,
    Payload(mut body): Payload<ConnectionBody>,
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
    let presentation = body.presentation();
    // A new client secret is checked as plaintext (apply_changes), then sealed.
    let new_secret = body
        .options
        .as_ref()
        .is_some_and(|o| o.get("client_secret").is_some_and(|v| !v.is_null()));
    let options_changed = body.options.is_some();
    let stored_options = connection.options.clone();
    connections::apply_changes(
        &mut connection,
        ConnectionChanges {
            options: body.options,
            enabled_clients: body.enabled_clients,
            presentation,
        },
    )?;
    if options_changed && upstream_options::is_upstream(&connection.strategy) {
        upstream_options::check_urls(
            &connection.strategy,
            &connection.options,
            state.config.upstream_allow_loopback_http,
        )?;
    }
    if new_secret {
        upstream_options::seal_client_secret(
            &state.master,
            &connection.id,
            &mut connection.options,
        )
        .map_err(|e| create_error(CreateError::Rng(e)))?;
    }
    if check_enabled {
        check_clients(&state, &connection.enabled_clients).await?;
    }
    if !state
        .store
        .update_connection(&connection, !check_enabled, state.clock.now())
        .await?
    {
        return Err(not_found());
    }
    // Another provider or client: the stored upstream tokens are the old
    // one's, never to be served as this connection's nor sent to the new
    // token endpoint. Deleted right after the update (a refresh racing it
    // finds no row to replace; an affected user logs in again).
    if upstream_options::is_upstream(&connection.strategy)
        && upstream_options::moves_provider(&stored_options, &connection.options)
    {
        let gone = state
            .store
            .delete_connection_idp_tokens(&connection.name)
            .await?;
        tracing::info!(connection = %connection.name, deleted = gone, "connection moved provider: its IdP tokens deleted");
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
