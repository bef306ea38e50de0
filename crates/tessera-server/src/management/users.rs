//! `/api/v2/users` and `/api/v2/users-by-email`: the tenant's users, in Auth0's
//! shapes. Passwords are hashed off the async runtime and never returned,
//! echoed in an error or logged.

use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};
use tessera_core::Secret;
use tessera_core::manage::Invalid;
use tessera_core::manage::users::{
    self, CreateError, CreateUser, NewDatabaseUser, UpdateUser, check_password, check_username,
    is_database_user, parse_search, parse_sort,
};
use tessera_core::model::{Identity, User};
use tessera_core::password::PasswordPolicy;
use tessera_core::store::{StoreError, UserField, UserFilter, UserQuery};
use utoipa::{IntoParams, ToSchema};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::auth::Caller;
use super::error::{ErrorBody, MgmtError, MgmtResult};
use super::extract::{FieldsQuery, Payload, QueryOf, project, projected, timestamp};
use super::paging::{ListParams, list_query, paged_listing};
use crate::interactive::gate;
use crate::state::AppState;

pub fn routes(api: OpenApiRouter<AppState>) -> OpenApiRouter<AppState> {
    api.routes(routes!(list, create))
        .routes(routes!(get_one, update, delete))
        .routes(routes!(by_email))
        .routes(routes!(delete_sessions))
}

/// The scope that reveals upstream identity providers' tokens on identities.
const READ_IDP_TOKENS: &str = "read:user_idp_tokens";

/// One identity of a user, as the API shows it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, ToSchema)]
pub struct IdentityDto {
    pub connection: String,
    /// The id within the provider (for `auth0`, the part after `auth0|`).
    pub user_id: String,
    pub provider: String,
    #[serde(rename = "isSocial")]
    pub is_social: bool,
    /// The upstream provider's access token; only to `read:user_idp_tokens`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub access_token: Option<String>,
    /// The upstream provider's refresh token; only to `read:user_idp_tokens`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub refresh_token: Option<String>,
    /// Seconds the upstream access token lives; only to `read:user_idp_tokens`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub expires_in: Option<i64>,
    /// A linked identity's profile (Auth0's secondary account); absent on
    /// the user's own identity.
    #[serde(rename = "profileData", skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<Object>)]
    pub profile_data: Option<Map<String, Value>>,
}

impl From<Identity> for IdentityDto {
    /// Exhaustive on purpose: a field added to [`Identity`] must be placed here,
    /// and upstream tokens go in the fields [`IdentityDto::gated`] clears.
    /// Database identities have no upstream tokens (Tessera is their provider).
    fn from(identity: Identity) -> Self {
        let Identity {
            connection,
            user_id,
            provider,
            is_social,
        } = identity;
        Self {
            connection,
            user_id,
            provider,
            is_social,
            access_token: None,
            refresh_token: None,
            expires_in: None,
            profile_data: None,
        }
    }
}

impl IdentityDto {
    /// Drops upstream tokens unless the caller may read them.
    fn gated(mut self, reveal_idp_tokens: bool) -> Self {
        if !reveal_idp_tokens {
            self.access_token = None;
            self.refresh_token = None;
            self.expires_in = None;
        }
        self
    }
}

/// A user as the API shows it: never a password or its hash.
#[derive(Debug, Serialize, ToSchema)]
pub struct UserDto {
    /// `auth0|` and 24 hex characters for database users.
    pub user_id: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub email: Option<String>,
    pub email_verified: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub given_name: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub family_name: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub nickname: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub picture: Option<String>,
    /// Lower-cased; users of connections with `requires_username`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub username: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub phone_number: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub phone_verified: Option<bool>,
    #[schema(value_type = Object)]
    pub user_metadata: Map<String, Value>,
    #[schema(value_type = Object)]
    pub app_metadata: Map<String, Value>,
    pub blocked: bool,
    /// RFC 3339, UTC, milliseconds.
    pub created_at: String,
    pub updated_at: String,
    /// Absent when the user never logged in.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub last_login: Option<String>,
    pub logins_count: i64,
    pub identities: Vec<IdentityDto>,
}

