//! User import and export jobs (Auth0's `/api/v2/jobs/users-imports`,
//! `/users-exports`, `/jobs/{id}`, `/jobs/{id}/errors`). The handlers store
//! the job (and an import's file, streamed into chunk rows as it arrives,
//! never held whole) and wake this node's worker (`crate::jobs`), which runs
//! it in the background.

use axum::Json;
use axum::extract::multipart::{Field, MultipartError, MultipartRejection};
use axum::extract::{Multipart, Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde::{Deserialize, Serialize};
use tessera_core::jobs::{
    ExportField, ExportFormat, FailedRow, Job, JobKind, JobStatus, JobSummary,
};
use tessera_core::manage::users::DATABASE_STRATEGY;
use tessera_core::model::Connection;
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::auth::Caller;
use super::error::{ErrorBody, MgmtError, MgmtResult};
use super::extract::{Payload, timestamp};
use crate::jobs::CHUNK_SIZE;
use crate::state::AppState;

/// The import route (its body limit is `jobs.import_limit`).
pub const IMPORT_PATH: &str = "/api/v2/jobs/users-imports";

/// The most failed rows `GET /jobs/{id}/errors` lists.
const MAX_ERRORS: i64 = 10_000;

pub fn routes(api: OpenApiRouter<AppState>) -> OpenApiRouter<AppState> {
    api.routes(routes!(users_imports))
        .routes(routes!(users_exports))
        .routes(routes!(get_job))
        .routes(routes!(job_errors))
}

/// Auth0's job object.
#[derive(Debug, Serialize, ToSchema)]
pub struct JobView {
    pub id: String,
    /// `users_import` or `users_export`.
    #[serde(rename = "type")]
    pub kind: String,
    /// `pending`, `processing`, `completed` or `failed`.
    pub status: String,
    pub created_at: String,
    pub connection_id: String,
    /// The connection's name.
    pub connection: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub external_id: Option<String>,
    /// Imports: the counts so far.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<Object>)]
    pub summary: Option<JobSummary>,
    /// Exports: `json` or `csv`.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<String>)]
    pub format: Option<ExportFormat>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub limit: Option<i64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub fields: Option<Vec<ExportField>>,
    /// Exports, once completed: the file's download link, working for a
    /// limited time (`jobs.export_link_lifetime`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub location: Option<String>,
    /// Why a failed job failed.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub status_details: Option<String>,
}

fn view(state: &AppState, job: Job) -> JobView {
    let location = match (job.kind, job.status) {
        (JobKind::UsersExport, JobStatus::Completed) => {
            crate::jobs::download::location(state, &job)
        }
        _ => None,
    };
    JobView {
        kind: match job.kind {
            JobKind::UsersImport => "users_import",
            JobKind::UsersExport => "users_export",
        }
        .into(),
        status: job.status.public().into(),
        created_at: timestamp(job.created_at),
        summary: (job.kind == JobKind::UsersImport && job.status != JobStatus::Uploading)
            .then_some(job.summary),
        location,
        status_details: job.failure,
        id: job.id,
        connection_id: job.connection_id,
        connection: job.connection,
        external_id: job.external_id,
        format: job.format,
        limit: job.limit,
        fields: job.fields,
    }
}

fn internal(e: &dyn std::fmt::Display) -> MgmtError {
    tracing::error!(error = %e, "a job could not be created");
    MgmtError::new(
        StatusCode::INTERNAL_SERVER_ERROR,
        "internal_error",
        "The server could not complete the request.",
    )
}

/// The database connection `id`, or Auth0's 400.
async fn database_connection(state: &AppState, id: &str) -> MgmtResult<Connection> {
    match state.store.get_connection(id).await? {
        Some(c) if c.strategy == DATABASE_STRATEGY => Ok(c),
        Some(_) => Err(MgmtError::invalid_body(
            "connection_id",
            "The connection must be a database connection (strategy auth0)",
        )),
        None => Err(MgmtError::invalid_body(
            "connection_id",
            "The connection does not exist",
        )),
    }
}

fn multipart_error(e: MultipartError) -> MgmtError {
    let status = e.status();
    if status == StatusCode::PAYLOAD_TOO_LARGE {
        return MgmtError::new(
            status,
            "payload_too_large",
            "The users file is larger than this server accepts (jobs.import_limit).",
        );
    }
    MgmtError::new(
        StatusCode::BAD_REQUEST,
        "invalid_body",
        format!(
            "The multipart/form-data body is malformed: {}",
            e.body_text()
        ),
    )
}

async fn text_field(field: Field<'_>, name: &str) -> MgmtResult<String> {
    let text = field.text().await.map_err(multipart_error)?;
    if text.len() > 1024 {
        return Err(MgmtError::invalid_body(name, "String is too long"));
    }
    Ok(text)
}

fn flag(value: &str, name: &str) -> MgmtResult<bool> {
    match value {
        "true" => Ok(true),
        "false" => Ok(false),
        _ => Err(MgmtError::invalid_body(name, "Expected type boolean")),
    }
}

/// Streams the `users` file into the job's chunks; returns how many.
async fn store_file(state: &AppState, job_id: &str, mut field: Field<'_>) -> MgmtResult<i64> {
    let mut buf: Vec<u8> = Vec::with_capacity(CHUNK_SIZE);
    let (mut seq, mut seen_start) = (0i64, false);
    while let Some(bytes) = field.chunk().await.map_err(multipart_error)? {
        if !seen_start {
            // A JSON array, as Auth0 documents: refused now if plainly not one.
            match bytes
                .iter()
                .find(|b| !b.is_ascii_whitespace() && **b != 0xEF && **b != 0xBB && **b != 0xBF)
            {
                Some(b'[') => seen_start = true,
                Some(_) => {
                    return Err(MgmtError::invalid_body(
                        "users",
                        "The users file must be a JSON array of users",
                    ));
                }
                None => {}
            }
        }
        buf.extend_from_slice(&bytes);
        if buf.len() >= CHUNK_SIZE {
            state.store.put_job_chunk(job_id, seq, &buf).await?;
            seq += 1;
            buf.clear();
        }
    }
    if !seen_start {
        return Err(MgmtError::invalid_body(
            "users",
            "The users file must be a JSON array of users",
        ));
    }
    if !buf.is_empty() {
        state.store.put_job_chunk(job_id, seq, &buf).await?;
        seq += 1;
    }
    Ok(seq)
}

/// The multipart form's fields, the file already stored.
#[derive(Default)]
struct ImportForm {
    chunks: Option<i64>,
    connection_id: Option<String>,
    upsert: bool,
    external_id: Option<String>,
    send_completion_email: bool,
}

async fn read_form(state: &AppState, job_id: &str, mut form: Multipart) -> MgmtResult<ImportForm> {
    let mut out = ImportForm::default();
    while let Some(field) = form.next_field().await.map_err(multipart_error)? {
        let name = field.name().unwrap_or("").to_owned();
        match name.as_str() {
            "users" if out.chunks.is_none() => {
                out.chunks = Some(store_file(state, job_id, field).await?)
            }
            "connection_id" => out.connection_id = Some(text_field(field, &name).await?),
            "upsert" => out.upsert = flag(&text_field(field, &name).await?, &name)?,
            "external_id" => out.external_id = Some(text_field(field, &name).await?),
            "send_completion_email" => {
                out.send_completion_email = flag(&text_field(field, &name).await?, &name)?;
            }
            other => {
                return Err(MgmtError::bad_request(
                    "invalid_body",
                    format!(
                        "Payload validation error: 'Additional properties not allowed: {other}'."
                    ),
                ));
            }
        }
    }
    Ok(out)
}

/// Import users from a JSON file (Auth0's bulk import format).
#[utoipa::path(post, path = "/api/v2/jobs/users-imports", tag = "jobs",
    request_body(content_type = "multipart/form-data", description = "`users` (a JSON array file), `connection_id`, `upsert`, `external_id`, `send_completion_email`"),
    security(("bearer" = ["create:users"])),
    responses((status = 201, body = JobView), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody),
        (status = 403, body = ErrorBody), (status = 413, body = ErrorBody)))]
