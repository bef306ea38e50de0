//! Brute-force counters: a login attempt is reserved atomically before its
//! password check, never more than the threshold per window, whatever runs
//! concurrently (each store connection stands for a node).

use tessera_core::store::{FlowStore, LoginAttempt};

use crate::Db;

const NOW: i64 = 1_800_000_000;

pub async fn login_attempts_are_reserved_up_to_the_threshold_per_window(db: Db) {
    let s = &db.store;
    for i in 0..3 {
        assert_eq!(
            s.reserve_login_attempt("a", NOW + i, 900, 3).await.unwrap(),
            LoginAttempt::Reserved { failures: i + 1 }
        );
    }
    // At the threshold: refused, and a refusal does not extend the block.
    for t in [NOW + 3, NOW + 500, NOW + 901] {
        assert_eq!(
            s.reserve_login_attempt("a", t, 900, 3).await.unwrap(),
            LoginAttempt::Refused,
            "at {t}"
        );
    }
    // Another key has its own count.
    assert_eq!(
        s.reserve_login_attempt("b", NOW + 3, 900, 3).await.unwrap(),
        LoginAttempt::Reserved { failures: 1 }
    );
    // `window` seconds after the last reserved attempt, the count starts again.
    assert_eq!(
        s.reserve_login_attempt("a", NOW + 2 + 900, 900, 3)
            .await
            .unwrap(),
        LoginAttempt::Reserved { failures: 1 }
    );
    // Each reserved attempt keeps the count alive for another window.
    for i in 1..3 {
        assert_eq!(
            s.reserve_login_attempt("b", NOW + 3 + i * 800, 900, 3)
                .await
                .unwrap(),
            LoginAttempt::Reserved { failures: i + 1 }
        );
    }
    assert_eq!(
        s.reserve_login_attempt("b", NOW + 3 + 2 * 800 + 899, 900, 3)
            .await
            .unwrap(),
        LoginAttempt::Refused
    );
    // A success clears; the sweep drops counters idle for a day.
    s.clear_login_failures("b").await.unwrap();
    assert_eq!(
        s.reserve_login_attempt("b", NOW + 3000, 900, 3)
            .await
            .unwrap(),
        LoginAttempt::Reserved { failures: 1 }
    );
    assert!(s.sweep_flow(NOW + 3000 + 86_400).await.unwrap() >= 2);
    assert_eq!(
        s.reserve_login_attempt("a", NOW + 3000 + 86_400, 900, 1)
            .await
            .unwrap(),
        LoginAttempt::Reserved { failures: 1 },
        "swept"
    );
}

pub async fn concurrent_login_reservations_never_exceed_the_threshold(db: Db) {
    const THRESHOLD: i64 = 10;
    for round in 0..3 {
        let key = format!("k{round}");
        let mut tasks = Vec::new();
        for _ in 0..60 {
            let store = db.store.clone();
            let key = key.clone();
            tasks.push(tokio::spawn(async move {
                store
                    .reserve_login_attempt(&key, NOW + round, 900, THRESHOLD)
                    .await
            }));
        }
        let mut counts = Vec::new();
        for t in tasks {
            match t.await.unwrap().unwrap() {
                LoginAttempt::Reserved { failures } => counts.push(failures),
                LoginAttempt::Refused => {}
            }
        }
        counts.sort_unstable();
        assert_eq!(
            counts,
            (1..=THRESHOLD).collect::<Vec<_>>(),
            "exactly the threshold reserved, each count once"
        );
    }
}