/// The one place users are rendered, for `caller`: identities carry upstream
/// tokens (opened from the vault) only when the caller holds
/// `read:user_idp_tokens`.
async fn render(state: &AppState, user: User, caller: &Caller) -> MgmtResult<UserDto> {
    let identities = identities_of(state, &user, caller).await?;
    Ok(UserDto {
        user_id: user.user_id,
        email: user.email,
        email_verified: user.email_verified,
        name: user.name,
        given_name: user.given_name,
        family_name: user.family_name,
        nickname: user.nickname,
        picture: user.picture,
        username: user.username,
        phone_number: user.phone_number,
        phone_verified: user.phone_verified,
        user_metadata: user.user_metadata,
        app_metadata: user.app_metadata,
        blocked: user.blocked,
        created_at: timestamp(user.created_at),
        updated_at: timestamp(user.updated_at),
        last_login: user.last_login.map(timestamp),
        logins_count: user.logins_count,
        identities,
    })
}

/// The identities of `user` as the API shows them to `caller`: its own, then
/// those linked to it (Auth0's secondary accounts) with their `profileData`;
/// upstream tokens (opened from the vault, where each identity's tokens stay
/// under its own record) only for `read:user_idp_tokens`.
pub(super) async fn identities_of(
    state: &AppState,
    user: &User,
    caller: &Caller,
) -> MgmtResult<Vec<IdentityDto>> {
    let reveal_idp_tokens = caller.has(READ_IDP_TOKENS);
    let linked = state.store.linked_users(&user.user_id).await?;
    let mut out = Vec::new();
    let owners =
        std::iter::once((user, None)).chain(linked.iter().map(|l| (l, Some(profile_data(l)))));
    for (owner, profile) in owners {
        let vault = if reveal_idp_tokens {
            state.store.list_idp_tokens(&owner.user_id).await?
        } else {
            Vec::new()
        };
        for identity in owner.identities.iter().cloned() {
            let mut dto = IdentityDto::from(identity);
            dto.profile_data = profile.clone();
            if let Some(sealed) = vault.iter().find(|t| t.connection == dto.connection) {
                open_into(state, sealed, &mut dto);
            }
            out.push(dto.gated(reveal_idp_tokens));
        }
    }
    Ok(out)
}

/// A linked identity's profile (Auth0's `profileData`): the secondary
/// user's root attributes when it was linked and since.
fn profile_data(user: &User) -> Map<String, Value> {
    let mut out = Map::new();
    let mut put = |k: &str, v: &Option<String>| {
        if let Some(v) = v {
            out.insert(k.into(), Value::String(v.clone()));
        }
    };
    put("email", &user.email);
    put("name", &user.name);
    put("given_name", &user.given_name);
    put("family_name", &user.family_name);
    put("nickname", &user.nickname);
    put("picture", &user.picture);
    if user.email.is_some() {
        out.insert("email_verified".into(), Value::Bool(user.email_verified));
    }
    out
}

/// Opens an identity's sealed upstream tokens into `dto`.
fn open_into(
    state: &AppState,
    sealed: &tessera_core::idp_vault::SealedIdpTokens,
    dto: &mut IdentityDto,
) {
    let now = state.clock.now();
    match sealed.open(&state.master) {
        Ok(tokens) => {
            dto.access_token = Some(tokens.access_token.expose().clone());
            dto.refresh_token = tokens.refresh_token.map(|t| t.expose().clone());
            dto.expires_in = tokens.expires_at.map(|at| (at - now).max(0));
        }
        // Never the value or the blob: which identity, and why.
        Err(e) => tracing::warn!(
            user_id = %sealed.user_id,
            connection = %sealed.connection,
            error = %e,
            "an upstream token of the vault does not open"
        ),
    }
}

