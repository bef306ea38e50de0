//! The worker pool: `workers` threads, each owning one QuickJS runtime, fed from one bounded queue.
//! A full queue answers `Busy` at once; a dropped `run` future cancels its job (skipped if still queued,
//! interrupted if running).

use crate::record::{Recorder, apply_metadata};
use crate::sandbox::{self, RunInput, WALL_FACTOR, Watch};
use crate::{
    ActionLog, ActionScript, Effects, EngineError, FailureKind, Limits, Outcome, Stop, Trigger,
};
use rquickjs::Runtime;
use std::cell::RefCell;
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::rc::Rc;
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::mpsc::{Receiver, SyncSender, TrySendError, sync_channel};
use std::sync::{Arc, Condvar, Mutex, MutexGuard};
use std::time::{Duration, Instant};
use tokio::sync::oneshot;

/// Native stack of a worker thread on top of `Limits::stack_bytes` (Rust frames, QuickJS's C frames
/// below its own check).
const EXTRA_THREAD_STACK: usize = 4 * 1024 * 1024;
/// A runtime whose heap after a run and a GC is this much over its fresh size is replaced.
const HEAP_SLACK: usize = 2 * 1024 * 1024;
/// Jobs between two full GCs of a worker's runtime (failed jobs are always followed by one).
const GC_EVERY: u64 = 64;
/// Added to `Limits::time × WALL_FACTOR` for the wall-clock deadline of one action (see [`Watchdog`]).
const WALL_MARGIN: Duration = Duration::from_millis(200);
/// The watchdog sleeps until the earliest deadline; with nothing running, this long (a periodic wake-up
/// of 20 ms measurably slowed a run at an idle engine, by waking a thread on a busy 2-core machine).
const WATCHDOG_IDLE: Duration = Duration::from_secs(1);
/// While no worker serves the queue, how often the watchdog answers what waits in it (`Busy`).
const WATCHDOG_NO_WORKER: Duration = Duration::from_millis(20);

/// Runs Auth0 Action code. Cheap to clone (an `Arc` inside); `Send + Sync`.
#[derive(Clone)]
pub struct Engine {
    inner: Arc<Inner>,
}

struct Inner {
    queue: SyncSender<Job>,
    limits: Limits,
    shared: Arc<Shared>,
}

impl Drop for Inner {
    fn drop(&mut self) {
        // Ends the watchdog; the workers end when the queue's sender (here) is gone.
        lock(&self.shared.watchdog).shutdown = true;
        self.shared.tick.notify_all();
    }
}

/// What the workers, the watchdog and the engine share.
struct Shared {
    rx: Mutex<Receiver<Job>>,
    limits: Limits,
    stats: Stats,
    watchdog: Mutex<Watchdog>,
    tick: Condvar,
}

/// The wall-clock stop that does not depend on QuickJS checking in (it asks its interrupt handler only
/// every 10,000 checkpoints, and built-ins such as `TypedArray.prototype.sort` never do).
///
/// Each action gets a deadline of `Limits::time × WALL_FACTOR + WALL_MARGIN` from its start (per action,
/// like the CPU limit). Past it the watchdog answers the run `Failed { Timeout }`, sets its cancel flag
/// (so the interrupt handler stops it if QuickJS ever asks), marks the worker thread *lost* and starts a
/// replacement thread with a fresh runtime. A lost thread exits once its job ends. A lost worker is replaced
/// only while at most `Limits::workers` lost threads run, so the engine never has more than
/// 2 × `Limits::workers` action threads; past that a lost worker is replaced when a lost thread ends (that
/// thread serves on with a fresh runtime), and while no worker is left `run` answers `Busy` (queued jobs
/// too).
#[derive(Default)]
struct Watchdog {
    /// The action now running on each worker thread, by thread id.
    running: std::collections::HashMap<u64, Running>,
    next_id: u64,
    /// Worker threads serving the queue (not lost).
    live: usize,
    /// Lost threads still running their job.
    lost: usize,
    /// Lost workers not yet replaced (the cap was reached).
    owed: usize,
    /// When the watchdog wakes up next (an earlier deadline wakes it through `Shared::tick`).
    wake_at: Option<Instant>,
    shutdown: bool,
}