async fn users_imports(
    caller: Caller,
    State(state): State<AppState>,
    form: Result<Multipart, MultipartRejection>,
) -> MgmtResult<(StatusCode, Json<JobView>)> {
    caller.require("create:users")?;
    let form = form.map_err(|e| {
        MgmtError::bad_request(
            "invalid_body",
            format!("Expected multipart/form-data: {}", e.body_text()),
        )
    })?;
    let mut job = Job::new(
        tessera_core::ids::prefixed("job").map_err(|e| internal(&e))?,
        JobKind::UsersImport,
        (String::new(), String::new()),
        state.clock.now(),
    );
    // The row first (uploading: no worker takes it), then the file into
    // chunk rows as it arrives.
    state.store.create_job(&job).await?;
    let checked = async {
        let form = read_form(&state, &job.id, form).await?;
        let chunks = form
            .chunks
            .ok_or_else(|| MgmtError::invalid_body("users", "Missing required property"))?;
        let connection_id = form
            .connection_id
            .ok_or_else(|| MgmtError::invalid_body("connection_id", "Missing required property"))?;
        let connection = database_connection(&state, &connection_id).await?;
        Ok::<_, MgmtError>((
            form.upsert,
            form.external_id,
            form.send_completion_email,
            chunks,
            connection,
        ))
    }
    .await;
    let (upsert, external_id, send_completion_email, chunks, connection) = match checked {
        Ok(v) => v,
        Err(e) => {
            // The partial upload goes; the row is swept with old jobs.
            let _ = state.store.clear_job_chunks(&job.id).await;
            job.status = JobStatus::Failed;
            job.failure = Some("the upload was refused".into());
            let _ = state.store.finish_upload(&job).await;
            return Err(e);
        }
    };
    job.status = JobStatus::Pending;
    job.connection_id = connection.id;
    job.connection = connection.name;
    job.upsert = upsert;
    job.external_id = external_id;
    // Accepted; Tessera sends no completion email yet.
    job.send_completion_email = send_completion_email;
    job.chunks = chunks;
    state.store.finish_upload(&job).await?;
    state.config.jobs.wake.notify_one();
    tracing::info!(job = %job.id, by = %caller.claims.client_id, "user import job created");
    Ok((StatusCode::CREATED, Json(view(&state, job))))
}

