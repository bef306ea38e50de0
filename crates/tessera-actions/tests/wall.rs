//! The wall-clock stop: code that sits in built-ins QuickJS never interrupts (a typed-array sort, a
//! `toJSON` that never returns inside `console.log`) is answered `Timeout` within a bounded wall time, and
//! the engine keeps serving other runs. In its own test binary: a lost thread keeps burning CPU until its
//! job ends (or this process does).

use serde_json::json;
use std::sync::Arc;
use std::time::{Duration, Instant};
use tessera_actions::{ActionScript, Engine, FailureKind, Limits, Outcome, Stop, Trigger};

fn action(id: &str, code: &str) -> ActionScript {
    ActionScript {
        action_id: id.to_owned(),
        version_id: format!("{id}-v1"),
        name: format!("action {id}"),
        code: Arc::from(code),
        secrets: Vec::new(),
    }
}

fn kind(outcome: &Outcome) -> Option<FailureKind> {
    match &outcome.result {
        Err(Stop::Failed { kind, .. }) => Some(*kind),
        _ => None,
    }
}

async fn run(engine: &Engine, code: &str) -> Outcome {
    engine
        .run(
            Trigger::PostLogin,
            Arc::from(vec![action("a", code)]),
            json!({ "user": { "user_id": "u1" } }),
        )
        .await
}

const GOOD: &str = "exports.onExecutePostLogin = async (event, api) => { api.idToken.setCustomClaim('https://x/ok', 1); };";

async fn assert_serves(engine: &Engine) {
    let outcome = run(engine, GOOD).await;
    assert!(outcome.result.is_ok(), "{outcome:?}");
}

/// Each hostile action ends within 3 s with a 100 ms limit, and good runs keep being served meanwhile.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn built_ins_that_never_check_the_clock_are_stopped_by_the_wall_deadline() {
    let engine = Engine::new(Limits {
        workers: 2,
        queue: 8,
        ..Limits::default()
    })
    .expect("engine");
    let hostile = [
        // A 4 MiB typed array sorted on every loop pass: QuickJS asks its interrupt handler every 10,000
        // checkpoints, i.e. after thousands of sorts.
        "exports.onExecutePostLogin = async () => { const a = new Float64Array(512 * 1024); for (let i = 0; i < a.length; i++) a[i] = (i * 7919) % 1000; for (;;) { a.reverse(); a.sort(); } };",
        // console.log of a value whose toJSON never returns (the interrupt error must not be swallowed).
        "exports.onExecutePostLogin = async () => { const a = new Uint8Array(1024 * 1024); const o = { toJSON() { for (;;) a.lastIndexOf(1); } }; for (;;) console.log(o); };",
        // The same through an api call and a string conversion.
        "exports.onExecutePostLogin = async (event, api) => { const a = new Uint8Array(1024 * 1024); const o = { toString() { for (;;) a.lastIndexOf(1); } }; for (;;) { try { api.idToken.setCustomClaim(o, 1); } catch (e) {} } };",
    ];
    for code in hostile {
        let started = Instant::now();
        let outcome = run(&engine, code).await;
        let took = started.elapsed();
        assert_eq!(
            kind(&outcome),
            Some(FailureKind::Timeout),
            "{code} {outcome:?}"
        );
        assert!(took < Duration::from_secs(3), "{code} took {took:?}");
        assert_serves(&engine).await;
    }
    // Replacements are started while fewer than `workers` lost threads run: at most 2 × workers threads.
    assert!(engine.lost_workers() <= 4, "{}", engine.lost_workers());
    // Several at once: the engine still answers each, then serves.
    let runs: Vec<_> = (0..3)
        .map(|_| {
            let engine = engine.clone();
            tokio::spawn(async move { run(&engine, hostile[0]).await })
        })
        .collect();
    let started = Instant::now();
    for r in runs {
        let outcome = r.await.expect("join");
        assert!(
            matches!(
                kind(&outcome),
                Some(FailureKind::Timeout | FailureKind::Busy)
            ),
            "{outcome:?}"
        );
    }
    assert!(started.elapsed() < Duration::from_secs(8));
}

/// A console.log of a toJSON that is interrupted once: the error is thrown on, so the action ends with
/// `Timeout` and the thread is not lost for long (it is not replaced if QuickJS stopped it in time).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_interrupt_inside_console_log_ends_the_run() {
    let engine = Engine::new(Limits {
        workers: 2,
        queue: 8,
        ..Limits::default()
    })
    .expect("engine");
    let code = "exports.onExecutePostLogin = async () => { const o = { toJSON() { for (;;) {} } }; for (;;) console.log(o); };";
    let started = Instant::now();
    let outcome = run(&engine, code).await;
    assert_eq!(kind(&outcome), Some(FailureKind::Timeout), "{outcome:?}");
    assert!(started.elapsed() < Duration::from_secs(3));
    assert_eq!(engine.lost_workers(), 0);
    assert_serves(&engine).await;
    // Once interrupted inside console.log, the code does not go on (the interrupt is not swallowed).
    let code = "exports.onExecutePostLogin = async () => { const o = { toJSON() { for (;;) {} } }; console.log(o); console.log('after'); };";
    let outcome = run(&engine, code).await;
    assert_eq!(kind(&outcome), Some(FailureKind::Timeout), "{outcome:?}");
    assert!(
        outcome.logs.iter().all(|l| l.output.is_empty()),
        "{:?}",
        outcome.logs
    );
}