struct Running {
    index: usize,
    deadline: Instant,
    action_id: String,
    reply: Reply,
    cancel: Arc<AtomicBool>,
    lost: Arc<AtomicBool>,
}

/// The run's answer channel: whoever takes it first (the worker, or the watchdog at the deadline) answers.
type Reply = Arc<Mutex<Option<oneshot::Sender<Outcome>>>>;

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    match m.lock() {
        Ok(g) => g,
        Err(poisoned) => poisoned.into_inner(),
    }
}

/// Answers the run if nobody has yet; false if it was already answered.
fn answer(reply: &Reply, outcome: Outcome) -> bool {
    match lock(reply).take() {
        Some(tx) => {
            let _ = tx.send(outcome);
            true
        }
        None => false,
    }
}

/// Counters the workers keep, for tests and metrics.
#[derive(Default)]
struct Stats {
    /// Heap in use of each worker's runtime after its last job (QuickJS `malloc_size`).
    heap: Vec<AtomicUsize>,
    replaced: AtomicU64,
}

struct Job {
    trigger: Trigger,
    actions: Arc<[ActionScript]>,
    event: serde_json::Value,
    cancel: Arc<AtomicBool>,
    reply: Reply,
}

/// Sets the job's cancel flag when the `run` future is dropped (or finishes: then it is moot).
struct CancelOnDrop(Arc<AtomicBool>);

impl Drop for CancelOnDrop {
    fn drop(&mut self) {
        self.0.store(true, Ordering::Relaxed);
    }
}

impl std::fmt::Debug for Engine {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Engine")
            .field("limits", &self.inner.limits)
            .finish_non_exhaustive()
    }
}

fn failed(action_id: &str, kind: FailureKind, message: &str) -> Outcome {
    Outcome {
        result: Err(Stop::Failed {
            action_id: action_id.to_owned(),
            kind,
            message: message.to_owned(),
        }),
        logs: Vec::new(),
    }
}

impl Engine {
    /// Starts `limits.workers` worker threads, each with its own runtime.
    pub fn new(limits: Limits) -> Result<Engine, EngineError> {
        if limits.workers == 0 {
            return Err(EngineError::InvalidLimit("workers"));
        }
        if limits.memory_bytes < 1024 * 1024 {
            return Err(EngineError::InvalidLimit("memory_bytes"));
        }
        if limits.stack_bytes < 64 * 1024 {
            return Err(EngineError::InvalidLimit("stack_bytes"));
        }
        if limits.time.is_zero() {
            return Err(EngineError::InvalidLimit("time"));
        }
        let (queue, rx) = sync_channel::<Job>(limits.queue);
        let shared = Arc::new(Shared {
            rx: Mutex::new(rx),
            limits: limits.clone(),
            stats: Stats {
                heap: (0..limits.workers).map(|_| AtomicUsize::new(0)).collect(),
                replaced: AtomicU64::new(0),
            },
            watchdog: Mutex::new(Watchdog::default()),
            tick: Condvar::new(),
        });
        for index in 0..limits.workers {
            // Build the first runtime on the thread, and report whether it could be.
            let (ready_tx, ready_rx) = std::sync::mpsc::channel();
            spawn_worker(&shared, index, Some(ready_tx))?;
            match ready_rx.recv() {
                Ok(true) => {}
                _ => return Err(EngineError::Runtime),
            }
        }
        let watched = shared.clone();
        std::thread::Builder::new()
            .name("tessera-actions-watchdog".to_owned())
            .spawn(move || watchdog_main(&watched))
            .map_err(|e| EngineError::Spawn(e.to_string()))?;
        Ok(Engine {
            inner: Arc::new(Inner {
                queue,
                limits,
                shared,
            }),
        })
    }

