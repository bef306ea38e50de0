//! Issue 13, item 5, the attacker review's limits: imported hashes above the
//! cost budget (about 0.5 s per check) are refused per row while Auth0's
//! bcrypt cost 10 imports; rows with MFA factors are refused; a failed row
//! shows neither its bytes nor its hashes nor serde's messages; a job keeps
//! only its first failed rows (all counted); form fields are bounded.

use reqwest::Method;
use serde_json::{Value, json};
use tessera_core::jobs::MAX_STORED_ERRORS;
use tessera_core::store::UserStore;

use crate::common::*;
use crate::jobs_common::*;

/// The job's `/errors` list.
async fn errors_of(s: &TestServer, token: &str, job: &Value) -> Reply {
    let id = job["id"].as_str().unwrap();
    s.api(
        Method::GET,
        &format!("api/v2/jobs/{id}/errors"),
        token,
        None,
    )
    .await
}

/// Each failed row's `(codes, paths)`.
fn codes(errors: &Value) -> Vec<Vec<(String, String)>> {
    errors
        .as_array()
        .unwrap()
        .iter()
        .map(|e| {
            e["errors"]
                .as_array()
                .unwrap()
                .iter()
                .map(|x| {
                    let s = |k: &str| x[k].as_str().unwrap().to_owned();
                    (s("code"), s("path"))
                })
                .collect()
        })
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hashes_over_the_cost_budget_and_mfa_factors_are_refused_per_row() {
    let s = start().await;
    let admin = s.admin_token().await;
    // Cost 10 is what Auth0 exports; 14 is over the budget (cost 13).
    let cost10 = "$2b$10$CCCCCCCCCCCCCCCCCCCCC.E5YPO9kmyuRGyh0XouQYb4YMJKvyOeW";
    let users = json!([
        {"email": "cost10@example.com", "password_hash": cost10},
        {"email": "cost14@example.com", "password_hash": cost10.replace("$10$", "$14$")},
        {"email": "pbkdf2-short@example.com", "custom_password_hash": {"algorithm": "pbkdf2",
            "hash": {"value": "$pbkdf2-sha256$i=1000,l=1$cGVwcGVy$AQ"}}},
        {"email": "pbkdf2-long@example.com", "custom_password_hash": {"algorithm": "pbkdf2",
            "hash": {"value": format!("$pbkdf2-sha256$i=5000000$cGVwcGVy${}", "A".repeat(43))}}},
        {"email": "argon-big@example.com", "custom_password_hash": {"algorithm": "argon2",
            "hash": {"value": "$argon2id$v=19$m=262144,t=16,p=1$c2FsdHNhbHQ$aGFzaGhhc2hoYXNoaGFzaA"}}},
        {"email": "mfa@example.com", "mfa_factors": [{"totp": {"secret": "JBSWY3DPEHPK3PXP"}}]},
    ]);
    let job = import(&s, &admin, &users, false).await;
    assert_eq!(
        job["summary"],
        json!({"failed": 5, "updated": 0, "inserted": 1, "total": 6}),
        "{job}"
    );
    let r = errors_of(&s, &admin, &job).await;
    assert_eq!(r.status, 200, "{r:?}");
    let value = "#/custom_password_hash/hash/value".to_owned();
    let at = |c: &str, p: &str| vec![(c.to_owned(), p.to_owned())];
    assert_eq!(
        codes(&r.body),
        vec![
            at("INVALID_FORMAT", "#/password_hash"),
            at("INVALID_FORMAT", &value),
            at("INVALID_FORMAT", &value),
            at("INVALID_FORMAT", &value),
            at("UNSUPPORTED_PROPERTY", "#/mfa_factors"),
        ]
    );
    // The MFA secret is neither imported nor shown back.
    assert!(
        !r.body.to_string().contains("JBSWY3DPEHPK3PXP"),
        "{}",
        r.body
    );
    assert!(
        s.store
            .users_by_email("mfa@example.com")
            .await
            .unwrap()
            .is_empty()
    );
    assert_eq!(
        stored_hash(&s, "cost10@example.com").await.as_deref(),
        Some(cost10)
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_failed_row_never_echoes_its_bytes_and_only_the_first_failures_are_kept() {
    let s = start().await;
    let admin = s.admin_token().await;
    let conn = db_connection_id(&s).await;
    // Broken JSON holding a hash; a row with metadata and a hash.
    let mut file = String::from(
        r#"[{"email": "x@example.com", "password_hash": "$2b$10$s3cr3ts3cr3t" ,, },
        {"email": "bad", "app_metadata": {"key": "s3cr3t-meta"}, "custom_password_hash": {"algorithm": "md5", "hash": {"value": "s3cr3t-hex", "encoding": 7}}}"#,
    );
    // Many more failing rows than a job keeps.
    let n = MAX_STORED_ERRORS as usize + 3;
    file.push_str(&",{}".repeat(n - 2));
    file.push(']');
    let r = post_import(&s, &admin, file.as_bytes(), &[("connection_id", &conn)]).await;
    assert_eq!(r.status, 201, "{r:?}");
    let job = wait_for(&s, &admin, r.body["id"].as_str().unwrap()).await;
    assert_eq!(job["status"], "completed", "{job}");
    assert_eq!(job["summary"]["failed"], json!(n), "{job}");
    let r = errors_of(&s, &admin, &job).await;
    assert_eq!(r.status, 200);
    let rows = r.body.as_array().unwrap();
    assert_eq!(
        rows.len(),
        MAX_STORED_ERRORS as usize,
        "only the first kept"
    );
    assert_eq!(rows[0]["user"], json!({}), "no bytes of broken JSON");
    assert_eq!(rows[0]["errors"][0]["code"], "INVALID_FORMAT");
    assert_eq!(rows[1]["user"], json!({"email": "bad"}), "an allowlist");
    assert!(!r.body.to_string().contains("s3cr3t"), "{}", rows[1]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_oversized_form_field_is_refused() {
    let s = start().await;
    let admin = s.admin_token().await;
    let conn = db_connection_id(&s).await;
    let long = "x".repeat(4096);
    let r = post_import(
        &s,
        &admin,
        br#"[{"email": "field@example.com"}]"#,
        &[("connection_id", &conn), ("external_id", &long)],
    )
    .await;
    assert_mgmt_error(&r, 400, "invalid_body");
    assert!(
        s.store
            .users_by_email("field@example.com")
            .await
            .unwrap()
            .is_empty()
    );
}
