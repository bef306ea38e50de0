//! Who is refused on every route of the actions' Management API, a deploy
//! reaching another node whole, and the OpenAPI document.

use std::time::{Duration, Instant};

use reqwest::Method;
use serde_json::{Value, json};

use crate::common::*;

use super::management::*;
use super::{bind, deploy_and_bind};
use crate::flows::{API, App, EMAIL, PASSWORD, apis, app, claims, credentials, field, login, user};

/// One route of the actions' Management API: its method, path, scope and a
/// valid body.
struct Route {
    method: Method,
    path: String,
    scope: &'static str,
    body: Option<Value>,
}

const ACTION_SCOPES: [&str; 4] = [
    "read:actions",
    "create:actions",
    "update:actions",
    "delete:actions",
];

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_route_refuses_who_may_not_call_it() {
    let s = start().await;
    apis(&s).await;
    user(&s).await;
    let web = app(&s, json!({"app_type": "regular_web"})).await;
    let admin = s.admin_token().await;
    let id = created(&s, &admin, "guarded", CLAIM_CODE).await;
    let v1 = deploy(&s, &admin, &id).await.body["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let a = |path: &str| format!("{ACTIONS}{path}");
    let routes = [
        Route {
            method: Method::GET,
            path: a(""),
            scope: "read:actions",
            body: None,
        },
        Route {
            method: Method::POST,
            path: a(""),
            scope: "create:actions",
            body: Some(
                json!({"name": "intruder", "supported_triggers": post_login(), "code": CLAIM_CODE}),
            ),
        },
        Route {
            method: Method::GET,
            path: a(&format!("/{id}")),
            scope: "read:actions",
            body: None,
        },
        Route {
            method: Method::PATCH,
            path: a(&format!("/{id}")),
            scope: "update:actions",
            body: Some(json!({"code": "// changed"})),
        },
        Route {
            method: Method::DELETE,
            path: a(&format!("/{id}")),
            scope: "delete:actions",
            body: None,
        },
        Route {
            method: Method::POST,
            path: a(&format!("/{id}/deploy")),
            scope: "create:actions",
            body: None,
        },
        Route {
            method: Method::GET,
            path: a(&format!("/{id}/versions")),
            scope: "read:actions",
            body: None,
        },
        Route {
            method: Method::GET,
            path: a(&format!("/{id}/versions/{v1}")),
            scope: "read:actions",
            body: None,
        },
        Route {
            method: Method::POST,
            path: a(&format!("/{id}/versions/{v1}/deploy")),
            scope: "create:actions",
            body: Some(json!({"update_draft": true})),
        },
        Route {
            method: Method::GET,
            path: "api/v2/actions/triggers".into(),
            scope: "read:actions",
            body: None,
        },
        Route {
            method: Method::GET,
            path: "api/v2/actions/triggers/post-login/bindings".into(),
            scope: "read:actions",
            body: None,
        },
        Route {
            method: Method::PATCH,
            path: "api/v2/actions/triggers/post-login/bindings".into(),
            scope: "update:actions",
            body: Some(json!({"bindings": [{"ref": {"type": "action_id", "value": id}}]})),
        },
    ];

    // A user's tokens from a real login (an access token for an API, an ID
    // token), and a machine's token for that other API.
    let r = login(&s, &web, "openid read:orders", &[("audience", API)]).await;
    let user_access = field(&r, "access_token");
    let id_token = field(&r, "id_token");
    let (m2m, secret) = s.m2m_client(API, &["read:orders"]).await;
    let r = s
        .token_request(&[
            ("grant_type", "client_credentials"),
            ("client_id", &m2m),
            ("client_secret", &secret),
            ("audience", API),
        ])
        .await;
    let other_api = field(&r, "access_token");

    for route in &routes {
        let what = format!("{} {}", route.method, route.path);
        let mut req = http().request(route.method.clone(), s.url(&route.path));
        if let Some(b) = &route.body {
            req = req.json(b);
        }
        let r = reply(req.send().await.unwrap()).await;
        assert_mgmt_error(&r, 401, "missing_token");
        assert!(r.headers.contains_key("www-authenticate"), "{what}: {r:?}");

        // Every actions scope but the route's own: 403, naming the one it needs.
        let others: Vec<&str> = ACTION_SCOPES
            .into_iter()
            .filter(|x| *x != route.scope)
            .collect();
        let token = s.token_with_scopes(&others).await;
        let r = s
            .api(
                route.method.clone(),
                &route.path,
                &token,
                route.body.clone(),
            )
            .await;
        assert_mgmt_error(&r, 403, "insufficient_scope");
        let challenge = r.headers["www-authenticate"].to_str().unwrap();
        assert!(
            challenge.contains("error=\"insufficient_scope\"") && challenge.contains(route.scope),
            "{what}: {challenge}"
        );

        for (kind, token) in [
            ("user access token", &user_access),
            ("ID token", &id_token),
            ("another API's token", &other_api),
        ] {
            let r = s
                .api(route.method.clone(), &route.path, token, route.body.clone())
                .await;
            assert_eq!(r.status, 401, "{what} with a {kind}: {r:?}");
            assert_eq!(
                r.body["errorCode"], "invalid_token",
                "{what} with a {kind}: {r:?}"
            );
        }
    }

    // Nothing the refused calls asked for happened.
    let r = s.api(Method::GET, ACTIONS, &admin, None).await;
    assert_eq!(r.body["total"], 1, "{r:?}");
    assert_eq!(r.body["actions"][0]["code"], CLAIM_CODE);
    assert_eq!(r.body["actions"][0]["deployed_version"]["number"], 1);
    let r = s
        .api(
            Method::GET,
            "api/v2/actions/triggers/post-login/bindings",
            &admin,
            None,
        )
        .await;
    assert_eq!(r.body["total"], 0, "{r:?}");

    // Control: each route's own scope alone is enough (in an order where
    // each call still finds what it needs: the deletion last).
    for route in routes.iter().filter(|r| r.method != Method::DELETE) {
        let token = s.token_with_scopes(&[route.scope]).await;
        let r = s
            .api(
                route.method.clone(),
                &route.path,
                &token,
                route.body.clone(),
            )
            .await;
        assert!(r.status < 300, "{} {}: {r:?}", route.method, route.path);
    }
    bind(&s, &admin, "post-login", &[]).await;
    let token = s.token_with_scopes(&["delete:actions"]).await;
    let r = s
        .api(Method::DELETE, &a(&format!("/{id}")), &token, None)
        .await;
    assert_eq!(r.status, 204, "{r:?}");
}

const REALM_GRANT: &str = "http://auth0.com/oauth/grant-type/password-realm";

/// A login by the password-realm grant on node `s` (post-login runs there).
async fn realm_login(s: &TestServer, app: &App) -> Reply {
    let mut form = vec![
        ("grant_type", REALM_GRANT),
        ("realm", "Username-Password-Authentication"),
        ("username", EMAIL),
        ("password", PASSWORD),
        ("scope", "openid"),
        ("audience", API),
    ];
    form.extend(credentials(app));
    let r = s.token_request(&form).await;
    assert_eq!(r.status, 200, "{r:?}");
    r
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_deploy_reaches_another_node_whole_within_the_refresh_bound() {
    const REFRESH: Duration = Duration::from_millis(400);
    let s = start_opts(Options {
        configure: |c| c.tenant_settings_refresh = REFRESH,
        ..Options::default()
    })
    .await;
    apis(&s).await;
    user(&s).await;
    // Logins by the password-realm grant: the hosted pages send the browser to
    // the issuer (node 1), the token endpoint is the node asked.
    let web = app(
        &s,
        json!({"app_type": "regular_web", "grant_types": [REALM_GRANT, "authorization_code"]}),
    )
    .await;
    let admin = s.admin_token().await;
    let node2 = s.second_node(REFRESH).await;
    // Every claim of a version carries its marker, on both tokens.
    let code = |v: &str| {
        format!(
            "exports.onExecutePostLogin = async (event, api) => {{
  for (const n of ['a', 'b', 'c', 'd']) {{
    api.idToken.setCustomClaim(`https://example.com/${{n}}`, '{v}');
    api.accessToken.setCustomClaim(`https://example.com/${{n}}`, '{v}');
  }}
}};"
        )
    };
    let id = deploy_and_bind(
        &s,
        &admin,
        "post-login",
        "versioned",
        &code("v1"),
        json!([]),
    )
    .await;
    // The version one login on node 2 saw, checking it saw only one.
    let seen_version = |r: &Reply| -> String {
        let mut versions = std::collections::BTreeSet::new();
        for t in ["id_token", "access_token"] {
            let c = claims(&field(r, t));
            for n in ["a", "b", "c", "d"] {
                versions.insert(
                    c[format!("https://example.com/{n}")]
                        .as_str()
                        .unwrap_or("none")
                        .to_owned(),
                );
            }
        }
        assert_eq!(versions.len(), 1, "a login mixed versions: {versions:?}");
        versions.into_iter().next().unwrap()
    };
    // Node 2 runs version 1 once it has read it.
    let start = Instant::now();
    loop {
        let r = realm_login(&node2, &web).await;
        if seen_version(&r) == "v1" {
            break;
        }
        assert!(start.elapsed() < REFRESH * 10, "node 2 never ran version 1");
    }

    let r = s
        .api(
            Method::PATCH,
            &format!("{ACTIONS}/{id}"),
            &admin,
            Some(json!({"code": code("v2")})),
        )
        .await;
    assert_eq!(r.status, 200, "{r:?}");
    let deployed = deploy(&s, &admin, &id).await;
    assert_eq!(deployed.body["number"], 2, "{deployed:?}");
    let deployed_at = Instant::now();
    // Node 1 runs it at once.
    let r = realm_login(&s, &web).await;
    assert_eq!(seen_version(&r), "v2");
    // Node 2: each login whole, version 2 within the refresh bound (plus one
    // login's time), and never version 1 again after.
    let mut logins = 0;
    loop {
        let r = realm_login(&node2, &web).await;
        logins += 1;
        if seen_version(&r) == "v2" {
            break;
        }
        assert!(
            deployed_at.elapsed() < REFRESH + Duration::from_secs(2),
            "node 2 still ran version 1 after {:?} ({logins} logins)",
            deployed_at.elapsed()
        );
    }
    for _ in 0..3 {
        let r = realm_login(&node2, &web).await;
        assert_eq!(seen_version(&r), "v2");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_openapi_document_lists_the_action_routes_with_their_scopes() {
    let s = start().await;
    let r = reply(
        http()
            .get(s.url("api/v2/openapi.json"))
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(r.status, 200, "{r:?}");
    let paths = &r.body["paths"];
    for (path, method, scope) in [
        ("/api/v2/actions/actions", "get", "read:actions"),
        ("/api/v2/actions/actions", "post", "create:actions"),
        ("/api/v2/actions/actions/{id}", "get", "read:actions"),
        ("/api/v2/actions/actions/{id}", "patch", "update:actions"),
        ("/api/v2/actions/actions/{id}", "delete", "delete:actions"),
        (
            "/api/v2/actions/actions/{id}/deploy",
            "post",
            "create:actions",
        ),
        (
            "/api/v2/actions/actions/{actionId}/versions",
            "get",
            "read:actions",
        ),
        (
            "/api/v2/actions/actions/{actionId}/versions/{id}",
            "get",
            "read:actions",
        ),
        (
            "/api/v2/actions/actions/{actionId}/versions/{id}/deploy",
            "post",
            "create:actions",
        ),
        ("/api/v2/actions/triggers", "get", "read:actions"),
        (
            "/api/v2/actions/triggers/{triggerId}/bindings",
            "get",
            "read:actions",
        ),
        (
            "/api/v2/actions/triggers/{triggerId}/bindings",
            "patch",
            "update:actions",
        ),
    ] {
        let op = &paths[path][method];
        assert!(op.is_object(), "{method} {path} is not documented");
        assert_eq!(
            op["security"],
            json!([{"bearer": [scope]}]),
            "{method} {path}"
        );
        assert!(
            op["responses"]["401"].is_object() && op["responses"]["403"].is_object(),
            "{method} {path}"
        );
    }
    let schemas = &r.body["components"]["schemas"];
    assert!(schemas["CreateAction"]["properties"]["supported_triggers"].is_object());
    assert!(
        schemas["ActionDto"]["properties"]["secrets"].is_object(),
        "{schemas}"
    );
}
