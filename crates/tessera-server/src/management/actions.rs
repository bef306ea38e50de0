//! `/api/v2/actions/...`: actions, their versions, the triggers and their
//! bindings, in Auth0's shapes and scopes (`read:actions` to read,
//! `create:actions` to create and deploy, `update:actions` to change an action
//! or a trigger's bindings, `delete:actions` to delete). Secrets are write-only.
//! A deploy or a change of bindings applies at once on this node and within
//! the tenant-settings refresh (5 s) on the others; each login or token
//! request runs one snapshot of a trigger (see `crate::actions`).

use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde::{Deserialize, Serialize};
use tessera_core::manage::actions::{
    self, ActionChanges, ActionError, BindingInput, BindingsPatch, MAX_BINDINGS, NewAction,
};
use tessera_core::model::{
    Action, ActionBinding, ActionContent, ActionSecret, ActionVersion, BuildStatus, TriggerId,
};
use tessera_core::store::{ActionDeleted, ActionFilter, ActionUpdated, StoreError};
use utoipa::{IntoParams, ToSchema};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::auth::Caller;
use super::error::{ErrorBody, MgmtError, MgmtResult};
use super::extract::{Payload, QueryOf, timestamp};
use crate::state::AppState;

/// The path of the actions' create and update routes (the body limit looks
/// for it).
pub const ACTIONS_PATH: &str = "/api/v2/actions/actions";

/// The body limit of an action's create or update: room for Auth0's 100 KB
/// of code with JSON's escapes, and the secrets, whatever `body_limit` is.
pub const BODY_LIMIT: usize = 4 * actions::MAX_CODE_LEN
    + actions::MAX_SECRETS * (actions::MAX_SECRET_NAME_LEN + actions::MAX_SECRET_VALUE_LEN + 64);

pub fn routes(api: OpenApiRouter<AppState>) -> OpenApiRouter<AppState> {
    api.routes(routes!(list, create))
        .routes(routes!(get_one, update, delete))
        .routes(routes!(deploy))
        .routes(routes!(list_versions))
        .routes(routes!(get_version))
        .routes(routes!(deploy_version))
        .routes(routes!(list_triggers))
        .routes(routes!(list_bindings, update_bindings))
}

/// A trigger as Auth0 describes it.
#[derive(Debug, Serialize, ToSchema)]
pub struct TriggerDto {
    pub id: String,
    pub version: String,
    /// `CURRENT`.
    pub status: String,
    pub runtimes: Vec<String>,
    pub default_runtime: String,
    #[schema(value_type = Vec<Object>)]
    pub compatible_triggers: Vec<serde_json::Value>,
    /// `trigger-bound`.
    pub binding_policy: String,
}

/// A trigger named by an action.
#[derive(Debug, Serialize, ToSchema)]
pub struct ActionTriggerDto {
    pub id: String,
    pub version: String,
}

/// A secret's name and when it was set; never its value.
#[derive(Debug, Serialize, ToSchema)]
pub struct SecretDto {
    pub name: String,
    pub updated_at: String,
}

/// A build error (Auth0's `ActionError`).
#[derive(Debug, Serialize, ToSchema)]
pub struct ActionErrorDto {
    pub id: String,
    pub msg: String,
}

/// An action in Auth0's shape.
#[derive(Debug, Serialize, ToSchema)]
pub struct ActionDto {
    pub id: String,
    pub name: String,
    pub supported_triggers: Vec<ActionTriggerDto>,
    /// Whether the deployed version has the draft's code, runtime and secrets.
    pub all_changes_deployed: bool,
    pub created_at: String,
    pub updated_at: String,
    pub code: String,
    /// Always empty: no npm modules run in the sandbox.
    #[schema(value_type = Vec<Object>)]
    pub dependencies: Vec<serde_json::Value>,
    pub runtime: String,
    pub secrets: Vec<SecretDto>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub deployed_version: Option<Box<VersionDto>>,
    /// `built` or `failed`.
    pub status: String,
    /// Why the draft failed to build (as a version's `errors`); left out
    /// when it built. Auth0 builds at deploy and answers the errors on the
    /// version; Tessera builds the draft and deploys only built code, so the
    /// draft is where they can be read.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub errors: Vec<ActionErrorDto>,
    pub built_at: String,
    /// Always empty.
    #[schema(value_type = Vec<Object>)]
    pub modules: Vec<serde_json::Value>,
}

