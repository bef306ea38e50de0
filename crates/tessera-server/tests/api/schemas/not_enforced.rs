//! Settings Tessera stores but does not enforce (attacker review of the
//! schemas): a value asking for an enforcement is refused, named, with a typed
//! reason; secrets Tessera will not keep are refused; `is_first_party: null`;
//! disagreeing former names; the Management API's reserved name; the bounds on
//! free-form settings and on the `identifiers` query.

use reqwest::Method;
use serde_json::{Value, json};

use super::assert_refused;
use crate::common::*;

const REASON: &str = "tessera-error-reason";

/// 400 `invalid_body` naming `property`, with the precise `reason`.
fn assert_refused_because(r: &Reply, property: &str, reason: &str) {
    assert_refused(r, property);
    assert_eq!(r.headers[REASON], reason, "{property}: {r:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn client_hardening_values_are_refused_until_enforced() {
    let s = start().await;
    let t = s.admin_token().await;
    let made = s
        .api(
            Method::POST,
            "api/v2/clients",
            &t,
            Some(json!({"name": "plain"})),
        )
        .await;
    assert_eq!(made.status, 201, "{made:?}");
    let path = format!(
        "api/v2/clients/{}",
        made.body["client_id"].as_str().unwrap()
    );
    let before = s.api(Method::GET, &path, &t, None).await.body;
    for (body, property, reason) in [
        (
            json!({"sso_disabled": true}),
            "sso_disabled",
            "setting_not_enforced",
        ),
        (
            json!({"require_pushed_authorization_requests": true}),
            "require_pushed_authorization_requests",
            "setting_not_enforced",
        ),
        (
            json!({"require_proof_of_possession": true}),
            "require_proof_of_possession",
            "setting_not_enforced",
        ),
        (
            json!({"signed_request_object": {"required": true, "credentials": []}}),
            "signed_request_object.required",
            "setting_not_enforced",
        ),
        (
            json!({"compliance_level": "fapi1_adv_pkj_par"}),
            "compliance_level",
            "setting_not_enforced",
        ),
        (
            json!({"oidc_logout": {"backchannel_logout_urls": ["https://app.example/bcl"]}}),
            "oidc_logout.backchannel_logout_urls",
            "setting_not_enforced",
        ),
        (
            json!({"oidc_backchannel_logout": {"backchannel_logout_urls": ["https://a.example/"]}}),
            "oidc_backchannel_logout.backchannel_logout_urls",
            "setting_not_enforced",
        ),
        (
            json!({"organization_usage": "require"}),
            "organization_usage",
            "setting_not_enforced",
        ),
        (
            json!({"third_party_security_mode": "strict"}),
            "third_party_security_mode",
            "setting_not_enforced",
        ),
        (
            json!({"redirection_policy": "open_redirect_protection"}),
            "redirection_policy",
            "setting_not_enforced",
        ),
        (
            json!({"token_quota": {"client_credentials": {"per_hour": 10}}}),
            "token_quota",
            "setting_not_enforced",
        ),
        (
            json!({"addons": {"samlp": {"audience": "urn:sp"}}}),
            "addons",
            "secret_setting_refused",
        ),
        (
            json!({"cross_origin_authentication": true, "cross_origin_auth": false}),
            "cross_origin_auth",
            "properties_disagree",
        ),
    ] {
        let patched = s.api(Method::PATCH, &path, &t, Some(body.clone())).await;
        assert_refused_because(&patched, property, reason);
        let mut create = body.clone();
        create["name"] = json!("hardened");
        let created = s
            .api(Method::POST, "api/v2/clients", &t, Some(create))
            .await;
        assert_refused_because(&created, property, reason);
    }
    // Nothing was written.
    assert_eq!(s.api(Method::GET, &path, &t, None).await.body, before);
    // The non-enforcing values stay accepted.
    let r = s
        .api(
            Method::PATCH,
            &path,
            &t,
            Some(json!({
                "sso_disabled": false, "require_pushed_authorization_requests": false,
                "signed_request_object": {"required": false}, "compliance_level": "none",
                "organization_usage": "allow", "third_party_security_mode": "permissive",
                "redirection_policy": "allow_always", "token_quota": {}, "addons": {},
                "cross_origin_authentication": true, "cross_origin_auth": true
            })),
        )
        .await;
    assert_eq!(r.status, 200, "{r:?}");
    assert_eq!(r.body["cross_origin_auth"], true);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn is_first_party_null_is_refused_and_a_third_party_client_stays_one() {
    let s = start().await;
    let t = s.admin_token().await;
    let made = s
        .api(
            Method::POST,
            "api/v2/clients",
            &t,
            Some(json!({"name": "third", "is_first_party": false})),
        )
        .await;
    let path = format!(
        "api/v2/clients/{}",
        made.body["client_id"].as_str().unwrap()
    );
    let r = s
        .api(
            Method::PATCH,
            &path,
            &t,
            Some(json!({"is_first_party": null})),
        )
        .await;
    assert_refused_because(&r, "is_first_party", "null_refused");
    let r = s
        .api(
            Method::POST,
            "api/v2/clients",
            &t,
            Some(json!({"name": "n", "is_first_party": null})),
        )
        .await;
    assert_refused_because(&r, "is_first_party", "null_refused");
    let stored = s.api(Method::GET, &path, &t, None).await;
    assert_eq!(stored.body["is_first_party"], false, "{stored:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn api_enforcement_values_and_signing_secrets_are_refused() {
    let s = start().await;
    let t = s.admin_token().await;
    let made = s
        .api(
            Method::POST,
            "api/v2/resource-servers",
            &t,
            Some(json!({"identifier": "urn:plain"})),
        )
        .await;
    let path = format!(
        "api/v2/resource-servers/{}",
        made.body["id"].as_str().unwrap()
    );
    let before = s.api(Method::GET, &path, &t, None).await.body;
    for (body, property, reason) in [
        (
            json!({"token_encryption": {"format": "compact-nested-jwe"}}),
            "token_encryption",
            "setting_not_enforced",
        ),
        (
            json!({"consent_policy": "transactional-authorization-with-mfa"}),
            "consent_policy",
            "setting_not_enforced",
        ),
        (
            json!({"proof_of_possession": {"mechanism": "mtls", "required": true}}),
            "proof_of_possession.required",
            "setting_not_enforced",
        ),
        (
            json!({"subject_type_authorization": {"user": {"policy": "deny_all"}}}),
            "subject_type_authorization",
            "setting_not_enforced",
        ),
        (
            json!({"authorization_policy": {"policy": "x"}}),
            "authorization_policy",
            "setting_not_enforced",
        ),
        (
            json!({"signing_secret": "a-long-enough-hs256-secret"}),
            "signing_secret",
            "secret_setting_refused",
        ),
    ] {
        let patched = s.api(Method::PATCH, &path, &t, Some(body.clone())).await;
        assert_refused_because(&patched, property, reason);
        let mut create = body.clone();
        create["identifier"] = json!("urn:hardened");
        let created = s
            .api(Method::POST, "api/v2/resource-servers", &t, Some(create))
            .await;
        assert_refused_because(&created, property, reason);
    }
    let after = s.api(Method::GET, &path, &t, None).await.body;
    assert_eq!(after, before);
    assert!(after.get("signing_secret").is_none(), "{after}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn only_the_management_api_is_named_auth0_management_api() {
    let s = start().await;
    let t = s.admin_token().await;
    for name in [
        "Auth0 Management API",
        "auth0 management api",
        " AUTH0 Management Api ",
    ] {
        let r = s
            .api(
                Method::POST,
                "api/v2/resource-servers",
                &t,
                Some(json!({"identifier": "urn:fake-mgmt", "name": name})),
            )
            .await;
        assert_refused_because(&r, "name", "reserved_name");
    }
    let made = s
        .api(
            Method::POST,
            "api/v2/resource-servers",
            &t,
            Some(json!({"identifier": "urn:fake-mgmt", "name": "Orders"})),
        )
        .await;
    assert_eq!(made.status, 201, "{made:?}");
    let path = format!(
        "api/v2/resource-servers/{}",
        made.body["id"].as_str().unwrap()
    );
    let r = s
        .api(
            Method::PATCH,
            &path,
            &t,
            Some(json!({"name": "AUTH0 MANAGEMENT API"})),
        )
        .await;
    assert_refused_because(&r, "name", "reserved_name");
    assert_eq!(
        s.api(Method::GET, &path, &t, None).await.body["name"],
        "Orders"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn free_form_settings_are_bounded() {
    let s = start().await;
    let t = s.admin_token().await;
    let many: Vec<Value> = (0..101).map(|i| json!(format!("c{i}"))).collect();
    let big = "x".repeat(9 * 1024);
    for (body, property) in [
        (
            json!({"async_approval_notification_channels": many}),
            "async_approval_notification_channels",
        ),
        (json!({"token_exchange": {"blob": big}}), "token_exchange"),
        (json!({"fedcm_login": {"blob": big}}), "fedcm_login"),
        (
            json!({"custom_login_page": "x".repeat(33 * 1024)}),
            "custom_login_page",
        ),
    ] {
        let mut create = body.clone();
        create["name"] = json!("big");
        let r = s
            .api(Method::POST, "api/v2/clients", &t, Some(create))
            .await;
        assert_refused_because(&r, property, "setting_too_large");
    }
    let details: Vec<Value> = (0..101).map(|i| json!({"type": format!("t{i}")})).collect();
    let r = s
        .api(
            Method::POST,
            "api/v2/resource-servers",
            &t,
            Some(json!({"identifier": "urn:big", "authorization_details": details})),
        )
        .await;
    assert_refused_because(&r, "authorization_details", "setting_too_large");
    // Within the bounds: accepted.
    let r = s
        .api(
            Method::POST,
            "api/v2/clients",
            &t,
            Some(json!({"name": "fits", "custom_login_page": "x".repeat(16 * 1024)})),
        )
        .await;
    assert_eq!(r.status, 201, "{r:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_identifiers_query_is_capped_and_checked_after_the_scope() {
    let s = start().await;
    let t = s.admin_token().await;
    let query = |n: usize| {
        (0..n)
            .map(|i| format!("identifiers=urn%3Aapi{i}"))
            .collect::<Vec<_>>()
            .join("&")
    };
    let r = s
        .api(
            Method::GET,
            &format!("api/v2/resource-servers?{}", query(101)),
            &t,
            None,
        )
        .await;
    assert_mgmt_error(&r, 400, "invalid_query_string");
    assert_eq!(r.headers[REASON], "too_many_values", "{r:?}");
    let r = s
        .api(
            Method::GET,
            &format!("api/v2/resource-servers?{}", query(100)),
            &t,
            None,
        )
        .await;
    assert_eq!(r.status, 200, "{r:?}");
    // Repeats count once.
    let same = vec!["identifiers=urn%3Aone"; 150].join("&");
    let r = s
        .api(
            Method::GET,
            &format!("api/v2/resource-servers?{same}"),
            &t,
            None,
        )
        .await;
    assert_eq!(r.status, 200, "{r:?}");
    // A caller without the scope learns nothing about the query.
    let weak = s.token_with_scopes(&["read:clients"]).await;
    let r = s
        .api(
            Method::GET,
            &format!("api/v2/resource-servers?{}", query(101)),
            &weak,
            None,
        )
        .await;
    assert_mgmt_error(&r, 403, "insufficient_scope");
}