/// The body of `POST /api/v2/jobs/users-exports`.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ExportRequest {
    /// The database connection whose users to export (every user of it).
    pub connection_id: Option<String>,
    /// `json` (one object per line; default) or `csv`.
    #[schema(value_type = Option<String>)]
    pub format: Option<ExportFormat>,
    /// The most users to export.
    pub limit: Option<i64>,
    /// The fields to export (`name`, and `export_as` to rename).
    pub fields: Option<Vec<ExportField>>,
}

/// Export users to a gzip file served for a limited time.
#[utoipa::path(post, path = "/api/v2/jobs/users-exports", tag = "jobs", request_body = ExportRequest,
    security(("bearer" = ["read:users"])),
    responses((status = 201, body = JobView), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody),
        (status = 403, body = ErrorBody)))]
async fn users_exports(
    caller: Caller,
    State(state): State<AppState>,
    Payload(body): Payload<ExportRequest>,
) -> MgmtResult<(StatusCode, Json<JobView>)> {
    caller.require("read:users")?;
    let connection_id = body
        .connection_id
        .ok_or_else(|| MgmtError::invalid_body("connection_id", "Missing required property"))?;
    if body.limit.is_some_and(|l| l < 1) {
        return Err(MgmtError::invalid_body("limit", "Value must be at least 1"));
    }
    if let Some(f) = body
        .fields
        .as_ref()
        .and_then(|f| f.iter().find(|f| f.name.is_empty() || f.name.len() > 256))
    {
        return Err(MgmtError::invalid_body(
            "fields",
            &format!("bad field name '{}'", f.name),
        ));
    }
    let connection = database_connection(&state, &connection_id).await?;
    let job = Job {
        format: Some(body.format.unwrap_or(ExportFormat::Json)),
        limit: body.limit,
        fields: body.fields,
        ..Job::new(
            tessera_core::ids::prefixed("job").map_err(|e| internal(&e))?,
            JobKind::UsersExport,
            (connection.id, connection.name),
            state.clock.now(),
        )
    };
    state.store.create_job(&job).await?;
    state.config.jobs.wake.notify_one();
    tracing::info!(job = %job.id, by = %caller.claims.client_id, "user export job created");
    Ok((StatusCode::CREATED, Json(view(&state, job))))
}

/// Jobs are read with either scope (as Auth0).
fn may_read_jobs(caller: &Caller) -> MgmtResult<()> {
    if caller.has("create:users") || caller.has("read:users") {
        Ok(())
    } else {
        Err(MgmtError::insufficient_scope("create:users read:users"))
    }
}

async fn find(state: &AppState, id: &str) -> MgmtResult<Job> {
    match state.store.get_job(id).await? {
        Some(job) => Ok(job),
        None => Err(MgmtError::not_found(
            "inexistent_job",
            "The job does not exist.",
        )),
    }
}

/// A user import or export job.
#[utoipa::path(get, path = "/api/v2/jobs/{id}", tag = "jobs",
    security(("bearer" = ["create:users", "read:users"])),
    responses((status = 200, body = JobView), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody),
        (status = 404, body = ErrorBody)))]
async fn get_job(
    caller: Caller,
    State(state): State<AppState>,
    Path(id): Path<String>,
) -> MgmtResult<Json<JobView>> {
    may_read_jobs(&caller)?;
    let job = find(&state, &id).await?;
    Ok(Json(view(&state, job)))
}

/// An import's failed rows (`[{user, errors: [{code, message, path}]}]`,
/// the users without their hashes); the job itself when none failed.
#[utoipa::path(get, path = "/api/v2/jobs/{id}/errors", tag = "jobs",
    security(("bearer" = ["create:users", "read:users"])),
    responses((status = 200, description = "The failed rows, or the job when none failed"),
        (status = 401, body = ErrorBody), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)))]
async fn job_errors(
    caller: Caller,
    State(state): State<AppState>,
    Path(id): Path<String>,
) -> MgmtResult<Response> {
    may_read_jobs(&caller)?;
    let job = find(&state, &id).await?;
    let errors: Vec<FailedRow> = state.store.job_errors(&job.id, MAX_ERRORS).await?;
    if errors.is_empty() {
        return Ok(Json(view(&state, job)).into_response());
    }
    Ok(Json(errors).into_response())
}
