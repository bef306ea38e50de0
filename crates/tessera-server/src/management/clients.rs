//! `/api/v2/clients`: applications. As in Auth0, anything that creates or
//! replaces a secret on an existing client (`client_secret` on update,
//! `rotate-secret`, a first secret for a client that had none) needs
//! `update:client_keys`; changing `token_endpoint_auth_method` never removes,
//! replaces or reveals a secret. A secret is returned once when Tessera makes it
//! (creation, rotation, a first secret) and otherwise only to callers holding
//! `read:client_keys`.

use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde::Deserialize;
use tessera_core::bootstrap::seal_client_secret;
use tessera_core::manage::client_secrets::{
    self, READ_CLIENT_KEYS, SecretPlan, UPDATE_CLIENT_KEYS,
};
use tessera_core::manage::clients::{self, ClientChanges, ClientView, CreateError, NewClient};
use tessera_core::model::{AppType, Client, ClientSecret};
use tessera_core::revocation::revocation_expires_at;
use tessera_core::store::{ClientFilter, Revocation, SecretChange, StoreError};
use utoipa::IntoParams;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::auth::Caller;

const UPDATE_CLIENT_CREDENTIALS: &str = "update:client_credentials";
use super::error::{ErrorBody, MgmtError, MgmtResult};
use super::extract::{FieldsQuery, Payload, QueryOf, project, projected};
use super::paging::{ListParams, list_query, paged_listing};
use crate::state::AppState;

pub fn routes(api: OpenApiRouter<AppState>) -> OpenApiRouter<AppState> {
    api.routes(routes!(list, create))
        .routes(routes!(get_one, update, delete))
        .routes(routes!(rotate_secret))
}

list_query! {
    #[derive(Debug, Deserialize, IntoParams)]
    #[into_params(parameter_in = Query)]
    #[serde(deny_unknown_fields)]
    pub struct ListQuery {
        ..paging_and_checkpoint,
        /// Only these app types (comma separated).
        pub app_type: Option<String>,
        /// Only first-party (true) or third-party (false) clients.
        pub is_first_party: Option<bool>,
        /// Only Auth0's global client (true), which Tessera does not have,
        /// or only the others (false).
        pub is_global: Option<bool>,
        /// Only the client with this external id; Tessera's clients have none.
        pub external_client_id: Option<String>,
        /// Auth0's query on the clients' organization grants
        /// (`client_grant.organization_id`, `client_grant.allow_any_organization`);
        /// Tessera has no organizations, so only an empty `q` is accepted.
        pub q: Option<String>,
        /// Comma-separated top-level properties to include (or, with
        /// `include_fields=false`, to exclude).
        pub fields: Option<String>,
        /// Whether `fields` lists properties to include (default) or to exclude.
        pub include_fields: Option<bool>,
    }
}

fn not_found() -> MgmtError {
    MgmtError::not_found("inexistent_client", "The client does not exist.")
}

fn internal(e: impl std::fmt::Display) -> MgmtError {
    MgmtError::from(StoreError::Backend(e.to_string()))
}

fn create_error(e: CreateError) -> MgmtError {
    match e {
        CreateError::Invalid(invalid) => invalid.into(),
        CreateError::Rng(e) => internal(e),
    }
}

/// Reading clients takes `read:clients` or `read:client_keys` (Auth0's rule).
fn require_read(caller: &Caller) -> MgmtResult<()> {
    if caller.has("read:clients") || caller.has("read:client_keys") {
        Ok(())
    } else {
        Err(MgmtError::insufficient_scope(
            "read:clients read:client_keys",
        ))
    }
}

/// The stored secret in clear, for a caller holding `read:client_keys`.
fn shown_secret(
    state: &AppState,
    caller: &Caller,
    client_id: &str,
    stored: Option<&ClientSecret>,
) -> MgmtResult<Option<String>> {
    let Some(stored) = stored.filter(|_| caller.has(READ_CLIENT_KEYS)) else {
        return Ok(None);
    };
    match clients::reveal_secret(&state.master, client_id, stored) {
        Some(secret) => Ok(Some(secret.expose().clone())),
        None => Err(MgmtError::from(StoreError::Corrupt(format!(
            "the secret of client {client_id} does not open under the master key"
        )))),
    }
}

