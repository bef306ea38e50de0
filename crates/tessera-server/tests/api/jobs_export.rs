//! Issue 13, item 5: user export jobs. NDJSON or CSV of the fields asked for,
//! gzip, behind a link that works for a limited time; never a password hash.

use std::io::Read;
use std::sync::Arc;

use reqwest::Method;
use serde_json::{Value, json};
use tessera_core::Clock;
use tessera_core::clock::{FixedClock, SystemClock};

use crate::common::*;
use crate::jobs_common::*;

async fn export(s: &TestServer, token: &str, body: Value) -> Value {
    let r = s
        .api(Method::POST, "api/v2/jobs/users-exports", token, Some(body))
        .await;
    assert_eq!(r.status, 201, "{r:?}");
    assert_eq!(
        (r.body["type"].as_str(), r.body["status"].as_str()),
        (Some("users_export"), Some("pending"))
    );
    wait_for(s, token, r.body["id"].as_str().unwrap()).await
}

/// The file behind `location`, uncompressed; or the status.
async fn download(location: &str) -> Result<String, u16> {
    let res = http().get(location).send().await.unwrap();
    if res.status() != 200 {
        return Err(res.status().as_u16());
    }
    assert_eq!(res.headers()["content-type"], "application/gzip");
    let bytes = res.bytes().await.unwrap();
    let mut text = String::new();
    flate2::read::GzDecoder::new(&bytes[..])
        .read_to_string(&mut text)
        .unwrap();
    Ok(text)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn exports_hold_the_fields_asked_for_never_a_hash_and_their_link_expires() {
    let clock = Arc::new(FixedClock::new(SystemClock.now()));
    let s = start_opts(Options {
        clock: clock.clone(),
        ..Options::default()
    })
    .await;
    let admin = s.admin_token().await;
    let users = json!([
        {"email": "a@example.com", "name": "=HYPERLINK(\"http://evil\")", "app_metadata": {"plan": "gold"},
         "password_hash": "$2b$10$0SFrsu2lBR8UN97bIx9WBeDS9zauBQOPjuaGa8ugKQpqMdteaM97e"},
        {"email": "b@example.com", "name": "B, with \"quotes\"",
         "custom_password_hash": {"algorithm": "md5", "hash": {"value": "88e4ddd2402d92d50e1879d6ecd9ffd4"}}},
        {"email": "c@example.com"}
    ]);
    import(&s, &admin, &users, false).await;
    let conn = db_connection_id(&s).await;
    // JSON lines of the fields asked for.
    let job = export(
        &s,
        &admin,
        json!({"connection_id": conn, "format": "json",
        "fields": [{"name": "email"}, {"name": "app_metadata.plan", "export_as": "plan"}]}),
    )
    .await;
    assert_eq!(job["status"], "completed", "{job}");
    let location = job["location"].as_str().unwrap().to_owned();
    assert!(
        location.starts_with(&s.base) && location.ends_with(".json.gz"),
        "{location}"
    );
    let text = download(&location).await.unwrap();
    let mut lines: Vec<Value> = text
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    lines.sort_by_key(|l| l["email"].as_str().unwrap().to_owned());
    assert_eq!(
        lines,
        vec![
            json!({"email": "a@example.com", "plan": "gold"}),
            json!({"email": "b@example.com"}),
            json!({"email": "c@example.com"}),
        ]
    );
    // Every default field: still no hash.
    let job = export(&s, &admin, json!({"connection_id": conn})).await;
    let text = download(job["location"].as_str().unwrap()).await.unwrap();
    assert_eq!(text.lines().count(), 3);
    let first: Value = serde_json::from_str(text.lines().next().unwrap()).unwrap();
    assert!(
        first["user_id"].as_str().unwrap().starts_with("auth0|") && first["created_at"].is_string(),
        "{first}"
    );
    for secret in ["$2b$", "88e4ddd2", "password", "tessera-digest"] {
        assert!(!text.contains(secret), "{secret} in {text}");
    }
    // CSV: a header, RFC 4180 quoting, formulas defused; `limit`.
    let job = export(
        &s,
        &admin,
        json!({"connection_id": conn, "format": "csv",
        "fields": [{"name": "email"}, {"name": "name"}]}),
    )
    .await;
    let location = job["location"].as_str().unwrap().to_owned();
    assert!(location.ends_with(".csv.gz"));
    let csv = download(&location).await.unwrap();
    let lines: Vec<&str> = csv.split("\r\n").filter(|l| !l.is_empty()).collect();
    assert_eq!(lines.len(), 4, "{csv}");
    assert_eq!(lines[0], "email,name");
    assert!(
        csv.contains("a@example.com,\"'=HYPERLINK(\"\"http://evil\"\")\""),
        "{csv}"
    );
    assert!(
        csv.contains("b@example.com,\"B, with \"\"quotes\"\"\""),
        "{csv}"
    );
    let job = export(&s, &admin, json!({"connection_id": conn, "limit": 2})).await;
    let text = download(job["location"].as_str().unwrap()).await.unwrap();
    assert_eq!(text.lines().count(), 2, "limit");
    // Another token, or the wrong extension: nothing.
    let (head, _) = location.rsplit_once('/').unwrap();
    assert_eq!(
        download(&format!(
            "{head}/AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA.csv.gz"
        ))
        .await,
        Err(404)
    );
    assert_eq!(
        download(&location.replace(".csv.gz", ".json.gz")).await,
        Err(404)
    );
    // The link works for an hour.
    clock.advance(3599);
    assert!(download(&location).await.is_ok());
    clock.advance(1);
    assert_eq!(download(&location).await, Err(404));
    let r = s
        .api(
            Method::GET,
            &format!("api/v2/jobs/{}", job["id"].as_str().unwrap()),
            &admin,
            None,
        )
        .await;
    assert!(r.body.get("location").is_none(), "{r:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn exports_need_read_users_and_a_database_connection() {
    let s = start().await;
    let admin = s.admin_token().await;
    let conn = db_connection_id(&s).await;
    let body = json!({"connection_id": conn, "format": "json"});
    let creator = s.token_with_scopes(&["create:users", "update:users"]).await;
    let r = s
        .api(
            Method::POST,
            "api/v2/jobs/users-exports",
            &creator,
            Some(body.clone()),
        )
        .await;
    assert_mgmt_error(&r, 403, "insufficient_scope");
    assert!(r.body["message"].as_str().unwrap().contains("read:users"));
    let reader = s.token_with_scopes(&["read:users"]).await;
    assert_eq!(
        s.api(
            Method::POST,
            "api/v2/jobs/users-exports",
            &reader,
            Some(body)
        )
        .await
        .status,
        201
    );
    let codes = s
        .api(
            Method::POST,
            "api/v2/connections",
            &admin,
            Some(json!({"name": "email", "strategy": "email"})),
        )
        .await;
    assert_eq!(codes.status, 201, "{codes:?}");
    for bad in [
        json!({"connection_id": codes.body["id"]}),
        json!({"connection_id": "con_doesnotexist"}),
        json!({}),
        json!({"connection_id": conn, "format": "xml"}),
        json!({"connection_id": conn, "limit": 0}),
        json!({"connection_id": conn, "colour": "blue"}),
        json!({"connection_id": conn, "fields": [{"name": "email", "as": "x"}]}),
    ] {
        let r = s
            .api(
                Method::POST,
                "api/v2/jobs/users-exports",
                &admin,
                Some(bad.clone()),
            )
            .await;
        assert_mgmt_error(&r, 400, "invalid_body");
    }
}
