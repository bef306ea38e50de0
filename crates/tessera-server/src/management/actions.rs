//! `GET /api/v2/actions/actions` (scope `read:actions`): the tenant's actions
//! in Auth0's list shape. Tessera runs no actions yet, so the list is empty;
//! auth0-deploy-cli's `databases` handler calls it without handling errors.

use axum::Json;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::auth::Caller;
use super::error::{ErrorBody, MgmtResult};
use super::extract::QueryOf;
use crate::state::AppState;

pub fn routes(api: OpenApiRouter<AppState>) -> OpenApiRouter<AppState> {
    api.routes(routes!(list))
}

/// Auth0's listing of actions.
#[derive(Debug, Serialize, ToSchema)]
pub struct ActionList {
    /// Always empty: Tessera runs no actions yet.
    #[schema(value_type = Vec<Object>)]
    pub actions: Vec<serde_json::Value>,
    pub total: i64,
    pub page: i64,
    pub per_page: i64,
}

/// Auth0's query parameters of the listing.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct ListQuery {
    /// Only actions bound to this trigger.
    #[allow(dead_code)] // accepted: the list is empty whatever it filters
    #[serde(rename = "triggerId")]
    pub trigger_id: Option<String>,
    /// Only the action of this name.
    #[allow(dead_code)] // accepted: the list is empty whatever it filters
    #[serde(rename = "actionName")]
    pub action_name: Option<String>,
    #[allow(dead_code)] // accepted: the list is empty whatever it filters
    pub deployed: Option<bool>,
    /// Page index, from 0.
    pub page: Option<i64>,
    /// Results per page.
    pub per_page: Option<i64>,
    #[allow(dead_code)] // accepted: the list is empty whatever it filters
    pub installed: Option<bool>,
    /// Accepted (clients' pagination helpers send it); the answer always
    /// carries `total`.
    #[allow(dead_code)]
    pub include_totals: Option<bool>,
}

/// List actions (always empty).
#[utoipa::path(get, path = "/api/v2/actions/actions", tag = "actions", params(ListQuery),
    security(("bearer" = ["read:actions"])),
    responses((status = 200, body = ActionList), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody)))]
async fn list(caller: Caller, QueryOf(q): QueryOf<ListQuery>) -> MgmtResult<Json<ActionList>> {
    caller.require("read:actions")?;
    let page = super::paging::page(q.page, q.per_page)?;
    Ok(Json(ActionList {
        actions: Vec::new(),
        total: 0,
        page: page.page,
        per_page: page.per_page,
    }))
}