    /// The limits in force.
    pub fn limits(&self) -> &Limits {
        &self.inner.limits
    }

    /// Syntax check for Auth0's `status: built` / `failed`; see [`crate::check`].
    pub fn check(&self, code: &str) -> Result<(), String> {
        crate::check(code)
    }

    /// The QuickJS heap in use, summed over the workers, as each last measured it (after a failed run, a
    /// runtime replacement, and every 64th run, each after a full GC).
    pub fn heap_bytes(&self) -> usize {
        self.inner
            .shared
            .stats
            .heap
            .iter()
            .map(|h| h.load(Ordering::Relaxed))
            .sum()
    }

    /// How many worker runtimes were replaced (after an out-of-memory failure, a heap that did not shrink
    /// back, or an engine fault).
    pub fn runtimes_replaced(&self) -> u64 {
        self.inner.shared.stats.replaced.load(Ordering::Relaxed)
    }

    /// Worker threads lost to an action that ran past its wall-clock deadline and still running it (each
    /// exits when its job ends). All action threads together stay at most 2 × `Limits::workers`.
    pub fn lost_workers(&self) -> usize {
        lock(&self.inner.shared.watchdog).lost
    }

    /// Runs `actions` in order for `trigger`. No actions: answers at once without touching a worker.
    ///
    /// Answers within about `actions.len() × (Limits::time × 10 + 0.2 s)` of a worker taking the job, even
    /// if the code sits in a built-in that never checks the clock (then `Failed { Timeout }`, see the
    /// README); `Failed { Busy }` at once when the queue is full or every worker is lost.
    pub async fn run(
        &self,
        trigger: Trigger,
        actions: Arc<[ActionScript]>,
        event: serde_json::Value,
    ) -> Outcome {
        let Some(first) = actions.first().map(|a| a.action_id.clone()) else {
            return Outcome {
                result: Ok(Effects::default()),
                logs: Vec::new(),
            };
        };
        let cancel = Arc::new(AtomicBool::new(false));
        let _guard = CancelOnDrop(cancel.clone());
        if lock(&self.inner.shared.watchdog).live == 0 {
            return failed(&first, FailureKind::Busy, "all action workers are busy");
        }
        let (reply, answer) = oneshot::channel();
        let job = Job {
            trigger,
            actions,
            event,
            cancel,
            reply: Arc::new(Mutex::new(Some(reply))),
        };
        match self.inner.queue.try_send(job) {
            Ok(()) => {}
            Err(TrySendError::Full(_)) => {
                return failed(&first, FailureKind::Busy, "all action workers are busy");
            }
            Err(TrySendError::Disconnected(_)) => {
                return failed(&first, FailureKind::Internal, "the action workers are gone");
            }
        }
        answer
            .await
            .unwrap_or_else(|_| failed(&first, FailureKind::Internal, "the action worker failed"))
    }
}

/// One worker's runtime, its watch, and its heap size when fresh.
struct Worker {
    rt: Runtime,
    watch: Arc<Watch>,
    baseline: usize,
    /// A context made after the last job, never used: making one is most of a one-line run's cost.
    spare: Option<rquickjs::Context>,
}

fn heap(rt: &Runtime) -> usize {
    usize::try_from(rt.memory_usage().malloc_size).unwrap_or(0)
}

impl Worker {
    fn new(limits: &Limits) -> Option<Worker> {
        let rt = Runtime::new().ok()?;
        rt.set_memory_limit(limits.memory_bytes);
        rt.set_max_stack_size(limits.stack_bytes);
        let watch = Arc::new(Watch::default());
        let w = watch.clone();
        rt.set_interrupt_handler(Some(Box::new(move || w.should_interrupt())));
        // Measure with one context made and gone, as after a run.
        drop(rquickjs::Context::full(&rt).ok()?);
        rt.run_gc();
        let baseline = heap(&rt);
        let spare = sandbox::spare_context(&rt);
        Some(Worker {
            rt,
            watch,
            baseline,
            spare,
        })
    }