/// [`render`] for each user.
async fn render_all(
    state: &AppState,
    users: Vec<User>,
    caller: &Caller,
) -> MgmtResult<Vec<UserDto>> {
    let mut out = Vec::with_capacity(users.len());
    for user in users {
        out.push(render(state, user, caller).await?);
    }
    Ok(out)
}

list_query! {
    #[derive(Debug, Deserialize, IntoParams)]
    #[into_params(parameter_in = Query)]
    #[serde(deny_unknown_fields)]
    pub struct ListQuery {
        ..paging,
        /// Search: `field:value` or `field:"value"` terms joined by spaces or
        /// `AND`; `*` is a wildcard. Fields: `user_id`, `email`, `name`,
        /// `given_name`, `family_name`, `nickname`, `username`,
        /// `phone_number`, `connection`.
        pub q: Option<String>,
        /// `field:1` (ascending) or `field:-1` (descending).
        pub sort: Option<String>,
        /// `v2` or `v3` (both answered by the same search).
        pub search_engine: Option<String>,
        /// Auth0's: results in a deterministic order (they always are here).
        pub primary_order: Option<bool>,
        /// Only users of this connection.
        pub connection: Option<String>,
        /// Comma-separated top-level properties to include (or, with
        /// `include_fields=false`, to exclude).
        pub fields: Option<String>,
        /// Whether `fields` lists properties to include (default) or to exclude.
        pub include_fields: Option<bool>,
    }
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct ByEmailQuery {
    /// The email, in any case.
    pub email: String,
}

pub(super) fn not_found() -> MgmtError {
    MgmtError::not_found("inexistent_user", "The user does not exist.")
}

/// Auth0's answer to a new user that collides with another one; the reason
/// header says on what: `user_id_taken`, `email_taken`, `username_taken`.
fn user_exists(taken: Taken) -> MgmtError {
    MgmtError::conflict("auth0_idp_error", "The user already exists.").with_reason(taken.reason())
}

fn email_taken() -> MgmtError {
    MgmtError::conflict("auth0_idp_error", "The specified new email already exists.")
        .with_reason(Taken::Email.reason())
}

fn username_taken() -> MgmtError {
    MgmtError::conflict(
        "auth0_idp_error",
        "The specified new username already exists.",
    )
    .with_reason(Taken::Username.reason())
}

/// What another user already holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Taken {
    UserId,
    Email,
    Username,
}

impl Taken {
    fn reason(self) -> &'static str {
        match self {
            Self::UserId => "user_id_taken",
            Self::Email => "email_taken",
            Self::Username => "username_taken",
        }
    }
}

/// Which of `user`'s unique properties another user holds, if any: its id,
/// then its username, then its email (in its connection).
async fn taken(state: &AppState, user: &User) -> MgmtResult<Option<Taken>> {
    if state.store.get_user(&user.user_id).await?.is_some() {
        return Ok(Some(Taken::UserId));
    }
    if let Some(username) = &user.username
        && state
            .store
            .find_user_by_username(&user.connection, username)
            .await?
            .is_some()
    {
        return Ok(Some(Taken::Username));
    }
    if let Some(email) = &user.email
        && state
            .store
            .find_user_for_login(&user.connection, email)
            .await?
            .is_some()
    {
        return Ok(Some(Taken::Email));
    }
    Ok(None)
}

fn query_error(e: Invalid) -> MgmtError {
    MgmtError::bad_request(
        "invalid_query_string",
        format!(
            "Query validation error: '{}' on property {}.",
            e.problem, e.property
        ),
    )
}

/// A server-side failure: logged here, a generic 500 to the client.
fn internal(what: &str, error: &dyn std::fmt::Display) -> MgmtError {
    tracing::error!(%error, "{what}");
    MgmtError::new(
        StatusCode::INTERNAL_SERVER_ERROR,
        "internal_error",
        "The server could not complete the request.",
    )
}

