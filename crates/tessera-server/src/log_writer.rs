//! Writes the tenant's log without slowing or failing the request it records:
//! [`LogWriter::record`] puts the event on a bounded queue (never waits; a full
//! queue drops the event, counts it in `tessera_log_events_dropped_total` and
//! warns at most once a minute; the last tenth of the queue is kept for
//! failures, blocks and Management API changes, so a flood of ordinary
//! events cannot crowd them out), and one background task drains the queue,
//! fills in the client's name and the user's name, and inserts batches. With
//! `TESSERA_AUDIT_LOG=stdout` each event is also written as one JSON line to
//! the log output (stderr).

use std::collections::HashMap;
use std::io::Write;
use std::sync::Arc;
use std::sync::atomic::{AtomicI64, AtomicU64, Ordering};
use std::time::Duration;

use tessera_core::Clock;
use tessera_core::log_event::{LogEvent, LogType};
use tessera_core::store::Store;
use tokio::sync::mpsc;

use crate::metrics::Metrics;

/// How the writer runs.
#[derive(Debug, Clone, Copy)]
pub struct LogWriterConfig {
    /// Events waiting to be stored before new ones are dropped.
    pub capacity: usize,
    /// Most events stored in one transaction.
    pub batch: usize,
    /// Also write each event as a JSON line to the log output.
    pub stdout: bool,
}

impl Default for LogWriterConfig {
    fn default() -> Self {
        Self {
            capacity: 10_000,
            batch: 200,
            stdout: false,
        }
    }
}

/// The recording end of the log; cheap to clone.
#[derive(Clone)]
pub struct LogWriter {
    inner: Arc<Inner>,
}

struct Inner {
    queue: mpsc::Sender<LogEvent>,
    clock: Arc<dyn Clock>,
    metrics: Arc<Metrics>,
    sequence: AtomicU64,
    /// Free places only [`LogType::is_security`] events may take.
    reserved: usize,
    /// When a full queue was last warned about (Unix seconds).
    last_warning: AtomicI64,
}

impl std::fmt::Debug for LogWriter {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("LogWriter")
    }
}

impl LogWriter {
    /// The writer and its draining task (which ends when every writer is
    /// dropped, after storing what was queued).
    pub fn start(
        store: Arc<dyn Store>,
        clock: Arc<dyn Clock>,
        metrics: Arc<Metrics>,
        config: LogWriterConfig,
    ) -> (Self, tokio::task::JoinHandle<()>) {
        let (writer, rx) = Self::undrained(clock, metrics, config.capacity);
        let task = tokio::spawn(drain(store, rx, config));
        (writer, task)
    }

    /// A writer whose queue nobody drains: its receiving end is returned
    /// (tests fill the queue with it; [`LogWriter::start`] drains it).
    pub fn undrained(
        clock: Arc<dyn Clock>,
        metrics: Arc<Metrics>,
        capacity: usize,
    ) -> (Self, mpsc::Receiver<LogEvent>) {
        let capacity = capacity.max(1);
        let (queue, rx) = mpsc::channel(capacity);
        let writer = Self {
            inner: Arc::new(Inner {
                queue,
                clock,
                metrics,
                sequence: AtomicU64::new(0),
                reserved: capacity / 10,
                last_warning: AtomicI64::new(i64::MIN),
            }),
        };
        (writer, rx)
    }

    /// A new event of `kind`, dated now, with Auth0's description.
    pub fn event(&self, kind: LogType) -> LogEvent {
        LogEvent::new(kind, self.inner.clock.now())
    }

    /// Queues `event` for storage; never waits, never fails (a full queue
    /// drops it and counts the drop).
    pub fn record(&self, mut event: LogEvent) {
        let inner = &self.inner;
        let sequence = inner.sequence.fetch_add(1, Ordering::Relaxed);
        let random = tessera_core::ids::random_bytes::<8>()
            .map(u64::from_le_bytes)
            .unwrap_or(0);
        // Sorts by date, then by order of recording on this node; the random
        // part keeps nodes apart.
        event.log_id = format!(
            "{:011}{:010}{:020}",
            event.date.max(0),
            sequence % 10_000_000_000,
            random
        );
        let crowded = !event.kind.is_security() && inner.queue.capacity() <= inner.reserved;
        if crowded || inner.queue.try_send(event).is_err() {
            inner.metrics.log_event_dropped();
            let now = inner.clock.now();
            let last = inner.last_warning.load(Ordering::Relaxed);
            if now.saturating_sub(last) >= 60
                && inner
                    .last_warning
                    .compare_exchange(last, now, Ordering::Relaxed, Ordering::Relaxed)
                    .is_ok()
            {
                tracing::warn!(
                    "the log event queue is full: events are being dropped (see tessera_log_events_dropped_total)"
                );
            }
        }
    }
}

/// Stores queued events in batches until every writer is gone.
async fn drain(store: Arc<dyn Store>, mut rx: mpsc::Receiver<LogEvent>, config: LogWriterConfig) {
    let batch_size = config.batch.max(1);
    let mut batch = Vec::with_capacity(batch_size);
    while rx.recv_many(&mut batch, batch_size).await > 0 {
        fill_names(store.as_ref(), &mut batch).await;
        if config.stdout {
            write_lines(&batch);
        }
        let mut tries = 0;
        while let Err(e) = store.insert_log_events(&batch).await {
            tries += 1;
            if tries >= 3 {
                tracing::warn!(error = %e, events = batch.len(), "storing log events failed; dropping them");
                break;
            }
            tokio::time::sleep(Duration::from_millis(200 * tries)).await;
        }
        batch.clear();
    }
}

/// Auth0's `client_name` and `user_name`, read once per batch and name.
async fn fill_names(store: &dyn Store, batch: &mut [LogEvent]) {
    let mut clients: HashMap<String, Option<String>> = HashMap::new();
    let mut users: HashMap<String, Option<String>> = HashMap::new();
    for event in batch.iter_mut() {
        if let (Some(id), None) = (&event.client_id, &event.client_name) {
            if !clients.contains_key(id) {
                let name = store
                    .get_client(id)
                    .await
                    .ok()
                    .flatten()
                    .map(|(c, _)| c.name);
                clients.insert(id.clone(), name);
            }
            event.client_name = clients.get(id).cloned().flatten();
        }
        if let (Some(id), None) = (&event.user_id, &event.user_name) {
            if !users.contains_key(id) {
                let name = store
                    .get_user(id)
                    .await
                    .ok()
                    .flatten()
                    .and_then(|u| u.email);
                users.insert(id.clone(), name);
            }
            event.user_name = users.get(id).cloned().flatten();
        }
    }
}

/// Each event as one JSON line on stderr (the log output), date in RFC 3339.
fn write_lines(batch: &[LogEvent]) {
    let mut out = Vec::new();
    for event in batch {
        if let Ok(mut value) = serde_json::to_value(event) {
            value["date"] = crate::management::extract::timestamp(event.date).into();
            if serde_json::to_writer(&mut out, &value).is_ok() {
                out.push(b'\n');
            }
        }
    }
    let _ = std::io::stderr().lock().write_all(&out);
}
