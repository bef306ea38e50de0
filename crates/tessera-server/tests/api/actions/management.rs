//! The Management API of actions through HTTP, in Auth0's shapes
//! (node-auth0's `Action`, `ActionVersion`, `ActionBinding`, the paginated
//! listings): the life of an action, its versions and roll-backs, what a body
//! may not ask for, the triggers and their ordered bindings, who is refused on
//! every route, a deploy reaching another node whole, and the OpenAPI document.

use std::time::{Duration, Instant};

use reqwest::Method;
use serde_json::{Value, json};

use super::{bind, deploy_and_bind};
use crate::common::*;
use crate::flows::{API, App, EMAIL, PASSWORD, apis, app, claims, credentials, field, login, user};

const ACTIONS: &str = "api/v2/actions/actions";
const SECRET_VALUE: &str = "sk_live_never_answered_0123456789";
const CLAIM_CODE: &str = r#"exports.onExecutePostLogin = async (event, api) => {
  api.idToken.setCustomClaim('https://example.com/who', 'first');
};"#;

fn post_login() -> Value {
    json!([{"id": "post-login", "version": "v3"}])
}

/// The error's `Tessera-Error-Reason`, where the server names one.
fn reason(r: &Reply) -> Option<&str> {
    r.headers
        .get("tessera-error-reason")
        .and_then(|v| v.to_str().ok())
}

/// Every answer of a test, to check that no secret value is ever in one.
#[derive(Default)]
struct Seen(Vec<String>);

impl Seen {
    fn keep(&mut self, r: Reply) -> Reply {
        self.0.push(r.body.to_string());
        r
    }
    fn assert_never(&self, value: &str) {
        for body in &self.0 {
            assert!(!body.contains(value), "a secret value was answered: {body}");
        }
    }
}

async fn create(s: &TestServer, admin: &str, body: Value) -> Reply {
    s.api(Method::POST, ACTIONS, admin, Some(body)).await
}

/// A created action's id (201, built).
async fn created(s: &TestServer, admin: &str, name: &str, code: &str) -> String {
    let r = create(
        s,
        admin,
        json!({"name": name, "supported_triggers": post_login(), "code": code}),
    )
    .await;
    assert_eq!(r.status, 201, "{r:?}");
    r.body["id"].as_str().unwrap().to_owned()
}

async fn deploy(s: &TestServer, admin: &str, id: &str) -> Reply {
    s.api(Method::POST, &format!("{ACTIONS}/{id}/deploy"), admin, None)
        .await
}

