//! Refresh-token families: rotation, idempotent replays within the leeway, reuse
//! revoking the family, and exactly one successor under concurrency.

use serde_json::Map;
use tessera_core::flow::{IssuedToken, RefreshFamily, RefreshUse};
use tessera_core::model::User;
use tessera_core::store::{RefreshStore, UserStore};

use crate::Db;

const NOW: i64 = 1_800_000_000;
const USER: &str = "auth0|bbbbbbbbbbbbbbbbbbbbbbbb";

async fn setup(db: &Db) -> RefreshFamily {
    let m = tessera_core::envelope::MasterKey::from_bytes(&[9u8; 32]);
    let issuer = tessera_core::Issuer::parse("https://id.example.com/").unwrap();
    let admin = tessera_core::bootstrap::AdminClient {
        client_id: "app".into(),
        client_secret: tessera_core::Secret::new("x".repeat(40)),
    };
    tessera_core::bootstrap::run(db.store.as_ref(), &m, &issuer, Some(&admin), NOW)
        .await
        .unwrap();
    let user = User {
        user_id: USER.into(),
        connection: "Username-Password-Authentication".into(),
        email: Some("r@example.com".into()),
        email_verified: true,
        name: None,
        given_name: None,
        family_name: None,
        nickname: None,
        picture: None,
        user_metadata: Map::new(),
        app_metadata: Map::new(),
        blocked: false,
        created_at: NOW,
        updated_at: NOW,
        last_login: None,
        logins_count: 0,
        username: None,
        phone_number: None,
        phone_verified: None,
        identities: vec![],
    };
    db.store.create_user(&user, None).await.unwrap();
    let fam = RefreshFamily {
        id: "fam-1".into(),
        client_id: "app".into(),
        user_id: USER.into(),
        scope: vec!["openid".into(), "offline_access".into()],
        audience: None,
        sid: "sid".into(),
        auth_time: NOW,
        created_at: NOW,
        expires_at: Some(NOW + 1000),
        last_used_at: NOW,
        revoked_at: None,
    };
    db.store
        .create_refresh_family(&fam, &[1u8; 32], NOW + 500)
        .await
        .unwrap();
    fam
}

fn h(n: u8) -> Vec<u8> {
    vec![n; 32]
}

pub async fn refresh_rotation_replay_and_reuse(db: Db) {
    let fam = setup(&db).await;
    // Another client's presentation changes nothing.
    assert_eq!(
        db.store
            .use_refresh_token("other", &h(1), &h(2), true, 30, NOW + 5, NOW + 505)
            .await
            .unwrap(),
        RefreshUse::Invalid
    );
    let live = |r: RefreshUse| match r {
        RefreshUse::Rotated(f) => f.id,
        other => panic!("expected rotation, got {other:?}"),
    };
    assert_eq!(
        live(
            db.store
                .use_refresh_token("app", &h(1), &h(2), true, 30, NOW + 10, NOW + 510)
                .await
                .unwrap()
        ),
        fam.id
    );
    assert_eq!(
        db.store.live_refresh_family(&h(1), NOW + 10).await.unwrap(),
        None,
        "retired"
    );
    assert!(
        db.store
            .live_refresh_family(&h(2), NOW + 10)
            .await
            .unwrap()
            .is_some(),
        "the successor is live"
    );
    // Within the leeway: the same retired token is an idempotent replay.
    assert!(matches!(
        db.store
            .use_refresh_token("app", &h(1), &h(2), true, 30, NOW + 39, NOW + 540)
            .await
            .unwrap(),
        RefreshUse::Replayed(_)
    ));
    // Past it: reuse, and the whole family is revoked.
    db.store
        .record_family_token(&fam.id, "at-1", NOW + 3600)
        .await
        .unwrap();
    assert!(matches!(
        db.store
            .use_refresh_token("app", &h(1), &h(2), true, 30, NOW + 40, NOW + 541)
            .await
            .unwrap(),
        RefreshUse::Reused(_)
    ));
    assert_eq!(
        db.store
            .use_refresh_token("app", &h(2), &h(3), true, 30, NOW + 42, NOW + 542)
            .await
            .unwrap(),
        RefreshUse::Invalid
    );
    assert_eq!(
        db.store
            .revoke_refresh_family(&fam.id, NOW + 43)
            .await
            .unwrap(),
        vec![IssuedToken {
            jti: "at-1".into(),
            expires_at: NOW + 3600
        }]
    );
    assert!(
        db.store
            .list_refresh_families(USER, None, NOW + 43)
            .await
            .unwrap()
            .is_empty()
    );
    assert_eq!(
        db.store
            .use_refresh_token("app", &h(9), &h(8), true, 30, NOW, NOW)
            .await
            .unwrap(),
        RefreshUse::Invalid,
        "unknown"
    );
}

