//! Listing, searching, sorting and paging users; users by email.

use reqwest::Method;
use serde_json::{Value, json};
use tessera_core::Clock;
use tessera_core::clock::SystemClock;
use tessera_core::model::Connection;
use tessera_core::store::TenantStore;

use super::*;
use crate::common::*;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn list_searches_sorts_and_pages() {
    let s = start().await;
    let t = s.admin_token().await;
    create(&s, &t, "john@example.com", json!({"name": "John Doe"})).await;
    create(&s, &t, "ann@example.com", json!({"name": "Ann"})).await;
    create(&s, &t, "zed@other.org", json!({"name": "john"})).await;
    create(&s, &t, "bob@example.com", json!({"name": "Bob"})).await;

    let q = |query: &str| format!("q={}", enc(query));
    let r = list(&s, &t, &q("email:\"ann@example.com\"")).await;
    assert_eq!(ids(&r.body), ["ann@example.com"], "{r:?}");
    let r = list(&s, &t, &q("email:ANN@example.com")).await;
    assert_eq!(ids(&r.body), ["ann@example.com"], "{r:?}");
    let r = list(
        &s,
        &t,
        &format!("{}&sort=email:1", q("email:*@example.com")),
    )
    .await;
    assert_eq!(
        ids(&r.body),
        ["ann@example.com", "bob@example.com", "john@example.com"],
        "{r:?}"
    );
    let r = list(&s, &t, &format!("{}&sort=email:1", q("name:john"))).await;
    assert_eq!(
        ids(&r.body),
        ["zed@other.org"],
        "exact, case-insensitive: {r:?}"
    );
    let r = list(&s, &t, &q("name:\"John Doe\"")).await;
    assert_eq!(ids(&r.body), ["john@example.com"], "{r:?}");
    let r = list(
        &s,
        &t,
        &format!("{}&sort=email:1", q("name:john* AND email:*example.com")),
    )
    .await;
    assert_eq!(ids(&r.body), ["john@example.com"], "{r:?}");
    let r = list(
        &s,
        &t,
        &format!("{}&sort=email:-1", q("name:*o* email:*o*")),
    )
    .await;
    assert_eq!(
        ids(&r.body),
        ["zed@other.org", "john@example.com", "bob@example.com"],
        "{r:?}"
    );
    let r = list(&s, &t, &q("email:nobody@example.com")).await;
    assert_eq!(r.body, json!([]));
    let r = list(
        &s,
        &t,
        &format!("connection={}&search_engine=v3&sort=email:1", enc(DB)),
    )
    .await;
    assert_eq!(r.body.as_array().unwrap().len(), 4, "{r:?}");
    let r = list(&s, &t, "connection=other").await;
    assert_eq!(r.body, json!([]));

    // Sort both ways.
    let r = list(&s, &t, "sort=name:1").await;
    assert_eq!(
        ids(&r.body),
        [
            "ann@example.com",
            "bob@example.com",
            "john@example.com",
            "zed@other.org"
        ],
        "names Ann, Bob, John Doe, john: {r:?}"
    );
    let r = list(&s, &t, "sort=email:-1").await;
    assert_eq!(
        ids(&r.body),
        [
            "zed@other.org",
            "john@example.com",
            "bob@example.com",
            "ann@example.com"
        ]
    );

    // Pages with totals.
    let r = list(&s, &t, "sort=email:1&per_page=3&page=0&include_totals=true").await;
    assert_eq!(r.status, 200, "{r:?}");
    assert_eq!(r.body["start"], 0);
    assert_eq!(r.body["limit"], 3);
    assert_eq!(r.body["length"], 3);
    assert_eq!(r.body["total"], 4);
    assert_eq!(
        ids(&r.body["users"]),
        ["ann@example.com", "bob@example.com", "john@example.com"]
    );
    let r = list(&s, &t, "sort=email:1&per_page=3&page=1&include_totals=true").await;
    assert_eq!(r.body["start"], 3);
    assert_eq!(r.body["length"], 1);
    assert_eq!(r.body["total"], 4);
    assert_eq!(ids(&r.body["users"]), ["zed@other.org"]);
    let r = list(
        &s,
        &t,
        &format!(
            "{}&include_totals=true&per_page=1",
            q("email:*@example.com")
        ),
    )
    .await;
    assert_eq!(r.body["total"], 3, "totals count the search: {r:?}");
    assert_eq!(r.body["length"], 1);

    // What is not supported says what.
    for (query, says) in [
        (q("john"), "has no field"),
        (q("email:a OR email:b"), "OR"),
        (q("logins_count:[1 TO 5]"), "cannot be searched"),
        (q("favorite_color:red"), "favorite_color"),
        (q("name:\"open"), "closing quote"),
        ("sort=password:1".to_owned(), "sort"),
        ("sort=email:up".to_owned(), "sort"),
        ("search_engine=v1".to_owned(), "search_engine"),
        ("search_engine=v4".to_owned(), "search_engine"),
        ("primary_order=maybe".to_owned(), "primary_order"),
        ("per_page=101".to_owned(), "per_page"),
        ("page=-1".to_owned(), "page"),
        ("page=999999999999999999".to_owned(), "page"),
        ("per_page=ten".to_owned(), "per_page"),
        ("fields=email&bogus=1".to_owned(), "bogus"),
        ("connection=a*".to_owned(), "connection"),
    ] {
        let r = list(&s, &t, &query).await;
        assert_mgmt_error(&r, 400, "invalid_query_string");
        let message = r.body["message"].as_str().unwrap();
        assert!(message.contains(says), "{query} -> {message}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn users_by_email_is_case_insensitive() {
    let s = start().await;
    let t = s.admin_token().await;
    let strict = Connection {
        id: "con_second0000000001".into(),
        name: "second-db".into(),
        strategy: "auth0".into(),
        options: json!({}),
        enabled_clients: vec![],
    };
    s.store
        .create_connection(&strict, SystemClock.now())
        .await
        .unwrap();
    let a = create(&s, &t, "Same@Example.com", json!({})).await;
    let b = create(
        &s,
        &t,
        "same@example.com",
        json!({"connection": "second-db"}),
    )
    .await;
    create(&s, &t, "different@example.com", json!({})).await;
    assert_ne!(a["user_id"], b["user_id"]);

    let r = s
        .api(
            Method::GET,
            "api/v2/users-by-email?email=SAME%40example.COM",
            &t,
            None,
        )
        .await;
    assert_eq!(r.status, 200, "{r:?}");
    let found: Vec<&Value> = r.body.as_array().unwrap().iter().collect();
    assert_eq!(found.len(), 2, "{r:?}");
    assert!(found.contains(&&a) && found.contains(&&b), "{r:?}");

    let r = s
        .api(
            Method::GET,
            "api/v2/users-by-email?email=none%40example.com",
            &t,
            None,
        )
        .await;
    assert_eq!(r.body, json!([]));
    let r = s.api(Method::GET, "api/v2/users-by-email", &t, None).await;
    assert_mgmt_error(&r, 400, "invalid_query_string");
    let r = s
        .api(
            Method::GET,
            "api/v2/users-by-email?email=a%40b.c&extra=1",
            &t,
            None,
        )
        .await;
    assert_mgmt_error(&r, 400, "invalid_query_string");
}
