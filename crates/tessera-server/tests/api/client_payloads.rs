//! The exact 400 answers to client and resource-server payloads: each refusal's
//! message, and which refusal wins when a payload has several problems. They pin
//! the wire format the Management API and the CLI share (`manage::clients`).

use reqwest::Method;
use serde_json::{Value, json};

use crate::common::*;

/// Auth0's message for a refused property.
fn refused(problem: &str, property: &str) -> String {
    format!("Payload validation error: '{problem}' on property {property}.")
}

/// Auth0's message for a property its schema does not define.
fn additional(name: &str, parent: Option<&str>) -> String {
    match parent {
        None => format!("Payload validation error: 'Additional properties not allowed: {name}'."),
        Some(p) => format!(
            "Payload validation error: 'Additional properties not allowed: {name}' on property {p}."
        ),
    }
}

const APP_TYPES: &str = "must be one of native, spa, regular_web, non_interactive";
const AUTH_METHODS: &str = "must be one of none, client_secret_post, client_secret_basic";
const GRANT_TYPES: &str = "each must be one of implicit, authorization_code, refresh_token, client_credentials, password, http://auth0.com/oauth/grant-type/password-realm, http://auth0.com/oauth/grant-type/passwordless/otp, http://auth0.com/oauth/grant-type/mfa-oob, http://auth0.com/oauth/grant-type/mfa-otp, http://auth0.com/oauth/grant-type/mfa-recovery-code, urn:ietf:params:oauth:grant-type:device_code, urn:openid:params:grant-type:ciba, urn:auth0:params:oauth:grant-type:token-exchange:federated-connection-access-token";
/// Auth0's legacy grants, which Tessera refuses.
const LEGACY_RO: &str = "http://auth0.com/oauth/legacy/grant-type/ro";
const HTTP_CALLBACK: &str = "\"http://x/cb\" must use https (http is allowed only on loopback hosts such as localhost or 127.0.0.1)";

