//! Background jobs (user imports and exports): their settings, the worker
//! every node runs, and the export downloads. The Management API's handlers
//! (`management/user_jobs.rs`) create the jobs; the worker runs them.
//!
//! Each node runs one worker. It claims a job in the database under a lease
//! (`JobStore::claim_job`), renews the lease with every batch, and so a job
//! whose node died is taken over by another once the lease has ended; an
//! import's progress is written with each batch of users, in the same
//! transaction, so a resumed import skips the rows already done.

use std::sync::Arc;
use std::time::Duration;

use tokio::sync::Notify;

pub mod download;
mod export;
mod import;
pub mod worker;

/// The jobs' settings.
#[derive(Debug, Clone)]
pub struct JobsConfig {
    /// Does this node run jobs? (Off for nodes that only serve requests.)
    pub run_worker: bool,
    /// The largest import file, bytes (Auth0: 500 KB; here 100,000 users fit).
    pub import_limit: usize,
    /// How long a claimed job stays its node's without a renewal, seconds.
    pub lease: i64,
    /// How often an idle worker looks for jobs (it is also woken by the jobs
    /// this node creates).
    pub poll: Duration,
    /// Users written per transaction.
    pub batch: usize,
    /// How long an export's download link works, seconds.
    pub export_link_lifetime: i64,
    /// Wakes this node's worker.
    pub wake: Arc<Notify>,
}

impl Default for JobsConfig {
    fn default() -> Self {
        Self {
            run_worker: true,
            import_limit: 100 * 1024 * 1024,
            lease: 60,
            poll: Duration::from_secs(2),
            batch: 1000,
            export_link_lifetime: 3600,
            wake: Arc::new(Notify::new()),
        }
    }
}

/// How long ended jobs (and their failed rows) are kept, seconds.
pub const KEEP_ENDED_JOBS: i64 = 7 * 86400;

/// Size of the chunks jobs store their data in.
pub const CHUNK_SIZE: usize = 1024 * 1024;

/// The largest user (one element of an import file), bytes.
pub const MAX_ROW: usize = 1024 * 1024;
