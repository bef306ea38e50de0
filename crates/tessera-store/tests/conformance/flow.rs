//! The interactive flow's storage: codes (consumed exactly once), sessions,
//! consents, opaque tokens, failed logins, sweeping.

use serde_json::Map;
use tessera_core::flow::{
    AuthCode, AuthorizeTx, CodeIssue, CodeRecorded, CodeUse, IssuedToken, OpaqueToken, Session,
};
use tessera_core::model::{Identity, User};
use tessera_core::store::{FlowStore, LoginAttempt, StoreError, UserStore};

use crate::Db;

pub const NOW: i64 = 1_800_000_000;

fn code(expires_at: i64) -> AuthCode {
    AuthCode {
        client_id: "app".into(),
        redirect_uri: "https://app.example/cb".into(),
        user_id: "auth0|0123456789abcdef01234567".into(),
        sid: "sid-1".into(),
        scope: vec!["openid".into()],
        audience: None,
        nonce: Some("n".into()),
        code_challenge: None,
        auth_time: NOW,
        expires_at,
        custom: Default::default(),
    }
}

async fn user(db: &Db, id: &str) {
    let u = User {
        user_id: id.into(),
        connection: "Username-Password-Authentication".into(),
        email: Some(format!("{}@example.com", id.replace('|', "-"))),
        email_verified: false,
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
        identities: vec![Identity {
            connection: "Username-Password-Authentication".into(),
            user_id: id.into(),
            provider: "auth0".into(),
            is_social: false,
        }],
    };
    db.store.create_user(&u, Some("$argon2id$x")).await.unwrap();
}

pub async fn codes_are_consumed_once_and_replays_report_what_they_issued(db: Db) {
    let hash = vec![1u8; 32];
    db.store.put_code(&hash, &code(NOW + 60)).await.unwrap();
    assert_eq!(
        db.store.consume_code(&hash, NOW + 1).await.unwrap(),
        CodeUse::First(code(NOW + 60))
    );
    let issued = CodeIssue {
        access_tokens: vec![IssuedToken {
            jti: "jti-a".into(),
            expires_at: NOW + 600,
        }],
        families: vec!["rtf_1".into()],
    };
    assert_eq!(
        db.store.record_code_issue(&hash, &issued).await.unwrap(),
        CodeRecorded::Clean
    );
    assert_eq!(
        db.store.consume_code(&hash, NOW + 2).await.unwrap(),
        CodeUse::Replayed {
            code: code(NOW + 60),
            issued: issued.clone(),
        }
    );
    assert_eq!(
        db.store.consume_code(&[9u8; 32], NOW).await.unwrap(),
        CodeUse::Unknown
    );
    // An expired code is never consumed.
    let old = vec![2u8; 32];
    db.store.put_code(&old, &code(NOW + 60)).await.unwrap();
    assert_eq!(
        db.store.consume_code(&old, NOW + 60).await.unwrap(),
        CodeUse::Unknown
    );
}

/// A replay between the first redemption's consumption and its record finds
/// nothing to revoke, but marks the code: the record reports it, so the
/// redemption revokes its own tokens.
pub async fn a_replay_during_redemption_is_seen_by_the_record(db: Db) {
    let hash = vec![3u8; 32];
    db.store.put_code(&hash, &code(NOW + 60)).await.unwrap();
    assert!(matches!(
        db.store.consume_code(&hash, NOW + 1).await.unwrap(),
        CodeUse::First(_)
    ));
    assert_eq!(
        db.store.consume_code(&hash, NOW + 2).await.unwrap(),
        CodeUse::Replayed {
            code: code(NOW + 60),
            issued: CodeIssue::default(),
        }
    );
    let issued = CodeIssue {
        access_tokens: vec![IssuedToken {
            jti: "jti-late".into(),
            expires_at: NOW + 60,
        }],
        families: vec![],
    };
    assert_eq!(
        db.store.record_code_issue(&hash, &issued).await.unwrap(),
        CodeRecorded::ReplayedMeanwhile
    );
}

pub async fn concurrent_code_consumption_has_exactly_one_winner(db: Db) {
    let hash = vec![3u8; 32];
    db.store.put_code(&hash, &code(NOW + 60)).await.unwrap();
    let mut tasks = Vec::new();
    for _ in 0..8 {
        let store = db.store.clone();
        let hash = hash.clone();
        tasks.push(tokio::spawn(async move {
            store.consume_code(&hash, NOW + 1).await
        }));
    }
    let mut firsts = 0;
    for t in tasks {
        match t.await.unwrap().unwrap() {
            CodeUse::First(_) => firsts += 1,
            CodeUse::Replayed { .. } => {}
            CodeUse::Unknown => panic!("a concurrent use saw no code"),
        }
    }
    assert_eq!(firsts, 1);
}

