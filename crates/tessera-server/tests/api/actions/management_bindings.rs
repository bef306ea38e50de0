//! The triggers, their ordered bindings, and actions running in binding order.

use reqwest::Method;
use serde_json::{Value, json};

use crate::common::*;

use super::management::*;
use super::{bind, deploy_and_bind};
use crate::flows::{apis, app, claims, field, login, user};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn triggers_and_their_ordered_bindings() {
    let s = start().await;
    let admin = s.admin_token().await;
    let r = s
        .api(Method::GET, "api/v2/actions/triggers", &admin, None)
        .await;
    assert_eq!(r.status, 200, "{r:?}");
    let triggers: Vec<(String, String)> = r.body["triggers"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| {
            (
                t["id"].as_str().unwrap().into(),
                t["version"].as_str().unwrap().into(),
            )
        })
        .collect();
    assert_eq!(
        triggers,
        [
            ("post-login".into(), "v3".into()),
            ("credentials-exchange".into(), "v2".into())
        ]
    );
    for t in r.body["triggers"].as_array().unwrap() {
        assert_eq!(t["status"], "CURRENT");
        assert_eq!(t["binding_policy"], "trigger-bound");
        assert!(
            t["runtimes"]
                .as_array()
                .unwrap()
                .contains(&t["default_runtime"]),
            "{t}"
        );
    }

    let a = created(&s, &admin, "a", CLAIM_CODE).await;
    let b = created(&s, &admin, "b", CLAIM_CODE).await;
    let c = created(&s, &admin, "c", CLAIM_CODE).await;
    for id in [&a, &b] {
        assert_eq!(deploy(&s, &admin, id).await.status, 200);
    }
    let m2m = deploy_and_bind(
        &s,
        &admin,
        "credentials-exchange",
        "m2m",
        "exports.onExecuteCredentialsExchange = async () => {};",
        json!([]),
    )
    .await;
    let path = "api/v2/actions/triggers/post-login/bindings";
    let r = s.api(Method::GET, path, &admin, None).await;
    assert_eq!(
        (
            r.status,
            r.body["total"].clone(),
            r.body["bindings"].clone()
        ),
        (200, json!(0), json!([])),
        "{r:?}"
    );

    // By action_id with a display_name, then by action_name.
    let r = s
        .api(
            Method::PATCH,
            path,
            &admin,
            Some(json!({"bindings": [
                {"ref": {"type": "action_id", "value": a}, "display_name": "First"},
                {"ref": {"type": "action_name", "value": "b"}},
            ]})),
        )
        .await;
    assert_eq!(r.status, 200, "{r:?}");
    let order = |r: &Reply| -> Vec<(String, String)> {
        r.body["bindings"]
            .as_array()
            .unwrap_or_else(|| panic!("{r:?}"))
            .iter()
            .map(|b| {
                assert_eq!(b["trigger_id"], "post-login");
                (
                    b["action"]["id"].as_str().unwrap().into(),
                    b["display_name"].as_str().unwrap().into(),
                )
            })
            .collect()
    };
    assert_eq!(
        order(&r),
        [(a.clone(), "First".into()), (b.clone(), "b".into())]
    );
    let binding_a = r.body["bindings"][0]["id"].as_str().unwrap().to_owned();
    let binding_b = r.body["bindings"][1]["id"].as_str().unwrap().to_owned();
    let r = s.api(Method::GET, path, &admin, None).await;
    assert_eq!(
        order(&r),
        [(a.clone(), "First".into()), (b.clone(), "b".into())]
    );
    assert_eq!(r.body["total"], 2);
    let r = s
        .api(
            Method::GET,
            &format!("{path}?page=1&per_page=1"),
            &admin,
            None,
        )
        .await;
    assert_eq!(order(&r), [(b.clone(), "b".into())]);
    assert_eq!(
        (
            r.body["total"].clone(),
            r.body["page"].clone(),
            r.body["per_page"].clone()
        ),
        (json!(2), json!(1), json!(1))
    );

    // Reordered by binding_id: the bindings keep their ids and display names.
    let r = s
        .api(
            Method::PATCH,
            path,
            &admin,
            Some(json!({"bindings": [
                {"ref": {"type": "binding_id", "value": binding_b}, "display_name": "Second first"},
                {"ref": {"type": "binding_id", "value": binding_a}},
            ]})),
        )
        .await;
    assert_eq!(r.status, 200, "{r:?}");
    assert_eq!(
        order(&r),
        [
            (b.clone(), "Second first".into()),
            (a.clone(), "First".into())
        ]
    );
    assert_eq!(r.body["bindings"][0]["id"], binding_b.as_str());
    assert_eq!(r.body["bindings"][1]["id"], binding_a.as_str());

    // Refused, and the list unchanged: an undeployed action, another trigger's
    // action, the same action twice, an unknown ref type or action, a binding
    // of another trigger, per-binding secrets, an unknown property.
    let m2m_binding = s
        .api(
            Method::GET,
            "api/v2/actions/triggers/credentials-exchange/bindings",
            &admin,
            None,
        )
        .await
        .body["bindings"][0]["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let refused: Vec<(Value, Option<&str>)> = vec![
        (
            json!([{"ref": {"type": "action_id", "value": c}}]),
            Some("action_not_deployed"),
        ),
        (json!([{"ref": {"type": "action_id", "value": m2m}}]), None),
        (
            json!([{"ref": {"type": "action_id", "value": a}}, {"ref": {"type": "action_name", "value": "a"}}]),
            None,
        ),
        (
            json!([{"ref": {"type": "action_id", "value": a}}, {"ref": {"type": "action_id", "value": a}}]),
            None,
        ),
        (json!([{"ref": {"type": "action_uuid", "value": a}}]), None),
        (
            json!([{"ref": {"type": "action_id", "value": "nope"}}]),
            None,
        ),
        (
            json!([{"ref": {"type": "binding_id", "value": m2m_binding}}]),
            None,
        ),
        (
            json!([{"ref": {"type": "action_id", "value": a}, "secrets": [{"name": "K", "value": "v"}]}]),
            Some("setting_not_enforced"),
        ),
        (
            json!([{"ref": {"type": "action_id", "value": a}, "colour": "red"}]),
            Some("additional_property"),
        ),
        (
            json!([{"ref": {"type": "action_id", "value": a}, "display_name": ""}]),
            None,
        ),
    ];
    for (bindings, why) in refused {
        let r = s
            .api(
                Method::PATCH,
                path,
                &admin,
                Some(json!({ "bindings": bindings })),
            )
            .await;
        assert_mgmt_error(&r, 400, "invalid_body");
        if let Some(why) = why {
            assert_eq!(reason(&r), Some(why), "{bindings}: {r:?}");
        }
    }
    let r = s.api(Method::GET, path, &admin, None).await;
    assert_eq!(
        order(&r),
        [
            (b.clone(), "Second first".into()),
            (a.clone(), "First".into())
        ]
    );

    // Unknown triggers are 404 on both methods.
    for m in [Method::GET, Method::PATCH] {
        let r = s
            .api(
                m.clone(),
                "api/v2/actions/triggers/pre-user-registration/bindings",
                &admin,
                (m == Method::PATCH).then(|| json!({"bindings": []})),
            )
            .await;
        assert_mgmt_error(&r, 404, "trigger_not_found");
    }
    // An empty list unbinds all.
    let r = s
        .api(Method::PATCH, path, &admin, Some(json!({"bindings": []})))
        .await;
    assert_eq!(
        (r.status, r.body["bindings"].clone()),
        (200, json!([])),
        "{r:?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn actions_run_in_binding_order_and_a_reorder_applies_at_the_next_login() {
    let s = start().await;
    apis(&s).await;
    user(&s).await;
    let web = app(&s, json!({"app_type": "regular_web"})).await;
    let admin = s.admin_token().await;
    let code = |name: &str| {
        format!(
            "exports.onExecutePostLogin = async (event, api) => {{
  api.idToken.setCustomClaim('https://example.com/{name}', true);
  api.idToken.setCustomClaim('https://example.com/last', '{name}');
}};"
        )
    };
    let a = deploy_and_bind(&s, &admin, "post-login", "A", &code("A"), json!([])).await;
    let r = create(
        &s,
        &admin,
        json!({"name": "B", "supported_triggers": post_login(), "code": code("B"), "deploy": true}),
    )
    .await;
    assert_eq!(r.status, 201, "{r:?}");
    let b = r.body["id"].as_str().unwrap().to_owned();
    let last = |r: &Reply| {
        let id = claims(&field(r, "id_token"));
        assert_eq!(id["https://example.com/A"], true, "{id}");
        assert_eq!(id["https://example.com/B"], true, "{id}");
        id["https://example.com/last"].as_str().unwrap().to_owned()
    };
    bind(&s, &admin, "post-login", &[&a, &b]).await;
    assert_eq!(last(&login(&s, &web, "openid", &[]).await), "B");
    bind(&s, &admin, "post-login", &[&b, &a]).await;
    assert_eq!(last(&login(&s, &web, "openid", &[]).await), "A");
}