/// The action a version belongs to (Auth0's `ActionBase`).
#[derive(Debug, Serialize, ToSchema)]
pub struct ActionBaseDto {
    pub id: String,
    pub name: String,
    pub supported_triggers: Vec<ActionTriggerDto>,
    pub all_changes_deployed: bool,
    pub created_at: String,
    pub updated_at: String,
}

/// A version of an action in Auth0's shape.
#[derive(Debug, Serialize, ToSchema)]
pub struct VersionDto {
    pub id: String,
    pub action_id: String,
    pub code: String,
    #[schema(value_type = Vec<Object>)]
    pub dependencies: Vec<serde_json::Value>,
    pub deployed: bool,
    pub runtime: String,
    pub secrets: Vec<SecretDto>,
    pub status: String,
    pub number: i64,
    pub errors: Vec<ActionErrorDto>,
    pub action: ActionBaseDto,
    pub built_at: String,
    pub created_at: String,
    pub updated_at: String,
    pub supported_triggers: Vec<ActionTriggerDto>,
    #[schema(value_type = Vec<Object>)]
    pub modules: Vec<serde_json::Value>,
}

/// A binding in Auth0's shape.
#[derive(Debug, Serialize, ToSchema)]
pub struct BindingDto {
    pub id: String,
    pub trigger_id: String,
    pub display_name: String,
    pub action: ActionDto,
    pub created_at: String,
    pub updated_at: String,
}

/// Auth0's listing of actions.
#[derive(Debug, Serialize, ToSchema)]
pub struct ActionList {
    pub actions: Vec<ActionDto>,
    pub total: i64,
    pub page: i64,
    pub per_page: i64,
}

/// Auth0's listing of versions.
#[derive(Debug, Serialize, ToSchema)]
pub struct VersionList {
    pub versions: Vec<VersionDto>,
    pub total: i64,
    pub page: i64,
    pub per_page: i64,
}

/// Auth0's listing of a trigger's bindings.
#[derive(Debug, Serialize, ToSchema)]
pub struct BindingList {
    pub bindings: Vec<BindingDto>,
    pub total: i64,
    pub page: i64,
    pub per_page: i64,
}

/// The answer of a PATCH of bindings.
#[derive(Debug, Serialize, ToSchema)]
pub struct UpdatedBindings {
    pub bindings: Vec<BindingDto>,
}

/// The triggers Tessera runs actions on.
#[derive(Debug, Serialize, ToSchema)]
pub struct TriggerList {
    pub triggers: Vec<TriggerDto>,
}

fn status_of(content: &ActionContent) -> (String, Vec<ActionErrorDto>) {
    match &content.status {
        BuildStatus::Built => ("built".into(), Vec::new()),
        BuildStatus::Failed { message } => (
            "failed".into(),
            vec![ActionErrorDto {
                id: "build_failed".into(),
                msg: message.clone(),
            }],
        ),
    }
}

fn secrets_of(secrets: &[ActionSecret]) -> Vec<SecretDto> {
    secrets
        .iter()
        .map(|s| SecretDto {
            name: s.name.clone(),
            updated_at: timestamp(s.updated_at),
        })
        .collect()
}

fn triggers_of(a: &Action) -> Vec<ActionTriggerDto> {
    vec![ActionTriggerDto {
        id: a.trigger.as_str().into(),
        version: a.trigger_version.clone(),
    }]
}

/// Same code, runtime and secrets (names and sealed values).
fn same_content(a: &ActionContent, b: &ActionContent) -> bool {
    a.code == b.code && a.runtime == b.runtime && a.secrets == b.secrets
}

fn base_of(a: &Action, deployed: Option<&ActionVersion>) -> ActionBaseDto {
    ActionBaseDto {
        id: a.id.clone(),
        name: a.name.clone(),
        supported_triggers: triggers_of(a),
        all_changes_deployed: deployed.is_some_and(|v| same_content(&v.content, &a.draft)),
        created_at: timestamp(a.created_at),
        updated_at: timestamp(a.updated_at),
    }
}