fn secrets_are_names_only(secrets: &Value, names: &[&str]) {
    let list = secrets.as_array().unwrap_or_else(|| panic!("{secrets}"));
    assert_eq!(list.len(), names.len(), "{secrets}");
    for (s, name) in list.iter().zip(names) {
        let mut keys: Vec<&str> = s.as_object().unwrap().keys().map(String::as_str).collect();
        keys.sort_unstable();
        assert_eq!(keys, ["name", "updated_at"], "{secrets}");
        assert_eq!(s["name"], *name);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_action_is_created_listed_read_updated_and_deleted_in_auth0s_shapes() {
    let s = start().await;
    let admin = s.admin_token().await;
    let mut seen = Seen::default();

    let r = seen.keep(
        create(
            &s,
            &admin,
            json!({
                "name": "add-claims",
                "supported_triggers": post_login(),
                "code": CLAIM_CODE,
                "runtime": "node18",
                "secrets": [{"name": "API_KEY", "value": SECRET_VALUE}],
            }),
        )
        .await,
    );
    assert_eq!(r.status, 201, "{r:?}");
    let a = &r.body;
    assert_eq!(a["name"], "add-claims");
    assert_eq!(a["status"], "built");
    assert_eq!(a["code"], CLAIM_CODE);
    assert_eq!(a["runtime"], "node18");
    assert_eq!(
        a["supported_triggers"],
        json!([{"id": "post-login", "version": "v3"}])
    );
    assert_eq!(a["dependencies"], json!([]));
    assert_eq!(a["modules"], json!([]));
    assert_eq!(a["all_changes_deployed"], false);
    assert!(a.get("deployed_version").is_none(), "{a}");
    assert!(a.get("errors").is_none(), "{a}");
    for t in ["created_at", "updated_at", "built_at"] {
        assert!(a[t].is_string(), "{t}: {a}");
    }
    secrets_are_names_only(&a["secrets"], &["API_KEY"]);
    let id = a["id"].as_str().unwrap().to_owned();

    // Get answers the same action.
    let r = seen.keep(
        s.api(Method::GET, &format!("{ACTIONS}/{id}"), &admin, None)
            .await,
    );
    assert_eq!(r.status, 200, "{r:?}");
    assert_eq!(r.body["id"], id.as_str());
    secrets_are_names_only(&r.body["secrets"], &["API_KEY"]);

    // Two more: one deployed, one for the other trigger.
    let deployed = created(&s, &admin, "b-deployed", CLAIM_CODE).await;
    assert_eq!(deploy(&s, &admin, &deployed).await.status, 200);
    let r = create(
        &s,
        &admin,
        json!({"name": "m2m", "supported_triggers": [{"id": "credentials-exchange", "version": "v2"}],
               "code": "exports.onExecuteCredentialsExchange = async (event, api) => {};"}),
    )
    .await;
    assert_eq!(r.status, 201, "{r:?}");
    let m2m = r.body["id"].as_str().unwrap().to_owned();

    // Listing, filters and paging (Auth0's `{actions, total, page, per_page}`).
    let ids = |r: &Reply| -> Vec<String> {
        r.body["actions"]
            .as_array()
            .unwrap_or_else(|| panic!("{r:?}"))
            .iter()
            .map(|a| a["id"].as_str().unwrap().to_owned())
            .collect()
    };
    let r = seen.keep(s.api(Method::GET, ACTIONS, &admin, None).await);
    assert_eq!(r.status, 200, "{r:?}");
    assert_eq!(r.body["total"], 3);
    assert_eq!(r.body["page"], 0);
    assert_eq!(r.body["per_page"], 50);
    assert_eq!(ids(&r).len(), 3);
    let r = s
        .api(
            Method::GET,
            &format!("{ACTIONS}?triggerId=post-login"),
            &admin,
            None,
        )
        .await;
    assert_eq!(ids(&r), [id.clone(), deployed.clone()]);
    let r = s
        .api(
            Method::GET,
            &format!("{ACTIONS}?triggerId=credentials-exchange"),
            &admin,
            None,
        )
        .await;
    assert_eq!(ids(&r), [m2m.as_str()]);
    // An Auth0 trigger Tessera does not run has no actions.
    let r = s
        .api(
            Method::GET,
            &format!("{ACTIONS}?triggerId=post-user-registration"),
            &admin,
            None,
        )
        .await;
    assert_eq!(
        (r.status, r.body["total"].clone()),
        (200, json!(0)),
        "{r:?}"
    );
    let r = s
        .api(
            Method::GET,
            &format!("{ACTIONS}?actionName=m2m"),
            &admin,
            None,
        )
        .await;
    assert_eq!(ids(&r), [m2m.as_str()]);
    let r = s
        .api(
            Method::GET,
            &format!("{ACTIONS}?deployed=true"),
            &admin,
            None,
        )
        .await;
    assert_eq!(ids(&r), [deployed.as_str()]);
    assert_eq!(r.body["actions"][0]["deployed_version"]["number"], 1);
    let r = s
        .api(
            Method::GET,
            &format!("{ACTIONS}?deployed=false"),
            &admin,
            None,
        )
        .await;
    assert_eq!(ids(&r), [id.clone(), m2m.clone()]);
    let r = s
        .api(
            Method::GET,
            &format!("{ACTIONS}?page=1&per_page=2"),
            &admin,
            None,
        )
        .await;
    assert_eq!(
        (
            r.body["total"].clone(),
            r.body["page"].clone(),
            r.body["per_page"].clone()
        ),
        (json!(3), json!(1), json!(2))
    );
    assert_eq!(ids(&r), [m2m.as_str()]);
    // Unknown query parameters are Auth0's additional-property error.
    let r = s
        .api(Method::GET, &format!("{ACTIONS}?colour=red"), &admin, None)
        .await;
    assert_mgmt_error(&r, 400, "invalid_query_string");
    assert_eq!(reason(&r), Some("additional_property"));

    // Update: the draft changes, the deployed version does not.
    let r = seen.keep(
        s.api(
            Method::PATCH,
            &format!("{ACTIONS}/{deployed}"),
            &admin,
            Some(json!({"code": "exports.onExecutePostLogin = async () => {};", "name": "b-renamed"})),
        )
        .await,
    );
    assert_eq!(r.status, 200, "{r:?}");
    assert_eq!(r.body["name"], "b-renamed");
    assert_eq!(
        r.body["code"],
        "exports.onExecutePostLogin = async () => {};"
    );
    assert_eq!(r.body["all_changes_deployed"], false);
    assert_eq!(r.body["deployed_version"]["code"], CLAIM_CODE);
    assert_eq!(r.body["deployed_version"]["deployed"], true);
    // A PATCH listing the secret without a value keeps it; its value is never answered.
    let r = seen.keep(
        s.api(
            Method::PATCH,
            &format!("{ACTIONS}/{id}"),
            &admin,
            Some(
                json!({"secrets": [{"name": "API_KEY"}, {"name": "OTHER", "value": SECRET_VALUE}]}),
            ),
        )
        .await,
    );
    assert_eq!(r.status, 200, "{r:?}");
    secrets_are_names_only(&r.body["secrets"], &["API_KEY", "OTHER"]);
    let r = s
        .api(
            Method::PATCH,
            &format!("{ACTIONS}/{id}"),
            &admin,
            Some(json!({"secrets": [{"name": "NEW"}]})),
        )
        .await;
    assert_mgmt_error(&r, 400, "invalid_body");
    let r = s
        .api(
            Method::PATCH,
            &format!("{ACTIONS}/nope"),
            &admin,
            Some(json!({"name": "x"})),
        )
        .await;
    assert_mgmt_error(&r, 404, "action_not_found");

    // Delete: refused while bound, forced with its bindings, then gone.
    bind(&s, &admin, "post-login", &[&deployed]).await;
    let r = s
        .api(
            Method::DELETE,
            &format!("{ACTIONS}/{deployed}"),
            &admin,
            None,
        )
        .await;
    assert_mgmt_error(&r, 409, "action_bound");
    let r = s
        .api(
            Method::DELETE,
            &format!("{ACTIONS}/{deployed}?force=true"),
            &admin,
            None,
        )
        .await;
    assert_eq!(r.status, 204, "{r:?}");
    let r = s
        .api(
            Method::GET,
            "api/v2/actions/triggers/post-login/bindings",
            &admin,
            None,
        )
        .await;
    assert_eq!(
        (r.body["total"].clone(), r.body["bindings"].clone()),
        (json!(0), json!([])),
        "{r:?}"
    );
    for (m, path) in [
        (Method::GET, format!("{ACTIONS}/{deployed}")),
        (Method::DELETE, format!("{ACTIONS}/{deployed}")),
        (Method::GET, format!("{ACTIONS}/{deployed}/versions")),
        (Method::POST, format!("{ACTIONS}/{deployed}/deploy")),
    ] {
        assert_mgmt_error(
            &s.api(m, &path, &admin, None).await,
            404,
            "action_not_found",
        );
    }
    // An unbound action is deleted without force.
    let r = s
        .api(Method::DELETE, &format!("{ACTIONS}/{m2m}"), &admin, None)
        .await;
    assert_eq!(r.status, 204, "{r:?}");
    seen.assert_never(SECRET_VALUE);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn deploys_number_versions_and_a_roll_back_deploys_an_earlier_one_anew() {
    let s = start().await;
    let admin = s.admin_token().await;
    let mut seen = Seen::default();
    let r = seen.keep(
        create(
            &s,
            &admin,
            json!({"name": "versioned", "supported_triggers": post_login(), "code": "// v1",
                   "secrets": [{"name": "KEY", "value": SECRET_VALUE}]}),
        )
        .await,
    );
    let id = r.body["id"].as_str().unwrap().to_owned();

    let v1 = seen.keep(deploy(&s, &admin, &id).await);
    assert_eq!(v1.status, 200, "{v1:?}");
    assert_eq!(v1.body["number"], 1);
    assert_eq!(v1.body["deployed"], true);
    assert_eq!(v1.body["status"], "built");
    assert_eq!(v1.body["action_id"], id.as_str());
    assert_eq!(v1.body["code"], "// v1");
    assert_eq!(v1.body["errors"], json!([]));
    assert_eq!(v1.body["action"]["id"], id.as_str());
    assert_eq!(v1.body["action"]["all_changes_deployed"], true);
    secrets_are_names_only(&v1.body["secrets"], &["KEY"]);
    let v1_id = v1.body["id"].as_str().unwrap().to_owned();
    let r = seen.keep(
        s.api(Method::GET, &format!("{ACTIONS}/{id}"), &admin, None)
            .await,
    );
    assert_eq!(r.body["all_changes_deployed"], true);
    assert_eq!(r.body["deployed_version"]["id"], v1_id.as_str());
    secrets_are_names_only(&r.body["deployed_version"]["secrets"], &["KEY"]);

    // Change the draft: not deployed until deployed.
    let r = s
        .api(
            Method::PATCH,
            &format!("{ACTIONS}/{id}"),
            &admin,
            Some(json!({"code": "// v2"})),
        )
        .await;
    assert_eq!(r.body["all_changes_deployed"], false, "{r:?}");
    let v2 = seen.keep(deploy(&s, &admin, &id).await);
    assert_eq!(
        (v2.body["number"].clone(), v2.body["deployed"].clone()),
        (json!(2), json!(true)),
        "{v2:?}"
    );
    assert_eq!(v2.body["code"], "// v2");
    let v2_id = v2.body["id"].as_str().unwrap().to_owned();

    // Versions: newest first, `deployed` only on the current one.
    let list = seen.keep(
        s.api(
            Method::GET,
            &format!("{ACTIONS}/{id}/versions"),
            &admin,
            None,
        )
        .await,
    );
    assert_eq!(list.status, 200, "{list:?}");
    assert_eq!(list.body["total"], 2);
    let summary = |r: &Reply| -> Vec<(i64, bool)> {
        r.body["versions"]
            .as_array()
            .unwrap()
            .iter()
            .map(|v| {
                (
                    v["number"].as_i64().unwrap(),
                    v["deployed"].as_bool().unwrap(),
                )
            })
            .collect()
    };
    assert_eq!(summary(&list), [(2, true), (1, false)]);
    for v in list.body["versions"].as_array().unwrap() {
        secrets_are_names_only(&v["secrets"], &["KEY"]);
    }
    let r = s
        .api(
            Method::GET,
            &format!("{ACTIONS}/{id}/versions?per_page=1&page=1"),
            &admin,
            None,
        )
        .await;
    assert_eq!(summary(&r), [(1, false)]);
    assert_eq!(r.body["total"], 2);
    let r = seen.keep(
        s.api(
            Method::GET,
            &format!("{ACTIONS}/{id}/versions/{v1_id}"),
            &admin,
            None,
        )
        .await,
    );
    assert_eq!(r.status, 200, "{r:?}");
    assert_eq!(
        (
            r.body["number"].clone(),
            r.body["deployed"].clone(),
            r.body["code"].clone()
        ),
        (json!(1), json!(false), json!("// v1"))
    );
    assert_mgmt_error(
        &s.api(
            Method::GET,
            &format!("{ACTIONS}/{id}/versions/nope"),
            &admin,
            None,
        )
        .await,
        404,
        "action_version_not_found",
    );

    // Roll back to version 1 (no body, as Auth0's SDKs send): a new version 3
    // with version 1's code is deployed; the draft stays version 2's.
    let v3 = seen.keep(
        s.api(
            Method::POST,
            &format!("{ACTIONS}/{id}/versions/{v1_id}/deploy"),
            &admin,
            None,
        )
        .await,
    );
    assert_eq!(v3.status, 200, "{v3:?}");
    assert_eq!(
        (
            v3.body["number"].clone(),
            v3.body["deployed"].clone(),
            v3.body["code"].clone()
        ),
        (json!(3), json!(true), json!("// v1"))
    );
    assert_ne!(v3.body["id"], v1_id.as_str());
    let r = s
        .api(Method::GET, &format!("{ACTIONS}/{id}"), &admin, None)
        .await;
    assert_eq!(r.body["code"], "// v2");
    assert_eq!(r.body["all_changes_deployed"], false);
    assert_eq!(r.body["deployed_version"]["number"], 3);
    let r = s
        .api(
            Method::GET,
            &format!("{ACTIONS}/{id}/versions"),
            &admin,
            None,
        )
        .await;
    assert_eq!(summary(&r), [(3, true), (2, false), (1, false)]);

    // Roll back to version 2 with `update_draft`: the draft becomes its code.
    let v4 = seen.keep(
        s.api(
            Method::POST,
            &format!("{ACTIONS}/{id}/versions/{v2_id}/deploy"),
            &admin,
            Some(json!({"update_draft": true})),
        )
        .await,
    );
    assert_eq!(
        (v4.body["number"].clone(), v4.body["code"].clone()),
        (json!(4), json!("// v2")),
        "{v4:?}"
    );
    let r = s
        .api(Method::GET, &format!("{ACTIONS}/{id}"), &admin, None)
        .await;
    assert_eq!(r.body["code"], "// v2");
    assert_eq!(r.body["all_changes_deployed"], true);
    // Roll back to version 1 with `update_draft: false` and `{}`: the draft stays.
    for body in [json!({"update_draft": false}), json!({})] {
        let r = s
            .api(
                Method::POST,
                &format!("{ACTIONS}/{id}/versions/{v1_id}/deploy"),
                &admin,
                Some(body),
            )
            .await;
        assert_eq!(r.status, 200, "{r:?}");
        assert_eq!(r.body["code"], "// v1");
    }
    let r = s
        .api(Method::GET, &format!("{ACTIONS}/{id}"), &admin, None)
        .await;
    assert_eq!(
        (
            r.body["code"].clone(),
            r.body["all_changes_deployed"].clone()
        ),
        (json!("// v2"), json!(false))
    );
    assert_eq!(r.body["deployed_version"]["number"], 6);
    // An unknown property of the roll-back's body.
    let r = s
        .api(
            Method::POST,
            &format!("{ACTIONS}/{id}/versions/{v1_id}/deploy"),
            &admin,
            Some(json!({"draft": true})),
        )
        .await;
    assert_mgmt_error(&r, 400, "invalid_body");
    assert_eq!(reason(&r), Some("additional_property"));
    let r = s
        .api(
            Method::POST,
            &format!("{ACTIONS}/{id}/versions/nope/deploy"),
            &admin,
            None,
        )
        .await;
    assert_mgmt_error(&r, 404, "action_version_not_found");

    // Another action's version is not this action's.
    let other = created(&s, &admin, "other", CLAIM_CODE).await;
    for (m, path) in [
        (Method::GET, format!("{ACTIONS}/{other}/versions/{v1_id}")),
        (
            Method::POST,
            format!("{ACTIONS}/{other}/versions/{v1_id}/deploy"),
        ),
    ] {
        assert_mgmt_error(
            &s.api(m, &path, &admin, None).await,
            404,
            "action_version_not_found",
        );
    }
    let r = s
        .api(
            Method::GET,
            &format!("{ACTIONS}/{other}/versions"),
            &admin,
            None,
        )
        .await;
    assert_eq!(r.body["total"], 0, "{r:?}");

    // The bindings' actions carry no value either.
    bind(&s, &admin, "post-login", &[&id]).await;
    let r = seen.keep(
        s.api(
            Method::GET,
            "api/v2/actions/triggers/post-login/bindings",
            &admin,
            None,
        )
        .await,
    );
    secrets_are_names_only(&r.body["bindings"][0]["action"]["secrets"], &["KEY"]);
    secrets_are_names_only(
        &r.body["bindings"][0]["action"]["deployed_version"]["secrets"],
        &["KEY"],
    );
    seen.assert_never(SECRET_VALUE);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn code_with_a_syntax_error_builds_failed_and_is_not_deployed() {
    let s = start().await;
    let admin = s.admin_token().await;
    let r = create(
        &s,
        &admin,
        json!({"name": "broken", "supported_triggers": post_login(),
               "code": "exports.onExecutePostLogin = async (event, api) => { api.idToken.setCustomClaim(;"}),
    )
    .await;
    assert_eq!(r.status, 201, "{r:?}");
    assert_eq!(r.body["status"], "failed");
    // The build error, as Auth0's `ActionError`, on the action and its get.
    let failed = |a: &Value| {
        let errors = a["errors"].as_array().unwrap_or_else(|| panic!("{a}"));
        assert_eq!(errors.len(), 1, "{a}");
        assert_eq!(errors[0]["id"], "build_failed", "{a}");
        assert!(!errors[0]["msg"].as_str().unwrap().is_empty(), "{a}");
    };
    failed(&r.body);
    let id = r.body["id"].as_str().unwrap().to_owned();
    failed(
        &s.api(Method::GET, &format!("{ACTIONS}/{id}"), &admin, None)
            .await
            .body,
    );
    let r = deploy(&s, &admin, &id).await;
    assert_mgmt_error(&r, 400, "invalid_body");
    assert_eq!(reason(&r), Some("action_not_built"));
    let r = s
        .api(
            Method::GET,
            &format!("{ACTIONS}/{id}/versions"),
            &admin,
            None,
        )
        .await;
    assert_eq!(
        (r.body["total"].clone(), r.body["versions"].clone()),
        (json!(0), json!([])),
        "{r:?}"
    );
    // Created with `deploy: true`, it is refused before it is stored: a
    // retry is not a duplicate.
    let body = json!({"name": "broken-now", "supported_triggers": post_login(), "code": "function (", "deploy": true});
    let r = create(&s, &admin, body.clone()).await;
    assert_mgmt_error(&r, 400, "invalid_body");
    assert_eq!(reason(&r), Some("action_not_built"));
    let r = s
        .api(
            Method::GET,
            &format!("{ACTIONS}?actionName=broken-now"),
            &admin,
            None,
        )
        .await;
    assert_eq!(r.body["total"], 0, "{r:?}");
    let r = create(&s, &admin, body).await;
    assert_mgmt_error(&r, 400, "invalid_body");
    // Fixed, it builds and deploys; broken again, the draft's version carries
    // the error and the deployed version keeps running.
    let r = s
        .api(
            Method::PATCH,
            &format!("{ACTIONS}/{id}"),
            &admin,
            Some(json!({"code": CLAIM_CODE})),
        )
        .await;
    assert_eq!(r.body["status"], "built", "{r:?}");
    assert!(r.body.get("errors").is_none(), "{r:?}");
    assert_eq!(deploy(&s, &admin, &id).await.status, 200);
    let r = s
        .api(
            Method::PATCH,
            &format!("{ACTIONS}/{id}"),
            &admin,
            Some(json!({"code": "}}"})),
        )
        .await;
    assert_eq!(r.body["status"], "failed", "{r:?}");
    failed(&r.body);
    assert_eq!(r.body["deployed_version"]["status"], "built");
    assert_eq!(r.body["deployed_version"]["errors"], json!([]));
    let r = deploy(&s, &admin, &id).await;
    assert_mgmt_error(&r, 400, "invalid_body");
    assert_eq!(reason(&r), Some("action_not_built"));
}

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
