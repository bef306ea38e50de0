//! `/api/v2/keys/signing`: the keys tokens are signed with, in Auth0's shape.
//!
//! Tessera's keys are bare JWKs: there is no X.509 certificate, so Auth0's
//! `cert` and `pkcs7` members are never present. `thumbprint` is the kid (an
//! RFC 7638 JWK thumbprint, SHA-256, base64url) and `fingerprint` is the same
//! SHA-256 digest as colon-separated upper-case hex.

use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde::Serialize;
use tessera_core::clock::UnixTime;
use tessera_core::keys::{KeyError, KeyRecord, KeyState, RotationRefused};
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::auth::Caller;
use super::error::{ErrorBody, MgmtError, MgmtResult};
use super::extract::timestamp;
use crate::state::AppState;

pub fn routes(api: OpenApiRouter<AppState>) -> OpenApiRouter<AppState> {
    api.routes(routes!(list))
        .routes(routes!(rotate))
        .routes(routes!(get_one))
        .routes(routes!(revoke))
}

/// A signing key. Tessera keys carry no X.509 certificate: Auth0's `cert` and
/// `pkcs7` are omitted.
#[derive(Debug, Serialize, ToSchema)]
pub struct SigningKeyDto {
    /// The key id: its RFC 7638 JWK thumbprint.
    pub kid: String,
    /// The JWS algorithm: RS256, PS256, ES256 or EdDSA.
    pub alg: String,
    /// Tokens are signed with this key now.
    pub current: bool,
    /// Published, and next to sign after a rotation.
    pub next: bool,
    /// Signed before the last rotation; published while its tokens may be valid.
    pub previous: bool,
    pub revoked: bool,
    /// In `/.well-known/jwks.json` now.
    pub published: bool,
    /// When the key started signing (RFC 3339).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub current_since: Option<String>,
    /// When the key stopped signing (RFC 3339).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub current_until: Option<String>,
    /// When the key was revoked (RFC 3339).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub revoked_at: Option<String>,
    /// The RFC 7638 JWK thumbprint (SHA-256, base64url): equal to `kid`.
    pub thumbprint: String,
    /// The same SHA-256 JWK thumbprint as colon-separated upper-case hex.
    pub fingerprint: String,
}

fn fingerprint(thumbprint: &str) -> String {
    match URL_SAFE_NO_PAD.decode(thumbprint) {
        Ok(digest) => digest
            .iter()
            .map(|b| format!("{b:02X}"))
            .collect::<Vec<_>>()
            .join(":"),
        // Every kid Tessera makes decodes; anything else is shown as is.
        Err(_) => thumbprint.to_owned(),
    }
}

fn dto(r: &KeyRecord, now: UnixTime) -> SigningKeyDto {
    SigningKeyDto {
        kid: r.kid.clone(),
        alg: r.alg.as_str().to_owned(),
        current: r.state == KeyState::Current,
        next: r.state == KeyState::Next,
        previous: r.state == KeyState::Previous,
        revoked: r.state == KeyState::Revoked,
        published: r.is_published(now),
        current_since: r.activated_at.map(timestamp),
        current_until: r.retired_at.map(timestamp),
        revoked_at: r.revoked_at.map(timestamp),
        fingerprint: fingerprint(&r.kid),
        thumbprint: r.kid.clone(),
    }
}

fn not_found() -> MgmtError {
    MgmtError::not_found("inexistent_signing_key", "The signing key does not exist.")
}

fn key_error(e: KeyError) -> MgmtError {
    match e {
        KeyError::Refused(RotationRefused::UnknownKid(_)) => not_found(),
        KeyError::Refused(refused) => {
            MgmtError::conflict("rotation_refused", refused.to_string()).with_reason(refused.name())
        }
        KeyError::Conflict => MgmtError::conflict("conflict", KeyError::Conflict.to_string()),
        KeyError::Store(e) => e.into(),
        other => {
            tracing::error!(error = %other, "signing key operation failed");
            MgmtError::new(
                StatusCode::INTERNAL_SERVER_ERROR,
                "internal_error",
                "The server could not complete the request.",
            )
        }
    }
}

