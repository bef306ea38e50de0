//! `/api/v2/resource-servers`: the APIs tokens are issued for.

use axum::Json;
use axum::extract::{Path, RawQuery, State};
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
use super::extract::{FieldsQuery, Payload, QueryOf, parse_query, project, projected};
use super::paging::{ListParams, list_query, paged_listing};
use crate::state::AppState;

pub fn routes(api: OpenApiRouter<AppState>) -> OpenApiRouter<AppState> {
    api.routes(routes!(list, create))
        .routes(routes!(get_one, update, delete))
}

list_query! {
    #[derive(Debug, Deserialize, IntoParams)]
    #[into_params(parameter_in = Query)]
    #[serde(deny_unknown_fields)]
    pub struct ListQuery {
        ..paging,
        /// Only the APIs with these identifiers (the parameter repeated, one
        /// identifier each, as Auth0's SDKs send it).
        pub identifiers: Option<String>,
        /// Comma-separated top-level properties to include (or, with
        /// `include_fields=false`, to exclude).
        pub fields: Option<String>,
        /// Whether `fields` lists properties to include (default) or to exclude.
        pub include_fields: Option<bool>,
    }
}

/// The most `identifiers` one listing looks up (after removing repeats).
const MAX_IDENTIFIERS: usize = 100;

/// `identifiers` may be repeated, which a serde struct cannot read: the
/// values are joined with commas into one before the query is read as
/// [`ListQuery`], and split again.
fn list_query(raw: Option<&str>) -> MgmtResult<(ListQuery, Vec<String>)> {
    let mut identifiers: Vec<String> = Vec::new();
    let mut rest = url::form_urlencoded::Serializer::new(String::new());
    for (k, v) in url::form_urlencoded::parse(raw.unwrap_or("").as_bytes()) {
        if k == "identifiers" {
            identifiers.push(v.into_owned());
        } else {
            rest.append_pair(&k, &v);
        }
    }
    if !identifiers.is_empty() {
        rest.append_pair("identifiers", &identifiers.join(","));
    }
    let q: ListQuery = parse_query(&rest.finish())?;
    let identifiers = q
        .identifiers
        .as_deref()
        .unwrap_or("")
        .split(',')
        .map(str::trim)
        .filter(|i| !i.is_empty())
        .map(str::to_owned)
        .fold(Vec::new(), |mut seen: Vec<String>, i| {
            if !seen.contains(&i) {
                seen.push(i);
            }
            seen
        });
    if identifiers.len() > MAX_IDENTIFIERS {
        return Err(MgmtError::bad_request(
            "invalid_query_string",
            format!(
                "Query validation error: 'at most {MAX_IDENTIFIERS} identifiers' on property identifiers."
            ),
        )
        .with_reason("too_many_values"));
    }
    Ok((q, identifiers))
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
    RawQuery(raw): RawQuery,
) -> MgmtResult<Response> {
    caller.require("read:resource_servers")?;
    let (q, identifiers) = list_query(raw.as_deref())?;
    let paging = q.paging()?;
    let (items, total) = if identifiers.is_empty() {
        state.store.list_resource_servers(paging.page()).await?
    } else {
        let mut found = Vec::new();
        for identifier in &identifiers {
            let rs = state
                .store
                .get_resource_server_by_identifier(identifier)
                .await?;
            if let Some(rs) = rs.filter(|rs| !found.iter().any(|f: &ResourceServer| f.id == rs.id))
            {
                found.push(rs);
            }
        }
        let total = found.len() as i64;
        let page = paging.page();
        let start = usize::try_from(page.offset()).unwrap_or(usize::MAX);
        let per_page = usize::try_from(page.per_page).unwrap_or(0);
        (
            found.into_iter().skip(start).take(per_page).collect(),
            total,
        )
    };
    let items = project(items, q.fields.as_deref(), q.include_fields);
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
    params(FieldsQuery, ("id" = String, Path, description = "The resource server's id or identifier")),
    security(("bearer" = ["read:resource_servers"])),
    responses((status = 200, body = ResourceServer), (status = 404, body = ErrorBody)))]
async fn get_one(
    caller: Caller,
    State(state): State<AppState>,
    Path(id): Path<String>,
    QueryOf(fields): QueryOf<FieldsQuery>,
) -> MgmtResult<Response> {
    caller.require("read:resource_servers")?;
    Ok(projected(find(&state, &id).await?, &fields))
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
    let before = rs.clone();
    resource_servers::apply_changes(&mut rs, body)?;
    if rs.is_system {
        // Tools re-import the Management API as they exported it: a PATCH that
        // changes nothing is answered as a success, with nothing written.
        return match changed_property(&before, &rs) {
            None => Ok(Json(before)),
            Some(property) => Err(system_api_change(&property)),
        };
    }
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

/// The first top-level property that differs between `a` and `b`.
fn changed_property(a: &ResourceServer, b: &ResourceServer) -> Option<String> {
    let (serde_json::Value::Object(a), serde_json::Value::Object(b)) = (
        serde_json::to_value(a).unwrap_or_default(),
        serde_json::to_value(b).unwrap_or_default(),
    ) else {
        return Some("(body)".into());
    };
    a.keys()
        .chain(b.keys())
        .find(|k| a.get(*k) != b.get(*k))
        .cloned()
}

/// Auth0 lets no tool change the Management API: its schema for it has none
/// of these properties, so a change is `Additional properties not allowed`,
/// naming it (Tessera does not take Auth0's exceptions, `token_lifetime` and
/// `skip_consent_for_verifiable_first_party_clients`, either).
fn system_api_change(property: &str) -> MgmtError {
    MgmtError::additional_property("Payload", None, property).with_reason("system_resource_server")
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