/// Sends each body; asserts a 400 `invalid_body` with exactly the message given,
/// or the success status given (message "").
async fn expect(
    s: &TestServer,
    t: &str,
    method: Method,
    path: &str,
    cases: &[(Value, u16, String)],
) {
    for (body, status, message) in cases {
        let r = s.api(method.clone(), path, t, Some(body.clone())).await;
        if *status == 400 {
            assert_mgmt_error(&r, 400, "invalid_body");
            assert_eq!(r.body["message"], json!(message), "{method} {path} {body}");
        } else {
            assert_eq!(r.status, *status, "{method} {path} {body}: {r:?}");
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn client_creation_refusals_are_exact_and_ordered() {
    let s = start().await;
    let t = s.admin_token().await;
    let bad = |problem: &str, property: &str| (400, refused(problem, property));
    let cases: Vec<(Value, u16, String)> = [
        // Unknown properties: Auth0's message, naming the object holding them
        // when nested; read-only answer properties are unknown in a body.
        (json!({"name": "a", "colour": "blue"}), (400, additional("colour", None))),
        (json!({"name": "a", "client_secret": "x"}), (400, additional("client_secret", None))),
        (json!({"name": "a", "global": false}), (400, additional("global", None))),
        (json!({"name": "a", "refresh_token": {"bogus": 1}}), (400, additional("bogus", Some("refresh_token")))),
        (json!({"name": "a", "jwt_configuration": {"bogus": 1}}), (400, additional("bogus", Some("jwt_configuration")))),
        (json!({"name": "a", "native_social_login": {"apple": {"on": true}}}), (400, additional("on", Some("native_social_login.apple")))),
        // Wrong JSON types.
        (json!({"name": "a", "grant_types": "client_credentials"}), bad("invalid type: string \"client_credentials\", expected a sequence", "grant_types")),
        (json!({"name": "a", "app_type": 5}), bad("invalid type: integer `5`, expected a string", "app_type")),
        (json!({"name": "a", "refresh_token": {"leeway": "30"}}), bad("invalid type: string \"30\", expected i64", "refresh_token.leeway")),
        // Closed sets: exact, case-sensitive, Tessera's four grant types only.
        (json!({"name": "a", "app_type": "desktop"}), bad(APP_TYPES, "app_type")),
        (json!({"name": "a", "app_type": "SPA"}), bad(APP_TYPES, "app_type")),
        (json!({"name": "a", "token_endpoint_auth_method": "private_key_jwt"}), bad(AUTH_METHODS, "token_endpoint_auth_method")),
        (json!({"name": "a", "token_endpoint_auth_method": "None"}), bad(AUTH_METHODS, "token_endpoint_auth_method")),
        (json!({"name": "a", "grant_types": [LEGACY_RO]}), bad(GRANT_TYPES, "grant_types")),
        (json!({"name": "a", "grant_types": ["Implicit"]}), bad(GRANT_TYPES, "grant_types")),
        (json!({"name": "a", "grant_types": ["http://auth0.com/oauth/legacy/grant-type/delegation/id_token"]}), bad(GRANT_TYPES, "grant_types")),
        (json!({"name": "a", "grant_types": ["urn:ietf:params:oauth:grant-type:jwt-bearer"]}), bad(GRANT_TYPES, "grant_types")),
        (json!({"name": "a", "grant_types": ["authorization_code", "authorization_code", "password"]}), bad("authorization_code is listed twice", "grant_types")),
        (json!({"name": "a", "app_type": "spa", "grant_types": ["client_credentials"]}), bad("a public client (token_endpoint_auth_method none) cannot use client_credentials", "grant_types")),
        (json!({"name": "a", "refresh_token": {"rotation_type": "Rotating"}}), bad("must be rotating or non-rotating", "refresh_token.rotation_type")),
        (json!({"name": "a", "refresh_token": {"expiration_type": "sometimes"}}), bad("must be expiring or non-expiring", "refresh_token.expiration_type")),
        (json!({"name": "a", "refresh_token": {"expiration_type": "non-expiring"}}), bad("rotating refresh tokens must be expiring", "refresh_token.expiration_type")),
        (json!({"name": "a", "jwt_configuration": {"alg": "HS256"}}), bad("must be one of RS256, PS256, ES256, EdDSA", "jwt_configuration.alg")),
        // Several problems: the first in Tessera's order is named. On creation the
        // name must be given, then app_type is checked before the name's length.
        (json!({"app_type": "desktop"}), bad("is required", "name")),
        (json!({"name": "", "app_type": "desktop"}), bad(APP_TYPES, "app_type")),
        (json!({"name": "a", "token_endpoint_auth_method": "bogus", "grant_types": [LEGACY_RO]}), bad(AUTH_METHODS, "token_endpoint_auth_method")),
        (json!({"name": "a", "grant_types": [LEGACY_RO], "callbacks": ["http://x/cb"]}), bad(GRANT_TYPES, "grant_types")),
        (json!({"name": "a", "callbacks": ["http://x/cb"], "refresh_token": {"rotation_type": "always"}}), bad(HTTP_CALLBACK, "callbacks")),
        (json!({"name": "a", "refresh_token": {"rotation_type": "always", "leeway": -1}}), bad("must be rotating or non-rotating", "refresh_token.rotation_type")),
        (json!({"name": "a", "refresh_token": {"rotation_type": "always"}, "jwt_configuration": {"alg": "HS256"}}), bad("must be rotating or non-rotating", "refresh_token.rotation_type")),
        // Accepted: null means absent; non-rotating tokens may be non-expiring.
        (json!({"name": "a", "refresh_token": {"rotation_type": "non-rotating", "expiration_type": "non-expiring"}}), (201, String::new())),
        (json!({"name": "a", "refresh_token": null, "app_type": null, "grant_types": null}), (201, String::new())),
    ]
    .into_iter()
    .map(|(body, (status, message))| (body, status, message))
    .collect();
    expect(&s, &t, Method::POST, "api/v2/clients", &cases).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn client_update_refusals_are_exact_and_ordered() {
    let s = start().await;
    let t = s.admin_token().await;
    let web = s
        .api(
            Method::POST,
            "api/v2/clients",
            &t,
            Some(json!({"name": "web"})),
        )
        .await;
    let path = format!("api/v2/clients/{}", web.body["client_id"].as_str().unwrap());
    let bad = |problem: &str, property: &str| (400, refused(problem, property));
    let cases: Vec<(Value, u16, String)> = [
        (json!({"client_id": "mine"}), (400, additional("client_id", None))),
        // A secret of the wrong type is refused without echoing it.
        (json!({"client_secret": 42}), bad("must be a string", "client_secret")),
        // On update the name's length is checked before app_type.
        (json!({"app_type": "desktop", "name": ""}), bad("must be 1 to 255 characters", "name")),
        (json!({"grant_types": ["refresh_token", "refresh_token"]}), bad("refresh_token is listed twice", "grant_types")),
        (json!({"token_endpoint_auth_method": "none", "grant_types": [LEGACY_RO]}), bad(GRANT_TYPES, "grant_types")),
        // The merged refresh-token settings are checked as a whole.
        (json!({"refresh_token": {"rotation_type": "non-rotating", "expiration_type": "non-expiring"}}), (200, String::new())),
        (json!({"refresh_token": {"rotation_type": "rotating"}}), bad("rotating refresh tokens must be expiring", "refresh_token.expiration_type")),
    ]
    .into_iter()
    .map(|(body, (status, message))| (body, status, message))
    .collect();
    expect(&s, &t, Method::PATCH, &path, &cases).await;
    let r = s
        .api(Method::GET, "api/v2/clients?app_type=desktop", &t, None)
        .await;
    assert_mgmt_error(&r, 400, "invalid_query_string");
    assert_eq!(
        r.body["message"],
        "Query validation error: 'app_type' must list native, spa, regular_web or non_interactive."
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn resource_server_and_grant_refusals_are_exact() {
    let s = start().await;
    let t = s.admin_token().await;
    let bad = |problem: &str, property: &str| (400, refused(problem, property));
    let cases: Vec<(Value, u16, String)> = [
        (json!({}), bad("missing field `identifier`", "(body)")),
        (
            json!({"identifier": "x", "colour": 1}),
            (400, additional("colour", None)),
        ),
        (
            json!({"identifier": "y", "scopes": [{"value": "a", "colour": 1}]}),
            (400, additional("colour", Some("scopes[0]"))),
        ),
        (
            json!({"identifier": "w", "scopes": [{"value": "a"}, {"value": "a"}]}),
            bad("scope a is listed twice", "scopes"),
        ),
        (
            json!({"identifier": "z", "scopes": null}),
            (201, String::new()),
        ),
    ]
    .into_iter()
    .map(|(body, (status, message))| (body, status, message))
    .collect();
    expect(&s, &t, Method::POST, "api/v2/resource-servers", &cases).await;
    let cases = [(
        json!({"identifier": "q"}),
        400,
        additional("identifier", None),
    )];
    expect(&s, &t, Method::PATCH, "api/v2/resource-servers/z", &cases).await;
    let cases = [(json!({"colour": 1}), 400, additional("colour", None))];
    expect(&s, &t, Method::POST, "api/v2/client-grants", &cases).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_openapi_document_describes_the_shared_bodies_under_their_names() {
    let s = start().await;
    let t = s.admin_token().await;
    let r = s.api(Method::GET, "api/v2/openapi.json", &t, None).await;
    assert_eq!(r.status, 200, "{r:?}");
    let schemas = &r.body["components"]["schemas"];
    for name in [
        "CreateClient",
        "UpdateClient",
        "RefreshTokenInput",
        "JwtConfigurationInput",
        "ClientDto",
        "RefreshTokenDto",
        "JwtConfigurationDto",
        "CreateResourceServer",
        "UpdateResourceServer",
        "ScopeDto",
        "ResourceServerDto",
    ] {
        assert!(schemas[name].is_object(), "{name} missing: {schemas}");
    }
    let update = &schemas["UpdateClient"]["properties"];
    assert_eq!(update["client_secret"]["format"], "password", "{update}");
    assert!(
        schemas["CreateClient"]["properties"]
            .get("client_secret")
            .is_none()
    );
    assert_eq!(
        schemas["AppType"]["enum"],
        json!(["native", "spa", "regular_web", "non_interactive"])
    );
    assert_eq!(
        schemas["GrantType"]["enum"],
        json!([
            "implicit",
            "authorization_code",
            "refresh_token",
            "client_credentials",
            "password",
            "http://auth0.com/oauth/grant-type/password-realm",
            "http://auth0.com/oauth/grant-type/passwordless/otp",
            "http://auth0.com/oauth/grant-type/mfa-oob",
            "http://auth0.com/oauth/grant-type/mfa-otp",
            "http://auth0.com/oauth/grant-type/mfa-recovery-code",
            "urn:ietf:params:oauth:grant-type:device_code",
            "urn:openid:params:grant-type:ciba",
            "urn:auth0:params:oauth:grant-type:token-exchange:federated-connection-access-token"
        ])
    );
    let paths = &r.body["paths"];
    let body_of = |path: &str, method: &str| {
        paths[path][method]["requestBody"]["content"]["application/json"]["schema"]["$ref"].clone()
    };
    assert_eq!(
        body_of("/api/v2/clients", "post"),
        "#/components/schemas/CreateClient"
    );
    assert_eq!(
        body_of("/api/v2/clients/{id}", "patch"),
        "#/components/schemas/UpdateClient"
    );
    assert_eq!(
        body_of("/api/v2/resource-servers", "post"),
        "#/components/schemas/CreateResourceServer"
    );
}
