//! `/api/v2/device-credentials`: a user's refresh-token families, in Auth0's
//! shape (`type: refresh_token`). One entry is one login grant, however often
//! its token was rotated; deleting it revokes the family and every access token
//! issued under it. Auth0's other types (`public_key`, `rotating_refresh_token`)
//! do not exist in Tessera and are refused rather than answered empty.

use std::collections::HashMap;

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::Response;
use serde::{Deserialize, Serialize};
use tessera_core::revocation::revoke_family;
use utoipa::{IntoParams, ToSchema};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::auth::Caller;
use super::error::{ErrorBody, MgmtError, MgmtResult};
use super::extract::{QueryOf, project, timestamp};
use super::paging::{ListParams, list_query, paged_listing};
use crate::state::AppState;

const REFRESH_TOKEN: &str = "refresh_token";

pub fn routes(api: OpenApiRouter<AppState>) -> OpenApiRouter<AppState> {
    api.routes(routes!(list)).routes(routes!(delete))
}

/// A refresh-token family (one login grant of one application).
#[derive(Debug, Serialize, ToSchema)]
pub struct DeviceCredentialDto {
    /// The family's id (`rtf_…`).
    pub id: String,
    /// The application's name.
    pub device_name: String,
    /// Always `refresh_token`.
    #[serde(rename = "type")]
    pub kind: &'static str,
    pub user_id: String,
    pub client_id: String,
    /// When the grant was issued (RFC 3339).
    pub created_at: String,
    /// When a token of the family was last exchanged.
    pub last_used_at: String,
    /// The family's absolute expiry; absent when it has none.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub expires_at: Option<String>,
}

list_query! {
    #[derive(Debug, Deserialize, IntoParams)]
    #[into_params(parameter_in = Query)]
    #[serde(deny_unknown_fields)]
    pub struct ListQuery {
        /// Required: the user whose credentials to list.
        pub user_id: Option<String>,
        /// Only the credentials of this application.
        pub client_id: Option<String>,
        /// `refresh_token` (the default and the only type Tessera has).
        #[serde(rename = "type")]
        #[param(rename = "type")]
        pub kind: Option<String>,
        ..paging,
        /// Comma-separated top-level properties to include (or, with
        /// `include_fields=false`, to exclude).
        pub fields: Option<String>,
        pub include_fields: Option<bool>,
    }
}

fn query_error(message: &str) -> MgmtError {
    MgmtError::bad_request(
        "invalid_query_string",
        format!("Query validation error: {message}"),
    )
}

fn not_found() -> MgmtError {
    MgmtError::not_found(
        "inexistent_device_credential",
        "The device credential does not exist.",
    )
}

/// List a user's device credentials (refresh-token families).
#[utoipa::path(get, path = "/api/v2/device-credentials", tag = "device-credentials", params(ListQuery),
    description = "The user's live refresh-token families, oldest first. `user_id` is required; `type` may only be `refresh_token` (Tessera has no `public_key` or `rotating_refresh_token` credentials).",
    security(("bearer" = ["read:device_credentials"])),
    responses((status = 200, body = [DeviceCredentialDto], description = "The credentials; with include_totals, {start, limit, length, total, device_credentials}"),
        (status = 400, body = ErrorBody), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody)))]
async fn list(
    caller: Caller,
    State(state): State<AppState>,
    QueryOf(q): QueryOf<ListQuery>,
) -> MgmtResult<Response> {
    caller.require("read:device_credentials")?;
    match q.kind.as_deref() {
        None | Some(REFRESH_TOKEN) => {}
        Some(kind @ ("public_key" | "rotating_refresh_token")) => {
            return Err(query_error(&format!(
                "type {kind} is not supported: Tessera's device credentials are refresh-token families (type refresh_token)."
            )));
        }
        Some(_) => return Err(query_error("type must be refresh_token.")),
    }
    let paging = q.paging()?;
    let page = paging.page();
    let user_id = q
        .user_id
        .as_deref()
        .filter(|u| !u.is_empty())
        .ok_or_else(|| query_error("user_id is required."))?;
    let client_id = q.client_id.as_deref().filter(|c| !c.is_empty());
    let families = state
        .store
        .list_refresh_families(user_id, client_id, state.clock.now())
        .await?;
    let total = families.len() as i64;
    let start = usize::try_from(page.offset()).unwrap_or(usize::MAX);
    let per_page = usize::try_from(page.per_page).unwrap_or(0);
    let mut names: HashMap<String, String> = HashMap::new();
    let mut items = Vec::new();
    for family in families.into_iter().skip(start).take(per_page) {
        let device_name = match names.get(&family.client_id) {
            Some(name) => name.clone(),
            None => {
                let name = state
                    .store
                    .get_client(&family.client_id)
                    .await?
                    .map(|(c, _)| c.name)
                    .unwrap_or_default();
                names.insert(family.client_id.clone(), name.clone());
                name
            }
        };
        items.push(DeviceCredentialDto {
            id: family.id,
            device_name,
            kind: REFRESH_TOKEN,
            user_id: family.user_id,
            client_id: family.client_id,
            created_at: timestamp(family.created_at),
            last_used_at: timestamp(family.last_used_at),
            expires_at: family.expires_at.map(timestamp),
        });
    }
    let items = project(items, q.fields.as_deref(), q.include_fields);
    Ok(paged_listing("device_credentials", items, total, paging))
}

/// Delete a device credential: revokes the refresh-token family and every
/// access token issued under it.
#[utoipa::path(delete, path = "/api/v2/device-credentials/{id}", tag = "device-credentials",
    params(("id" = String, Path, description = "The credential's id (a refresh-token family)")),
    security(("bearer" = ["delete:device_credentials"])),
    responses((status = 204), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)))]
async fn delete(
    caller: Caller,
    State(state): State<AppState>,
    Path(id): Path<String>,
) -> MgmtResult<StatusCode> {
    caller.require("delete:device_credentials")?;
    let now = state.clock.now();
    let family = state
        .store
        .get_refresh_family(&id)
        .await?
        .filter(|f| f.revoked_at.is_none() && f.expires_at.is_none_or(|e| e > now))
        .ok_or_else(not_found)?;
    revoke_family(state.store.as_ref(), &state.revocations, &family.id, now).await?;
    tracing::info!(family = %family.id, user_id = %family.user_id, by = %caller.claims.client_id, "device credential deleted");
    Ok(StatusCode::NO_CONTENT)
}