/// Current first, then next, then the others newest first.
fn ordered(mut records: Vec<KeyRecord>) -> Vec<KeyRecord> {
    records.sort_by_key(|r| {
        let rank = match r.state {
            KeyState::Current => 0,
            KeyState::Next => 1,
            KeyState::Previous => 2,
            KeyState::Revoked => 3,
        };
        (rank, -r.created_at)
    });
    records
}

/// List every signing key, revoked ones included.
#[utoipa::path(get, path = "/api/v2/keys/signing", tag = "keys",
    description = "Every signing key, revoked ones included. Tessera keys carry no X.509 certificate: Auth0's `cert` and `pkcs7` members are omitted. `thumbprint` is the kid (RFC 7638 JWK thumbprint); `fingerprint` is the same SHA-256 digest in colon-separated hex.",
    security(("bearer" = ["read:signing_keys"])),
    responses((status = 200, body = [SigningKeyDto]), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody)))]
async fn list(
    caller: Caller,
    State(state): State<AppState>,
) -> MgmtResult<Json<Vec<SigningKeyDto>>> {
    caller.require("read:signing_keys")?;
    let records = state.keys.list().await.map_err(key_error)?;
    let now = state.clock.now();
    Ok(Json(ordered(records).iter().map(|r| dto(r, now)).collect()))
}

/// Get a signing key by kid.
#[utoipa::path(get, path = "/api/v2/keys/signing/{kid}", tag = "keys",
    description = "One signing key. No `cert` or `pkcs7`: Tessera keys carry no X.509 certificate.",
    params(("kid" = String, Path, description = "The key id")),
    security(("bearer" = ["read:signing_keys"])),
    responses((status = 200, body = SigningKeyDto), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)))]
async fn get_one(
    caller: Caller,
    State(state): State<AppState>,
    Path(kid): Path<String>,
) -> MgmtResult<Json<SigningKeyDto>> {
    caller.require("read:signing_keys")?;
    let records = state.keys.list().await.map_err(key_error)?;
    let record = records
        .iter()
        .find(|r| r.kid == kid)
        .ok_or_else(not_found)?;
    Ok(Json(dto(record, state.clock.now())))
}

/// Rotate the signing key.
#[utoipa::path(post, path = "/api/v2/keys/signing/rotate", tag = "keys",
    description = "Promotes the next key to current (the answer is the new current key), retires the current key to previous and publishes a new next key. Refused (409 `rotation_refused`, the reason in `message`) until the next key has been published for the JWKS cache lifetime plus the key reload interval.",
    security(("bearer" = ["create:signing_keys"])),
    responses((status = 201, body = SigningKeyDto), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody), (status = 409, body = ErrorBody)))]
async fn rotate(caller: Caller, State(state): State<AppState>) -> MgmtResult<Response> {
    caller.require("create:signing_keys")?;
    let promoted = state.keys.rotate().await.map_err(key_error)?;
    tracing::info!(kid = %promoted.kid, "signing key rotated through the Management API");
    Ok((StatusCode::CREATED, Json(dto(&promoted, state.clock.now()))).into_response())
}

/// Revoke a signing key.
#[utoipa::path(put, path = "/api/v2/keys/signing/{kid}/revoke", tag = "keys",
    description = "Revokes a previous or next key: it leaves `/.well-known/jwks.json` at once on this node (on other nodes within the key reload interval), so tokens it signed stop verifying. The current key cannot be revoked (409 `rotation_refused`: rotate first); an already revoked key is a 409 too.",
    params(("kid" = String, Path, description = "The key id")),
    security(("bearer" = ["update:signing_keys"])),
    responses((status = 200, body = SigningKeyDto), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody), (status = 409, body = ErrorBody)))]
async fn revoke(
    caller: Caller,
    State(state): State<AppState>,
    Path(kid): Path<String>,
) -> MgmtResult<Json<SigningKeyDto>> {
    caller.require("update:signing_keys")?;
    let revoked = state.keys.revoke(&kid).await.map_err(key_error)?;
    tracing::info!(kid = %revoked.kid, "signing key revoked through the Management API");
    Ok(Json(dto(&revoked, state.clock.now())))
}