/// argon2id, off the async runtime, through the server's password gate (full:
/// 503 `temporarily_unavailable` with `Retry-After`).
async fn hash_password(state: &AppState, password: Secret<String>) -> MgmtResult<String> {
    match gate::hash_password(state, password).await {
        Ok(hash) => Ok(hash),
        Err(gate::HashFailure::Busy(_)) => Err(MgmtError::new(
            StatusCode::SERVICE_UNAVAILABLE,
            "temporarily_unavailable",
            "Too many password operations at once; retry shortly.",
        )),
        Err(e) => Err(internal("password hashing failed", &e)),
    }
}

async fn find(state: &AppState, id: &str) -> MgmtResult<User> {
    state.store.get_user(id).await?.ok_or_else(not_found)
}

/// List or search users.
#[utoipa::path(get, path = "/api/v2/users", tag = "users", params(ListQuery),
    security(("bearer" = ["read:users"])),
    responses((status = 200, body = [UserDto], description = "The users; with include_totals, {start, limit, length, total, users}"),
        (status = 400, body = ErrorBody), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody)))]
async fn list(
    caller: Caller,
    State(state): State<AppState>,
    QueryOf(q): QueryOf<ListQuery>,
) -> MgmtResult<Response> {
    caller.require("read:users")?;
    let paging = q.paging()?;
    // Results are always in a deterministic order: `primary_order` is moot.
    let _ = q.primary_order;
    // Auth0's engines v2 and v3 take the same queries here.
    if let Some(engine) = q.search_engine.as_deref()
        && !matches!(engine, "v2" | "v3")
    {
        return Err(query_error(Invalid::new(
            "search_engine",
            "must be v2 or v3",
        )));
    }
    let mut filters = match q.q.as_deref() {
        Some(text) => parse_search(text).map_err(query_error)?,
        None => Vec::new(),
    };
    if let Some(connection) = q.connection {
        if connection.is_empty() || connection.contains('*') {
            return Err(query_error(Invalid::new(
                "connection",
                "must be a connection name",
            )));
        }
        filters.push(UserFilter {
            field: UserField::Connection,
            pattern: connection,
        });
    }
    let sort = q
        .sort
        .as_deref()
        .map(parse_sort)
        .transpose()
        .map_err(query_error)?;
    let (found, total) = state
        .store
        .list_users(&UserQuery { filters, sort }, paging.page())
        .await?;
    let items: Vec<UserDto> = render_all(&state, found, &caller).await?;
    let items = project(items, q.fields.as_deref(), q.include_fields);
    Ok(paged_listing("users", items, total, paging))
}

/// Create a user in a database connection.
#[utoipa::path(post, path = "/api/v2/users", tag = "users", request_body = CreateUser,
    security(("bearer" = ["create:users"])),
    responses((status = 201, body = UserDto), (status = 400, body = ErrorBody), (status = 403, body = ErrorBody),
        (status = 409, body = ErrorBody, description = "The id is taken, or the connection already has a user with this email or username")))]
async fn create(
    caller: Caller,
    State(state): State<AppState>,
    Payload(body): Payload<CreateUser>,
) -> MgmtResult<Response> {
    caller.require("create:users")?;
    if body.verify_email == Some(true) {
        tracing::debug!("verify_email ignored: Tessera sends no email");
    }
    let found = match body.connection.as_deref() {
        Some(name) => state.store.get_connection_by_name(name).await?,
        None => None,
    };
    let NewDatabaseUser { user, password } = users::create(body, found.as_ref(), state.clock.now())
        .map_err(|e| match e {
            CreateError::Invalid(e) => MgmtError::from(e),
            CreateError::Username(e) => MgmtError::from(e),
            CreateError::Rng(e) => internal("no randomness for a user id", &e),
        })?;
    // Refuse a duplicate before paying for a hash; the unique indexes decide
    // races (and the conflict is then read back to say what was taken).
    if let Some(what) = taken(&state, &user).await? {
        return Err(user_exists(what));
    }
    let hash = hash_password(&state, password).await?;
    match state.store.create_user(&user, Some(&hash)).await {
        Ok(()) => {}
        Err(StoreError::Conflict(_)) => {
            return Err(user_exists(
                taken(&state, &user).await?.unwrap_or(Taken::Email),
            ));
        }
        Err(e) => return Err(e.into()),
    }
    Ok((
        StatusCode::CREATED,
        Json(render(&state, user, &caller).await?),
    )
        .into_response())
}

