//! The Management API of actions through HTTP, in Auth0's shapes
//! (node-auth0's `Action`, `ActionVersion`, the paginated listings): the
//! life of an action, its versions and roll-backs, a failed build; helpers
//! shared with `management_bodies`, `management_bindings` and
//! `management_access`.

use reqwest::Method;
use serde_json::{Value, json};

use super::bind;
use crate::common::*;

pub(super) const ACTIONS: &str = "api/v2/actions/actions";
pub(super) const SECRET_VALUE: &str = "sk_live_never_answered_0123456789";
pub(super) const CLAIM_CODE: &str = r#"exports.onExecutePostLogin = async (event, api) => {
  api.idToken.setCustomClaim('https://example.com/who', 'first');
};"#;

pub(super) fn post_login() -> Value {
    json!([{"id": "post-login", "version": "v3"}])
}

/// The error's `Tessera-Error-Reason`, where the server names one.
pub(super) fn reason(r: &Reply) -> Option<&str> {
    r.headers
        .get("tessera-error-reason")
        .and_then(|v| v.to_str().ok())
}

/// Every answer of a test, to check that no secret value is ever in one.
#[derive(Default)]
pub(super) struct Seen(Vec<String>);

impl Seen {
    pub(super) fn keep(&mut self, r: Reply) -> Reply {
        self.0.push(r.body.to_string());
        r
    }
    pub(super) fn assert_never(&self, value: &str) {
        for body in &self.0 {
            assert!(!body.contains(value), "a secret value was answered: {body}");
        }
    }
}

pub(super) async fn create(s: &TestServer, admin: &str, body: Value) -> Reply {
    s.api(Method::POST, ACTIONS, admin, Some(body)).await
}

/// A created action's id (201, built).
pub(super) async fn created(s: &TestServer, admin: &str, name: &str, code: &str) -> String {
    let r = create(
        s,
        admin,
        json!({"name": name, "supported_triggers": post_login(), "code": code}),
    )
    .await;
    assert_eq!(r.status, 201, "{r:?}");
    r.body["id"].as_str().unwrap().to_owned()
}

pub(super) async fn deploy(s: &TestServer, admin: &str, id: &str) -> Reply {
    s.api(Method::POST, &format!("{ACTIONS}/{id}/deploy"), admin, None)
        .await
}

pub(super) fn secrets_are_names_only(secrets: &Value, names: &[&str]) {
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