/// Revokes every token `client_id` holds (for `audience`, or all) issued up to
/// now. The entry lasts as long as such a token can: for the audience, or the
/// longest for every audience, counting lifetimes the API had before it was
/// lowered or deleted (`revocation_expires_at`).
pub(super) async fn revoke_client_tokens(
    state: &AppState,
    client_id: &str,
    audience: Option<String>,
) -> MgmtResult<()> {
    let now = state.clock.now();
    let expires_at = revocation_expires_at(state.store.as_ref(), audience.as_deref(), now).await?;
    state
        .revocations
        .revoke(Revocation::Client {
            client_id: client_id.to_owned(),
            audience,
            issued_before: now,
            expires_at,
        })
        .await?;
    Ok(())
}

async fn find(state: &AppState, id: &str) -> MgmtResult<(Client, Option<ClientSecret>)> {
    state.store.get_client(id).await?.ok_or_else(not_found)
}

/// List clients.
#[utoipa::path(get, path = "/api/v2/clients", tag = "clients", params(ListQuery),
    security(("bearer" = ["read:clients"]), ("bearer" = ["read:client_keys"])),
    responses((status = 200, body = [ClientView]), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody)))]
async fn list(
    caller: Caller,
    State(state): State<AppState>,
    QueryOf(q): QueryOf<ListQuery>,
) -> MgmtResult<Response> {
    require_read(&caller)?;
    let paging = q.paging()?;
    let mut app_types = Vec::new();
    for t in q.app_type.as_deref().unwrap_or("").split(',') {
        let t = t.trim();
        if t.is_empty() {
            continue;
        }
        let Ok(t) = t.parse::<AppType>() else {
            return Err(MgmtError::bad_request(
                "invalid_query_string",
                "Query validation error: 'app_type' must list native, spa, regular_web or non_interactive.",
            ));
        };
        app_types.push(t);
    }
    if q.q.as_deref().is_some_and(|v| !v.trim().is_empty()) {
        return Err(MgmtError::bad_request(
            "invalid_query_string",
            "Query validation error: 'q' filters on organizations, which this server does not have.",
        ));
    }
    let filter = ClientFilter {
        app_types,
        is_first_party: q.is_first_party,
    };
    // Only Auth0's global client, or one with an external id: none here.
    let (items, total) = if q.is_global == Some(true) || q.external_client_id.is_some() {
        (Vec::new(), 0)
    } else {
        state.store.list_clients(&filter, paging.page()).await?
    };
    let mut out = Vec::with_capacity(items.len());
    for (client, stored) in items {
        let secret = shown_secret(&state, &caller, &client.client_id, stored.as_ref())?;
        out.push(ClientView::new(client, secret));
    }
    let out = project(out, q.fields.as_deref(), q.include_fields);
    Ok(paged_listing("clients", out, total, paging))
}

/// Create a client. A confidential client's secret is in the answer.
#[utoipa::path(post, path = "/api/v2/clients", tag = "clients", request_body = NewClient,
    security(("bearer" = ["create:clients"])),
    responses((status = 201, body = ClientView), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody), (status = 409, body = ErrorBody)))]
async fn create(
    caller: Caller,
    State(state): State<AppState>,
    Payload(body): Payload<NewClient>,
) -> MgmtResult<Response> {
    caller.require("create:clients")?;
    let created = clients::create(&state.master, body).map_err(create_error)?;
    state
        .store
        .create_client(
            &created.client,
            created.stored_secret.as_ref(),
            state.clock.now(),
        )
        .await?;
    let secret = created.secret.map(|s| s.expose().clone());
    Ok((
        StatusCode::CREATED,
        Json(ClientView::new(created.client, secret)),
    )
        .into_response())
}

