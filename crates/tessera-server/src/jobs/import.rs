//! Runs a user import: reads the stored file chunk by chunk through the
//! incremental array reader (memory: one chunk, one row, one batch), checks
//! each row, and writes batches of users with the job's progress in one
//! transaction each. Rows before `rows_done` (a resumed job) are skipped.

use tessera_core::jobs::array_reader::ArrayReader;
use tessera_core::jobs::{FailedRow, ImportUser, Job, JobStatus};
use tessera_core::manage::users::{RowRefused, parse_row};
use tessera_core::store::StoreError;

use super::MAX_ROW;
use super::worker::fail;
use crate::state::AppState;

/// A batch being filled: rows by their place in the file.
#[derive(Default)]
struct Batch {
    rows: Vec<(i64, ImportUser)>,
    failed: Vec<(i64, FailedRow)>,
}

impl Batch {
    fn len(&self) -> usize {
        self.rows.len() + self.failed.len()
    }
}

/// Writes `batch` (rows up to `rows_done`); false when the lease was lost.
async fn flush(
    state: &AppState,
    owner: &str,
    job: &mut Job,
    batch: &mut Batch,
    rows_done: i64,
) -> Result<bool, StoreError> {
    if batch.len() == 0 {
        return Ok(true);
    }
    let now = state.clock.now();
    let written = state
        .store
        .import_batch(
            &job.id,
            owner,
            now + state.config.jobs.lease,
            &batch.rows,
            &batch.failed,
            rows_done,
            now,
        )
        .await?;
    *batch = Batch::default();
    match written {
        Some(summary) => {
            job.summary = summary;
            job.rows_done = rows_done;
            Ok(true)
        }
        None => {
            tracing::warn!(job = %job.id, "the job's lease was lost; another node runs it");
            Ok(false)
        }
    }
}

pub(super) async fn run(state: &AppState, owner: &str, mut job: Job) -> Result<(), StoreError> {
    let mut reader = ArrayReader::new(MAX_ROW);
    let mut batch = Batch::default();
    let mut index: i64 = 0;
    let size = state.config.jobs.batch.max(1);
    for seq in 0..job.chunks {
        let Some(chunk) = state.store.get_job_chunk(&job.id, seq).await? else {
            return fail(state, owner, job, "the uploaded file is missing".into()).await;
        };
        reader.push(&chunk);
        drop(chunk);
        loop {
            let element = match reader.next_element() {
                Ok(Some(e)) => e,
                Ok(None) => break,
                Err(e) => return fail(state, owner, job, e.to_string()).await,
            };
            let at = index;
            index += 1;
            if at < job.rows_done {
                continue;
            }
            match parse_row(&element, &job.connection, state.clock.now()) {
                Ok(row) => batch.rows.push((at, row)),
                Err(RowRefused::Invalid(failed)) => batch.failed.push((at, failed)),
                Err(RowRefused::Rng(e)) => return Err(StoreError::Backend(e.to_string())),
            }
            if batch.len() >= size && !flush(state, owner, &mut job, &mut batch, index).await? {
                return Ok(());
            }
        }
    }
    if let Err(e) = reader.finish() {
        return fail(state, owner, job, e.to_string()).await;
    }
    if !flush(state, owner, &mut job, &mut batch, index).await? {
        return Ok(());
    }
    job.status = JobStatus::Completed;
    if state.store.finish_job(&job, owner, None).await? {
        tracing::info!(job = %job.id, inserted = job.summary.inserted, updated = job.summary.updated,
            failed = job.summary.failed, "user import completed");
    }
    Ok(())
}
