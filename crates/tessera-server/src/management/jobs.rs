//! `POST /api/v2/jobs/verification-email` (scope `update:users`): sends the
//! user a verification email (the one the sign-ups send) and answers Auth0's
//! job object. Sending is queued, so the job is `pending`; Tessera keeps no
//! job records (`GET /api/v2/jobs/{id}` is not offered).

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::auth::Caller;
use super::error::{ErrorBody, MgmtError, MgmtResult};
use super::extract::{Payload, timestamp};
use crate::interactive::verify_email::send_verification;
use crate::state::AppState;

pub fn routes(api: OpenApiRouter<AppState>) -> OpenApiRouter<AppState> {
    api.routes(routes!(verification_email))
}

/// Whom to send a verification email.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct VerificationEmailJob {
    pub user_id: String,
    /// The application the email is for (must exist).
    pub client_id: Option<String>,
    /// Accepted for Auth0 compatibility (`{user_id, provider}`).
    #[allow(dead_code)]
    pub identity: Option<serde_json::Value>,
    #[allow(dead_code)]
    pub organization_id: Option<String>,
}

/// Auth0's job object.
#[derive(Debug, Serialize, ToSchema)]
pub struct JobDto {
    /// `verification_email`.
    #[serde(rename = "type")]
    pub kind: String,
    /// `pending`: the email is queued.
    pub status: String,
    pub created_at: String,
    pub id: String,
}

/// Send a verification email.
#[utoipa::path(post, path = "/api/v2/jobs/verification-email", tag = "jobs", request_body = VerificationEmailJob,
    security(("bearer" = ["update:users"])),
    responses((status = 201, body = JobDto), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody),
        (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)))]
async fn verification_email(
    caller: Caller,
    State(state): State<AppState>,
    Payload(body): Payload<VerificationEmailJob>,
) -> MgmtResult<(StatusCode, Json<JobDto>)> {
    caller.require("update:users")?;
    let user = state
        .store
        .get_user(&body.user_id)
        .await?
        .ok_or_else(|| MgmtError::not_found("inexistent_user", "The user does not exist."))?;
    if user.email.is_none() {
        return Err(MgmtError::invalid_body("user_id", "the user has no email"));
    }
    if user.email_verified {
        return Err(MgmtError::bad_request(
            "invalid_body",
            "The user's email is already verified.",
        ));
    }
    if let Some(id) = body.client_id.as_deref().filter(|c| !c.is_empty())
        && state.store.get_client(id).await?.is_none()
    {
        return Err(MgmtError::not_found(
            "inexistent_client",
            "The client does not exist.",
        ));
    }
    send_verification(&state, &user, body.client_id.as_deref()).await?;
    let id = tessera_core::ids::prefixed("job").map_err(|e| super::tickets::internal(&e))?;
    tracing::info!(user_id = %user.user_id, by = %caller.claims.client_id, "verification email job");
    Ok((
        StatusCode::CREATED,
        Json(JobDto {
            kind: "verification_email".into(),
            status: "pending".into(),
            created_at: timestamp(state.clock.now()),
            id,
        }),
    ))
}
