//! Runs a user export: reads the connection's users a page at a time, in id
//! order, writes each as a line (NDJSON or CSV) into a gzip stream, and
//! stores the compressed bytes in chunks as they fill (memory: one page, one
//! chunk). A resumed export starts again from the beginning. Done, the job
//! gets its download link (see [`super::download`]).

use std::io::Write;

use flate2::Compression;
use flate2::write::GzEncoder;
use serde_json::Value;
use tessera_core::jobs::export::{csv_header, csv_line, fields_or_default, json_line};
use tessera_core::jobs::{ExportFormat, Job, JobStatus};
use tessera_core::model::User;
use tessera_core::store::StoreError;

use super::CHUNK_SIZE;
use super::worker::fail;
use crate::management::extract::timestamp;
use crate::state::AppState;

/// Users read per query.
const PAGE: i64 = 500;

/// A user as exports show it: the user's public JSON (which has no password
/// hash) with Auth0's timestamps.
fn view(user: User) -> Value {
    let (created, updated, last) = (user.created_at, user.updated_at, user.last_login);
    let mut v = serde_json::to_value(user).unwrap_or(Value::Null);
    if let Value::Object(m) = &mut v {
        m.insert("created_at".into(), Value::String(timestamp(created)));
        m.insert("updated_at".into(), Value::String(timestamp(updated)));
        match last {
            Some(t) => m.insert("last_login".into(), Value::String(timestamp(t))),
            None => m.remove("last_login"),
        };
        m.remove("connection");
    }
    v
}

fn io(e: std::io::Error) -> StoreError {
    StoreError::Backend(format!("compressing the export: {e}"))
}

pub(super) async fn run(state: &AppState, owner: &str, mut job: Job) -> Result<(), StoreError> {
    let store = state.store.as_ref();
    store.clear_job_chunks(&job.id).await?;
    let fields = fields_or_default(job.fields.as_deref());
    let format = job.format.unwrap_or(ExportFormat::Json);
    let mut gz = GzEncoder::new(Vec::with_capacity(CHUNK_SIZE), Compression::default());
    if format == ExportFormat::Csv {
        gz.write_all(csv_header(&fields).as_bytes()).map_err(io)?;
    }
    let limit = job.limit.unwrap_or(i64::MAX);
    let (mut after, mut written, mut seq) = (String::new(), 0i64, 0i64);
    'pages: loop {
        let page = store.users_after(&job.connection, &after, PAGE).await?;
        if page.is_empty() {
            break;
        }
        for user in page {
            if written >= limit {
                break 'pages;
            }
            after.clone_from(&user.user_id);
            let v = view(user);
            let line = match format {
                ExportFormat::Json => json_line(&v, &fields),
                ExportFormat::Csv => csv_line(&v, &fields),
            };
            gz.write_all(line.as_bytes()).map_err(io)?;
            written += 1;
        }
        if gz.get_ref().len() >= CHUNK_SIZE {
            let data = std::mem::take(gz.get_mut());
            store.put_job_chunk(&job.id, seq, &data).await?;
            seq += 1;
        }
        let now = state.clock.now();
        if !store
            .renew_job_lease(&job.id, owner, now + state.config.jobs.lease)
            .await?
        {
            return Ok(());
        }
    }
    let rest = gz.finish().map_err(io)?;
    if !rest.is_empty() {
        store.put_job_chunk(&job.id, seq, &rest).await?;
        seq += 1;
    }
    let now = state.clock.now();
    job.chunks = seq;
    job.summary.total = written;
    job.status = JobStatus::Completed;
    job.location_expires_at = Some(now + state.config.jobs.export_link_lifetime);
    let Some(token) = super::download::token(state, &job) else {
        return fail(state, owner, job, "no download link could be made".into()).await;
    };
    let hash = tessera_core::ids::sha256(token.as_bytes());
    if store.finish_job(&job, owner, Some(&hash)).await? {
        tracing::info!(job = %job.id, users = written, "user export completed");
    }
    Ok(())
}