    /// Runs a job's actions in order; returns the outcome and whether the runtime stays healthy.
    fn run_job(&mut self, job: &Job, limits: &Limits, me: &Me, shared: &Shared) -> (Outcome, bool) {
        let recorder = Rc::new(RefCell::new(Recorder::new(
            limits.claims_bytes,
            limits.log_bytes,
        )));
        let mut logs = Vec::with_capacity(job.actions.len());
        let mut healthy = true;
        for action in job.actions.iter() {
            if job.cancel.load(Ordering::Relaxed) {
                return (
                    Outcome {
                        result: Err(cancelled(&action.action_id)),
                        logs,
                    },
                    healthy,
                );
            }
            recorder.borrow_mut().begin(&action.action_id);
            let mut event = job.event.clone();
            apply_metadata(&mut event, &recorder.borrow());
            if let Some(obj) = event.as_object_mut() {
                obj.remove("secrets");
            }
            let event_json = serde_json::to_string(&event).unwrap_or_else(|_| "{}".to_owned());
            let input = RunInput {
                trigger: job.trigger,
                action,
                event_json: &event_json,
                recorder: recorder.clone(),
                watch: self.watch.clone(),
            };
            shared.watch_action(me, &action.action_id, job);
            self.watch.arm(limits.time, job.cancel.clone());
            let mut result = sandbox::run_action(&self.rt, self.spare.take(), &input);
            self.watch.disarm();
            // Jobs left in the runtime's queue (after a timeout, or a throw before the queue was drained)
            // belong to this run: no later run may execute them, so this runtime is replaced.
            if self.rt.is_job_pending() {
                healthy = false;
                if result.is_ok() {
                    result = Err((
                        FailureKind::Internal,
                        "jobs were left after the run".to_owned(),
                    ));
                }
            }

            let (output, truncated, denied) = {
                let mut r = recorder.borrow_mut();
                (std::mem::take(&mut r.log), r.log_truncated, r.denied.take())
            };
            logs.push(ActionLog {
                action_id: action.action_id.clone(),
                output,
                truncated,
            });
            if let Some((code, reason)) = denied {
                let reason = sandbox::mask(&reason, &action.secrets);
                let (app_metadata, user_metadata) = recorder.borrow_mut().take_metadata();
                let stop = Stop::Denied {
                    action_id: action.action_id.clone(),
                    code,
                    reason,
                    app_metadata,
                    user_metadata,
                };
                return (
                    Outcome {
                        result: Err(stop),
                        logs,
                    },
                    healthy,
                );
            }
            if let Err((kind, message)) = result {
                if matches!(kind, FailureKind::MemoryLimit | FailureKind::Internal) {
                    healthy = false;
                }
                let stop = Stop::Failed {
                    action_id: action.action_id.clone(),
                    kind,
                    message,
                };
                return (
                    Outcome {
                        result: Err(stop),
                        logs,
                    },
                    healthy,
                );
            }
        }
        let effects =
            std::mem::replace(&mut *recorder.borrow_mut(), Recorder::new(0, 0)).into_effects();
        (
            Outcome {
                result: Ok(effects),
                logs,
            },
            healthy,
        )
    }
}

fn cancelled(action_id: &str) -> Stop {
    Stop::Failed {
        action_id: action_id.to_owned(),
        kind: FailureKind::Internal,
        message: "the run was cancelled".to_owned(),
    }
}

fn next_job(rx: &Mutex<Receiver<Job>>) -> Option<Job> {
    lock(rx).recv().ok()
}

/// One worker thread's identity for the watchdog, and whether the watchdog gave it up.
struct Me {
    id: u64,
    index: usize,
    lost: Arc<AtomicBool>,
}

impl Shared {
    /// A new worker identity, counted live.
    fn join(&self, index: usize) -> Me {
        let mut w = lock(&self.watchdog);
        w.next_id += 1;
        w.live += 1;
        Me {
            id: w.next_id,
            index,
            lost: Arc::new(AtomicBool::new(false)),
        }
    }