/// Get a user.
#[utoipa::path(get, path = "/api/v2/users/{id}", tag = "users",
    params(FieldsQuery, ("id" = String, Path, description = "The user's id, e.g. auth0|0123456789abcdef01234567")),
    security(("bearer" = ["read:users"])),
    responses((status = 200, body = UserDto), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)))]
async fn get_one(
    caller: Caller,
    State(state): State<AppState>,
    Path(id): Path<String>,
    QueryOf(fields): QueryOf<FieldsQuery>,
) -> MgmtResult<Response> {
    caller.require("read:users")?;
    let user = find(&state, &id).await?;
    Ok(projected(render(&state, user, &caller).await?, &fields))
}

/// Update a user. With only `update:users_app_metadata`, only `app_metadata`
/// may change. A new `password` or `blocked: true` ends the user's sessions:
/// SSO sessions and every refresh-token family, with its access tokens.
#[utoipa::path(patch, path = "/api/v2/users/{id}", tag = "users", request_body = UpdateUser,
    params(("id" = String, Path, description = "The user's id")),
    security(("bearer" = ["update:users"]), ("bearer" = ["update:users_app_metadata"])),
    responses((status = 200, body = UserDto), (status = 400, body = ErrorBody), (status = 403, body = ErrorBody),
        (status = 404, body = ErrorBody), (status = 409, body = ErrorBody, description = "The new email or username is taken in the connection")))]
async fn update(
    caller: Caller,
    State(state): State<AppState>,
    facts: crate::audit::RequestFacts,
    Path(id): Path<String>,
    Payload(mut body): Payload<UpdateUser>,
) -> MgmtResult<Json<UserDto>> {
    let full = caller.has("update:users");
    if !full && !caller.has("update:users_app_metadata") {
        return Err(MgmtError::insufficient_scope(
            "update:users update:users_app_metadata",
        ));
    }
    if !full && body.touches_more_than_app_metadata() {
        return Err(MgmtError::insufficient_scope("update:users"));
    }
    if body.is_empty() {
        return Err(MgmtError::invalid_body(
            "(body)",
            "Too few properties defined (0), must be at least 1",
        ));
    }
    let mut user = find(&state, &id).await?;
    if let Some(c) = &body.connection
        && *c != user.connection
    {
        return Err(MgmtError::invalid_body(
            "connection",
            "must be the user's own connection",
        ));
    }
    let needs_connection = body.password.is_some() || body.username.is_some();
    let conn = if needs_connection {
        if !is_database_user(&user) {
            let property = if body.password.is_some() {
                "password"
            } else {
                "username"
            };
            return Err(MgmtError::invalid_body(
                property,
                "only users of a database connection have one",
            ));
        }
        Some(
            state
                .store
                .get_connection_by_name(&user.connection)
                .await?
                .ok_or_else(|| {
                    MgmtError::invalid_body("connection", "the user's connection no longer exists")
                })?,
        )
    } else {
        None
    };
    if let (Some(p), Some(conn)) = (&body.password, &conn) {
        check_password(&PasswordPolicy::from_options(&conn.options), p)?;
    }
    if let (Some(u), Some(conn)) = (&body.username, &conn) {
        body.username = Some(check_username(conn, u)?);
    }
    let old_email = user.email.clone();
    let old_username = user.username.clone();
    let ends_sessions = body.ends_sessions();
    let password = users::apply_changes(&mut user, body, state.clock.now())?;
    let hash = match password {
        Some(p) => Some(hash_password(&state, p).await?),
        None => None,
    };
    match state.store.update_user(&user, hash.as_deref()).await {
        Ok(true) => {}
        Ok(false) => return Err(not_found()),
        Err(StoreError::Conflict(_)) => {
            // Which one: read back whether another user holds the new username.
            let username_clash = match &user.username {
                Some(u) if user.username != old_username => state
                    .store
                    .find_user_by_username(&user.connection, u)
                    .await?
                    .is_some_and(|other| other.user_id != user.user_id),
                _ => false,
            };
            if username_clash {
                return Err(username_taken());
            }
            if user.email != old_email {
                return Err(email_taken());
            }
            return Err(StoreError::Conflict("user".into()).into());
        }
        Err(e) => return Err(e.into()),
    }
    if hash.is_some() {
        // Besides the operation's `sapi`, Auth0 logs the change itself.
        let event = crate::audit::password_event(
            &state,
            tessera_core::log_event::LogType::SuccessChangePassword,
            &facts,
            &user,
        );
        state.logs.record(event);
    }
    if ends_sessions {
        // After the store has the new password or the block, so nothing opened
        // with the old state outlives this answer.
        let (sessions, families) = state.end_user_sessions(&user.user_id).await?;
        tracing::info!(user_id = %user.user_id, sessions, families, by = %caller.claims.client_id, "user sessions ended by a password change or block");
    }
    Ok(Json(render(&state, user, &caller).await?))
}

