//! post-login at run time: every `event` field Auth0 documents (that Tessera
//! supports) reaches the action, and every `api` call takes effect, on the
//! code flow, at a refresh and at the password grant.

use reqwest::Method;
use serde_json::json;

use super::{NS, bind, deploy_and_bind, password_login, server, web_app};
use crate::common::*;
use crate::flows::{
    API, CALLBACK, EMAIL, PASSWORD, apis, authorize, browser, claims, field, login, login_in,
    refresh,
};

/// A database user with a full profile and metadata; its id.
async fn full_user(s: &TestServer) -> String {
    let admin = s.admin_token().await;
    let r = s
        .api(
            Method::POST,
            "api/v2/users",
            &admin,
            Some(json!({
                "connection": "Username-Password-Authentication",
                "email": EMAIL,
                "email_verified": true,
                "password": PASSWORD,
                "name": "Ada Lovelace",
                "given_name": "Ada",
                "family_name": "Lovelace",
                "nickname": "ada",
                "picture": "https://pictures.example/ada.png",
                "app_metadata": {"plan": "free", "seats": 3},
                "user_metadata": {"lang": "en", "color": "green"},
            })),
        )
        .await;
    assert_eq!(r.status, 201, "{r:?}");
    r.body["user_id"].as_str().unwrap().to_owned()
}

/// A browser sending `User-Agent` and `Accept-Language`.
fn browser_as(user_agent: &str, language: &str) -> reqwest::Client {
    let mut headers = reqwest::header::HeaderMap::new();
    headers.insert("accept-language", language.parse().unwrap());
    reqwest::Client::builder()
        .cookie_store(true)
        .redirect(reqwest::redirect::Policy::none())
        .user_agent(user_agent)
        .default_headers(headers)
        .timeout(std::time::Duration::from_secs(20))
        .build()
        .unwrap()
}

fn host_of(s: &TestServer) -> String {
    url::Url::parse(&s.base)
        .unwrap()
        .host_str()
        .unwrap()
        .to_owned()
}

