//! `/api/v2/logs` and `/api/v2/users/{id}/logs`: the tenant's log in Auth0's
//! shape. Searched with Auth0's `q` (the subset in core's `log_query`), paged
//! by offset (`page`, `per_page`, `include_totals`; Auth0's first 1,000
//! results) or by checkpoint (`from` a log id, `take`).

use axum::extract::{Path, State};
use axum::response::{IntoResponse, Response};
use serde::{Deserialize, Serialize};
use tessera_core::log_event::{LogEvent, LogFilter, LogWindow};
use tessera_core::store::Page;
use utoipa::{IntoParams, ToSchema};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::auth::Caller;
use super::error::{ErrorBody, MgmtError, MgmtResult};
use super::extract::{FieldsQuery, QueryOf, project, projected, timestamp};
use super::paging::{ListParams, Paging, list_query, paged_listing};
use crate::state::AppState;

const READ_LOGS: &str = "read:logs";
const READ_LOGS_USERS: &str = "read:logs_users";
/// Offset paging reaches this many results (Auth0's limit; checkpoint paging
/// reaches every one).
const OFFSET_REACH: i64 = 1000;

pub fn routes(api: OpenApiRouter<AppState>) -> OpenApiRouter<AppState> {
    api.routes(routes!(list))
        .routes(routes!(get_one))
        .routes(routes!(user_logs))
}

/// A log event (Auth0's log object).
#[derive(Debug, Serialize, ToSchema)]
pub struct LogDto {
    pub log_id: String,
    /// When it happened (RFC 3339).
    pub date: String,
    /// Auth0's event type code (`s`, `fp`, `sapi`, ...).
    #[serde(rename = "type")]
    pub kind: String,
    pub description: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub client_id: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub client_name: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub ip: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub user_agent: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub hostname: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub user_id: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub user_name: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub connection: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub connection_id: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub strategy: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub strategy_type: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub audience: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub scope: Option<String>,
    /// Event-specific facts (never a secret).
    #[schema(value_type = Object)]
    pub details: serde_json::Value,
    #[serde(rename = "isMobile")]
    pub is_mobile: bool,
}

impl From<LogEvent> for LogDto {
    fn from(e: LogEvent) -> Self {
        Self {
            log_id: e.log_id,
            date: timestamp(e.date),
            kind: e.kind.code().to_owned(),
            description: e.description,
            client_id: e.client_id,
            client_name: e.client_name,
            ip: e.ip,
            user_agent: e.user_agent,
            hostname: e.hostname,
            user_id: e.user_id,
            user_name: e.user_name,
            connection: e.connection,
            connection_id: e.connection_id,
            strategy: e.strategy,
            strategy_type: e.strategy_type,
            audience: e.audience,
            scope: e.scope,
            details: e.details,
            is_mobile: e.is_mobile,
        }
    }
}

list_query! {
    #[derive(Debug, Deserialize, IntoParams)]
    #[into_params(parameter_in = Query)]
    #[serde(deny_unknown_fields)]
    pub struct ListQuery {
        ..paging,
        /// `date:-1` (newest first, the default) or `date:1`.
        pub sort: Option<String>,
        /// Comma-separated properties to include (or, with
        /// `include_fields=false`, to exclude).
        pub fields: Option<String>,
        pub include_fields: Option<bool>,
        /// Checkpoint paging: the events recorded after this log id, oldest
        /// first (without it: from the oldest kept).
        pub from: Option<String>,
        /// Checkpoint paging: how many, 1 to 100 (default 50).
        pub take: Option<i64>,
        /// Auth0's search: `type:`, `user_id:`, `client_id:`, `date:[A TO B]`,
        /// joined by `AND`.
        pub q: Option<String>,
    }
}

list_query! {
    #[derive(Debug, Deserialize, IntoParams)]
    #[into_params(parameter_in = Query)]
    #[serde(deny_unknown_fields)]
    pub struct UserLogsQuery {
        ..paging,
        /// `date:-1` (newest first, the default) or `date:1`.
        pub sort: Option<String>,
    }
}

fn query_error(message: impl std::fmt::Display) -> MgmtError {
    MgmtError::bad_request(
        "invalid_query_string",
        format!("Query validation error: {message}."),
    )
}

/// `date:-1` / `date:1` → oldest first?
fn oldest_first(sort: Option<&str>) -> MgmtResult<bool> {
    match sort.map(str::trim) {
        None | Some("" | "date:-1") => Ok(false),
        Some("date:1") => Ok(true),
        Some(_) => Err(query_error("'sort' must be date:1 or date:-1")),
    }
}

/// Offset paging (Auth0's rules), within Auth0's reach.
fn offset_paging(q: &impl ListParams) -> MgmtResult<Paging> {
    let paging = q.paging()?;
    let page = paging.page();
    if page.offset() + page.per_page > OFFSET_REACH {
        return Err(query_error(format!(
            "offset paging reaches the first {OFFSET_REACH} results; use from and take (checkpoint paging) for more"
        )));
    }
    Ok(paging)
}