pub async fn refresh_lifetimes_and_non_rotating_clients(db: Db) {
    let fam = setup(&db).await;
    // Non-rotating: the same token stays live and its idle expiry moves on.
    assert!(matches!(
        db.store
            .use_refresh_token("app", &h(1), &h(2), false, 0, NOW + 400, NOW + 900)
            .await
            .unwrap(),
        RefreshUse::Live(_)
    ));
    assert!(
        matches!(
            db.store
                .use_refresh_token("app", &h(1), &h(2), false, 0, NOW + 800, NOW + 999)
                .await
                .unwrap(),
            RefreshUse::Live(_)
        ),
        "idle expiry was extended"
    );
    // Idle expiry.
    assert_eq!(
        db.store
            .use_refresh_token("app", &h(1), &h(2), false, 0, NOW + 999, NOW + 1999)
            .await
            .unwrap(),
        RefreshUse::Invalid
    );
    // Absolute expiry of the family.
    let second = RefreshFamily {
        id: "fam-2".into(),
        expires_at: Some(NOW + 100),
        ..fam.clone()
    };
    db.store
        .create_refresh_family(&second, &h(5), NOW + 500)
        .await
        .unwrap();
    assert_eq!(
        db.store
            .use_refresh_token("app", &h(5), &h(6), true, 0, NOW + 100, NOW + 600)
            .await
            .unwrap(),
        RefreshUse::Invalid
    );
    assert_eq!(
        db.store
            .list_refresh_families(USER, Some("app"), NOW + 50)
            .await
            .unwrap()
            .len(),
        2
    );
    assert!(db.store.sweep_refresh(NOW + 2000).await.unwrap() >= 2);
    assert!(
        db.store
            .get_refresh_family("fam-2")
            .await
            .unwrap()
            .is_none(),
        "expired families are swept"
    );
    // Deleting the user deletes its families.
    let third = RefreshFamily {
        id: "fam-3".into(),
        expires_at: None,
        ..fam
    };
    db.store
        .create_refresh_family(&third, &h(7), NOW + 5000)
        .await
        .unwrap();
    db.store.delete_user(USER).await.unwrap();
    assert!(
        db.store
            .get_refresh_family("fam-3")
            .await
            .unwrap()
            .is_none()
    );
}

async fn race(db: &Db, leeway: i64) -> (usize, usize, usize) {
    let mut tasks = Vec::new();
    for _ in 0..8 {
        let store = db.store.clone();
        tasks.push(tokio::spawn(async move {
            store
                .use_refresh_token("app", &h(1), &h(2), true, leeway, NOW + 10, NOW + 510)
                .await
        }));
    }
    let (mut rotated, mut replayed, mut reused) = (0, 0, 0);
    for t in tasks {
        match t.await.unwrap().unwrap() {
            RefreshUse::Rotated(_) => rotated += 1,
            RefreshUse::Replayed(_) => replayed += 1,
            RefreshUse::Reused(_) | RefreshUse::Invalid => reused += 1,
            RefreshUse::Live(_) => panic!("a rotating client's token stayed live"),
        }
    }
    (rotated, replayed, reused)
}

pub async fn concurrent_refresh_outside_the_leeway_revokes_the_family(db: Db) {
    setup(&db).await;
    let (rotated, replayed, reused) = race(&db, 0).await;
    assert_eq!(
        (rotated, replayed, reused),
        (1, 0, 7),
        "one success; every replay is reuse"
    );
    assert!(
        db.store
            .list_refresh_families(USER, None, NOW + 11)
            .await
            .unwrap()
            .is_empty(),
        "the family is revoked"
    );
}

pub async fn concurrent_refresh_inside_the_leeway_has_one_successor(db: Db) {
    setup(&db).await;
    let (rotated, replayed, reused) = race(&db, 30).await;
    assert_eq!((rotated, replayed, reused), (1, 7, 0));
    assert!(
        db.store
            .live_refresh_family(&h(2), NOW + 11)
            .await
            .unwrap()
            .is_some(),
        "the one successor is live"
    );
    assert_eq!(
        db.store
            .list_refresh_families(USER, None, NOW + 11)
            .await
            .unwrap()
            .len(),
        1
    );
}
