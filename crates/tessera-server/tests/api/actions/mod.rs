//! Issue 15: Auth0 Actions. The Management API of actions, versions, triggers
//! and bindings; post-login and credentials-exchange run in the sandbox with
//! Auth0's `event` and `api`; who must not get in.

mod claim_rules;
mod credentials_exchange;
mod logs_order;
mod management;
mod management_access;
mod management_bindings;
mod management_bodies;
mod post_login;
mod sandbox;
mod smoke;

use reqwest::Method;
use serde_json::{Value, json};

use crate::common::*;

/// Creates and deploys an action for `trigger` with `code` (and `secrets`)
/// and binds the trigger to exactly the given actions: the action's id.
pub(crate) async fn deploy_and_bind(
    s: &TestServer,
    admin: &str,
    trigger: &str,
    name: &str,
    code: &str,
    secrets: Value,
) -> String {
    let r = s
        .api(
            Method::POST,
            "api/v2/actions/actions",
            admin,
            Some(json!({
                "name": name,
                "supported_triggers": [{"id": trigger, "version": if trigger == "post-login" {"v3"} else {"v2"}}],
                "code": code,
                "secrets": secrets,
                "deploy": true,
            })),
        )
        .await;
    assert_eq!(r.status, 201, "{r:?}");
    assert_eq!(r.body["status"], "built", "{r:?}");
    let id = r.body["id"].as_str().unwrap().to_owned();
    bind(s, admin, trigger, &[&id]).await;
    id
}

/// Sets the trigger's bindings to `ids`, in order.
pub(crate) async fn bind(s: &TestServer, admin: &str, trigger: &str, ids: &[&str]) {
    let bindings: Vec<Value> = ids
        .iter()
        .map(|id| json!({"ref": {"type": "action_id", "value": id}}))
        .collect();
    let r = s
        .api(
            Method::PATCH,
            &format!("api/v2/actions/triggers/{trigger}/bindings"),
            admin,
            Some(json!({ "bindings": bindings })),
        )
        .await;
    assert_eq!(r.status, 200, "{r:?}");
}

/// The namespace of the custom claims the actions of these tests set, as
/// Auth0's documentation writes it.
pub(crate) const NS: &str = "https://my-app.example.com";

/// The password-realm grant.
pub(crate) const REALM_GRANT: &str = "http://auth0.com/oauth/grant-type/password-realm";

/// A web app named `name` allowed the code flow, refresh tokens and the
/// password grants, with `client_metadata`.
pub(crate) async fn web_app(s: &TestServer, name: &str, metadata: Value) -> crate::flows::App {
    crate::flows::app(
        s,
        json!({
            "name": name,
            "app_type": "regular_web",
            "grant_types": ["authorization_code", "refresh_token", REALM_GRANT, "password"],
            "client_metadata": metadata,
        }),
    )
    .await
}

/// A password-realm login of `EMAIL` from `app`, sent with `user_agent`.
pub(crate) async fn password_login(
    s: &TestServer,
    app: &crate::flows::App,
    scope: &str,
    user_agent: &str,
) -> Reply {
    let mut form = vec![
        ("grant_type", REALM_GRANT),
        ("realm", "Username-Password-Authentication"),
        ("username", crate::flows::EMAIL),
        ("password", crate::flows::PASSWORD),
        ("scope", scope),
        ("audience", crate::flows::API),
    ];
    form.extend(crate::flows::credentials(app));
    reply(
        http()
            .post(s.url("oauth/token"))
            .header("user-agent", user_agent)
            .form(&form)
            .send()
            .await
            .unwrap(),
    )
    .await
}

/// Small sandbox limits (fast hostile tests) and room in the password gate
/// for concurrent logins.
pub(crate) fn small_limits(c: &mut tessera_server::ServerConfig) {
    c.action_limits.memory_bytes = 8 * 1024 * 1024;
    c.action_limits.time = std::time::Duration::from_millis(50);
    c.password_gate = tessera_server::interactive::gate::PasswordGate::new(2, 128);
}

/// A server with [`small_limits`].
pub(crate) async fn server() -> TestServer {
    start_opts(Options {
        configure: small_limits,
        ..Options::default()
    })
    .await
}
