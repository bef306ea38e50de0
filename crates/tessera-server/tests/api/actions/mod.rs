//! Issue 15: Auth0 Actions. The Management API of actions, versions, triggers
//! and bindings; post-login and credentials-exchange run in the sandbox with
//! Auth0's `event` and `api`; who must not get in.

mod management;
mod management_access;
mod management_bindings;
mod management_bodies;
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
