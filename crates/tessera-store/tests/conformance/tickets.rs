//! Single-use tickets: read without taking, taken once (also concurrently),
//! dead once expired; a password change applies only while the password is
//! still the one the ticket replaces.

use tessera_core::store::{TicketStore, UserStore};
use tessera_core::ticket::{Ticket, TicketKind, new_ticket_value, password_fingerprint};

use crate::*;

fn ticket(kind: TicketKind, user_id: &str, replaces: Option<&str>) -> Ticket {
    Ticket {
        kind,
        user_id: user_id.into(),
        replaces: replaces.map(password_fingerprint),
        email: Some("ada@example.com".into()),
        client_id: Some("app".into()),
        result_url: Some("https://app.example/done".into()),
        mark_email_verified: true,
        include_email_in_redirect: false,
        created_at: T0,
        expires_at: T0 + 3600,
    }
}

pub async fn tickets_are_read_taken_once_and_expire(db: Db) {
    let s = &db.store;
    let (_, hash) = new_ticket_value().unwrap();
    let t = ticket(TicketKind::PasswordChange, "auth0|t1", Some("$argon2id$x"));
    s.create_ticket(&hash, &t).await.unwrap();
    assert!(matches!(
        s.create_ticket(&hash, &t).await,
        Err(tessera_core::store::StoreError::Conflict(_))
    ));
    // Read as often as asked, only as its own kind, only while live.
    for _ in 0..2 {
        assert_eq!(
            s.get_ticket(&hash, TicketKind::PasswordChange, T0)
                .await
                .unwrap(),
            Some(t.clone())
        );
    }
    assert_eq!(
        s.get_ticket(&hash, TicketKind::EmailVerification, T0)
            .await
            .unwrap(),
        None
    );
    assert_eq!(
        s.consume_ticket(&hash, TicketKind::EmailVerification, T0)
            .await
            .unwrap(),
        None,
        "another kind does not take it"
    );
    assert_eq!(
        s.get_ticket(&hash, TicketKind::PasswordChange, T0 + 3600)
            .await
            .unwrap(),
        None
    );
    assert_eq!(
        s.consume_ticket(&hash, TicketKind::PasswordChange, T0 + 3600)
            .await
            .unwrap(),
        None,
        "expired"
    );
    // Taken once.
    assert_eq!(
        s.consume_ticket(&hash, TicketKind::PasswordChange, T0 + 10)
            .await
            .unwrap(),
        Some(t)
    );
    assert_eq!(
        s.consume_ticket(&hash, TicketKind::PasswordChange, T0 + 11)
            .await
            .unwrap(),
        None
    );
    assert_eq!(
        s.get_ticket(&hash, TicketKind::PasswordChange, T0 + 11)
            .await
            .unwrap(),
        None
    );
    // The sweep drops expired ones only.
    let (_, live) = new_ticket_value().unwrap();
    let (_, dead) = new_ticket_value().unwrap();
    let v = ticket(TicketKind::EmailVerification, "auth0|t1", None);
    s.create_ticket(
        &live,
        &Ticket {
            expires_at: T0 + 7200,
            ..v.clone()
        },
    )
    .await
    .unwrap();
    s.create_ticket(&dead, &v).await.unwrap();
    assert_eq!(s.sweep_tickets(T0 + 3600).await.unwrap(), 1);
    assert!(
        s.get_ticket(&live, TicketKind::EmailVerification, T0 + 3600)
            .await
            .unwrap()
            .is_some()
    );
}

pub async fn concurrent_ticket_use_has_exactly_one_winner(db: Db) {
    let (_, hash) = new_ticket_value().unwrap();
    let t = ticket(TicketKind::EmailVerification, "auth0|t2", None);
    db.store.create_ticket(&hash, &t).await.unwrap();
    let mut tasks = Vec::new();
    for _ in 0..8 {
        let store = db.store.clone();
        let hash = hash.clone();
        tasks.push(tokio::spawn(async move {
            store
                .consume_ticket(&hash, TicketKind::EmailVerification, T0 + 1)
                .await
                .unwrap()
        }));
    }
    let mut winners = 0;
    for task in tasks {
        winners += usize::from(task.await.unwrap().is_some());
    }
    assert_eq!(winners, 1);
}

pub async fn a_password_change_applies_only_over_the_password_it_replaces(db: Db) {
    let s = &db.store;
    let jane = db_user("p1", DB_CONN, Some("jane@example.com"), None, T0);
    s.create_user(&jane, Some("$argon2id$old")).await.unwrap();
    let old = password_fingerprint("$argon2id$old");
    // Bound to another hash: refused, nothing changes.
    assert!(
        !s.replace_password(
            "auth0|p1",
            &password_fingerprint("$argon2id$other"),
            "$argon2id$new",
            T0 + 1
        )
        .await
        .unwrap()
    );
    assert!(
        !s.replace_password("auth0|nobody", &old, "$argon2id$new", T0 + 1)
            .await
            .unwrap()
    );
    let hash_of = || async {
        s.find_user_for_login(DB_CONN, "jane@example.com")
            .await
            .unwrap()
            .unwrap()
            .1
    };
    assert_eq!(hash_of().await.as_deref(), Some("$argon2id$old"));
    assert!(
        s.replace_password("auth0|p1", &old, "$argon2id$new", T0 + 2)
            .await
            .unwrap()
    );
    assert_eq!(hash_of().await.as_deref(), Some("$argon2id$new"));
    assert_eq!(
        s.get_user("auth0|p1").await.unwrap().unwrap().updated_at,
        T0 + 2
    );
    // The same binding again: the password is no longer the one it replaces.
    assert!(
        !s.replace_password("auth0|p1", &old, "$argon2id$third", T0 + 3)
            .await
            .unwrap()
    );
    assert_eq!(hash_of().await.as_deref(), Some("$argon2id$new"));
}