pub async fn sessions_consents_tokens_failures_and_sweeping(db: Db) {
    user(&db, "auth0|aaaaaaaaaaaaaaaaaaaaaaaa").await;
    let session = Session {
        secret_hash: vec![7u8; 32],
        sid: "sid-7".into(),
        user_id: "auth0|aaaaaaaaaaaaaaaaaaaaaaaa".into(),
        auth_time: NOW,
        created_at: NOW,
        last_seen: NOW,
        expires_at: NOW + 100,
    };
    db.store.create_session(&session).await.unwrap();
    assert_eq!(
        db.store.get_session(&[7u8; 32], NOW + 1).await.unwrap(),
        Some(session.clone())
    );
    assert_eq!(
        db.store.get_session(&[7u8; 32], NOW + 100).await.unwrap(),
        None,
        "expired"
    );
    assert_eq!(db.store.get_session(&[8u8; 32], NOW).await.unwrap(), None);
    // A session of an unknown user is refused by the foreign key.
    let orphan = Session {
        secret_hash: vec![6u8; 32],
        sid: "sid-6".into(),
        user_id: "auth0|ghost".into(),
        ..session.clone()
    };
    assert!(matches!(
        db.store.create_session(&orphan).await,
        Err(StoreError::Conflict(_))
    ));

    // Consents: per user, client and API; replaced on update.
    assert_eq!(
        db.store
            .get_consent(&session.user_id, "admin", "")
            .await
            .unwrap(),
        None
    );
    let m = tessera_core::envelope::MasterKey::from_bytes(&[9u8; 32]);
    let issuer = tessera_core::Issuer::parse("https://id.example.com/").unwrap();
    let admin = tessera_core::bootstrap::AdminClient {
        client_id: "admin".into(),
        client_secret: tessera_core::Secret::new("x".repeat(40)),
    };
    tessera_core::bootstrap::run(db.store.as_ref(), &m, &issuer, Some(&admin), NOW)
        .await
        .unwrap();
    db.store
        .put_consent(&session.user_id, "admin", "", &["openid".into()], NOW)
        .await
        .unwrap();
    db.store
        .put_consent(
            &session.user_id,
            "admin",
            "",
            &["openid".into(), "email".into()],
            NOW,
        )
        .await
        .unwrap();
    assert_eq!(
        db.store
            .get_consent(&session.user_id, "admin", "")
            .await
            .unwrap(),
        Some(vec!["openid".into(), "email".into()])
    );

    // Opaque tokens.
    let token = OpaqueToken {
        client_id: "admin".into(),
        user_id: session.user_id.clone(),
        scope: vec!["openid".into()],
        sid: "sid-7".into(),
        issued_at: NOW,
        expires_at: NOW + 50,
    };
    db.store
        .put_opaque_token(&[5u8; 32], &token, "jti-5")
        .await
        .unwrap();
    assert_eq!(
        db.store.get_opaque_token(&[5u8; 32], NOW).await.unwrap(),
        Some(token.clone())
    );
    assert_eq!(
        db.store
            .get_opaque_token(&[5u8; 32], NOW + 50)
            .await
            .unwrap(),
        None
    );
    assert_eq!(
        db.store.find_opaque_token(&[5u8; 32], NOW).await.unwrap(),
        Some((token.clone(), "jti-5".to_owned()))
    );
    assert_eq!(
        db.store
            .find_opaque_token(&[5u8; 32], NOW + 50)
            .await
            .unwrap(),
        None
    );
    db.store.delete_opaque_token_by_jti("jti-5").await.unwrap();
    assert_eq!(
        db.store.get_opaque_token(&[5u8; 32], NOW).await.unwrap(),
        None
    );

    // Failed logins: reserved up to the threshold; clearing resets (more in
    // login_attempts.rs).
    for i in 0..3 {
        assert_eq!(
            db.store
                .reserve_login_attempt("k", NOW + i, 900, 3)
                .await
                .unwrap(),
            LoginAttempt::Reserved { failures: i + 1 }
        );
    }
    assert_eq!(
        db.store
            .reserve_login_attempt("k", NOW + 3, 900, 3)
            .await
            .unwrap(),
        LoginAttempt::Refused
    );
    db.store.clear_login_failures("k").await.unwrap();
    assert_eq!(
        db.store
            .reserve_login_attempt("k", NOW + 4, 900, 3)
            .await
            .unwrap(),
        LoginAttempt::Reserved { failures: 1 }
    );

    // Logins are recorded without rewriting the user.
    db.store
        .record_login(&session.user_id, NOW + 5)
        .await
        .unwrap();
    db.store
        .record_login(&session.user_id, NOW + 6)
        .await
        .unwrap();
    let u = db.store.get_user(&session.user_id).await.unwrap().unwrap();
    assert_eq!((u.last_login, u.logins_count), (Some(NOW + 6), 2));

    // Pending requests, then the sweep removes what expired.
    let tx = AuthorizeTx {
        id: "tx-1".into(),
        client_id: "admin".into(),
        redirect_uri: "https://app.example/cb".into(),
        response_type: tessera_core::flow::ResponseType::Code,
        response_mode: tessera_core::flow::ResponseMode::Query,
        scope: vec![],
        audience: None,
        state: None,
        nonce: None,
        code_challenge: None,
        prompt: vec![],
        max_age: None,
        login_hint: None,
        connection: None,
        browser_binding: vec![1, 2, 3],
        created_at: NOW,
        expires_at: NOW + 10,
    };
    db.store.put_authorize_tx(&tx).await.unwrap();
    assert_eq!(
        db.store.get_authorize_tx("tx-1", NOW).await.unwrap(),
        Some(tx)
    );
    assert_eq!(
        db.store.get_authorize_tx("tx-1", NOW + 10).await.unwrap(),
        None
    );
    assert!(
        db.store.sweep_flow(NOW + 200).await.unwrap() >= 2,
        "the tx and the session"
    );
    assert_eq!(
        db.store.get_session(&[7u8; 32], NOW).await.unwrap(),
        None,
        "swept"
    );

    // Deleting the user ends the rest of its sessions.
    db.store
        .create_session(&Session {
            secret_hash: vec![4u8; 32],
            sid: "sid-4".into(),
            expires_at: NOW + 10_000,
            ..session.clone()
        })
        .await
        .unwrap();
    assert!(db.store.delete_user(&session.user_id).await.unwrap());
    assert_eq!(db.store.get_session(&[4u8; 32], NOW).await.unwrap(), None);
}