/// Get a client.
#[utoipa::path(get, path = "/api/v2/clients/{id}", tag = "clients",
    params(FieldsQuery, ("id" = String, Path, description = "The client id")),
    security(("bearer" = ["read:clients"]), ("bearer" = ["read:client_keys"])),
    responses((status = 200, body = ClientView), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)))]
async fn get_one(
    caller: Caller,
    State(state): State<AppState>,
    Path(id): Path<String>,
    QueryOf(fields): QueryOf<FieldsQuery>,
) -> MgmtResult<Response> {
    require_read(&caller)?;
    let (client, stored) = find(&state, &id).await?;
    let secret = shown_secret(&state, &caller, &client.client_id, stored.as_ref())?;
    Ok(projected(ClientView::new(client, secret), &fields))
}

/// A concurrent update won: 409 in Auth0's shape; nothing was written, and
/// the caller reads the client again and retries.
fn changed_meanwhile(e: StoreError) -> MgmtError {
    match e {
        StoreError::Conflict(_) => MgmtError::conflict(
            "client_changed",
            "The client was changed by another request meanwhile; read it again and retry.",
        ),
        other => other.into(),
    }
}

/// Update a client. `client_secret` needs `update:client_keys`, and so does a
/// change that makes a client without a secret confidential (the new secret is
/// in the answer, once). Changing `token_endpoint_auth_method` never removes,
/// replaces or reveals a secret; the answer shows the stored secret only to
/// `read:client_keys`. Written only if the client is still the version read
/// (409 otherwise).
#[utoipa::path(patch, path = "/api/v2/clients/{id}", tag = "clients", request_body = ClientChanges,
    params(("id" = String, Path, description = "The client id")),
    security(("bearer" = ["update:clients"]), ("bearer" = ["update:client_keys"])),
    responses((status = 200, body = ClientView), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody), (status = 409, body = ErrorBody)))]
async fn update(
    caller: Caller,
    State(state): State<AppState>,
    Path(id): Path<String>,
    Payload(mut body): Payload<ClientChanges>,
) -> MgmtResult<Json<ClientView>> {
    // Auth0: either scope updates a client; only update:client_keys touches keys.
    let keys = caller.has(UPDATE_CLIENT_KEYS);
    if !keys && !caller.has("update:clients") {
        return Err(MgmtError::insufficient_scope(
            "update:clients update:client_keys",
        ));
    }
    let requested = body.client_secret.take();
    if requested.is_some() && !keys {
        return Err(MgmtError::insufficient_scope(UPDATE_CLIENT_KEYS));
    }
    let (mut client, stored) = find(&state, &id).await?;
    // The version this update changes: written back only if still stored.
    let read = client.clone();
    if clients::touches_authentication_methods(&client, &body) {
        // Auth0: configuring client_authentication_methods needs
        // update:client_credentials, so update:clients alone cannot enable a
        // key of the caller's choosing (or turn private_key_jwt off).
        caller.require(UPDATE_CLIENT_CREDENTIALS)?;
        let ids: Vec<String> = body
            .client_authentication_methods
            .iter()
            .flatten()
            .flat_map(|m| m.private_key_jwt_ids().map(str::to_owned))
            .collect();
        if !ids.is_empty() {
            let held = state.store.list_client_credentials(&id).await?;
            if let Some(unknown) = ids.iter().find(|i| !held.iter().any(|c| &&c.id == i)) {
                return Err(MgmtError::invalid_body(
                    "client_authentication_methods",
                    &format!(
                        "credential {} is not a credential of this client",
                        unknown.chars().take(64).collect::<String>()
                    ),
                ));
            }
        }
    }
    clients::apply_changes(&mut client, body)?;
    let mut plan = client_secrets::secret_plan(&client, stored.is_some(), requested)?;
    let leaves_private_key_jwt = read.uses_private_key_jwt() && !client.uses_private_key_jwt();
    if leaves_private_key_jwt && client.is_confidential() && plan == SecretPlan::Keep {
        // Back to a secret: a NEW one (shown once, needs update:client_keys),
        // never the secret private_key_jwt replaced.
        plan = SecretPlan::Generate;
    }
    if plan.touches_credentials() && !keys {
        // A client without a secret turned confidential: making its first
        // secret creates a credential.
        return Err(MgmtError::insufficient_scope(UPDATE_CLIENT_KEYS));
    }
    let (generated, sealed) = match &plan {
        SecretPlan::Keep => (None, None),
        SecretPlan::Generate => {
            let (secret, sealed) =
                clients::generate_secret(&state.master, &client.client_id).map_err(internal)?;
            (Some(secret), Some(sealed))
        }
        SecretPlan::Set(secret) => {
            let sealed = seal_client_secret(&state.master, &client.client_id, secret.expose())
                .map_err(internal)?;
            (None, Some(sealed))
        }
    };
    let change = match &sealed {
        Some(sealed) => SecretChange::Set(sealed),
        None => SecretChange::Keep,
    };
    if !state
        .store
        .update_client_if_unchanged(&read, &client, change, state.clock.now())
        .await
        .map_err(changed_meanwhile)?
    {
        return Err(not_found());
    }
    let enables_private_key_jwt = !read.uses_private_key_jwt() && client.uses_private_key_jwt();
    if (plan.touches_credentials() && stored.is_some()) || enables_private_key_jwt {
        // A replaced secret, or private_key_jwt replacing it: what the old
        // secret obtained goes, as on rotation.
        revoke_client_tokens(&state, &client.client_id, None).await?;
    }
    let secret = match generated {
        Some(secret) => Some(secret.expose().clone()),
        None => shown_secret(
            &state,
            &caller,
            &client.client_id,
            sealed.as_ref().or(stored.as_ref()),
        )?,
    };
    Ok(Json(ClientView::new(client, secret)))
}

