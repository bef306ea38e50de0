//! What an action's body may not ask for (Auth0's refusals and what the
//! sandbox cannot run), the size of code, and a change of trigger.

use reqwest::Method;
use serde_json::{Value, json};

use crate::common::*;

use super::bind;
use super::management::*;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bodies_auth0_would_refuse_or_tessera_cannot_run_are_refused() {
    let s = start().await;
    let admin = s.admin_token().await;
    let base = json!({"name": "n", "supported_triggers": post_login(), "code": CLAIM_CODE});
    let with = |k: &str, v: Value| {
        let mut b = base.clone();
        b[k] = v;
        b
    };
    let cases: Vec<(Value, Option<&str>)> = vec![
        (
            with(
                "supported_triggers",
                json!([{"id": "pre-user-registration", "version": "v2"}]),
            ),
            Some("setting_not_enforced"),
        ),
        (
            with(
                "supported_triggers",
                json!([{"id": "post-login", "version": "v3"}, {"id": "credentials-exchange", "version": "v2"}]),
            ),
            None,
        ),
        (with("supported_triggers", json!([])), None),
        (
            with(
                "dependencies",
                json!([{"name": "axios", "version": "1.6.0"}]),
            ),
            Some("setting_not_enforced"),
        ),
        (
            with(
                "modules",
                json!([{"module_id": "m1", "module_version_id": "v1"}]),
            ),
            Some("setting_not_enforced"),
        ),
        (with("colour", json!("red")), Some("additional_property")),
        (
            with(
                "secrets",
                json!([{"name": "API_KEY", "value": "x", "extra": 1}]),
            ),
            Some("additional_property"),
        ),
        (with("code", json!("x".repeat(100 * 1024 + 1))), None),
        (
            with("secrets", json!([{"name": "has space", "value": "x"}])),
            None,
        ),
        (with("secrets", json!([{"name": "", "value": "x"}])), None),
        (
            with(
                "secrets",
                json!([{"name": "A", "value": "x"}, {"name": "A", "value": "y"}]),
            ),
            None,
        ),
        (with("secrets", json!([{"name": "NO_VALUE"}])), None),
        (with("runtime", json!("node8")), None),
        (with("name", json!("")), None),
        (with("name", json!("n".repeat(129))), None),
    ];
    for (body, why) in cases {
        let r = create(&s, &admin, body.clone()).await;
        let shown: String = body.to_string().chars().take(200).collect();
        assert_eq!(r.status, 400, "{shown}: {r:?}");
        assert_eq!(r.body["errorCode"], "invalid_body", "{shown}: {r:?}");
        if let Some(why) = why {
            assert_eq!(reason(&r), Some(why), "{shown}: {r:?}");
        }
    }
    // Nothing was stored.
    let r = s.api(Method::GET, ACTIONS, &admin, None).await;
    assert_eq!(r.body["total"], 0, "{r:?}");

    // The same rules on an update.
    let id = created(&s, &admin, "taken", CLAIM_CODE).await;
    for body in [
        json!({"dependencies": [{"name": "lodash", "version": "4"}]}),
        json!({"modules": [{"module_id": "m"}]}),
        json!({"supported_triggers": [{"id": "send-phone-message", "version": "v2"}]}),
        json!({"secrets": [{"name": "a/b", "value": "x"}]}),
        json!({"deploy": true}),
    ] {
        let r = s
            .api(
                Method::PATCH,
                &format!("{ACTIONS}/{id}"),
                &admin,
                Some(body.clone()),
            )
            .await;
        assert_mgmt_error(&r, 400, "invalid_body");
    }

    // A name is unique: on create and on rename.
    let r = create(&s, &admin, with("name", json!("taken"))).await;
    assert_mgmt_error(&r, 409, "action_conflict");
    let other = created(&s, &admin, "other", CLAIM_CODE).await;
    let r = s
        .api(
            Method::PATCH,
            &format!("{ACTIONS}/{other}"),
            &admin,
            Some(json!({"name": "taken"})),
        )
        .await;
    assert_mgmt_error(&r, 409, "action_conflict");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn code_up_to_auth0s_100_kb_is_accepted() {
    // Auth0 takes 100 KB of code; the server's default body limit (64 KiB)
    // must not refuse it first.
    let s = start().await;
    let admin = s.admin_token().await;
    let big = format!("{CLAIM_CODE}\n// {}", "x".repeat(90 * 1024));
    let r = create(
        &s,
        &admin,
        json!({"name": "big", "supported_triggers": post_login(), "code": big}),
    )
    .await;
    assert_eq!(r.status, 201, "{r:?}");
    assert_eq!(r.body["status"], "built");
    let id = r.body["id"].as_str().unwrap().to_owned();
    let r = s
        .api(
            Method::PATCH,
            &format!("{ACTIONS}/{id}"),
            &admin,
            Some(json!({"code": format!("{big} ")})),
        )
        .await;
    assert_eq!(r.status, 200, "{r:?}");
    let over = "x".repeat(100 * 1024 + 1);
    let r = s
        .api(
            Method::PATCH,
            &format!("{ACTIONS}/{id}"),
            &admin,
            Some(json!({"code": over})),
        )
        .await;
    assert_mgmt_error(&r, 400, "invalid_body");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_unbound_actions_trigger_can_change_and_it_binds_to_the_new_one() {
    let s = start().await;
    let admin = s.admin_token().await;
    let id = created(&s, &admin, "moving", CLAIM_CODE).await;
    let r = s
        .api(
            Method::PATCH,
            &format!("{ACTIONS}/{id}"),
            &admin,
            Some(
                json!({"supported_triggers": [{"id": "credentials-exchange", "version": "v2"}],
                        "code": "exports.onExecuteCredentialsExchange = async () => {};"}),
            ),
        )
        .await;
    assert_eq!(r.status, 200, "{r:?}");
    assert_eq!(
        r.body["supported_triggers"][0]["id"],
        "credentials-exchange"
    );
    let r = s
        .api(
            Method::GET,
            &format!("{ACTIONS}?triggerId=credentials-exchange"),
            &admin,
            None,
        )
        .await;
    assert_eq!(r.body["total"], 1, "{r:?}");
    let r = s
        .api(
            Method::GET,
            &format!("{ACTIONS}?triggerId=post-login"),
            &admin,
            None,
        )
        .await;
    assert_eq!(r.body["total"], 0, "{r:?}");
    assert_eq!(deploy(&s, &admin, &id).await.status, 200);
    bind(&s, &admin, "credentials-exchange", &[&id]).await;
    // Bound, its trigger cannot change.
    let r = s
        .api(
            Method::PATCH,
            &format!("{ACTIONS}/{id}"),
            &admin,
            Some(json!({"supported_triggers": post_login()})),
        )
        .await;
    assert_mgmt_error(&r, 400, "invalid_body");
}