    /// The action `action_id` of `job` starts now on `me`: its wall-clock deadline starts.
    fn watch_action(&self, me: &Me, action_id: &str, job: &Job) {
        let deadline = Instant::now() + self.limits.time.saturating_mul(WALL_FACTOR) + WALL_MARGIN;
        let mut w = lock(&self.watchdog);
        w.running.insert(
            me.id,
            Running {
                index: me.index,
                deadline,
                action_id: action_id.to_owned(),
                reply: job.reply.clone(),
                cancel: job.cancel.clone(),
                lost: me.lost.clone(),
            },
        );
        if w.wake_at.is_none_or(|at| deadline < at) {
            self.tick.notify_all();
        }
    }

    fn unwatch(&self, me: &Me) {
        lock(&self.watchdog).running.remove(&me.id);
    }
}

/// Starts a worker thread for heap slot `index` (`ready` reports whether its first runtime was made).
fn spawn_worker(
    shared: &Arc<Shared>,
    index: usize,
    ready: Option<std::sync::mpsc::Sender<bool>>,
) -> Result<(), EngineError> {
    let me = shared.join(index);
    let shared2 = shared.clone();
    let spawned = std::thread::Builder::new()
        .name(format!("tessera-actions-{index}"))
        .stack_size(shared.limits.stack_bytes + EXTRA_THREAD_STACK)
        .spawn(move || worker_main(me, &shared2, ready));
    if let Err(e) = spawned {
        lock(&shared.watchdog).live -= 1;
        return Err(EngineError::Spawn(e.to_string()));
    }
    Ok(())
}

/// Answers the runs whose action is past its wall-clock deadline, gives up their threads and replaces them.
fn watchdog_main(shared: &Arc<Shared>) {
    let mut w = lock(&shared.watchdog);
    loop {
        if w.shutdown {
            return;
        }
        let now = Instant::now();
        let expired: Vec<u64> = w
            .running
            .iter()
            .filter(|(_, r)| r.deadline <= now)
            .map(|(id, _)| *id)
            .collect();
        for id in expired {
            let Some(r) = w.running.remove(&id) else {
                continue;
            };
            r.cancel.store(true, Ordering::Relaxed);
            let timeout = Outcome {
                result: Err(Stop::Failed {
                    action_id: r.action_id.clone(),
                    kind: FailureKind::Timeout,
                    message: "the action ran over its time limit (wall clock)".to_owned(),
                }),
                logs: Vec::new(),
            };
            if !answer(&r.reply, timeout) {
                // The worker answered just now: it is not stuck.
                continue;
            }
            r.lost.store(true, Ordering::Relaxed);
            w.live -= 1;
            w.lost += 1;
            shared.stats.replaced.fetch_add(1, Ordering::Relaxed);
            if w.lost <= shared.limits.workers {
                drop(w);
                let started = spawn_worker(shared, r.index, None);
                w = lock(&shared.watchdog);
                if started.is_err() {
                    w.owed += 1;
                }
            } else {
                w.owed += 1;
            }
        }
        if w.live == 0 {
            // No worker serves the queue: answer what waits in it (a worker blocked in `recv` holds the lock,
            // but then one is live).
            if let Ok(rx) = shared.rx.try_lock() {
                while let Ok(job) = rx.try_recv() {
                    let first = job
                        .actions
                        .first()
                        .map(|a| a.action_id.clone())
                        .unwrap_or_default();
                    answer(
                        &job.reply,
                        failed(&first, FailureKind::Busy, "all action workers are busy"),
                    );
                }
            }
        }
        let now = Instant::now();
        let sleep = if w.live == 0 {
            WATCHDOG_NO_WORKER
        } else {
            w.running
                .values()
                .map(|r| r.deadline.saturating_duration_since(now))
                .min()
                .unwrap_or(WATCHDOG_IDLE)
                .max(Duration::from_millis(1))
        };
        w.wake_at = Some(now + sleep);
        w = match shared.tick.wait_timeout(w, sleep) {
            Ok((g, _)) => g,
            Err(poisoned) => poisoned.into_inner().0,
        };
    }
}

