//! Nothing a client sends produces a 500: every documented operation, and the
//! token endpoint, get hostile paths, queries and bodies.

use reqwest::Method;
use serde_json::json;

use crate::common::*;

const IDS: &[&str] = &[
    "nope",
    "%00",
    "..%2F..%2Fetc%2Fpasswd",
    "%F0%9F%92%A9",
    "auth0%7C",
    "%27%20OR%201%3D1--",
];

fn bodies() -> Vec<(&'static str, String)> {
    let deep = format!("{}{}", "[".repeat(5000), "]".repeat(5000));
    vec![
        ("application/json", "{}".into()),
        ("application/json", "[]".into()),
        ("application/json", "\"x\"".into()),
        ("application/json", "null".into()),
        ("application/json", "{".into()),
        ("application/json", deep),
        (
            "application/json",
            json!({"name": 1, "email": [], "scope": {}, "identifier": null, "password": 7})
                .to_string(),
        ),
        (
            "application/json",
            json!({"client_id": "x".repeat(10_000), "audience": "\u{0}", "scope": ["\u{202e}"]})
                .to_string(),
        ),
        ("text/plain", "hello".into()),
        ("application/x-www-form-urlencoded", "a=%ZZ&b".into()),
    ]
}

fn assert_no_5xx(what: &str, r: &Reply) {
    assert!(r.status < 500, "{what}: {r:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn no_documented_operation_answers_500_to_hostile_input() {
    let s = start().await;
    let admin = s.admin_token().await;
    let doc = reply(
        http()
            .get(s.url("api/v2/openapi.json"))
            .send()
            .await
            .unwrap(),
    )
    .await
    .body;
    let paths = doc["paths"].as_object().unwrap().clone();
    let mut calls = 0;
    for (path, ops) in paths {
        for method in ops.as_object().unwrap().keys() {
            let m = Method::from_bytes(method.to_uppercase().as_bytes()).unwrap();
            for id in IDS {
                let concrete = path.replace("{id}", id).replace("{kid}", id);
                for query in [
                    "",
                    "?page=-5",
                    "?per_page=abc&page=%FF",
                    "?q=%22&sort=%3A",
                    "?include_totals=maybe&take=1e9",
                ] {
                    let url = s.url(&format!("{}{query}", concrete.trim_start_matches('/')));
                    if m == Method::GET || m == Method::DELETE {
                        let r = reply(
                            http()
                                .request(m.clone(), &url)
                                .bearer_auth(&admin)
                                .send()
                                .await
                                .unwrap(),
                        )
                        .await;
                        assert_no_5xx(&format!("{method} {url}"), &r);
                        calls += 1;
                    } else {
                        for (content_type, body) in bodies() {
                            let r = reply(
                                http()
                                    .request(m.clone(), &url)
                                    .bearer_auth(&admin)
                                    .header("content-type", content_type)
                                    .body(body.clone())
                                    .send()
                                    .await
                                    .unwrap(),
                            )
                            .await;
                            assert_no_5xx(
                                &format!(
                                    "{method} {url} {content_type} {}",
                                    &body[..body.len().min(60)]
                                ),
                                &r,
                            );
                            calls += 1;
                        }
                    }
                }
            }
        }
    }
    assert!(calls > 500, "only {calls} calls made");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_token_endpoint_never_answers_500() {
    let s = start().await;
    for (content_type, body) in bodies() {
        let r = reply(
            http()
                .post(s.url("oauth/token"))
                .header("content-type", content_type)
                .body(body)
                .send()
                .await
                .unwrap(),
        )
        .await;
        assert!(r.status == 400 || r.status == 401, "{r:?}");
    }
    for auth in [
        "Basic",
        "Basic ",
        "Basic %%%",
        "Basic Og==",
        "Basic OmFh",
        "Bearer x",
        "\u{0}",
    ] {
        let res = http()
            .post(s.url("oauth/token"))
            .header("authorization", auth)
            .form(&[("grant_type", "client_credentials"), ("audience", "x")])
            .send()
            .await;
        if let Ok(res) = res {
            let r = reply(res).await;
            assert!(r.status == 400 || r.status == 401, "{auth:?}: {r:?}");
        }
    }
}
