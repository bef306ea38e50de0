//! Issue 13, item 5: user import jobs. Auth0-exported users with their bcrypt
//! hashes import and log in with their old passwords (hosted page and password
//! grant), their hashes becoming argon2id; every `custom_password_hash`
//! algorithm; per-row errors beside good rows; duplicates with and without
//! upsert; bad uploads; who may import.
//!
//! The bcrypt and argon2i hashes below were made by independent
//! implementations: Python's `bcrypt` 5.0.0 (pyca) and `argon2-cffi` 25.1.0;
//! the digests by Python's `hashlib`/`hmac`.

use reqwest::Method;
use serde_json::{Value, json};
use tessera_core::store::UserStore;

use crate::common::*;
use crate::hosted::{browser, start_login, submit_login, web_app};
use crate::jobs_common::*;

const ADA_PASSWORD: &str = "Tr0ub4dor&3 ada";
const GRACE_PASSWORD: &str = "hunter2 grace lovelace";
const PW: &str = "correct horse battery";

/// Users as Auth0 exports them, with the bcrypt hashes Auth0 support hands
/// over, in the bulk import schema (the id without its `auth0|` prefix).
fn auth0_export() -> Value {
    json!([
        {"user_id": "5f1a2b3c4d5e6f7a8b9c0d1e", "email": "ada@example.com", "email_verified": true,
         "name": "Ada Lovelace", "given_name": "Ada", "family_name": "Lovelace", "nickname": "ada",
         "picture": "https://example.com/ada.png", "app_metadata": {"plan": "gold"},
         "user_metadata": {"lang": "en"},
         "password_hash": "$2b$10$2DvrhqBpzO1vI6sKZBf69uqNFfBViyE5056UP475.8C2oxxBJnLby"},
        {"user_id": "5f1a2b3c4d5e6f7a8b9c0d1f", "email": "grace@example.com", "email_verified": false,
         "name": "Grace Hopper",
         "custom_password_hash": {"algorithm": "bcrypt",
            "hash": {"value": "$2b$10$tylLnB0Mu7E/vjZK.dHzyeZJh3DvR9XLJE5xYgU6wLVt.BU6NMlKO"}}}
    ])
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn auth0_exported_users_with_bcrypt_hashes_import_log_in_with_their_old_passwords_through_the_hosted_page_and_the_password_grant_and_their_hashes_become_argon2()
 {
    let s = start().await;
    let admin = s.admin_token().await;
    // A file of Auth0-exported users with bcrypt hashes imports,
    let job = import(&s, &admin, &auth0_export(), false).await;
    assert_eq!(job["status"], "completed", "{job}");
    assert_eq!(
        job["summary"],
        json!({"failed": 0, "updated": 0, "inserted": 2, "total": 2})
    );
    let ada = s
        .store
        .users_by_email("ada@example.com")
        .await
        .unwrap()
        .remove(0);
    assert_eq!(ada.user_id, "auth0|5f1a2b3c4d5e6f7a8b9c0d1e");
    assert_eq!(
        (ada.email_verified, ada.app_metadata["plan"].as_str()),
        (true, Some("gold"))
    );
    assert!(
        stored_hash(&s, "ada@example.com")
            .await
            .unwrap()
            .starts_with("$2b$10$")
    );
    // those users log in with their old passwords through the hosted page
    let (client_id, _) = web_app(&s, true).await;
    let b = browser();
    let f = start_login(&b, &s, &crate::hosted::authorize_url(&s, &client_id, &[])).await;
    let wrong = submit_login(&b, &s, &f, "ada@example.com", "Tr0ub4dor&3 adA").await;
    assert_eq!(wrong.status(), 400, "a wrong password fails");
    assert!(
        stored_hash(&s, "ada@example.com")
            .await
            .unwrap()
            .starts_with("$2b$"),
        "and does not rehash"
    );
    let res = submit_login(&b, &s, &f, "ada@example.com", ADA_PASSWORD).await;
    assert_eq!(res.status(), 303, "{:?}", res.text().await);
    // and the password grant,
    let app = realm_app(&s).await;
    let r = password_grant(&s, &app, "grace@example.com", "hunter2 grace lovelacE").await;
    assert_eq!(r.reason(), Some(Reason::PasswordWrong), "{r:?}");
    assert!(
        stored_hash(&s, "grace@example.com")
            .await
            .unwrap()
            .starts_with("$2b$")
    );
    let r = password_grant(&s, &app, "grace@example.com", GRACE_PASSWORD).await;
    assert_eq!(r.status, 200, "{r:?}");
    // and their hashes become argon2,
    for email in ["ada@example.com", "grace@example.com"] {
        let h = stored_hash(&s, email).await.unwrap();
        assert!(
            h.starts_with("$argon2id$v=19$m=19456,t=2,p=1$"),
            "{email}: {h}"
        );
    }
    // with which they keep logging in.
    let r = password_grant(&s, &app, "ada@example.com", ADA_PASSWORD).await;
    assert_eq!(r.status, 200, "{r:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_imported_hash_algorithm_logs_in_through_the_password_grant() {
    let s = start().await;
    let admin = s.admin_token().await;
    let hashes = [
        (
            "bcrypt-2a",
            json!({"password_hash": "$2a$10$0SFrsu2lBR8UN97bIx9WBeDS9zauBQOPjuaGa8ugKQpqMdteaM97e"}),
        ),
        (
            "bcrypt-2y",
            json!({"password_hash": "$2y$10$0SFrsu2lBR8UN97bIx9WBeDS9zauBQOPjuaGa8ugKQpqMdteaM97e"}),
        ),
        (
            "argon2i",
            json!({"custom_password_hash": {"algorithm": "argon2", "hash": {"value":
            "$argon2i$v=19$m=8192,t=2,p=1$y4+OzV6+vMGGAEuS2IWdCQ$18GWVsDtI3gvRtJYYHoTdnkhMXvxZXsJ68DFtwFeQBM"}}}),
        ),
        (
            "pbkdf2",
            json!({"custom_password_hash": {"algorithm": "pbkdf2", "hash": {"value":
            "$pbkdf2-sha512$i=10000,l=64$cGVwcGVyLXNhbHQ$AqKrtlLsuU+msxdn9A6dm+uCmcgN4Nh0sf6Jv5Ay5t3vB4XKQ6Xm6gA9AalTXtCiq5AWtH+E7kmH1RV6J/ufjQ",
            "encoding": "utf8"}}}),
        ),
        (
            "md5",
            json!({"custom_password_hash": {"algorithm": "md5", "hash": {"value": "88e4ddd2402d92d50e1879d6ecd9ffd4", "encoding": "hex"}}}),
        ),
        (
            "sha1",
            json!({"custom_password_hash": {"algorithm": "sha1", "hash": {"value": "PhSmSnoPFGgIKQQLlg+r9tCkQVw=", "encoding": "base64"},
            "salt": {"value": "pepper-salt", "position": "suffix"}}}),
        ),
        (
            "sha256",
            json!({"custom_password_hash": {"algorithm": "sha256", "hash": {"value":
            "b3dbd2fa9dfd4922b6b7fe6ee431b9bf0cc581513ce4365303b499df55d37b51", "encoding": "hex"},
            "salt": {"value": "pepper-salt", "encoding": "utf8", "position": "prefix"}}}),
        ),
        (
            "sha512",
            json!({"custom_password_hash": {"algorithm": "sha512", "hash": {"value":
            "mMNk5FMtgjihxTUb1QQOdOLU2KqNqAX8NQZoX/nwB8D+/eeGQ7Yo2Ct31m5lrDbtRn/Kn6SEDPHX24cxN8YPcg==", "encoding": "base64"},
            "salt": {"value": "cGVwcGVyLXNhbHQ=", "encoding": "base64", "position": "suffix"}}}),
        ),
        (
            "hmac",
            json!({"custom_password_hash": {"algorithm": "hmac", "hash": {"value":
            "a1b2d30593a84b97d6b656ce93cc30c959b6fc4f63cd8a494edb4ec98d34a584", "encoding": "hex", "digest": "sha256",
            "key": {"value": "secret-key", "encoding": "utf8"}}}}),
        ),
    ];
    let rows: Vec<Value> = hashes
        .iter()
        .map(|(alg, h)| {
            let mut row = json!({"email": format!("{alg}@example.com")});
            for (k, v) in h.as_object().unwrap() {
                row[k] = v.clone();
            }
            row
        })
        .collect();
    let job = import(&s, &admin, &Value::Array(rows), false).await;
    assert_eq!(job["summary"]["inserted"], hashes.len(), "{job}");
    let app = realm_app(&s).await;
    for (alg, _) in &hashes {
        let email = format!("{alg}@example.com");
        let before = stored_hash(&s, &email).await.unwrap();
        let r = password_grant(&s, &app, &email, "correct horse batterY").await;
        assert_eq!(r.reason(), Some(Reason::PasswordWrong), "{alg}: {r:?}");
        assert_eq!(
            stored_hash(&s, &email).await.unwrap(),
            before,
            "{alg}: no rehash on a wrong password"
        );
        let r = password_grant(&s, &app, &email, PW).await;
        assert_eq!(r.status, 200, "{alg}: {r:?}");
        let after = stored_hash(&s, &email).await.unwrap();
        assert!(
            after.starts_with("$argon2id$v=19$m=19456,t=2,p=1$"),
            "{alg}: {after}"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn malformed_rows_are_reported_per_row_while_good_rows_import() {
    let s = start().await;
    let admin = s.admin_token().await;
    let file = br#"[
        {"email": "good1@example.com"},
        {"email": "not-an-email", "password_hash": "$2b$10$secret"},
        "a string",
        {"email": "good2@example.com", "colour": "blue"},
        {"email": "bad-hash@example.com", "custom_password_hash": {"algorithm": "scrypt", "hash": {"value": "x"}}},
        {"email": "good3@example.com", "custom_password_hash": {"algorithm": "md5", "hash": {"value": "88e4ddd2402d92d50e1879d6ecd9ffd4"}}},
        {"email": }
    ]"#;
    let conn = db_connection_id(&s).await;
    let r = post_import(
        &s,
        &admin,
        file,
        &[
            ("connection_id", &conn),
            ("external_id", "batch-7"),
            ("send_completion_email", "false"),
        ],
    )
    .await;
    assert_eq!(r.status, 201, "{r:?}");
    assert_eq!(
        (r.body["type"].as_str(), r.body["status"].as_str()),
        (Some("users_import"), Some("pending"))
    );
    assert_eq!(
        (
            r.body["connection_id"].as_str(),
            r.body["external_id"].as_str()
        ),
        (Some(conn.as_str()), Some("batch-7"))
    );
    assert!(r.body["id"].as_str().unwrap().starts_with("job_") && r.body["created_at"].is_string());
    let job = wait_for(&s, &admin, r.body["id"].as_str().unwrap()).await;
    assert_eq!(
        job["summary"],
        json!({"failed": 5, "updated": 0, "inserted": 2, "total": 7}),
        "{job}"
    );
    let errors = s
        .api(
            Method::GET,
            &format!("api/v2/jobs/{}/errors", job["id"].as_str().unwrap()),
            &admin,
            None,
        )
        .await;
    assert_eq!(errors.status, 200);
    let codes: Vec<Vec<&str>> = errors
        .body
        .as_array()
        .unwrap()
        .iter()
        .map(|e| {
            e["errors"]
                .as_array()
                .unwrap()
                .iter()
                .map(|x| x["code"].as_str().unwrap())
                .collect()
        })
        .collect();
    assert_eq!(
        codes,
        vec![
            vec!["INVALID_FORMAT", "INVALID_FORMAT"],
            vec!["INVALID_TYPE"],
            vec!["OBJECT_ADDITIONAL_PROPERTIES"],
            vec!["UNSUPPORTED_ALGORITHM"],
            vec!["INVALID_FORMAT"],
        ]
    );
    let first = &errors.body[0];
    assert_eq!(
        first["user"],
        json!({"email": "not-an-email"}),
        "the user without its hash"
    );
    assert_eq!(first["errors"][0]["path"], "#/email");
    assert!(!errors.body.to_string().contains("$2b$10$secret"));
    for e in ["good1@example.com", "good3@example.com"] {
        assert_eq!(s.store.users_by_email(e).await.unwrap().len(), 1, "{e}");
    }
    assert!(
        s.store
            .users_by_email("good2@example.com")
            .await
            .unwrap()
            .is_empty()
    );
    // A job without failed rows answers itself on /errors.
    let job = import(&s, &admin, &json!([{"email": "clean@example.com"}]), false).await;
    let r = s
        .api(
            Method::GET,
            &format!("api/v2/jobs/{}/errors", job["id"].as_str().unwrap()),
            &admin,
            None,
        )
        .await;
    assert_eq!(r.body["id"], job["id"]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn duplicates_fail_without_upsert_and_update_the_profile_with_it() {
    let s = start().await;
    let admin = s.admin_token().await;
    let first = json!([{"email": "dup@example.com", "name": "Old", "user_id": "u1",
        "password_hash": "$2b$10$0SFrsu2lBR8UN97bIx9WBeDS9zauBQOPjuaGa8ugKQpqMdteaM97e"}]);
    import(&s, &admin, &first, false).await;
    let again = json!([
        {"email": "DUP@example.com", "name": "New", "blocked": true, "app_metadata": {"tier": 2},
         "custom_password_hash": {"algorithm": "md5", "hash": {"value": "88e4ddd2402d92d50e1879d6ecd9ffd4"}}},
        {"email": "other@example.com", "user_id": "u1"}
    ]);
    let job = import(&s, &admin, &again, false).await;
    assert_eq!(
        job["summary"],
        json!({"failed": 2, "updated": 0, "inserted": 0, "total": 2})
    );
    let errors = s
        .api(
            Method::GET,
            &format!("api/v2/jobs/{}/errors", job["id"].as_str().unwrap()),
            &admin,
            None,
        )
        .await;
    assert_eq!(errors.body[0]["errors"][0]["code"], "DUPLICATED_USER");
    assert_eq!(errors.body[1]["errors"][0]["code"], "DUPLICATED_USER");
    let u = s
        .store
        .users_by_email("dup@example.com")
        .await
        .unwrap()
        .remove(0);
    assert_eq!(u.name.as_deref(), Some("Old"));
    // With upsert: the profile and metadata change; never the block, the id or the hash.
    let job = import(&s, &admin, &again, true).await;
    assert_eq!(
        job["summary"],
        json!({"failed": 1, "updated": 1, "inserted": 0, "total": 2})
    );
    let u = s
        .store
        .users_by_email("dup@example.com")
        .await
        .unwrap()
        .remove(0);
    assert_eq!(
        (u.name.as_deref(), u.blocked, u.user_id.as_str()),
        (Some("New"), false, "auth0|u1")
    );
    assert_eq!(u.app_metadata["tier"], 2);
    assert!(
        stored_hash(&s, "dup@example.com")
            .await
            .unwrap()
            .starts_with("$2b$10$")
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_uploads_are_refused_in_auth0s_shape() {
    let s = start_opts(Options {
        configure: |c| c.jobs.import_limit = 4096,
        ..Options::default()
    })
    .await;
    let admin = s.admin_token().await;
    let conn = db_connection_id(&s).await;
    let ok = br#"[{"email": "a@example.com"}]"#;
    // Not multipart at all.
    let r = s
        .api(
            Method::POST,
            "api/v2/jobs/users-imports",
            &admin,
            Some(json!({"connection_id": conn})),
        )
        .await;
    assert_mgmt_error(&r, 400, "invalid_body");
    // A broken multipart body.
    let r = reply(
        http()
            .post(s.url("api/v2/jobs/users-imports"))
            .bearer_auth(&admin)
            .header("content-type", "multipart/form-data; boundary=XYZ")
            .body("--XYZ\r\nContent-Disposition: form-data; name=\"users\"\r\n\r\n[{}]")
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_mgmt_error(&r, 400, "invalid_body");
    // Missing file, missing connection, unknown field, bad flags, not an array.
    let empty = reply(
        http()
            .post(s.url("api/v2/jobs/users-imports"))
            .bearer_auth(&admin)
            .multipart(reqwest::multipart::Form::new().text("connection_id", conn.clone()))
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_mgmt_error(&empty, 400, "invalid_body");
    for (file, fields) in [
        (&ok[..], vec![]),
        (
            &ok[..],
            vec![("connection_id", conn.as_str()), ("colour", "blue")],
        ),
        (
            &ok[..],
            vec![("connection_id", conn.as_str()), ("upsert", "yes")],
        ),
        (
            &ok[..],
            vec![
                ("connection_id", conn.as_str()),
                ("send_completion_email", "1"),
            ],
        ),
        (
            &br#"{"email": "a@example.com"}"#[..],
            vec![("connection_id", conn.as_str())],
        ),
        (&b""[..], vec![("connection_id", conn.as_str())]),
        (&ok[..], vec![("connection_id", "con_doesnotexist")]),
    ] {
        let r = post_import(&s, &admin, file, &fields).await;
        assert_mgmt_error(&r, 400, "invalid_body");
    }
    // A connection that is not a database one.
    let social = s
        .api(
            Method::POST,
            "api/v2/connections",
            &admin,
            Some(json!({"name": "email", "strategy": "email"})),
        )
        .await;
    assert_eq!(social.status, 201, "{social:?}");
    let r = post_import(
        &s,
        &admin,
        ok,
        &[("connection_id", social.body["id"].as_str().unwrap())],
    )
    .await;
    assert_mgmt_error(&r, 400, "invalid_body");
    assert!(
        r.body["message"]
            .as_str()
            .unwrap()
            .contains("database connection"),
        "{r:?}"
    );
    // Over the import limit: 413 in Auth0's shape.
    let big = format!("[{}]", vec![r#"{"email": "x@example.com"}"#; 400].join(","));
    let r = post_import(&s, &admin, big.as_bytes(), &[("connection_id", &conn)]).await;
    assert_mgmt_error(&r, 413, "payload_too_large");
    // Nothing was imported by any of these.
    assert!(
        s.store
            .users_by_email("a@example.com")
            .await
            .unwrap()
            .is_empty()
    );
    assert!(
        s.store
            .users_by_email("x@example.com")
            .await
            .unwrap()
            .is_empty()
    );
    // send_completion_email=true is accepted (no email yet).
    let r = post_import(
        &s,
        &admin,
        ok,
        &[("connection_id", &conn), ("send_completion_email", "true")],
    )
    .await;
    assert_eq!(r.status, 201, "{r:?}");
    let job = wait_for(&s, &admin, r.body["id"].as_str().unwrap()).await;
    assert_eq!(job["summary"]["inserted"], 1);
    let r = s
        .api(Method::GET, "api/v2/jobs/job_doesnotexist", &admin, None)
        .await;
    assert_mgmt_error(&r, 404, "inexistent_job");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn only_callers_with_the_scope_may_import_or_read_jobs() {
    let s = start().await;
    let conn = db_connection_id(&s).await;
    let file = br#"[{"email": "scoped@example.com"}]"#;
    let fields = [("connection_id", conn.as_str())];
    // Every users scope but create:users.
    let others = s
        .token_with_scopes(&["read:users", "update:users", "delete:users"])
        .await;
    let r = post_import(&s, &others, file, &fields).await;
    assert_mgmt_error(&r, 403, "insufficient_scope");
    assert!(r.body["message"].as_str().unwrap().contains("create:users"));
    // A user's token, an ID token, a token for another API.
    let now = s.state.clock.now();
    let signer = s.state.keys.current().signer().clone();
    let user_token = tessera_core::jwt::sign(&signer, tessera_core::jwt::TYP_AT_JWT, &json!({
        "iss": s.base, "sub": "auth0|someone", "aud": s.management_audience(), "iat": now, "exp": now + 60,
        "jti": "u1", "client_id": ADMIN_ID, "scope": "create:users read:users"})).unwrap();
    let id_token = tessera_core::jwt::sign(&signer, tessera_core::jwt::TYP_JWT, &json!({
        "iss": s.base, "sub": "auth0|someone", "aud": s.management_audience(), "iat": now, "exp": now + 60, "nonce": "n"})).unwrap();
    let other_api = tessera_core::jwt::sign(&signer, tessera_core::jwt::TYP_AT_JWT, &json!({
        "iss": s.base, "sub": format!("{ADMIN_ID}@clients"), "aud": "https://orders.example/", "iat": now, "exp": now + 60,
        "jti": "o1", "client_id": ADMIN_ID, "scope": "create:users", "gty": "client-credentials"})).unwrap();
    for token in [&user_token, &id_token, &other_api] {
        let r = post_import(&s, token, file, &fields).await;
        assert!(r.status == 401 || r.status == 403, "{r:?}");
    }
    assert!(
        s.store
            .users_by_email("scoped@example.com")
            .await
            .unwrap()
            .is_empty()
    );
    // create:users imports; the job is read with create:users or read:users, not with others.
    let creator = s.token_with_scopes(&["create:users"]).await;
    let r = post_import(&s, &creator, file, &fields).await;
    assert_eq!(r.status, 201, "{r:?}");
    let path = format!("api/v2/jobs/{}", r.body["id"].as_str().unwrap());
    let reader = s.token_with_scopes(&["read:users"]).await;
    wait_for(&s, &reader, r.body["id"].as_str().unwrap()).await;
    for p in [path.clone(), format!("{path}/errors")] {
        assert_eq!(s.api(Method::GET, &p, &creator, None).await.status, 200);
        let none = s.token_with_scopes(&["update:users"]).await;
        assert_mgmt_error(
            &s.api(Method::GET, &p, &none, None).await,
            403,
            "insufficient_scope",
        );
        assert_mgmt_error(
            &s.api(Method::GET, &p, &id_token, None).await,
            401,
            "invalid_token",
        );
    }
}