/// Delete a user.
#[utoipa::path(delete, path = "/api/v2/users/{id}", tag = "users",
    params(("id" = String, Path, description = "The user's id")),
    security(("bearer" = ["delete:users"])),
    responses((status = 204), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)))]
async fn delete(
    caller: Caller,
    State(state): State<AppState>,
    Path(id): Path<String>,
) -> MgmtResult<StatusCode> {
    caller.require("delete:users")?;
    if !state.store.delete_user(&id).await? {
        return Err(not_found());
    }
    Ok(StatusCode::NO_CONTENT)
}

/// End every session of a user: the SSO sessions (the next `/authorize`
/// shows the login page) and every refresh-token family, with the access
/// tokens issued under them.
#[utoipa::path(delete, path = "/api/v2/users/{id}/sessions", tag = "users",
    params(("id" = String, Path, description = "The user's id")),
    security(("bearer" = ["delete:sessions"])),
    responses((status = 204), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)))]
async fn delete_sessions(
    caller: Caller,
    State(state): State<AppState>,
    Path(id): Path<String>,
) -> MgmtResult<StatusCode> {
    caller.require("delete:sessions")?;
    let user = find(&state, &id).await?;
    let (sessions, families) = state.end_user_sessions(&user.user_id).await?;
    tracing::info!(user_id = %user.user_id, sessions, families, by = %caller.claims.client_id, "user sessions ended");
    Ok(StatusCode::NO_CONTENT)
}

/// Users with this email, in every connection (the email in any case).
#[utoipa::path(get, path = "/api/v2/users-by-email", tag = "users", params(ByEmailQuery),
    security(("bearer" = ["read:users"])),
    responses((status = 200, body = [UserDto]), (status = 400, body = ErrorBody), (status = 403, body = ErrorBody)))]
async fn by_email(
    caller: Caller,
    State(state): State<AppState>,
    QueryOf(q): QueryOf<ByEmailQuery>,
) -> MgmtResult<Json<Vec<UserDto>>> {
    caller.require("read:users")?;
    let found = state.store.users_by_email(&q.email).await?;
    Ok(Json(render_all(&state, found, &caller).await?))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn idp_tokens_need_the_scope() {
        let dto = IdentityDto {
            access_token: Some("at".into()),
            refresh_token: Some("rt".into()),
            expires_in: Some(60),
            ..IdentityDto::from(Identity {
                connection: "c".into(),
                user_id: "u".into(),
                provider: "oidc".into(),
                is_social: false,
            })
        };
        assert_eq!(dto.clone().gated(true), dto);
        let hidden = serde_json::to_value(dto.gated(false)).unwrap();
        assert_eq!(
            hidden,
            serde_json::json!({"connection": "c", "user_id": "u", "provider": "oidc", "isSocial": false})
        );
    }
}
