//! Clients: the full property set Auth0's dashboard and tools send.

use reqwest::Method;
use serde_json::{Value, json};

use super::{assert_additional, assert_has_all, assert_refused};
use crate::common::*;

/// What Auth0's dashboard (and auth0-deploy-cli's export) holds for a web app.
fn dashboard_client() -> Value {
    json!({
        "name": "Dashboard Web App",
        "description": "every property",
        "app_type": "regular_web",
        "logo_uri": "https://cdn.example/logo.png",
        "callbacks": ["https://app.example/callback"],
        "allowed_logout_urls": ["https://app.example/"],
        "web_origins": ["https://app.example"],
        "allowed_origins": ["https://app.example"],
        "client_aliases": ["urn:app-alias"],
        "allowed_clients": [],
        "grant_types": ["authorization_code", "implicit", "refresh_token", "client_credentials"],
        "token_endpoint_auth_method": "client_secret_post",
        "is_first_party": true,
        "oidc_conformant": true,
        "is_token_endpoint_ip_header_trusted": false,
        "jwt_configuration": {"alg": "RS256", "lifetime_in_seconds": 36000, "secret_encoded": false},
        "sso": false,
        "sso_disabled": false,
        "cross_origin_authentication": true,
        "cross_origin_loc": "https://app.example/cross-origin",
        "custom_login_page_on": true,
        "client_metadata": {"team": "payments", "tier": "gold"},
        "mobile": {"android": {"app_package_name": "com.example.app", "sha256_cert_fingerprints": []},
                   "ios": {"team_id": "ABCDE12345", "app_bundle_identifier": "com.example.app"}},
        "native_social_login": {"apple": {"enabled": false}, "facebook": {"enabled": false}, "google": {"enabled": true}},
        "initiate_login_uri": "https://app.example/login",
        "refresh_token": {
            "rotation_type": "rotating", "expiration_type": "expiring", "leeway": 0,
            "token_lifetime": 2592000, "infinite_token_lifetime": false,
            "idle_token_lifetime": 1296000, "infinite_idle_token_lifetime": false
        },
        "organization_usage": "deny",
        "organization_require_behavior": "no_prompt",
        "require_pushed_authorization_requests": false,
        "require_proof_of_possession": false,
        "addons": {},
        "oidc_logout": {"backchannel_logout_urls": []},
        "compliance_level": "none",
        "par_request_expiry": 60
    })
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_client_with_every_dashboard_property_reads_back_equal() {
    let s = start().await;
    let t = s.admin_token().await;
    let sent = dashboard_client();
    let made = s
        .api(Method::POST, "api/v2/clients", &t, Some(sent.clone()))
        .await;
    assert_eq!(made.status, 201, "{made:?}");
    assert_has_all(&made.body, &sent);
    // Auth0's former name follows the new one; read-only answers are there.
    assert_eq!(made.body["cross_origin_auth"], true);
    assert_eq!(made.body["global"], false);
    assert_eq!(made.body["callback_url_template"], false);
    let id = made.body["client_id"].as_str().unwrap().to_owned();
    let path = format!("api/v2/clients/{id}");
    let read = s.api(Method::GET, &path, &t, None).await;
    assert_has_all(&read.body, &sent);
    // `fields` works on every property, the new ones included.
    let few = s
        .api(
            Method::GET,
            &format!("{path}?fields=client_metadata,sso"),
            &t,
            None,
        )
        .await;
    assert_eq!(
        few.body,
        json!({"client_metadata": {"team": "payments", "tier": "gold"}, "sso": false})
    );

    // Defaults of a client made with a name only.
    let bare = s
        .api(
            Method::POST,
            "api/v2/clients",
            &t,
            Some(json!({"name": "bare"})),
        )
        .await;
    for (k, v) in [
        ("oidc_conformant", json!(true)),
        ("sso", json!(false)),
        ("sso_disabled", json!(false)),
        ("cross_origin_auth", json!(false)),
        ("custom_login_page_on", json!(true)),
        ("client_metadata", json!({})),
        ("client_aliases", json!([])),
    ] {
        assert_eq!(bare.body[k], v, "{k}: {bare:?}");
    }
    assert!(bare.body.get("logo_uri").is_none(), "{bare:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn patch_null_resets_and_arrays_replace() {
    let s = start().await;
    let t = s.admin_token().await;
    let made = s
        .api(Method::POST, "api/v2/clients", &t, Some(dashboard_client()))
        .await;
    let path = format!(
        "api/v2/clients/{}",
        made.body["client_id"].as_str().unwrap()
    );
    // Arrays and maps replace, they do not merge.
    let r = s
        .api(
            Method::PATCH,
            &path,
            &t,
            Some(
                json!({"client_aliases": ["urn:other"], "client_metadata": {"tier": "silver"},
                        "callbacks": ["https://app.example/cb2"]}),
            ),
        )
        .await;
    assert_eq!(r.status, 200, "{r:?}");
    assert_eq!(r.body["client_aliases"], json!(["urn:other"]));
    assert_eq!(r.body["client_metadata"], json!({"tier": "silver"}));
    assert_eq!(r.body["callbacks"], json!(["https://app.example/cb2"]));
    // `null` (Terraform's way of unsetting) resets each to Auth0's default.
    let r = s
        .api(
            Method::PATCH,
            &path,
            &t,
            Some(json!({
                "description": null, "callbacks": null, "client_metadata": null,
                "logo_uri": null, "sso": null, "custom_login_page_on": null,
                "oidc_conformant": null, "native_social_login": null,
                "cross_origin_authentication": null, "organization_usage": null
            })),
        )
        .await;
    assert_eq!(r.status, 200, "{r:?}");
    assert_eq!(r.body["description"], "");
    assert_eq!(r.body["callbacks"], json!([]));
    assert_eq!(r.body["client_metadata"], json!({}));
    assert_eq!(r.body["sso"], false);
    assert_eq!(r.body["custom_login_page_on"], true);
    assert_eq!(r.body["oidc_conformant"], true);
    assert_eq!(r.body["cross_origin_authentication"], false);
    assert_eq!(r.body["cross_origin_auth"], false);
    for gone in ["logo_uri", "native_social_login", "organization_usage"] {
        assert!(r.body.get(gone).is_none(), "{gone}: {r:?}");
    }
    // What was not named is kept; `null` on the name keeps it too.
    assert_eq!(r.body["initiate_login_uri"], "https://app.example/login");
    let r = s
        .api(Method::PATCH, &path, &t, Some(json!({"name": null})))
        .await;
    assert_eq!(r.body["name"], "Dashboard Web App");
    let stored = s.api(Method::GET, &path, &t, None).await;
    assert_eq!(stored.body["client_metadata"], json!({}));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn what_auth0_refuses_is_refused_and_named() {
    let s = start().await;
    let t = s.admin_token().await;
    let post = |body: Value| {
        let s = &s;
        let t = &t;
        async move { s.api(Method::POST, "api/v2/clients", t, Some(body)).await }
    };
    // Unknown properties, top level and nested; read-only answer properties.
    for name in [
        "colour",
        "global",
        "tenant",
        "callback_url_template",
        "signing_keys",
        "client_id",
    ] {
        assert_additional(&post(json!({"name": "a", name: false})).await, name, None);
    }
    assert_additional(
        &post(json!({"name": "a", "mobile": {"android": {"colour": 1}}})).await,
        "colour",
        Some("mobile.android"),
    );
    assert_additional(
        &post(json!({"name": "a", "jwt_configuration": {"colour": 1}})).await,
        "colour",
        Some("jwt_configuration"),
    );
    // Wrong types and values outside Auth0's sets.
    for (body, property) in [
        (json!({"name": "a", "sso": "yes"}), "sso"),
        (
            json!({"name": "a", "client_aliases": "one"}),
            "client_aliases",
        ),
        (
            json!({"name": "a", "client_metadata": {"n": 1}}),
            "client_metadata.n",
        ),
        (
            json!({"name": "a", "client_metadata": ["x"]}),
            "client_metadata",
        ),
        (
            json!({"name": "a", "organization_usage": "sometimes"}),
            "organization_usage",
        ),
        (
            json!({"name": "a", "compliance_level": "fapi9"}),
            "compliance_level",
        ),
        (
            json!({"name": "a", "native_social_login": {"apple": {"enabled": "on"}}}),
            "native_social_login.apple.enabled",
        ),
        (
            json!({"name": "a", "default_organization": {"organization_id": "o"}}),
            "default_organization",
        ),
        (
            json!({"name": "a", "jwt_configuration": {"secret_encoded": 1}}),
            "jwt_configuration.secret_encoded",
        ),
        (
            json!({"name": "a", "par_request_expiry": 0}),
            "par_request_expiry",
        ),
        (
            json!({"name": "a", "initiate_login_uri": "http://app.example/login"}),
            "initiate_login_uri",
        ),
        (json!({"name": "a", "logo_uri": "not a url"}), "logo_uri"),
        (
            json!({"name": "a", "client_aliases": [""]}),
            "client_aliases",
        ),
    ] {
        assert_refused(&post(body.clone()).await, property);
    }
    // `client_metadata`: Auth0's limits (10 properties, names and values of at
    // most 255 characters, names from a closed set of characters).
    let eleven: serde_json::Map<String, Value> =
        (0..11).map(|i| (format!("k{i}"), json!("v"))).collect();
    assert_refused(
        &post(json!({"name": "a", "client_metadata": eleven})).await,
        "client_metadata",
    );
    let ten: serde_json::Map<String, Value> =
        (0..10).map(|i| (format!("k{i}"), json!("v"))).collect();
    assert_eq!(
        post(json!({"name": "a", "client_metadata": ten}))
            .await
            .status,
        201
    );
    assert_refused(
        &post(json!({"name": "a", "client_metadata": {"k": "v".repeat(256)}})).await,
        "client_metadata.k",
    );
    assert_eq!(
        post(json!({"name": "a", "client_metadata": {"k": "v".repeat(255)}}))
            .await
            .status,
        201
    );
    for key in ["k".repeat(256), "a#b".into(), "é".into(), String::new()] {
        assert_refused(
            &post(json!({"name": "a", "client_metadata": {key: "v"}})).await,
            "client_metadata",
        );
    }
    assert_eq!(
        post(
            json!({"name": "a", "client_metadata": {"a:b,c-d+e=f_g*h?i\"j/k\\l(m)n<o>p@q r": "v"}})
        )
        .await
        .status,
        201
    );
    // The same rules on update; nothing changes when refused.
    let made = post(json!({"name": "kept", "client_metadata": {"a": "b"}})).await;
    let path = format!(
        "api/v2/clients/{}",
        made.body["client_id"].as_str().unwrap()
    );
    let r = s
        .api(
            Method::PATCH,
            &path,
            &t,
            Some(json!({"client_metadata": {"a": 1}, "sso": true})),
        )
        .await;
    assert_refused(&r, "client_metadata.a");
    assert_additional(
        &s.api(Method::PATCH, &path, &t, Some(json!({"global": true})))
            .await,
        "global",
        None,
    );
    let kept = s.api(Method::GET, &path, &t, None).await;
    assert_eq!(kept.body["client_metadata"], json!({"a": "b"}));
    assert_eq!(kept.body["sso"], false);
    assert_eq!(kept.body["global"], false);
}
