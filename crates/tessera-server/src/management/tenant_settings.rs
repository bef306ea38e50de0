//! `GET/PATCH /api/v2/tenants/settings` (scopes `read:tenant_settings`,
//! `update:tenant_settings`): Auth0's tenant settings. What Tessera acts on
//! (the name and logo of hosted pages and emails, session lifetimes, the
//! default directory and audience, `flags.enable_client_connections`) takes
//! effect without a restart; the rest is stored and returned (see
//! docs/management-api.md). The rules live in core's
//! `manage::tenant_settings`.

use axum::Json;
use axum::extract::State;
use serde_json::Value;
use tessera_core::manage::tenant_settings::{self, TenantSettings};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::auth::Caller;
use super::error::{ErrorBody, MgmtError, MgmtResult};
use super::extract::{FieldsQuery, Payload, QueryOf, parse_json, select_fields};
use crate::state::AppState;

pub fn routes(api: OpenApiRouter<AppState>) -> OpenApiRouter<AppState> {
    api.routes(routes!(get_settings, update_settings))
}

/// The settings as answered: the stored document over the server's own.
fn answer(state: &AppState, stored: &Value, q: &FieldsQuery) -> Json<Value> {
    let mut view = tenant_settings::view(&crate::tenant_settings::seed(&state.config), stored);
    select_fields(&mut view, q.fields.as_deref(), q.include_fields);
    Json(view)
}

/// Get the tenant settings.
#[utoipa::path(get, path = "/api/v2/tenants/settings", tag = "tenants", params(FieldsQuery),
    security(("bearer" = ["read:tenant_settings"])),
    responses((status = 200, body = TenantSettings), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody)))]
async fn get_settings(
    caller: Caller,
    State(state): State<AppState>,
    QueryOf(q): QueryOf<FieldsQuery>,
) -> MgmtResult<Json<Value>> {
    caller.require("read:tenant_settings")?;
    let stored = state.store.get_tenant_settings().await?;
    Ok(answer(&state, &stored, &q))
}

/// Update the tenant settings: a merge patch (`null` returns a property to
/// its initial value).
#[utoipa::path(patch, path = "/api/v2/tenants/settings", tag = "tenants", request_body = TenantSettings,
    security(("bearer" = ["update:tenant_settings"])),
    responses((status = 200, body = TenantSettings), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody)))]
async fn update_settings(
    caller: Caller,
    State(state): State<AppState>,
    Payload(patch): Payload<Value>,
) -> MgmtResult<Json<Value>> {
    caller.require("update:tenant_settings")?;
    // Typed once for Auth0's types and unknown properties, then checked.
    let typed: TenantSettings = parse_json(patch.to_string().as_bytes())?;
    tenant_settings::validate(&typed)?;
    check_defaults(&state, &typed).await?;
    let stored = state
        .store
        .patch_tenant_settings(&patch, state.clock.now())
        .await?;
    state.tenant_settings.replace(stored.clone());
    tracing::info!(by = %caller.claims.client_id, "tenant settings changed");
    Ok(answer(&state, &stored, &FieldsQuery::default()))
}

/// `default_audience` must name an existing API other than the Management
/// API, and `default_directory` an existing database connection (empty
/// clears either). A later deletion is survived: see docs/operations.md.
async fn check_defaults(state: &AppState, s: &TenantSettings) -> MgmtResult<()> {
    if let Some(audience) = s.default_audience.as_deref().filter(|a| !a.is_empty()) {
        match state
            .store
            .get_resource_server_by_identifier(audience)
            .await?
        {
            Some(api) if !api.is_system => {}
            _ => {
                return Err(MgmtError::invalid_body(
                    "default_audience",
                    "must be the identifier of an existing API (not the Management API)",
                ));
            }
        }
    }
    if let Some(name) = s.default_directory.as_deref().filter(|d| !d.is_empty()) {
        match state.store.get_connection_by_name(name).await? {
            Some(c) if c.is_database() => {}
            _ => {
                return Err(MgmtError::invalid_body(
                    "default_directory",
                    "must be the name of an existing database connection",
                ));
            }
        }
    }
    Ok(())
}
