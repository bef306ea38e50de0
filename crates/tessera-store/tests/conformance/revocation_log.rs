//! The revocation log read incrementally by the in-memory view (issue 9,
//! point 8): late-committed revocations are not missed, refreshes read only
//! recent rows, expired entries leave the view.

use std::sync::Arc;

use tessera_core::revocation::{OVERLAP, Refreshed, Revocations};
use tessera_core::store::{Revocation, RevocationStore};
use tessera_store::Backend;

use crate::{Db, T0};

fn jti(j: &str, expires_at: i64) -> Revocation {
    Revocation::Jti {
        jti: j.into(),
        expires_at,
    }
}

fn revoked(view: &Revocations, j: &str) -> bool {
    view.is_revoked(j, "some-client", &[], T0)
}

pub async fn revocations_are_read_incrementally_and_late_commits_are_not_missed(db: Db) {
    let store = db.store.clone();
    let view = Revocations::load(store.clone(), T0).await.unwrap();
    assert!(view.is_empty());
    // Numbers 1 and 2; number 1 expires and is purged, leaving a gap below 2.
    store.add_revocation(&jti("brief", T0 + 5)).await.unwrap();
    store.add_revocation(&jti("a", T0 + 1000)).await.unwrap();
    assert_eq!(store.purge_revocations(T0 + 10).await.unwrap(), 1);
    let numbers: Vec<i64> = store
        .revocations_after(0, T0 + 10)
        .await
        .unwrap()
        .iter()
        .map(|r| r.seq)
        .collect();
    assert_eq!(numbers.len(), 1);
    let high = numbers[0];
    view.refresh(T0 + 10).await.unwrap();
    assert!(revoked(&view, "a"));

    // A row numbered below what this node has read becomes visible only now
    // (its insert committed late): the overlap still finds it.
    store
        .add_revocation_numbered(&jti("late", T0 + 1000), high - 1)
        .await
        .unwrap();
    view.refresh(T0 + OVERLAP + 5).await.unwrap();
    assert!(
        revoked(&view, "late"),
        "a late-committed revocation was missed"
    );

    // Once nothing recent is left to re-read, a refresh reads only new rows.
    let r = view.refresh(T0 + 2 * OVERLAP + 20).await.unwrap();
    assert_eq!(
        r,
        Refreshed {
            full: false,
            read: 0,
            live: 2
        }
    );
    store.add_revocation(&jti("b", T0 + 1000)).await.unwrap();
    let r = view.refresh(T0 + 2 * OVERLAP + 22).await.unwrap();
    assert_eq!((r.full, r.read), (false, 1), "{r:?}");
    assert!(revoked(&view, "b"));
    assert_eq!(
        store
            .revocations_after(high, T0 + 10)
            .await
            .unwrap()
            .iter()
            .map(|r| r.revocation.clone())
            .collect::<Vec<_>>(),
        vec![jti("b", T0 + 1000)],
        "numbers grow: a new row comes after every one read"
    );

    if store.kind() == Backend::Postgres {
        // The real thing: a sequence number taken by an insert that commits
        // after a higher-numbered insert was read.
        let slow = store
            .begin_revocation(&jti("slow", T0 + 1000))
            .await
            .unwrap();
        store.add_revocation(&jti("fast", T0 + 1000)).await.unwrap();
        view.refresh(T0 + 2 * OVERLAP + 24).await.unwrap();
        assert!(revoked(&view, "fast"));
        assert!(!revoked(&view, "slow"), "not committed yet");
        slow.commit().await.unwrap();
        view.refresh(T0 + 2 * OVERLAP + 26).await.unwrap();
        assert!(
            revoked(&view, "slow"),
            "a revocation committed out of order was missed"
        );
    }
}

pub async fn expired_revocations_leave_the_view(db: Db) {
    let store = db.store.clone();
    store.add_revocation(&jti("short", T0 + 60)).await.unwrap();
    store
        .add_revocation(&Revocation::Client {
            client_id: "c1".into(),
            audience: Some("https://api.one".into()),
            issued_before: T0,
            expires_at: T0 + 600,
        })
        .await
        .unwrap();
    let view = Arc::new(Revocations::load(store.clone(), T0).await.unwrap());
    assert_eq!(view.len(), 2);
    assert!(view.is_revoked("short", "x", &[], T0));
    assert!(view.is_revoked("j", "c1", &["https://api.one".into()], T0));
    // A revocation made on this node applies at once and expires the same way.
    view.revoke(jti("local", T0 + 60)).await.unwrap();
    assert!(view.is_revoked("local", "x", &[], T0));

    let r = view.refresh(T0 + 60).await.unwrap();
    assert_eq!(r.live, 1, "{r:?}");
    assert!(!view.is_revoked("short", "x", &[], T0));
    assert!(!view.is_revoked("local", "x", &[], T0));
    assert!(view.is_revoked("j", "c1", &["https://api.one".into()], T0));
    view.refresh(T0 + 600).await.unwrap();
    assert!(view.is_empty());
    assert!(!view.is_revoked("j", "c1", &["https://api.one".into()], T0));
}