fn version_dto(a: &Action, v: &ActionVersion, deployed: Option<&ActionVersion>) -> VersionDto {
    let (status, errors) = status_of(&v.content);
    VersionDto {
        id: v.id.clone(),
        action_id: v.action_id.clone(),
        code: v.content.code.clone(),
        dependencies: Vec::new(),
        deployed: a.deployed_version_id.as_deref() == Some(v.id.as_str()),
        runtime: v.content.runtime.clone(),
        secrets: secrets_of(&v.content.secrets),
        status,
        number: v.number,
        errors,
        action: base_of(a, deployed),
        built_at: timestamp(v.content.built_at),
        created_at: timestamp(v.created_at),
        updated_at: timestamp(v.created_at),
        supported_triggers: triggers_of(a),
        modules: Vec::new(),
    }
}

/// The action's deployed version, if any.
async fn deployed_of(state: &AppState, a: &Action) -> MgmtResult<Option<ActionVersion>> {
    match &a.deployed_version_id {
        Some(id) => Ok(state.store.get_action_version(&a.id, id).await?),
        None => Ok(None),
    }
}

async fn action_dto(state: &AppState, a: &Action) -> MgmtResult<ActionDto> {
    let deployed = deployed_of(state, a).await?;
    let (status, errors) = status_of(&a.draft);
    Ok(ActionDto {
        id: a.id.clone(),
        name: a.name.clone(),
        supported_triggers: triggers_of(a),
        all_changes_deployed: deployed
            .as_ref()
            .is_some_and(|v| same_content(&v.content, &a.draft)),
        created_at: timestamp(a.created_at),
        updated_at: timestamp(a.updated_at),
        code: a.draft.code.clone(),
        dependencies: Vec::new(),
        runtime: a.draft.runtime.clone(),
        secrets: secrets_of(&a.draft.secrets),
        deployed_version: deployed
            .as_ref()
            .map(|v| Box::new(version_dto(a, v, Some(v)))),
        status,
        errors,
        built_at: timestamp(a.draft.built_at),
        modules: Vec::new(),
    })
}

fn not_found() -> MgmtError {
    MgmtError::not_found("action_not_found", "The action does not exist.")
}

fn version_not_found() -> MgmtError {
    MgmtError::not_found(
        "action_version_not_found",
        "The action version does not exist.",
    )
}

fn name_conflict() -> MgmtError {
    MgmtError::conflict(
        "action_conflict",
        "An action with this name already exists.",
    )
}

fn trigger_of(id: &str) -> MgmtResult<TriggerId> {
    TriggerId::parse(id).ok_or_else(|| {
        MgmtError::not_found(
            "trigger_not_found",
            "Tessera runs actions on the triggers post-login and credentials-exchange only.",
        )
    })
}

impl From<ActionError> for MgmtError {
    fn from(e: ActionError) -> Self {
        match e {
            ActionError::Invalid(invalid) => invalid.into(),
            ActionError::Rng(e) => MgmtError::from(StoreError::Backend(e.to_string())),
        }
    }
}

fn new_id() -> MgmtResult<String> {
    Ok(uuid::Uuid::new_v4().to_string())
}

async fn get_action(state: &AppState, id: &str) -> MgmtResult<Action> {
    state.store.get_action(id).await?.ok_or_else(not_found)
}

/// Deploys `version` (and with `draft`, makes the draft it); this node runs it
/// at once.
async fn store_deploy(
    state: &AppState,
    version: &ActionVersion,
    draft: Option<&Action>,
) -> MgmtResult<ActionVersion> {
    let stored = state
        .store
        .deploy_action_version(version, draft, state.clock.now())
        .await?
        .ok_or_else(not_found)?;
    state.actions.invalidate();
    Ok(stored)
}

list_query! {
/// Auth0's query parameters of the listing.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct ListQuery {
    /// Only actions of this trigger.
    #[serde(rename = "triggerId")]
    pub trigger_id: Option<String>,
    /// Only the action of this name.
    #[serde(rename = "actionName")]
    pub action_name: Option<String>,
    /// Only deployed (`true`) or never deployed (`false`) actions.
    pub deployed: Option<bool>,
    ..paging,
    /// Accepted: Tessera has no installed (marketplace) actions, so `true`
    /// lists none.
    pub installed: Option<bool>,
}
}
use super::paging::{ListParams, list_query};

/// List actions.
#[utoipa::path(get, path = "/api/v2/actions/actions", tag = "actions", params(ListQuery),
    security(("bearer" = ["read:actions"])),
    responses((status = 200, body = ActionList), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody)))]
