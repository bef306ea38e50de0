//! Passwordless codes: tries reserved atomically before a compare (never more
//! than the maximum, also concurrently), a code used once, expiry, and the
//! per-email send window.

use tessera_core::passwordless::NewOtp;
use tessera_core::store::{FlowStore, OtpStore};

use crate::Db;

const NOW: i64 = 1_800_000_000;

fn otp(hash: &[u8], expires_at: i64) -> NewOtp {
    NewOtp {
        connection: "email".into(),
        email: "a@example.com".into(),
        code_hash: hash.to_vec(),
        client_id: "c1".into(),
        expires_at,
    }
}

pub async fn otp_tries_sends_use_and_expiry(db: Db) {
    let s = &db.store;
    assert!(
        s.put_otp(&otp(b"h1", NOW + 300), NOW, 3600, 2)
            .await
            .unwrap()
    );
    for _ in 0..3 {
        let h = s
            .reserve_otp_try("email", "a@example.com", NOW, 3)
            .await
            .unwrap();
        assert_eq!(h.as_deref(), Some(&b"h1"[..]));
    }
    assert_eq!(
        s.reserve_otp_try("email", "a@example.com", NOW, 3)
            .await
            .unwrap(),
        None,
        "a fourth try"
    );
    assert!(
        s.reserve_otp_try("email", "b@example.com", NOW, 3)
            .await
            .unwrap()
            .is_none()
    );
    // A new code replaces the old one and its tries start again; a third send
    // within the window is refused and changes nothing.
    assert!(
        s.put_otp(&otp(b"h2", NOW + 300), NOW + 1, 3600, 2)
            .await
            .unwrap()
    );
    assert!(
        !s.put_otp(&otp(b"h3", NOW + 300), NOW + 2, 3600, 2)
            .await
            .unwrap()
    );
    let h = s
        .reserve_otp_try("email", "a@example.com", NOW + 2, 3)
        .await
        .unwrap();
    assert_eq!(h.as_deref(), Some(&b"h2"[..]));
    assert!(
        !s.consume_otp("email", "a@example.com", b"h1", NOW + 2)
            .await
            .unwrap()
    );
    assert!(
        s.consume_otp("email", "a@example.com", b"h2", NOW + 2)
            .await
            .unwrap()
    );
    assert!(
        !s.consume_otp("email", "a@example.com", b"h2", NOW + 2)
            .await
            .unwrap(),
        "used once"
    );
    assert!(
        s.reserve_otp_try("email", "a@example.com", NOW + 2, 3)
            .await
            .unwrap()
            .is_none()
    );
    // After the window, sends count again from one; a code expires.
    assert!(
        s.put_otp(&otp(b"h4", NOW + 3700), NOW + 3601, 3600, 2)
            .await
            .unwrap()
    );
    assert!(
        s.reserve_otp_try("email", "a@example.com", NOW + 3700, 3)
            .await
            .unwrap()
            .is_none()
    );
    assert!(
        !s.consume_otp("email", "a@example.com", b"h4", NOW + 3700)
            .await
            .unwrap()
    );
    // Sweeping keeps rows whose send window may still count.
    s.sweep_flow(NOW + 3701).await.unwrap();
    assert!(
        !s.put_otp(&otp(b"h5", NOW + 9000), NOW + 3702, 3600, 1)
            .await
            .unwrap()
    );
    s.sweep_flow(NOW + 3601 + 86400).await.unwrap();
    assert!(
        s.put_otp(&otp(b"h5", NOW + 99_999), NOW + 3602 + 86400, 3600, 1)
            .await
            .unwrap()
    );
}

pub async fn concurrent_otp_tries_never_exceed_the_maximum(db: Db) {
    let s = db.store.clone();
    assert!(
        s.put_otp(&otp(b"h", NOW + 300), NOW, 3600, 5)
            .await
            .unwrap()
    );
    let mut tasks = Vec::new();
    for _ in 0..16 {
        let s = s.clone();
        tasks.push(tokio::spawn(async move {
            s.reserve_otp_try("email", "a@example.com", NOW, 3)
                .await
                .unwrap()
                .is_some()
        }));
    }
    let mut reserved = 0;
    for t in tasks {
        reserved += usize::from(t.await.unwrap());
    }
    assert_eq!(reserved, 3);
}