/// Delete a client and its grants; its outstanding access tokens are revoked.
#[utoipa::path(delete, path = "/api/v2/clients/{id}", tag = "clients",
    params(("id" = String, Path, description = "The client id")),
    security(("bearer" = ["delete:clients"])),
    responses((status = 204), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)))]
async fn delete(
    caller: Caller,
    State(state): State<AppState>,
    Path(id): Path<String>,
) -> MgmtResult<StatusCode> {
    caller.require("delete:clients")?;
    if !state.store.delete_client(&id).await? {
        return Err(not_found());
    }
    revoke_client_tokens(&state, &id, None).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Rotate a client's secret. The old secret stops working at once and the
/// client's outstanding access tokens are revoked; the new secret is in the answer.
#[utoipa::path(post, path = "/api/v2/clients/{id}/rotate-secret", tag = "clients",
    params(("id" = String, Path, description = "The client id")),
    security(("bearer" = ["update:client_keys"])),
    responses((status = 200, body = ClientView), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)))]
async fn rotate_secret(
    caller: Caller,
    State(state): State<AppState>,
    Path(id): Path<String>,
) -> MgmtResult<Json<ClientView>> {
    caller.require("update:client_keys")?;
    let (client, _) = find(&state, &id).await?;
    if client.is_public() {
        return Err(MgmtError::bad_request(
            "operation_not_supported",
            "The client is public (token_endpoint_auth_method none): it does not use a secret.",
        ));
    }
    let (secret, sealed) =
        clients::generate_secret(&state.master, &client.client_id).map_err(internal)?;
    if !state
        .store
        .update_client_if_unchanged(
            &client,
            &client,
            SecretChange::Set(&sealed),
            state.clock.now(),
        )
        .await
        .map_err(changed_meanwhile)?
    {
        return Err(not_found());
    }
    // After the new secret is stored: every token the old one obtained is older.
    revoke_client_tokens(&state, &client.client_id, None).await?;
    Ok(Json(ClientView::new(client, Some(secret.expose().clone()))))
}