fn worker_main(mut me: Me, shared: &Shared, ready: Option<std::sync::mpsc::Sender<bool>>) {
    let limits = &shared.limits;
    let stats = &shared.stats;
    let mut worker = Worker::new(limits);
    if let Some(ready) = ready {
        let _ = ready.send(worker.is_some());
    }
    let Some(slot) = stats.heap.get(me.index) else {
        return;
    };
    if let Some(w) = &worker {
        slot.store(heap(&w.rt), Ordering::Relaxed);
    }
    let mut jobs: u64 = 0;
    // Ends when the engine (the queue's sender) is dropped.
    while let Some(job) = next_job(&shared.rx) {
        if job.cancel.load(Ordering::Relaxed)
            || lock(&job.reply).as_ref().is_none_or(|r| r.is_closed())
        {
            continue;
        }
        if worker.is_none() {
            worker = Worker::new(limits);
        }
        let Some(w) = worker.as_mut() else {
            let first = job
                .actions
                .first()
                .map(|a| a.action_id.clone())
                .unwrap_or_default();
            answer(
                &job.reply,
                failed(&first, FailureKind::Internal, "no JavaScript runtime"),
            );
            continue;
        };
        let ran = catch_unwind(AssertUnwindSafe(|| w.run_job(&job, limits, &me, shared)));
        jobs = jobs.wrapping_add(1);
        let (outcome, mut healthy) = match ran {
            Ok(done) => done,
            Err(_) => {
                let first = job
                    .actions
                    .first()
                    .map(|a| a.action_id.clone())
                    .unwrap_or_default();
                (
                    failed(&first, FailureKind::Internal, "the action engine failed"),
                    false,
                )
            }
        };
        let stopped = matches!(outcome.result, Err(Stop::Failed { .. }));
        answer(&job.reply, outcome);
        shared.unwatch(&me);
        if me.lost.load(Ordering::Relaxed) {
            // The watchdog answered this job and replaced this thread. Exit, unless a replacement is owed
            // (the cap on lost threads was reached): then serve on as that replacement, with a fresh runtime.
            drop(worker.take());
            let mut wd = lock(&shared.watchdog);
            wd.lost -= 1;
            if wd.owed == 0 || wd.shutdown {
                return;
            }
            wd.owed -= 1;
            wd.live += 1;
            drop(wd);
            me.lost = Arc::new(AtomicBool::new(false));
            worker = Worker::new(limits);
            if let Some(w) = &worker {
                slot.store(heap(&w.rt), Ordering::Relaxed);
            }
            continue;
        }
        // A full GC costs about a quarter of a one-line run, so it runs after a failure (whose garbage may
        // be large and cyclic) and every GC_EVERY jobs; in between QuickJS collects on its own allocation
        // threshold. Unreachable garbage of earlier runs is never visible to a later context.
        if healthy && (stopped || jobs.is_multiple_of(GC_EVERY)) {
            w.rt.run_gc();
            let in_use = heap(&w.rt);
            healthy = in_use <= w.baseline + HEAP_SLACK;
            slot.store(in_use, Ordering::Relaxed);
        }
        if !healthy {
            // Drop the old runtime (freeing its heap) and make a new one now, off the next request's path.
            drop(worker.take());
            worker = Worker::new(limits);
            stats.replaced.fetch_add(1, Ordering::Relaxed);
            if let Some(w) = &worker {
                slot.store(heap(&w.rt), Ordering::Relaxed);
            }
        }
        // The next job's first context, made now while no request waits on it.
        if let Some(w) = worker.as_mut()
            && w.spare.is_none()
        {
            w.spare = sandbox::spare_context(&w.rt);
        }
    }
    lock(&shared.watchdog).live -= 1;
}