async fn list(
    caller: Caller,
    State(state): State<AppState>,
    QueryOf(q): QueryOf<ListQuery>,
) -> MgmtResult<Json<ActionList>> {
    caller.require("read:actions")?;
    let paging = q.paging()?;
    let page = paging.page();
    let trigger = match q.trigger_id.as_deref() {
        // An Auth0 trigger Tessera does not run has no actions.
        Some(t) => match TriggerId::parse(t) {
            Some(t) => Some(t),
            None => return Ok(Json(empty_list(page))),
        },
        None => None,
    };
    if q.installed == Some(true) {
        return Ok(Json(empty_list(page)));
    }
    let filter = ActionFilter {
        trigger,
        name: q.action_name.clone(),
        deployed: q.deployed,
    };
    let (found, total) = state.store.list_actions(&filter, page).await?;
    let mut actions = Vec::with_capacity(found.len());
    for a in &found {
        actions.push(action_dto(&state, a).await?);
    }
    Ok(Json(ActionList {
        actions,
        total,
        page: page.page,
        per_page: page.per_page,
    }))
}

fn empty_list(page: tessera_core::store::Page) -> ActionList {
    ActionList {
        actions: Vec::new(),
        total: 0,
        page: page.page,
        per_page: page.per_page,
    }
}

/// Create an action (and deploy it with `deploy: true`).
#[utoipa::path(post, path = "/api/v2/actions/actions", tag = "actions",
    request_body = NewAction,
    security(("bearer" = ["create:actions"])),
    responses((status = 201, body = ActionDto), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody), (status = 409, body = ErrorBody)))]
async fn create(
    caller: Caller,
    State(state): State<AppState>,
    Payload(body): Payload<NewAction>,
) -> MgmtResult<Response> {
    caller.require("create:actions")?;
    let deploy_now = body.deploy == Some(true);
    let verdict = state
        .actions
        .check_off_thread(body.code.clone().unwrap_or_default())
        .await;
    let now = state.clock.now();
    let check = |_: &str| verdict.clone();
    let action = actions::build(&state.master, new_id()?, body, &check, now)?;
    // Code that fails to build is refused before it is stored when a deploy
    // is asked for: a 400 leaves nothing behind, and a retry is no duplicate.
    let version = if deploy_now {
        Some(actions::version_of_draft(&action, new_id()?, now)?)
    } else {
        None
    };
    match state.store.create_action(&action).await {
        Ok(()) => {}
        Err(StoreError::Conflict(_)) => return Err(name_conflict()),
        Err(e) => return Err(e.into()),
    }
    if let Some(version) = version {
        store_deploy(&state, &version, None).await?;
    }
    let action = get_action(&state, &action.id).await?;
    Ok((
        StatusCode::CREATED,
        Json(action_dto(&state, &action).await?),
    )
        .into_response())
}

/// Get an action.
#[utoipa::path(get, path = "/api/v2/actions/actions/{id}", tag = "actions",
    params(("id" = String, Path, description = "The action's id")),
    security(("bearer" = ["read:actions"])),
    responses((status = 200, body = ActionDto), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)))]
async fn get_one(
    caller: Caller,
    State(state): State<AppState>,
    Path(id): Path<String>,
) -> MgmtResult<Json<ActionDto>> {
    caller.require("read:actions")?;
    let action = get_action(&state, &id).await?;
    Ok(Json(action_dto(&state, &action).await?))
}

/// Update an action's draft (runs only once deployed).
#[utoipa::path(patch, path = "/api/v2/actions/actions/{id}", tag = "actions",
    request_body = ActionChanges,
    params(("id" = String, Path, description = "The action's id")),
    security(("bearer" = ["update:actions"])),
    responses((status = 200, body = ActionDto), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody), (status = 409, body = ErrorBody)))]
async fn update(
    caller: Caller,
    State(state): State<AppState>,
    Path(id): Path<String>,
    Payload(body): Payload<ActionChanges>,
) -> MgmtResult<Json<ActionDto>> {
    caller.require("update:actions")?;
    let action = get_action(&state, &id).await?;
    let code = body
        .code
        .clone()
        .unwrap_or_else(|| action.draft.code.clone());
    let verdict = state.actions.check_off_thread(code).await;
    let check = |_: &str| verdict.clone();
    let changed = actions::apply_changes(&state.master, action, body, &check, state.clock.now())?;
    match state.store.update_action(&changed).await {
        Ok(ActionUpdated::Updated) => {}
        Ok(ActionUpdated::NotFound) => return Err(not_found()),
        Ok(ActionUpdated::Bound) => {
            return Err(MgmtError::invalid_body(
                "supported_triggers",
                "cannot change while the action is bound to its trigger",
            ));
        }
        Err(StoreError::Conflict(_)) => return Err(name_conflict()),
        Err(e) => return Err(e.into()),
    }
    let action = get_action(&state, &id).await?;
    Ok(Json(action_dto(&state, &action).await?))
}

