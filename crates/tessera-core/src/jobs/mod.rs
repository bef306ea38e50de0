//! Background jobs of the Management API (`/api/v2/jobs/…`): user imports
//! and exports, in Auth0's shapes. The job is a row in the database with a
//! status and a lease (see `store::JobStore`), so any node can run it and a
//! job whose node died is resumed; an import's file and an export's result
//! are kept as chunk rows beside it.

use serde::{Deserialize, Serialize};

use crate::clock::UnixTime;

pub mod array_reader;
pub mod export;
mod import_user;

pub use import_user::{ImportUser, UpsertPatch};

/// `users_import` or `users_export`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum JobKind {
    UsersImport,
    UsersExport,
}

/// Where a job is. `Uploading` is Tessera's own (the file is still arriving;
/// no worker takes it) and shows as `pending`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum JobStatus {
    Uploading,
    Pending,
    Processing,
    Completed,
    Failed,
}

impl JobStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Uploading => "uploading",
            Self::Pending => "pending",
            Self::Processing => "processing",
            Self::Completed => "completed",
            Self::Failed => "failed",
        }
    }

    /// What Auth0's clients see.
    pub fn public(self) -> &'static str {
        match self {
            Self::Uploading => "pending",
            other => other.as_str(),
        }
    }
}

/// An import's counts (Auth0's `summary`).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct JobSummary {
    pub failed: i64,
    pub updated: i64,
    pub inserted: i64,
    pub total: i64,
}

/// `json` (one JSON object per line) or `csv`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ExportFormat {
    Json,
    Csv,
}

impl ExportFormat {
    /// The file's extension (gzip, as Auth0's).
    pub fn extension(self) -> &'static str {
        match self {
            Self::Json => "json.gz",
            Self::Csv => "csv.gz",
        }
    }
}

/// One exported field: the user's property `name`, under `export_as`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct ExportField {
    pub name: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub export_as: Option<String>,
}

/// A job, as stored (the document) and answered (through the server's view).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Job {
    pub id: String,
    pub kind: JobKind,
    pub status: JobStatus,
    pub connection_id: String,
    /// The connection's name (users are stored under it).
    pub connection: String,
    pub created_at: UnixTime,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub external_id: Option<String>,
    /// Import: update existing users (matched by email) instead of failing them.
    #[serde(default)]
    pub upsert: bool,
    #[serde(default)]
    pub send_completion_email: bool,
    #[serde(default)]
    pub summary: JobSummary,
    /// Import: how many of the file's rows are done (a resumed job skips them).
    #[serde(default)]
    pub rows_done: i64,
    /// Import: how many chunks the file was stored in.
    #[serde(default)]
    pub chunks: i64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub format: Option<ExportFormat>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub limit: Option<i64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub fields: Option<Vec<ExportField>>,
    /// Export: when its download link stops working.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub location_expires_at: Option<UnixTime>,
    /// Why a failed job failed (no user data).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub failure: Option<String>,
}

impl Job {
    /// A new job of `kind` for `connection` (id and name), made at `now`:
    /// `Uploading` for an import (its file is on its way), `Pending` for an
    /// export; the rest at its defaults.
    pub fn new(id: String, kind: JobKind, connection: (String, String), now: UnixTime) -> Self {
        Self {
            id,
            kind,
            status: match kind {
                JobKind::UsersImport => JobStatus::Uploading,
                JobKind::UsersExport => JobStatus::Pending,
            },
            connection_id: connection.0,
            connection: connection.1,
            created_at: now,
            external_id: None,
            upsert: false,
            send_completion_email: false,
            summary: JobSummary::default(),
            rows_done: 0,
            chunks: 0,
            format: None,
            limit: None,
            fields: None,
            location_expires_at: None,
            failure: None,
        }
    }
}

/// One error of an import row: Auth0's `{code, message, path}`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RowError {
    pub code: String,
    pub message: String,
    pub path: String,
}

impl RowError {
    pub fn new(code: &str, message: impl Into<String>, path: impl Into<String>) -> Self {
        Self {
            code: code.into(),
            message: message.into(),
            path: path.into(),
        }
    }
}

/// A row that failed: the user as given (without its hashes) and why.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FailedRow {
    pub user: serde_json::Value,
    pub errors: Vec<RowError>,
}
