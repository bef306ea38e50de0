//! `/api/v2/clients/{id}/credentials`: the public keys a client registers for
//! `private_key_jwt`, in Auth0's shapes and scopes (`read:`, `create:`,
//! `update:`, `delete:client_credentials`). A credential verifies nothing until
//! the client enables it (`client_authentication_methods`, which needs
//! `update:client_credentials` too). Deleting an enabled credential is allowed
//! (Auth0: "may be enabled or disabled"): it is dropped from the client's list
//! in the same transaction and stops verifying at once.

use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde::Serialize;
use tessera_core::manage::client_credentials::{
    self, CredentialChanges, MAX_STORED_CREDENTIALS, NewCredential,
};
use tessera_core::manage::clients::CreateError;
use tessera_core::model::ClientCredential;
use tessera_core::store::StoreError;
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::auth::Caller;
use super::error::{ErrorBody, MgmtError, MgmtResult};
use super::extract::{Payload, timestamp};
use crate::state::AppState;

pub fn routes(api: OpenApiRouter<AppState>) -> OpenApiRouter<AppState> {
    api.routes(routes!(list, create))
        .routes(routes!(get_one, update, delete))
}

/// A credential in Auth0's shape. The key itself is never answered.
#[derive(Debug, Serialize, ToSchema)]
pub struct ClientCredentialDto {
    /// `cred_…`.
    pub id: String,
    pub name: String,
    /// The `kid` an assertion's header names to select this key.
    pub kid: String,
    /// `RS256`, `RS384`, `PS256` or `ES256`.
    pub alg: String,
    /// `public_key`.
    pub credential_type: String,
    /// The certificate's subject, when a certificate was registered.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub subject_dn: Option<String>,
    /// The certificate's SHA-256 (base64url), when one was registered.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub thumbprint_sha256: Option<String>,
    pub created_at: String,
    pub updated_at: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub expires_at: Option<String>,
}

impl From<ClientCredential> for ClientCredentialDto {
    fn from(c: ClientCredential) -> Self {
        Self {
            id: c.id,
            name: c.name,
            kid: c.kid,
            alg: c.alg.as_str().to_owned(),
            credential_type: c.credential_type,
            subject_dn: c.subject_dn,
            thumbprint_sha256: c.thumbprint_sha256,
            created_at: timestamp(c.created_at),
            updated_at: timestamp(c.updated_at),
            expires_at: c.expires_at.map(timestamp),
        }
    }
}

fn client_not_found() -> MgmtError {
    MgmtError::not_found("inexistent_client", "The client does not exist.")
}

fn not_found() -> MgmtError {
    MgmtError::not_found("inexistent_credential", "The credential does not exist.")
}

async fn require_client(state: &AppState, client_id: &str) -> MgmtResult<()> {
    match state.store.get_client(client_id).await? {
        Some(_) => Ok(()),
        None => Err(client_not_found()),
    }
}

/// List a client's credentials.
#[utoipa::path(get, path = "/api/v2/clients/{id}/credentials", tag = "clients",
    params(("id" = String, Path, description = "The client id")),
    security(("bearer" = ["read:client_credentials"])),
    responses((status = 200, body = [ClientCredentialDto]), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)))]
async fn list(
    caller: Caller,
    State(state): State<AppState>,
    Path(id): Path<String>,
) -> MgmtResult<Json<Vec<ClientCredentialDto>>> {
    caller.require("read:client_credentials")?;
    require_client(&state, &id).await?;
    let items = state.store.list_client_credentials(&id).await?;
    Ok(Json(items.into_iter().map(Into::into).collect()))
}

/// Create a client credential (a public key: PEM, certificate or JWK).
#[utoipa::path(post, path = "/api/v2/clients/{id}/credentials", tag = "clients",
    request_body = NewCredential,
    params(("id" = String, Path, description = "The client id")),
    security(("bearer" = ["create:client_credentials"])),
    responses((status = 201, body = ClientCredentialDto), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody), (status = 409, body = ErrorBody)))]
