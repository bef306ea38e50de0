//! The password gate: a bound on concurrent argon2 work.
//!
//! Every password check and hash (login, sign-up, the Management API's user
//! create and password change) runs through one gate per server: at most
//! `workers` at a time on the blocking pool (one per CPU by default), and at most
//! `queue` more waiting for a turn. A request beyond that is shed at once
//! ([`Busy`]: the caller answers 503 with `Retry-After`) instead of queueing, so a
//! flood of logins costs a bounded amount of memory and time, not gigabytes of
//! argon2 state or minutes of latency.
//!
//! Admission is decided before anything else is done for the request (a shed
//! login consumes no brute-force attempt). Once admitted, a request keeps its
//! place until its hash has finished, even when the client goes away meanwhile:
//! the work already started on the blocking pool, and counts until it ends.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use tokio::sync::Semaphore;

/// How long a shed client is asked to wait, seconds.
pub const RETRY_AFTER_SECONDS: u64 = 1;

/// Waiting places per worker in the default gate.
pub const QUEUE_PER_WORKER: usize = 8;

/// The gate is full: answer 503 with `Retry-After`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Busy {
    pub retry_after: u64,
}

/// Why admitted work produced no result.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum GateError {
    #[error("the password task failed")]
    TaskFailed,
}

#[derive(Debug)]
struct Inner {
    running: Arc<Semaphore>,
    admitted: AtomicUsize,
    capacity: usize,
    workers: usize,
}

/// A bound on concurrent password hashing. Cheap to clone; clones share it.
#[derive(Debug, Clone)]
pub struct PasswordGate {
    inner: Arc<Inner>,
}

impl PasswordGate {
    /// At most `workers` (at least 1) hashes at once and `queue` more waiting.
    pub fn new(workers: usize, queue: usize) -> Self {
        let workers = workers.max(1);
        Self {
            inner: Arc::new(Inner {
                running: Arc::new(Semaphore::new(workers)),
                admitted: AtomicUsize::new(0),
                capacity: workers.saturating_add(queue),
                workers,
            }),
        }
    }

    /// One worker per CPU (`std::thread::available_parallelism`), and
    /// [`QUEUE_PER_WORKER`] waiting places per worker.
    pub fn for_this_machine() -> Self {
        let cpus = std::thread::available_parallelism()
            .map(|n| n.get())
            .unwrap_or(1);
        Self::new(cpus, cpus.saturating_mul(QUEUE_PER_WORKER))
    }

    pub fn workers(&self) -> usize {
        self.inner.workers
    }

    /// Hashes running or waiting now.
    pub fn admitted(&self) -> usize {
        self.inner.admitted.load(Ordering::Acquire)
    }

    /// A place in the gate, or [`Busy`] when every running and waiting place is
    /// taken. Never waits.
    pub fn admit(&self) -> Result<Admission, Busy> {
        let capacity = self.inner.capacity;
        self.inner
            .admitted
            .fetch_update(Ordering::AcqRel, Ordering::Acquire, |n| {
                (n < capacity).then_some(n + 1)
            })
            .map_err(|_| Busy {
                retry_after: RETRY_AFTER_SECONDS,
            })?;
        Ok(Admission {
            inner: self.inner.clone(),
        })
    }
}

/// A place in the gate; given back when dropped (or when its work has run).
#[derive(Debug)]
#[must_use = "an admission holds a place in the gate until it is used or dropped"]
pub struct Admission {
    inner: Arc<Inner>,
}

impl Drop for Admission {
    fn drop(&mut self) {
        self.inner.admitted.fetch_sub(1, Ordering::AcqRel);
    }
}

impl Admission {
    /// Waits for a worker, then runs `work` on the blocking pool. The place (and
    /// the worker) is held until `work` returns, even if this future is dropped.
    pub async fn run<T, F>(self, work: F) -> Result<T, GateError>
    where
        T: Send + 'static,
        F: FnOnce() -> T + Send + 'static,
    {
        let permit = self
            .inner
            .running
            .clone()
            .acquire_owned()
            .await
            .map_err(|_| GateError::TaskFailed)?;
        tokio::task::spawn_blocking(move || {
            let _place = self;
            let _worker = permit;
            work()
        })
        .await
        .map_err(|_| GateError::TaskFailed)
    }
}

/// Why a new password has no hash.
#[derive(Debug, thiserror::Error)]
pub enum HashFailure {
    /// The gate is full: answer 503 with `Retry-After` (counted as shed).
    #[error("the password gate is full")]
    Busy(Busy),
    /// A server fault (logged by the caller, never the password).
    #[error("password hashing failed: {0}")]
    Failed(String),
}

/// argon2id of a new password, through the server's gate and counted in the
/// metrics: the one hashing path of the sign-ups (hosted and API), the
/// Management API and password resets.
pub async fn hash_password(
    state: &crate::state::AppState,
    password: tessera_core::Secret<String>,
) -> Result<String, HashFailure> {
    let admission = state.config.password_gate.admit().map_err(|busy| {
        state.metrics.password_gate_shed();
        HashFailure::Busy(busy)
    })?;
    state.metrics.password_hashed();
    admission
        .run(move || tessera_core::password::hash(&password))
        .await
        .map_err(|e| HashFailure::Failed(e.to_string()))?
        .map_err(|e| HashFailure::Failed(e.to_string()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[test]
    fn admits_workers_plus_queue_then_sheds() {
        let gate = PasswordGate::new(1, 2);
        let a = gate.admit().unwrap();
        let _b = gate.admit().unwrap();
        let _c = gate.admit().unwrap();
        assert_eq!(
            gate.admit().unwrap_err(),
            Busy {
                retry_after: RETRY_AFTER_SECONDS
            }
        );
        assert_eq!(gate.admitted(), 3);
        drop(a);
        assert!(gate.admit().is_ok(), "a place was given back");
    }

    #[test]
    fn zero_workers_still_means_one() {
        let gate = PasswordGate::new(0, 0);
        assert_eq!(gate.workers(), 1);
        let _a = gate.admit().unwrap();
        assert!(gate.admit().is_err());
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn running_work_holds_its_place_until_done() {
        let gate = PasswordGate::new(1, 0);
        let (started_tx, started_rx) = std::sync::mpsc::channel::<()>();
        let (release_tx, release_rx) = std::sync::mpsc::channel::<()>();
        let admission = gate.admit().unwrap();
        let task = tokio::spawn(admission.run(move || {
            let _ = started_tx.send(());
            let _ = release_rx.recv_timeout(Duration::from_secs(10));
            7
        }));
        tokio::task::spawn_blocking(move || started_rx.recv_timeout(Duration::from_secs(10)))
            .await
            .unwrap()
            .unwrap();
        // The caller going away does not free the place of running work.
        task.abort();
        tokio::time::sleep(Duration::from_millis(50)).await;
        assert!(gate.admit().is_err(), "still running");
        release_tx.send(()).unwrap();
        for _ in 0..200 {
            if gate.admitted() == 0 {
                break;
            }
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        assert_eq!(gate.admitted(), 0);
        assert_eq!(gate.admit().unwrap().run(|| 3).await, Ok(3));
    }
}
