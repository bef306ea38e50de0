//! Auth0's paging styles and field selection, shared by the listings.

use reqwest::Method;
use serde_json::json;

use crate::common::*;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn checkpoint_paging_walks_with_next() {
    let s = start().await;
    let admin = s.admin_token().await;
    for i in 0..3 {
        let r = s
            .api(Method::POST, "api/v2/resource-servers", &admin, Some(json!({"identifier": format!("https://api{i}.example/"), "scopes": [{"value": "read:x"}]})))
            .await;
        assert_eq!(r.status, 201, "{r:?}");
        s.m2m_client(&format!("https://api{i}.example/"), &["read:x"])
            .await;
    }
    // Bootstrap grant + 3: walk them two at a time, as Auth0's SDKs do.
    let mut seen = Vec::new();
    let mut path = "api/v2/client-grants?include_totals=true&take=2".to_owned();
    loop {
        let r = s.api(Method::GET, &path, &admin, None).await;
        assert_eq!(r.status, 200, "{r:?}");
        let page = r.body["client_grants"].as_array().unwrap();
        assert!(page.len() <= 2);
        seen.extend(page.iter().map(|g| g["id"].as_str().unwrap().to_owned()));
        match r.body.get("next").and_then(|n| n.as_str()) {
            Some(next) => {
                path = format!("api/v2/client-grants?include_totals=true&take=2&from={next}")
            }
            None => break,
        }
    }
    assert_eq!(seen.len(), 4, "{seen:?}");
    seen.dedup();
    assert_eq!(seen.len(), 4);
    let r = s
        .api(
            Method::GET,
            "api/v2/client-grants?from=garbage",
            &admin,
            None,
        )
        .await;
    assert_mgmt_error(&r, 400, "invalid_query_string");
    let r = s
        .api(Method::GET, "api/v2/client-grants?take=0", &admin, None)
        .await;
    assert_mgmt_error(&r, 400, "invalid_query_string");
    // Offset paging still answers as before; overflowing pages are refused.
    let r = s
        .api(
            Method::GET,
            "api/v2/client-grants?page=1&per_page=3&include_totals=true",
            &admin,
            None,
        )
        .await;
    assert_eq!(
        (r.body["total"].as_i64(), r.body["start"].as_i64()),
        (Some(4), Some(3)),
        "{r:?}"
    );
    let r = s
        .api(
            Method::GET,
            "api/v2/resource-servers?page=999999999999999999",
            &admin,
            None,
        )
        .await;
    assert_mgmt_error(&r, 400, "invalid_query_string");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn fields_select_properties() {
    let s = start().await;
    let admin = s.admin_token().await;
    let r = s
        .api(Method::POST, "api/v2/users", &admin, Some(json!({"connection": "Username-Password-Authentication", "email": "f@example.com", "password": "long enough pw"})))
        .await;
    assert_eq!(r.status, 201, "{r:?}");
    let id = r.body["user_id"].as_str().unwrap().to_owned();
    let r = s
        .api(
            Method::GET,
            "api/v2/users?fields=user_id,email",
            &admin,
            None,
        )
        .await;
    let user = &r.body[0];
    assert_eq!(user.as_object().unwrap().len(), 2, "{r:?}");
    assert_eq!(user["email"], "f@example.com");
    let r = s
        .api(
            Method::GET,
            "api/v2/users?fields=identities,app_metadata&include_fields=false",
            &admin,
            None,
        )
        .await;
    assert!(
        r.body[0].get("identities").is_none() && r.body[0].get("email").is_some(),
        "{r:?}"
    );
    let one = format!(
        "api/v2/users/{}?fields=email",
        url::form_urlencoded::byte_serialize(id.as_bytes()).collect::<String>()
    );
    let r = s.api(Method::GET, &one, &admin, None).await;
    assert_eq!(r.body, json!({"email": "f@example.com"}), "{r:?}");
    let r = s
        .api(
            Method::GET,
            &format!("api/v2/clients/{ADMIN_ID}?fields=client_id,name"),
            &admin,
            None,
        )
        .await;
    assert_eq!(r.body.as_object().unwrap().len(), 2, "{r:?}");
    let r = s
        .api(Method::GET, "api/v2/connections?fields=name", &admin, None)
        .await;
    assert_eq!(
        r.body,
        json!([{"name": "Username-Password-Authentication"}]),
        "{r:?}"
    );
}

/// Every listing pages by the same rules, with the same answers; the bounds are
/// checked after the scope (a caller without it learns nothing from them).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_listing_pages_by_auth0s_rules() {
    let s = start().await;
    let admin = s.admin_token().await;
    // (path and query so far, the key of the results, offers checkpoint paging)
    let listings = [
        ("api/v2/users?", "users", false),
        ("api/v2/clients?", "clients", true),
        ("api/v2/resource-servers?", "resource_servers", false),
        ("api/v2/client-grants?", "client_grants", true),
        ("api/v2/connections?", "connections", true),
        (
            "api/v2/device-credentials?user_id=auth0%7Cnobody&",
            "device_credentials",
            false,
        ),
    ];
    let refused = |r: &Reply, message: &str| {
        assert_mgmt_error(r, 400, "invalid_query_string");
        assert_eq!(r.body["message"], message, "{r:?}");
    };
    // A token for another listing only.
    let unscoped = s.token_with_scopes(&["read:signing_keys"]).await;
    for (base, key, checkpoint) in listings {
        let get = async |query: &str, token: &str| {
            s.api(Method::GET, &format!("{base}{query}"), token, None)
                .await
        };
        let r = get("", &admin).await;
        assert_eq!(r.status, 200, "{base}: {r:?}");
        assert!(r.body.is_array(), "{base}: {r:?}");
        let r = get("page=0&per_page=1&include_totals=true", &admin).await;
        assert_eq!(r.status, 200, "{base}: {r:?}");
        assert_eq!(
            (r.body["start"].as_i64(), r.body["limit"].as_i64()),
            (Some(0), Some(1)),
            "{base}: {r:?}"
        );
        let length = r.body[key].as_array().map(Vec::len);
        assert!(length.is_some_and(|n| n <= 1), "{base}: {r:?}");
        assert_eq!(r.body["length"].as_u64(), length.map(|n| n as u64));
        assert!(r.body["total"].as_i64().is_some(), "{base}: {r:?}");
        for (query, message) in [
            (
                "page=-1",
                "Query validation error: 'page' must be between 0 and 100000.",
            ),
            (
                "page=100001",
                "Query validation error: 'page' must be between 0 and 100000.",
            ),
            (
                "per_page=0",
                "Query validation error: 'per_page' must be between 1 and 100.",
            ),
            (
                "per_page=101",
                "Query validation error: 'per_page' must be between 1 and 100.",
            ),
            (
                "per_page=ten",
                "Query validation error: 'invalid digit found in string' on property per_page.",
            ),
        ] {
            refused(&get(query, &admin).await, message);
        }
        // Out of bounds, without the scope: the scope is what is refused.
        assert_mgmt_error(&get("page=-1", &unscoped).await, 403, "insufficient_scope");
        let r = get("take=1", &admin).await;
        if checkpoint {
            assert_eq!(r.status, 200, "{base}: {r:?}");
            assert!(r.body[key].is_array(), "{base}: {r:?}");
            refused(
                &get("from=x", &admin).await,
                "Query validation error: 'from' is not a cursor this server issued.",
            );
        } else {
            assert_mgmt_error(&r, 400, "invalid_query_string");
            let message = r.body["message"].as_str().unwrap();
            assert!(
                message.contains("Additional properties not allowed: take'"),
                "{base}: {message}"
            );
        }
    }
}