async fn create(
    caller: Caller,
    State(state): State<AppState>,
    Path(id): Path<String>,
    Payload(body): Payload<NewCredential>,
) -> MgmtResult<Response> {
    caller.require("create:client_credentials")?;
    require_client(&state, &id).await?;
    let credential =
        client_credentials::build(&id, body, state.clock.now()).map_err(|e| match e {
            CreateError::Invalid(invalid) => invalid.into(),
            CreateError::Rng(e) => MgmtError::from(StoreError::Backend(e.to_string())),
        })?;
    match state
        .store
        .create_client_credential(&credential, MAX_STORED_CREDENTIALS)
        .await
    {
        Ok(true) => {}
        Ok(false) => {
            return Err(MgmtError::bad_request(
                "too_many_credentials",
                format!("A client may hold at most {MAX_STORED_CREDENTIALS} credentials."),
            ));
        }
        Err(StoreError::Conflict(_)) => {
            return Err(MgmtError::conflict(
                "credential_conflict",
                "The client already has a credential with this kid.",
            ));
        }
        Err(e) => return Err(e.into()),
    }
    Ok((
        StatusCode::CREATED,
        Json(ClientCredentialDto::from(credential)),
    )
        .into_response())
}

/// Get a client credential.
#[utoipa::path(get, path = "/api/v2/clients/{id}/credentials/{credential_id}", tag = "clients",
    params(("id" = String, Path, description = "The client id"),
           ("credential_id" = String, Path, description = "The credential id")),
    security(("bearer" = ["read:client_credentials"])),
    responses((status = 200, body = ClientCredentialDto), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)))]
async fn get_one(
    caller: Caller,
    State(state): State<AppState>,
    Path((id, credential_id)): Path<(String, String)>,
) -> MgmtResult<Json<ClientCredentialDto>> {
    caller.require("read:client_credentials")?;
    let found = state
        .store
        .get_client_credential(&id, &credential_id)
        .await?;
    Ok(Json(found.ok_or_else(not_found)?.into()))
}

/// Change a client credential's `expires_at`.
#[utoipa::path(patch, path = "/api/v2/clients/{id}/credentials/{credential_id}", tag = "clients",
    request_body = CredentialChanges,
    params(("id" = String, Path, description = "The client id"),
           ("credential_id" = String, Path, description = "The credential id")),
    security(("bearer" = ["update:client_credentials"])),
    responses((status = 200, body = ClientCredentialDto), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)))]
async fn update(
    caller: Caller,
    State(state): State<AppState>,
    Path((id, credential_id)): Path<(String, String)>,
    Payload(body): Payload<CredentialChanges>,
) -> MgmtResult<Json<ClientCredentialDto>> {
    caller.require("update:client_credentials")?;
    let mut credential = state
        .store
        .get_client_credential(&id, &credential_id)
        .await?
        .ok_or_else(not_found)?;
    let now = state.clock.now();
    if let Some(expires_at) = body.expires_at {
        credential.expires_at = client_credentials::expiry(expires_at.as_deref(), now)?;
    }
    credential.updated_at = now;
    if !state.store.update_client_credential(&credential).await? {
        return Err(not_found());
    }
    Ok(Json(credential.into()))
}

/// Delete a client credential (enabled or not: it stops verifying at once;
/// when the client had enabled it, the client's tokens are revoked).
#[utoipa::path(delete, path = "/api/v2/clients/{id}/credentials/{credential_id}", tag = "clients",
    params(("id" = String, Path, description = "The client id"),
           ("credential_id" = String, Path, description = "The credential id")),
    security(("bearer" = ["delete:client_credentials"])),
    responses((status = 204), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)))]
async fn delete(
    caller: Caller,
    State(state): State<AppState>,
    Path((id, credential_id)): Path<(String, String)>,
) -> MgmtResult<StatusCode> {
    caller.require("delete:client_credentials")?;
    // Was it one the client authenticates with? Then what it obtained goes
    // with it (as when a secret is replaced).
    let enabled = state.store.get_client(&id).await?.is_some_and(|(c, _)| {
        c.client_authentication_methods
            .as_ref()
            .is_some_and(|m| m.private_key_jwt_ids().any(|i| i == credential_id))
    });
    if !state
        .store
        .delete_client_credential(&id, &credential_id, state.clock.now())
        .await?
    {
        return Err(not_found());
    }
    if enabled {
        super::clients::revoke_client_tokens(&state, &id, None).await?;
    }
    Ok(StatusCode::NO_CONTENT)
}