/// Copies the `event` fields under test into namespaced claims.
const EVENT_PROBE: &str = r#"exports.onExecutePostLogin = async (event, api) => {
  const namespace = 'https://my-app.example.com';
  const u = event.user;
  api.idToken.setCustomClaim(`${namespace}/user`, {
    user_id: u.user_id,
    email: u.email,
    email_verified: u.email_verified,
    name: u.name,
    given_name: u.given_name,
    family_name: u.family_name,
    nickname: u.nickname,
    picture: u.picture,
    app_metadata: u.app_metadata,
    user_metadata: u.user_metadata,
    created_at: u.created_at,
    updated_at: u.updated_at,
    last_login: u.last_login,
    logins_count: u.logins_count,
    identities: u.identities,
  });
  api.idToken.setCustomClaim(`${namespace}/user_keys`, Object.keys(event.user));
  api.idToken.setCustomClaim(`${namespace}/context`, {
    client: {
      client_id: event.client.client_id,
      name: event.client.name,
      metadata: event.client.metadata,
    },
    connection: {
      id: event.connection.id,
      name: event.connection.name,
      strategy: event.connection.strategy,
    },
    request: {
      ip: event.request.ip,
      user_agent: event.request.user_agent,
      query: event.request.query,
      hostname: event.request.hostname,
      geoip: typeof event.request.geoip,
    },
    resource_server: event.resource_server && event.resource_server.identifier,
    roles_is_array: Array.isArray(event.authorization.roles),
    organization: typeof event.organization,
    secret: event.secrets.GREETING,
    transaction: {
      requested_scopes: event.transaction.requested_scopes,
      protocol: event.transaction.protocol,
      redirect_uri: event.transaction.redirect_uri,
      locale: event.transaction.locale,
    },
    stats_logins_count: event.stats.logins_count,
    tenant: event.tenant.id,
    multifactor: typeof api.multifactor,
  });
  api.accessToken.setCustomClaim(`${namespace}/protocol`, event.transaction.protocol);
};"#;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_post_login_event_field_reaches_the_action_on_the_code_flow() {
    let s = server().await;
    apis(&s).await;
    let user_id = full_user(&s).await;
    let web = web_app(&s, "Probe app", json!({"tier": "gold"})).await;
    let admin = s.admin_token().await;
    deploy_and_bind(
        &s,
        &admin,
        "post-login",
        "probe",
        EVENT_PROBE,
        json!([{"name": "GREETING", "value": "hello-from-secrets"}]),
    )
    .await;

    let b = browser_as("ProbeAgent/1.0", "fr-CA,fr;q=0.9");
    let r = login_in(
        &s,
        &b,
        &web,
        "openid profile email read:orders",
        &[("audience", API)],
    )
    .await;
    let id = claims(&field(&r, "id_token"));
    let u = &id[format!("{NS}/user")];
    assert_eq!(u["user_id"], user_id.as_str(), "{u}");
    assert_eq!(u["email"], EMAIL);
    assert_eq!(u["email_verified"], true);
    assert_eq!(u["name"], "Ada Lovelace");
    assert_eq!(u["given_name"], "Ada");
    assert_eq!(u["family_name"], "Lovelace");
    assert_eq!(u["nickname"], "ada");
    assert_eq!(u["picture"], "https://pictures.example/ada.png");
    assert_eq!(u["app_metadata"], json!({"plan": "free", "seats": 3}));
    assert_eq!(u["user_metadata"], json!({"lang": "en", "color": "green"}));
    for t in ["created_at", "updated_at", "last_login"] {
        let text = u[t].as_str().unwrap_or_else(|| panic!("{t}: {u}"));
        assert!(
            text.len() >= 20 && text.as_bytes()[10] == b'T' && text.ends_with('Z'),
            "{t}: {text}"
        );
    }
    // The login being made is counted, as on Auth0 (`logins_count === 1`
    // is the documented first-login test).
    assert_eq!(u["logins_count"], 1, "{u}");
    let identities = u["identities"].as_array().unwrap();
    assert_eq!(identities.len(), 1, "{u}");
    assert_eq!(
        identities[0]["connection"],
        "Username-Password-Authentication"
    );
    assert_eq!(identities[0]["provider"], "auth0");
    assert_eq!(identities[0]["isSocial"], false);
    assert!(
        user_id.ends_with(identities[0]["user_id"].as_str().unwrap()),
        "{u}"
    );
    // No credential of the user reaches the action.
    for key in id[format!("{NS}/user_keys")].as_array().unwrap() {
        let key = key.as_str().unwrap();
        assert!(
            !key.contains("password") && !key.contains("hash"),
            "event.user.{key}"
        );
    }

    let c = &id[format!("{NS}/context")];
    assert_eq!(c["client"]["client_id"], web.id.as_str(), "{c}");
    assert_eq!(c["client"]["name"], "Probe app");
    assert_eq!(c["client"]["metadata"], json!({"tier": "gold"}));
    assert_eq!(c["connection"]["name"], "Username-Password-Authentication");
    assert_eq!(c["connection"]["strategy"], "auth0");
    assert!(
        c["connection"]["id"]
            .as_str()
            .is_some_and(|i| !i.is_empty()),
        "{c}"
    );
    assert_eq!(c["request"]["ip"], "127.0.0.1", "{c}");
    assert_eq!(c["request"]["user_agent"], "ProbeAgent/1.0");
    assert_eq!(c["request"]["hostname"], host_of(&s).as_str());
    assert_eq!(c["request"]["geoip"], "undefined");
    let query = &c["request"]["query"];
    assert_eq!(query["client_id"], web.id.as_str(), "{query}");
    assert_eq!(query["state"], "st");
    assert_eq!(query["audience"], API);
    assert_eq!(query["redirect_uri"], CALLBACK);
    assert_eq!(c["resource_server"], API);
    assert_eq!(c["roles_is_array"], true);
    assert_eq!(c["organization"], "undefined");
    assert_eq!(c["secret"], "hello-from-secrets");
    let t = &c["transaction"];
    let requested: Vec<&str> = t["requested_scopes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_str().unwrap())
        .collect();
    assert!(
        requested.contains(&"openid") && requested.contains(&"read:orders"),
        "{t}"
    );
    assert_eq!(t["protocol"], "oidc-basic-profile");
    assert_eq!(t["redirect_uri"], CALLBACK);
    assert_eq!(t["locale"], "fr-CA");
    assert_eq!(c["stats_logins_count"], u["logins_count"]);
    assert_eq!(c["tenant"], host_of(&s).as_str());
    assert_eq!(c["multifactor"], "undefined");

    // The access token's claim came through the code exchange.
    let at = claims(&field(&r, "access_token"));
    assert_eq!(at[format!("{NS}/protocol")], "oidc-basic-profile");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn claims_scopes_and_metadata_take_effect_and_a_later_action_sees_the_metadata() {
    let s = server().await;
    apis(&s).await;
    let user_id = full_user(&s).await;
    let web = web_app(&s, "Web app", json!({})).await;
    let admin = s.admin_token().await;
    let first = deploy_and_bind(
        &s,
        &admin,
        "post-login",
        "enrich",
        r#"exports.onExecutePostLogin = async (event, api) => {
  const namespace = 'https://my-app.example.com';
  api.idToken.setCustomClaim(`${namespace}/favorite_color`, event.user.user_metadata.color);
  api.accessToken.setCustomClaim(`${namespace}/plan_before`, event.user.app_metadata.plan);
  api.accessToken.removeScope('read:orders');
  api.accessToken.addScope('write:extra');
  api.user.setAppMetadata('plan', 'pro');
  api.user.setUserMetadata('theme', 'dark');
  api.user.setUserMetadata('lang', null);
};"#,
        json!([]),
    )
    .await;
    let second = deploy_and_bind(
        &s,
        &admin,
        "post-login",
        "read-back",
        r#"exports.onExecutePostLogin = async (event, api) => {
  const namespace = 'https://my-app.example.com';
  api.accessToken.setCustomClaim(`${namespace}/plan_seen`, event.user.app_metadata.plan);
};"#,
        json!([]),
    )
    .await;
    bind(&s, &admin, "post-login", &[&first, &second]).await;

    let r = login(&s, &web, "openid read:orders", &[("audience", API)]).await;
    let id = claims(&field(&r, "id_token"));
    assert_eq!(id[format!("{NS}/favorite_color")], "green");
    let at = claims(&field(&r, "access_token"));
    assert_eq!(at[format!("{NS}/plan_before")], "free");
    assert_eq!(at[format!("{NS}/plan_seen")], "pro", "{at}");
    let scope: Vec<&str> = at["scope"].as_str().unwrap().split(' ').collect();
    assert!(scope.contains(&"write:extra"), "{at}");
    assert!(!scope.contains(&"read:orders"), "{at}");
    let response_scope = field(&r, "scope");
    let response: Vec<&str> = response_scope.split(' ').collect();
    assert!(response.contains(&"write:extra"), "{r:?}");
    assert!(!response.contains(&"read:orders"), "{r:?}");

    // Persisted once, after both actions.
    let u = s
        .api(
            Method::GET,
            &format!("api/v2/users/{}", enc_id(&user_id)),
            &admin,
            None,
        )
        .await;
    assert_eq!(u.status, 200, "{u:?}");
    assert_eq!(u.body["app_metadata"], json!({"plan": "pro", "seats": 3}));
    assert_eq!(
        u.body["user_metadata"],
        json!({"color": "green", "theme": "dark"})
    );
}