/// Query of the deletion.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct DeleteQuery {
    /// Delete even when bound: its bindings go too.
    pub force: Option<bool>,
}

/// Delete an action and its versions (`force=true`: also when bound).
#[utoipa::path(delete, path = "/api/v2/actions/actions/{id}", tag = "actions",
    params(("id" = String, Path, description = "The action's id"), DeleteQuery),
    security(("bearer" = ["delete:actions"])),
    responses((status = 204), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody), (status = 409, body = ErrorBody)))]
async fn delete(
    caller: Caller,
    State(state): State<AppState>,
    Path(id): Path<String>,
    QueryOf(q): QueryOf<DeleteQuery>,
) -> MgmtResult<StatusCode> {
    caller.require("delete:actions")?;
    match state
        .store
        .delete_action(&id, q.force == Some(true))
        .await?
    {
        ActionDeleted::Deleted => {
            state.actions.invalidate();
            Ok(StatusCode::NO_CONTENT)
        }
        ActionDeleted::NotFound => Err(not_found()),
        ActionDeleted::Bound => Err(MgmtError::conflict(
            "action_bound",
            "The action is bound to a trigger: unbind it first, or delete with force=true.",
        )),
    }
}

/// Deploy an action: a new immutable version of its draft runs from now on.
#[utoipa::path(post, path = "/api/v2/actions/actions/{id}/deploy", tag = "actions",
    params(("id" = String, Path, description = "The action's id")),
    security(("bearer" = ["create:actions"])),
    responses((status = 200, body = VersionDto), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)))]
async fn deploy(
    caller: Caller,
    State(state): State<AppState>,
    Path(id): Path<String>,
) -> MgmtResult<Json<VersionDto>> {
    caller.require("create:actions")?;
    let action = get_action(&state, &id).await?;
    let version = actions::version_of_draft(&action, new_id()?, state.clock.now())?;
    let stored = store_deploy(&state, &version, None).await?;
    let action = get_action(&state, &id).await?;
    Ok(Json(version_dto(&action, &stored, Some(&stored))))
}

list_query! {
/// Paging of versions and bindings.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct PageQuery {
    ..paging,
}
}

/// List an action's versions, newest first.
#[utoipa::path(get, path = "/api/v2/actions/actions/{actionId}/versions", tag = "actions",
    params(("actionId" = String, Path, description = "The action's id"), PageQuery),
    security(("bearer" = ["read:actions"])),
    responses((status = 200, body = VersionList), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)))]
async fn list_versions(
    caller: Caller,
    State(state): State<AppState>,
    Path(action_id): Path<String>,
    QueryOf(q): QueryOf<PageQuery>,
) -> MgmtResult<Json<VersionList>> {
    caller.require("read:actions")?;
    let page = q.paging()?.page();
    let action = get_action(&state, &action_id).await?;
    let deployed = deployed_of(&state, &action).await?;
    let (found, total) = state.store.list_action_versions(&action_id, page).await?;
    Ok(Json(VersionList {
        versions: found
            .iter()
            .map(|v| version_dto(&action, v, deployed.as_ref()))
            .collect(),
        total,
        page: page.page,
        per_page: page.per_page,
    }))
}

/// Get a version of an action.
#[utoipa::path(get, path = "/api/v2/actions/actions/{actionId}/versions/{id}", tag = "actions",
    params(("actionId" = String, Path, description = "The action's id"),
           ("id" = String, Path, description = "The version's id")),
    security(("bearer" = ["read:actions"])),
    responses((status = 200, body = VersionDto), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)))]
async fn get_version(
    caller: Caller,
    State(state): State<AppState>,
    Path((action_id, id)): Path<(String, String)>,
) -> MgmtResult<Json<VersionDto>> {
    caller.require("read:actions")?;
    let action = get_action(&state, &action_id).await?;
    let version = state
        .store
        .get_action_version(&action_id, &id)
        .await?
        .ok_or_else(version_not_found)?;
    let deployed = deployed_of(&state, &action).await?;
    Ok(Json(version_dto(&action, &version, deployed.as_ref())))
}