/// One page of the log, in the shape the paging asks for.
async fn answer(
    state: &AppState,
    filter: &LogFilter,
    paging: Paging,
    oldest: bool,
    fields: (Option<&str>, Option<bool>),
) -> MgmtResult<Response> {
    let page = paging.page();
    let include_totals = matches!(
        paging,
        Paging::Offset {
            include_totals: true,
            ..
        }
    );
    let window = LogWindow::Offset {
        offset: page.offset(),
        limit: page.per_page,
        oldest_first: oldest,
    };
    let events = state.store.list_log_events(filter, &window).await?;
    let total = if include_totals {
        state.store.count_log_events(filter).await?
    } else {
        0
    };
    let items: Vec<LogDto> = events.into_iter().map(LogDto::from).collect();
    let items = project(items, fields.0, fields.1);
    Ok(paged_listing("logs", items, total, paging))
}

/// Search the tenant's log.
#[utoipa::path(get, path = "/api/v2/logs", tag = "logs", params(ListQuery),
    description = "Log events, newest first. `q` searches `type`, `user_id`, `client_id` and `date` ranges joined by `AND`. Offset paging reaches the first 1,000 results; checkpoint paging (`from` a log id, `take`) walks every event oldest first and answers a plain array.",
    security(("bearer" = ["read:logs"])),
    responses((status = 200, body = [LogDto], description = "The events; with include_totals, {start, limit, length, total, logs}"),
        (status = 400, body = ErrorBody), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody)))]
async fn list(
    caller: Caller,
    State(state): State<AppState>,
    QueryOf(q): QueryOf<ListQuery>,
) -> MgmtResult<Response> {
    caller.require(READ_LOGS)?;
    let filter = tessera_core::log_query::parse(q.q.as_deref().unwrap_or(""))
        .map_err(|e| query_error(format!("'q' {e}")))?;
    let fields = (q.fields.as_deref(), q.include_fields);
    if q.from.is_some() || q.take.is_some() {
        let take = Page::checked(None, Some(q.take.unwrap_or(Page::DEFAULT_PER_PAGE)))
            .map_err(|_| query_error("'take' must be between 1 and 100"))?
            .per_page;
        let after = q
            .from
            .filter(|f| !f.is_empty())
            .map(|f| f.chars().take(128).collect());
        let events = state
            .store
            .list_log_events(&filter, &LogWindow::After { after, limit: take })
            .await?;
        let items: Vec<LogDto> = events.into_iter().map(LogDto::from).collect();
        return Ok(axum::Json(project(items, fields.0, fields.1)).into_response());
    }
    let oldest = oldest_first(q.sort.as_deref())?;
    let paging = offset_paging(&q)?;
    answer(&state, &filter, paging, oldest, fields).await
}

/// One log event.
#[utoipa::path(get, path = "/api/v2/logs/{id}", tag = "logs",
    params(("id" = String, Path, description = "The event's log_id"), FieldsQuery),
    security(("bearer" = ["read:logs"])),
    responses((status = 200, body = LogDto), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)))]
async fn get_one(
    caller: Caller,
    State(state): State<AppState>,
    Path(id): Path<String>,
    QueryOf(q): QueryOf<FieldsQuery>,
) -> MgmtResult<Response> {
    caller.require(READ_LOGS)?;
    let event = state
        .store
        .get_log_event(&id)
        .await?
        .ok_or_else(|| MgmtError::not_found("inexistent_log", "The log does not exist."))?;
    Ok(projected(LogDto::from(event), &q))
}

/// A user's log events.
#[utoipa::path(get, path = "/api/v2/users/{id}/logs", tag = "logs",
    params(("id" = String, Path, description = "The user's id"), UserLogsQuery),
    description = "The user's log events, newest first (also after the user is deleted, until the retention sweep). Needs `read:logs` or `read:logs_users`.",
    security(("bearer" = ["read:logs", "read:logs_users"])),
    responses((status = 200, body = [LogDto], description = "The events; with include_totals, {start, limit, length, total, logs}"),
        (status = 400, body = ErrorBody), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody)))]
async fn user_logs(
    caller: Caller,
    State(state): State<AppState>,
    Path(id): Path<String>,
    QueryOf(q): QueryOf<UserLogsQuery>,
) -> MgmtResult<Response> {
    if !caller.has(READ_LOGS) && !caller.has(READ_LOGS_USERS) {
        return Err(MgmtError::insufficient_scope(&format!(
            "{READ_LOGS} {READ_LOGS_USERS}"
        )));
    }
    let filter = LogFilter {
        user_id: Some(id),
        ..LogFilter::default()
    };
    let oldest = oldest_first(q.sort.as_deref())?;
    let paging = offset_paging(&q)?;
    answer(&state, &filter, paging, oldest, (None, None)).await
}