fn enc_id(id: &str) -> String {
    crate::flows::enc(id)
}

/// Denies logins of the app named `Blocked app`, as Auth0's documentation's
/// first example does; tags every token with the protocol.
const DENY_BLOCKED: &str = r#"exports.onExecutePostLogin = async (event, api) => {
  const namespace = 'https://my-app.example.com';
  if (event.client.name === 'Blocked app') {
    api.access.deny(`Access to ${event.client.name} is not allowed.`);
  }
  if (event.client.name === 'No refresh' && event.transaction.protocol === 'oauth2-refresh-token') {
    api.access.deny('Refresh is not allowed here.');
  }
  api.idToken.setCustomClaim(`${namespace}/protocol`, event.transaction.protocol);
  api.accessToken.setCustomClaim(`${namespace}/protocol`, event.transaction.protocol);
  api.accessToken.setCustomClaim(`${namespace}/logins`, event.stats.logins_count);
};"#;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_denial_at_authorize_answers_the_callback_with_access_denied_and_state() {
    let s = server().await;
    apis(&s).await;
    full_user(&s).await;
    let blocked = web_app(&s, "Blocked app", json!({})).await;
    let fine = web_app(&s, "Fine app", json!({})).await;
    let admin = s.admin_token().await;
    deploy_and_bind(&s, &admin, "post-login", "deny", DENY_BLOCKED, json!([])).await;

    let (q, _) = authorize(&s, &browser(), &blocked, "openid", &[]).await;
    assert_eq!(
        q.get("error").map(String::as_str),
        Some("access_denied"),
        "{q:?}"
    );
    assert_eq!(
        q.get("error_description").map(String::as_str),
        Some("Access to Blocked app is not allowed.")
    );
    assert_eq!(q.get("state").map(String::as_str), Some("st"));
    assert!(!q.contains_key("code"), "{q:?}");

    let r = login(&s, &fine, "openid", &[]).await;
    assert_eq!(
        claims(&field(&r, "id_token"))[format!("{NS}/protocol")],
        "oidc-basic-profile"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn post_login_runs_anew_at_a_refresh_and_can_deny_it() {
    let s = server().await;
    apis(&s).await;
    full_user(&s).await;
    let web = web_app(&s, "Fine app", json!({})).await;
    let no_refresh = web_app(&s, "No refresh", json!({})).await;
    let admin = s.admin_token().await;
    deploy_and_bind(&s, &admin, "post-login", "deny", DENY_BLOCKED, json!([])).await;

    let r = login(
        &s,
        &web,
        "openid offline_access read:orders",
        &[("audience", API)],
    )
    .await;
    let at = claims(&field(&r, "access_token"));
    assert_eq!(at[format!("{NS}/protocol")], "oidc-basic-profile");
    assert_eq!(at[format!("{NS}/logins")], 1);
    let r = refresh(&s, &web, &field(&r, "refresh_token"), None).await;
    assert_eq!(r.status, 200, "{r:?}");
    let at = claims(&field(&r, "access_token"));
    assert_eq!(at[format!("{NS}/protocol")], "oauth2-refresh-token");
    // A refresh is not a login.
    assert_eq!(at[format!("{NS}/logins")], 1);
    assert_eq!(
        claims(&field(&r, "id_token"))[format!("{NS}/protocol")],
        "oauth2-refresh-token"
    );

    let r = login(
        &s,
        &no_refresh,
        "openid offline_access read:orders",
        &[("audience", API)],
    )
    .await;
    let r = refresh(&s, &no_refresh, &field(&r, "refresh_token"), None).await;
    assert_eq!(r.status, 403, "{r:?}");
    assert_eq!(r.body["error"], "access_denied");
    assert_eq!(r.body["error_description"], "Refresh is not allowed here.");
    assert_eq!(r.reason(), Some(Reason::ActionDenied));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn post_login_runs_at_the_password_grant_and_can_deny_it() {
    let s = server().await;
    apis(&s).await;
    let user_id = full_user(&s).await;
    let web = web_app(&s, "Fine app", json!({})).await;
    let blocked = web_app(&s, "Blocked app", json!({})).await;
    let admin = s.admin_token().await;
    deploy_and_bind(&s, &admin, "post-login", "deny", DENY_BLOCKED, json!([])).await;

    let r = password_login(&s, &web, "openid read:orders", "Agent").await;
    assert_eq!(r.status, 200, "{r:?}");
    let at = claims(&field(&r, "access_token"));
    assert_eq!(at[format!("{NS}/protocol")], "oauth2-resource-owner");
    // The login being made is counted, as on Auth0.
    assert_eq!(at[format!("{NS}/logins")], 1);
    assert_eq!(
        claims(&field(&r, "id_token"))[format!("{NS}/protocol")],
        "oauth2-resource-owner"
    );

    let again = password_login(&s, &web, "openid read:orders", "Agent").await;
    assert_eq!(
        claims(&field(&again, "access_token"))[format!("{NS}/logins")],
        2
    );
    let stored = s
        .api(
            Method::GET,
            &format!("api/v2/users/{}", enc_id(&user_id)),
            &admin,
            None,
        )
        .await;
    assert_eq!(stored.body["logins_count"], 2, "{stored:?}");

    let r = password_login(&s, &blocked, "openid read:orders", "Agent").await;
    assert_eq!(r.status, 403, "{r:?}");
    assert_eq!(r.body["error"], "access_denied");
    assert_eq!(
        r.body["error_description"],
        "Access to Blocked app is not allowed."
    );
    assert_eq!(r.reason(), Some(Reason::ActionDenied));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_denial_keeps_the_metadata_changes_the_actions_asked_for() {
    // Auth0: `api.access.deny` "will NOT cancel other user-related side
    // effects (such as metadata changes) requested by this Action".
    let s = server().await;
    apis(&s).await;
    let user_id = full_user(&s).await;
    let web = web_app(&s, "Web app", json!({})).await;
    let admin = s.admin_token().await;
    deploy_and_bind(
        &s,
        &admin,
        "post-login",
        "flag-and-deny",
        r#"exports.onExecutePostLogin = async (event, api) => {
  api.user.setAppMetadata('denied_logins', (event.user.app_metadata.denied_logins || 0) + 1);
  api.user.setUserMetadata('color', null);
  api.access.deny('Your account is under review.');
};"#,
        json!([]),
    )
    .await;
    let r = password_login(&s, &web, "openid", "agent").await;
    assert_eq!(r.status, 403, "{r:?}");
    assert_eq!(r.reason(), Some(Reason::ActionDenied));
    let u = s
        .api(
            Method::GET,
            &format!("api/v2/users/{}", enc_id(&user_id)),
            &admin,
            None,
        )
        .await;
    assert_eq!(
        u.body["app_metadata"],
        json!({"plan": "free", "seats": 3, "denied_logins": 1}),
        "{u:?}"
    );
    assert_eq!(u.body["user_metadata"], json!({"lang": "en"}));
}