/// Body of a roll-back.
#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RollBack {
    /// Also make the action's draft this version's content.
    #[serde(default)]
    pub update_draft: Option<bool>,
}

/// Roll back: a new deployed version identical to an earlier one.
#[utoipa::path(post, path = "/api/v2/actions/actions/{actionId}/versions/{id}/deploy", tag = "actions",
    request_body = RollBack,
    params(("actionId" = String, Path, description = "The action's id"),
           ("id" = String, Path, description = "The version's id")),
    security(("bearer" = ["create:actions"])),
    responses((status = 200, body = VersionDto), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)))]
async fn deploy_version(
    caller: Caller,
    State(state): State<AppState>,
    Path((action_id, id)): Path<(String, String)>,
    body: axum::body::Bytes,
) -> MgmtResult<Json<VersionDto>> {
    caller.require("create:actions")?;
    // The body is optional (Auth0's SDKs send none or `{}`).
    let body: RollBack = if body.iter().all(u8::is_ascii_whitespace) {
        RollBack::default()
    } else {
        super::extract::parse_json(&body)?
    };
    let action = get_action(&state, &action_id).await?;
    let old = state
        .store
        .get_action_version(&action_id, &id)
        .await?
        .ok_or_else(version_not_found)?;
    let now = state.clock.now();
    let version = actions::version_of(&action, &old.content, new_id()?, now)?;
    let update_draft = body.update_draft == Some(true);
    let draft = update_draft.then(|| Action {
        draft: old.content.clone(),
        updated_at: now,
        ..action.clone()
    });
    let stored = store_deploy(&state, &version, draft.as_ref()).await?;
    let action = get_action(&state, &action_id).await?;
    Ok(Json(version_dto(&action, &stored, Some(&stored))))
}

/// List the triggers Tessera runs actions on.
#[utoipa::path(get, path = "/api/v2/actions/triggers", tag = "actions",
    security(("bearer" = ["read:actions"])),
    responses((status = 200, body = TriggerList), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody)))]
async fn list_triggers(caller: Caller) -> MgmtResult<Json<TriggerList>> {
    caller.require("read:actions")?;
    Ok(Json(TriggerList {
        triggers: TriggerId::ALL
            .iter()
            .map(|t| TriggerDto {
                id: t.as_str().into(),
                version: t.version().into(),
                status: "CURRENT".into(),
                runtimes: actions::RUNTIMES.iter().map(|r| (*r).to_owned()).collect(),
                default_runtime: actions::DEFAULT_RUNTIME.into(),
                compatible_triggers: Vec::new(),
                binding_policy: "trigger-bound".into(),
            })
            .collect(),
    }))
}

async fn binding_dtos(state: &AppState, bindings: &[ActionBinding]) -> MgmtResult<Vec<BindingDto>> {
    let mut out = Vec::with_capacity(bindings.len());
    for b in bindings {
        // A binding whose action was deleted meanwhile is not answered.
        let Some(action) = state.store.get_action(&b.action_id).await? else {
            continue;
        };
        out.push(BindingDto {
            id: b.id.clone(),
            trigger_id: b.trigger.as_str().into(),
            display_name: b.display_name.clone(),
            action: action_dto(state, &action).await?,
            created_at: timestamp(b.created_at),
            updated_at: timestamp(b.updated_at),
        });
    }
    Ok(out)
}

/// List the actions bound to a trigger, in the order they run.
#[utoipa::path(get, path = "/api/v2/actions/triggers/{triggerId}/bindings", tag = "actions",
    params(("triggerId" = String, Path, description = "post-login or credentials-exchange"), PageQuery),
    security(("bearer" = ["read:actions"])),
    responses((status = 200, body = BindingList), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)))]
async fn list_bindings(
    caller: Caller,
    State(state): State<AppState>,
    Path(trigger_id): Path<String>,
    QueryOf(q): QueryOf<PageQuery>,
) -> MgmtResult<Json<BindingList>> {
    caller.require("read:actions")?;
    let page = q.paging()?.page();
    let trigger = trigger_of(&trigger_id)?;
    let all = state.store.list_action_bindings(trigger).await?;
    let total = i64::try_from(all.len()).unwrap_or(i64::MAX);
    let start = usize::try_from(page.offset()).unwrap_or(usize::MAX);
    let per_page = usize::try_from(page.per_page).unwrap_or(0);
    let shown: Vec<ActionBinding> = all.into_iter().skip(start).take(per_page).collect();
    Ok(Json(BindingList {
        bindings: binding_dtos(&state, &shown).await?,
        total,
        page: page.page,
        per_page: page.per_page,
    }))
}

