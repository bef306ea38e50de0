//! `GET/PATCH /api/v2/connections/{id}/clients`: which applications may use a
//! connection, in Auth0's shapes. The list is enforced at the hosted login
//! page, the password, password-realm and passwordless OTP grants,
//! `/dbconnections/signup`, `/dbconnections/change_password` and
//! `/passwordless/start`.

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::Response;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::auth::Caller;
use super::connections::{check_clients, not_found};
use super::error::{ErrorBody, MgmtError, MgmtResult};
use super::extract::{Payload, QueryOf};
use super::paging::{Paging, paged_listing, paging};
use crate::state::AppState;

/// Most changes one PATCH may carry (Auth0's bound).
pub const MAX_CHANGES: usize = 50;

pub fn routes(api: OpenApiRouter<AppState>) -> OpenApiRouter<AppState> {
    api.routes(routes!(list, change))
}

/// Checkpoint paging only, as Auth0.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct ClientsQuery {
    /// The `next` of the previous page.
    pub from: Option<String>,
    /// Results per page (default 50, at most 100).
    pub take: Option<i64>,
}

/// One enabled client.
#[derive(Debug, Serialize, ToSchema)]
pub struct EnabledClient {
    pub client_id: String,
}

/// One change: enable (`status: true`) or disable a client.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ClientChange {
    pub client_id: String,
    pub status: bool,
}

/// The clients enabled on a connection: `{clients: [{client_id}], next}`.
#[utoipa::path(get, path = "/api/v2/connections/{id}/clients", tag = "connections",
    params(ClientsQuery, ("id" = String, Path, description = "The connection id")),
    security(("bearer" = ["read:connections"])),
    responses((status = 200, body = Object), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)))]
async fn list(
    caller: Caller,
    State(state): State<AppState>,
    Path(id): Path<String>,
    QueryOf(q): QueryOf<ClientsQuery>,
) -> MgmtResult<Response> {
    caller.require("read:connections")?;
    let paging = paging(
        None,
        None,
        None,
        Some(q.from.as_deref().unwrap_or("")),
        q.take,
    )?;
    let connection = state
        .store
        .get_connection(&id)
        .await?
        .ok_or_else(not_found)?;
    let page = paging.page();
    let total = connection.enabled_clients.len() as i64;
    let items: Vec<EnabledClient> = connection
        .enabled_clients
        .into_iter()
        .skip(usize::try_from(page.offset()).unwrap_or(usize::MAX))
        .take(usize::try_from(page.per_page).unwrap_or(0))
        .map(|client_id| EnabledClient { client_id })
        .collect();
    Ok(paged_listing(
        "clients",
        items,
        total,
        Paging::Checkpoint { page },
    ))
}

/// Enable or disable clients on a connection (at most 50 changes).
#[utoipa::path(patch, path = "/api/v2/connections/{id}/clients", tag = "connections",
    request_body = Vec<ClientChange>,
    params(("id" = String, Path, description = "The connection id")),
    security(("bearer" = ["update:connections"])),
    responses((status = 204), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)))]
async fn change(
    caller: Caller,
    State(state): State<AppState>,
    Path(id): Path<String>,
    Payload(body): Payload<Vec<ClientChange>>,
) -> MgmtResult<StatusCode> {
    caller.require("update:connections")?;
    if body.is_empty() || body.len() > MAX_CHANGES {
        return Err(MgmtError::invalid_body(
            "(body)",
            &format!("must hold 1 to {MAX_CHANGES} changes"),
        ));
    }
    if state.store.get_connection(&id).await?.is_none() {
        return Err(not_found());
    }
    // A client may be disabled after it was deleted; only enabling needs it to exist.
    let enabled: Vec<String> = body
        .iter()
        .filter(|c| c.status)
        .map(|c| c.client_id.clone())
        .collect();
    check_clients(&state, &enabled).await?;
    let changes: Vec<(String, bool)> = body.into_iter().map(|c| (c.client_id, c.status)).collect();
    state
        .store
        .change_connection_clients(&id, &changes, state.clock.now())
        .await?
        .ok_or_else(not_found)?;
    Ok(StatusCode::NO_CONTENT)
}
