//! The worker of one node: claims jobs under a lease and runs them, one at a
//! time, until the server stops.

use tessera_core::jobs::{Job, JobKind, JobStatus};
use tessera_core::store::StoreError;
use tokio::sync::watch;

use crate::state::AppState;

/// Runs jobs until `stop` changes.
pub fn spawn(state: AppState, mut stop: watch::Receiver<bool>) -> tokio::task::JoinHandle<()> {
    tokio::spawn(async move {
        let owner = match tessera_core::ids::prefixed("worker") {
            Ok(id) => id,
            Err(e) => {
                tracing::error!(error = %e, "no job worker on this node");
                return;
            }
        };
        let config = state.config.jobs.clone();
        loop {
            loop {
                let now = state.clock.now();
                match state.store.claim_job(&owner, now, now + config.lease).await {
                    Ok(Some(job)) => {
                        let id = job.id.clone();
                        if let Err(e) = run(&state, &owner, job).await {
                            // The lease ends and a worker takes the job again.
                            tracing::warn!(job = %id, error = %e, "a job stopped; it resumes once its lease ends");
                        }
                    }
                    Ok(None) => break,
                    Err(e) => {
                        tracing::warn!(error = %e, "could not look for jobs");
                        break;
                    }
                }
            }
            tokio::select! {
                _ = tokio::time::sleep(config.poll) => {}
                _ = config.wake.notified() => {}
                _ = stop.changed() => break,
            }
        }
    })
}

async fn run(state: &AppState, owner: &str, job: Job) -> Result<(), StoreError> {
    tracing::info!(job = %job.id, kind = ?job.kind, "running a job");
    match job.kind {
        JobKind::UsersImport => super::import::run(state, owner, job).await,
        JobKind::UsersExport => super::export::run(state, owner, job).await,
    }
}

/// Ends `job` as failed, saying why (never user data).
pub(super) async fn fail(
    state: &AppState,
    owner: &str,
    mut job: Job,
    why: String,
) -> Result<(), StoreError> {
    tracing::warn!(job = %job.id, reason = %why, "a job failed");
    job.status = JobStatus::Failed;
    job.failure = Some(why);
    state.store.finish_job(&job, owner, None).await?;
    Ok(())
}