fn bad_binding(i: usize, problem: impl Into<String>) -> MgmtError {
    MgmtError::invalid_body(&format!("bindings[{i}]"), &problem.into())
}

/// The binding `input` asks for, given the trigger's current bindings.
async fn resolve_binding(
    state: &AppState,
    trigger: TriggerId,
    current: &[ActionBinding],
    i: usize,
    input: &BindingInput,
    now: i64,
) -> MgmtResult<ActionBinding> {
    if input.secrets.as_ref().is_some_and(|s| !s.is_empty()) {
        return Err(bad_binding(
            i,
            "per-binding secrets are not supported: set them on the action",
        )
        .with_reason("setting_not_enforced"));
    }
    let value = input.reference.value.as_str();
    let (action, kept) = match input.reference.kind.as_str() {
        "action_id" => (state.store.get_action(value).await?, None),
        "action_name" => (state.store.get_action_by_name(value).await?, None),
        "binding_id" => {
            let Some(b) = current.iter().find(|b| b.id == value) else {
                return Err(bad_binding(i, "names no binding of this trigger"));
            };
            (state.store.get_action(&b.action_id).await?, Some(b))
        }
        _ => {
            return Err(bad_binding(
                i,
                "ref.type must be action_id, action_name or binding_id",
            ));
        }
    };
    let Some(action) = action else {
        return Err(bad_binding(i, "names no action"));
    };
    if action.trigger != trigger {
        return Err(bad_binding(i, "names an action of another trigger"));
    }
    if action.deployed_version_id.is_none() {
        return Err(bad_binding(i, "names an action that was never deployed")
            .with_reason("action_not_deployed"));
    }
    let display_name = match &input.display_name {
        Some(d) if d.chars().count() > actions::MAX_NAME_LEN || d.trim().is_empty() => {
            return Err(bad_binding(i, "display_name must be 1 to 128 characters"));
        }
        Some(d) => d.clone(),
        None => kept.map_or_else(|| action.name.clone(), |b| b.display_name.clone()),
    };
    Ok(ActionBinding {
        id: match kept {
            Some(b) => b.id.clone(),
            None => new_id()?,
        },
        trigger,
        action_id: action.id.clone(),
        display_name,
        created_at: kept.map_or(now, |b| b.created_at),
        updated_at: now,
    })
}

/// Set the actions bound to a trigger, in the order they run.
#[utoipa::path(patch, path = "/api/v2/actions/triggers/{triggerId}/bindings", tag = "actions",
    request_body = BindingsPatch,
    params(("triggerId" = String, Path, description = "post-login or credentials-exchange")),
    security(("bearer" = ["update:actions"])),
    responses((status = 200, body = UpdatedBindings), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)))]
async fn update_bindings(
    caller: Caller,
    State(state): State<AppState>,
    Path(trigger_id): Path<String>,
    Payload(body): Payload<BindingsPatch>,
) -> MgmtResult<Json<UpdatedBindings>> {
    caller.require("update:actions")?;
    let trigger = trigger_of(&trigger_id)?;
    let inputs = body.bindings.unwrap_or_default();
    if inputs.len() > MAX_BINDINGS {
        return Err(MgmtError::invalid_body(
            "bindings",
            &format!("at most {MAX_BINDINGS} actions per trigger"),
        ));
    }
    let now = state.clock.now();
    let current = state.store.list_action_bindings(trigger).await?;
    let mut bindings: Vec<ActionBinding> = Vec::with_capacity(inputs.len());
    for (i, input) in inputs.iter().enumerate() {
        let b = resolve_binding(&state, trigger, &current, i, input, now).await?;
        if bindings.iter().any(|other| other.action_id == b.action_id) {
            return Err(bad_binding(i, "binds an action already in the list"));
        }
        bindings.push(b);
    }
    if !state.store.set_action_bindings(trigger, &bindings).await? {
        return Err(MgmtError::bad_request(
            "invalid_body",
            "An action of the list was deleted or changed meanwhile: retry.",
        ));
    }
    state.actions.invalidate();
    Ok(Json(UpdatedBindings {
        bindings: binding_dtos(&state, &bindings).await?,
    }))
}
