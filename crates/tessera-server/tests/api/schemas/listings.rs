//! The list query parameters Auth0 documents, typed and validated; the
//! OpenAPI document's parameters; Auth0's unknown-property answer on every body.

use reqwest::Method;
use serde_json::{Value, json};

use super::assert_additional;
use crate::common::*;

async fn get(s: &TestServer, t: &str, path: &str) -> Reply {
    s.api(Method::GET, path, t, None).await
}

fn ids(v: &Value, key: &str) -> Vec<String> {
    v.as_array()
        .unwrap()
        .iter()
        .map(|c| c[key].as_str().unwrap().to_owned())
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn client_listing_takes_auth0s_parameters() {
    let s = start().await;
    let t = s.admin_token().await;
    for (name, app_type) in [("spa", "spa"), ("native", "native"), ("web", "regular_web")] {
        let r = s
            .api(
                Method::POST,
                "api/v2/clients",
                &t,
                Some(json!({"name": name, "app_type": app_type})),
            )
            .await;
        assert_eq!(r.status, 201);
    }
    let all = get(&s, &t, "api/v2/clients").await;
    assert!(
        all.body
            .as_array()
            .unwrap()
            .iter()
            .all(|c| c["global"] == false)
    );
    let n = all.body.as_array().unwrap().len();
    // `is_global`: Tessera has no global client.
    assert_eq!(
        get(&s, &t, "api/v2/clients?is_global=true").await.body,
        json!([])
    );
    assert_eq!(
        get(&s, &t, "api/v2/clients?is_global=false")
            .await
            .body
            .as_array()
            .unwrap()
            .len(),
        n
    );
    assert_eq!(
        get(&s, &t, "api/v2/clients?external_client_id=x")
            .await
            .body,
        json!([])
    );
    // `app_type` is a comma list.
    let r = get(&s, &t, "api/v2/clients?app_type=spa,native&fields=app_type").await;
    let mut types: Vec<_> = r
        .body
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["app_type"].clone())
        .collect();
    types.sort_by_key(|v| v.to_string());
    assert_eq!(types, [json!("native"), json!("spa")]);
    // `fields` with `include_fields=false` drops them.
    let r = get(
        &s,
        &t,
        "api/v2/clients?fields=client_metadata,global&include_fields=false",
    )
    .await;
    assert!(
        r.body
            .as_array()
            .unwrap()
            .iter()
            .all(|c| c.get("global").is_none() && c.get("name").is_some())
    );
    // Checkpoint paging walks every client once.
    let mut seen = Vec::new();
    let mut next: Option<String> = None;
    loop {
        let q = match &next {
            Some(from) => format!("api/v2/clients?take=2&from={from}"),
            None => "api/v2/clients?take=2".to_owned(),
        };
        let r = get(&s, &t, &q).await;
        assert_eq!(r.status, 200, "{r:?}");
        seen.extend(ids(&r.body["clients"], "client_id"));
        match r.body["next"].as_str() {
            Some(n) => next = Some(n.to_owned()),
            None => break,
        }
    }
    assert_eq!(seen, ids(&all.body, "client_id"));
    // Bad values: 400 in Auth0's shape, naming the parameter; never a 500.
    for (q, name) in [
        ("is_global=maybe", "is_global"),
        ("is_first_party=2", "is_first_party"),
        ("app_type=desktop", "app_type"),
        ("take=0", "per_page"),
        ("from=x", "from"),
        ("q=client_grant.organization_id:org_1", "q"),
        ("colour=red", "colour"),
    ] {
        let r = get(&s, &t, &format!("api/v2/clients?{q}")).await;
        assert_mgmt_error(&r, 400, "invalid_query_string");
        assert!(
            r.body["message"].as_str().unwrap().contains(name),
            "{q}: {r:?}"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn resource_server_listing_takes_identifiers_and_fields() {
    let s = start().await;
    let t = s.admin_token().await;
    for i in ["urn:a", "urn:b", "urn:c"] {
        let r = s
            .api(
                Method::POST,
                "api/v2/resource-servers",
                &t,
                Some(json!({"identifier": i})),
            )
            .await;
        assert_eq!(r.status, 201);
    }
    // Repeated, as Auth0's SDKs send a list; unknown identifiers are skipped.
    let r = get(
        &s,
        &t,
        "api/v2/resource-servers?identifiers=urn:c&identifiers=urn:a&identifiers=urn:zz",
    )
    .await;
    assert_eq!(ids(&r.body, "identifier"), ["urn:c", "urn:a"]);
    let r = get(
        &s,
        &t,
        "api/v2/resource-servers?identifiers=urn:b&include_totals=true&fields=identifier",
    )
    .await;
    assert_eq!(
        r.body,
        json!({"start": 0, "limit": 50, "length": 1, "total": 1, "resource_servers": [{"identifier": "urn:b"}]})
    );
    let r = get(
        &s,
        &t,
        "api/v2/resource-servers?identifiers=urn:a,urn:b&per_page=1&page=1",
    )
    .await;
    assert_eq!(ids(&r.body, "identifier"), ["urn:b"]);
    let r = get(
        &s,
        &t,
        "api/v2/resource-servers/urn:a?fields=scopes&include_fields=false",
    )
    .await;
    assert!(
        r.body.get("scopes").is_none() && r.body["identifier"] == "urn:a",
        "{r:?}"
    );
    for q in ["include_fields=maybe", "per_page=0", "bogus=1"] {
        let r = get(&s, &t, &format!("api/v2/resource-servers?{q}")).await;
        assert_mgmt_error(&r, 400, "invalid_query_string");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_openapi_parameter_is_where_the_route_reads_it() {
    let s = start().await;
    let t = s.admin_token().await;
    let doc = get(&s, &t, "api/v2/openapi.json").await;
    let mut checked = 0;
    for (path, ops) in doc.body["paths"].as_object().unwrap() {
        for (method, op) in ops.as_object().unwrap() {
            for p in op["parameters"].as_array().into_iter().flatten() {
                let name = p["name"].as_str().unwrap();
                let expected = if path.contains(&format!("{{{name}}}")) {
                    "path"
                } else {
                    "query"
                };
                assert_eq!(p["in"], expected, "{method} {path} {name}");
                checked += 1;
            }
        }
    }
    assert!(checked > 20, "{checked} parameters");
    let clients = &doc.body["paths"]["/api/v2/clients"]["get"]["parameters"];
    let names: Vec<&str> = clients
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["name"].as_str().unwrap())
        .collect();
    for name in [
        "fields",
        "include_fields",
        "page",
        "per_page",
        "include_totals",
        "from",
        "take",
        "is_global",
        "is_first_party",
        "app_type",
        "q",
    ] {
        assert!(names.contains(&name), "{name} in {names:?}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_management_body_answers_unknown_properties_as_auth0() {
    let s = start().await;
    let t = s.admin_token().await;
    for (path, body) in [
        (
            "api/v2/users",
            json!({"connection": "Username-Password-Authentication", "email": "a@example.com", "colour": 1}),
        ),
        (
            "api/v2/connections",
            json!({"name": "db2", "strategy": "auth0", "colour": 1}),
        ),
        ("api/v2/client-grants", json!({"colour": 1})),
        ("api/v2/blacklists/tokens", json!({"jti": "x", "colour": 1})),
    ] {
        let r = s.api(Method::POST, path, &t, Some(body)).await;
        assert_additional(&r, "colour", None);
    }
    let r = get(&s, &t, "api/v2/users?colour=red").await;
    assert_mgmt_error(&r, 400, "invalid_query_string");
    assert_eq!(
        r.body["message"],
        "Query validation error: 'Additional properties not allowed: colour'."
    );
}
