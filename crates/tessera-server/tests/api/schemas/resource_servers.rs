//! Resource servers: Auth0's properties, the Management API (system API), and
//! client grants' organization properties.

use reqwest::Method;
use serde_json::json;

use super::{assert_additional, assert_has_all, assert_refused};
use crate::common::*;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_api_with_auth0s_properties_reads_back_equal_and_null_resets() {
    let s = start().await;
    let t = s.admin_token().await;
    let sent = json!({
        "identifier": "https://orders.example/",
        "name": "Orders",
        "scopes": [{"value": "read:orders", "description": "Read orders"}],
        "signing_alg": "RS256",
        "token_lifetime": 7200,
        "allow_offline_access": true,
        "skip_consent_for_verifiable_first_party_clients": true,
        "token_dialect": "rfc9068_profile",
        "enforce_policies": false,
        "proof_of_possession": {"mechanism": "mtls", "required": false},
        "subject_type_authorization": {"user": {"policy": "allow_all"}}
    });
    let made = s
        .api(
            Method::POST,
            "api/v2/resource-servers",
            &t,
            Some(sent.clone()),
        )
        .await;
    assert_eq!(made.status, 201, "{made:?}");
    assert_has_all(&made.body, &sent);
    let path = format!(
        "api/v2/resource-servers/{}",
        made.body["id"].as_str().unwrap()
    );
    assert_has_all(&s.api(Method::GET, &path, &t, None).await.body, &sent);
    // Defaults of an API made with an identifier only.
    let bare = s
        .api(
            Method::POST,
            "api/v2/resource-servers",
            &t,
            Some(json!({"identifier": "urn:bare"})),
        )
        .await;
    assert_eq!(bare.body["token_dialect"], "access_token");
    assert_eq!(bare.body["enforce_policies"], false);
    // `null` resets; what is not named is kept.
    let r = s
        .api(
            Method::PATCH,
            &path,
            &t,
            Some(
                json!({"token_dialect": null, "enforce_policies": null, "consent_policy": null,
                        "skip_consent_for_verifiable_first_party_clients": null, "name": null}),
            ),
        )
        .await;
    assert_eq!(r.status, 200, "{r:?}");
    assert_eq!(r.body["token_dialect"], "access_token");
    assert_eq!(r.body["enforce_policies"], false);
    assert_eq!(
        r.body["skip_consent_for_verifiable_first_party_clients"],
        false
    );
    assert!(r.body.get("consent_policy").is_none(), "{r:?}");
    assert_eq!(r.body["name"], "Orders");
    assert_eq!(r.body["token_lifetime"], 7200);
    // Refusals: Auth0's closed sets, types, limits; unknown and read-only ones.
    for (body, property) in [
        (json!({"token_dialect": "jwt"}), "token_dialect"),
        (json!({"enforce_policies": "yes"}), "enforce_policies"),
        (json!({"signing_secret": "short"}), "signing_secret"),
        (
            json!({"authorization_details": {"type": "x"}}),
            "authorization_details",
        ),
    ] {
        assert_refused(&s.api(Method::PATCH, &path, &t, Some(body)).await, property);
    }
    for name in ["identifier", "is_system", "id", "colour"] {
        assert_additional(
            &s.api(Method::PATCH, &path, &t, Some(json!({name: "x"})))
                .await,
            name,
            None,
        );
    }
    assert_additional(
        &s.api(
            Method::POST,
            "api/v2/resource-servers",
            &t,
            Some(json!({"identifier": "urn:x", "is_system": true})),
        )
        .await,
        "is_system",
        None,
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_management_api_keeps_auth0s_name_and_only_no_op_patches_pass() {
    let s = start().await;
    let t = s.admin_token().await;
    let id = s.management_audience();
    let path = format!("api/v2/resource-servers/{}", urlencode(&id));
    let api = s.api(Method::GET, &path, &t, None).await;
    assert_eq!(api.body["name"], "Auth0 Management API");
    assert_eq!(api.body["is_system"], true);
    // A re-import sends what an export read: nothing changes, 200.
    let same = json!({
        "name": api.body["name"], "token_lifetime": api.body["token_lifetime"],
        "scopes": api.body["scopes"], "signing_alg": api.body["signing_alg"],
        "allow_offline_access": api.body["allow_offline_access"],
        "skip_consent_for_verifiable_first_party_clients": false,
        "token_dialect": "access_token", "enforce_policies": false
    });
    let r = s.api(Method::PATCH, &path, &t, Some(same)).await;
    assert_eq!(r.status, 200, "{r:?}");
    assert_eq!(r.body, api.body);
    // Any change is refused as Auth0 does, naming the property; nothing changes.
    for (body, property) in [
        (json!({"name": "Renamed"}), "name"),
        (json!({"token_lifetime": 60}), "token_lifetime"),
        (json!({"scopes": []}), "scopes"),
        (
            json!({"allow_offline_access": true}),
            "allow_offline_access",
        ),
    ] {
        let r = s.api(Method::PATCH, &path, &t, Some(body)).await;
        assert_additional(&r, property, None);
    }
    assert_eq!(s.api(Method::GET, &path, &t, None).await.body, api.body);
    // Invalid values are still refused as such, not as changes.
    assert_refused(
        &s.api(
            Method::PATCH,
            &path,
            &t,
            Some(json!({"token_dialect": "jwt"})),
        )
        .await,
        "token_dialect",
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn client_grants_take_auth0s_organization_properties_with_the_values_of_none() {
    let s = start().await;
    let t = s.admin_token().await;
    let rs = s
        .api(
            Method::POST,
            "api/v2/resource-servers",
            &t,
            Some(json!({"identifier": "urn:g", "scopes": [{"value": "a"}]})),
        )
        .await;
    assert_eq!(rs.status, 201);
    let client = s
        .api(
            Method::POST,
            "api/v2/clients",
            &t,
            Some(json!({"name": "m2m", "app_type": "non_interactive"})),
        )
        .await;
    let client_id = client.body["client_id"].as_str().unwrap();
    let base = json!({"client_id": client_id, "audience": "urn:g", "scope": ["a"]});
    let with = |extra: serde_json::Value| {
        let mut b = base.clone();
        b.as_object_mut()
            .unwrap()
            .extend(extra.as_object().unwrap().clone());
        b
    };
    for (extra, property) in [
        (
            json!({"allow_any_organization": true}),
            "allow_any_organization",
        ),
        (
            json!({"organization_usage": "require"}),
            "organization_usage",
        ),
        (json!({"subject_type": "user"}), "subject_type"),
        (json!({"allow_all_scopes": true}), "allow_all_scopes"),
        (
            json!({"authorization_details_types": ["payment"]}),
            "authorization_details_types",
        ),
        (json!({"default_for": "third_party_clients"}), "default_for"),
        (json!({"subject_type": "robot"}), "subject_type"),
    ] {
        let r = s
            .api(Method::POST, "api/v2/client-grants", &t, Some(with(extra)))
            .await;
        assert_refused(&r, property);
    }
    let made = s
        .api(
            Method::POST,
            "api/v2/client-grants",
            &t,
            Some(with(
                json!({"allow_any_organization": false, "organization_usage": "deny",
                             "subject_type": "client", "allow_all_scopes": false,
                             "authorization_details_types": []}),
            )),
        )
        .await;
    assert_eq!(made.status, 201, "{made:?}");
    assert_eq!(made.body["allow_any_organization"], false);
    assert_eq!(made.body["subject_type"], "client");
    assert_eq!(made.body["is_system"], false);
    let path = format!("api/v2/client-grants/{}", made.body["id"].as_str().unwrap());
    assert_refused(
        &s.api(
            Method::PATCH,
            &path,
            &t,
            Some(json!({"allow_any_organization": true})),
        )
        .await,
        "allow_any_organization",
    );
    assert_additional(
        &s.api(
            Method::PATCH,
            &path,
            &t,
            Some(json!({"subject_type": "client"})),
        )
        .await,
        "subject_type",
        None,
    );
    // Listing filters: none of Auth0's organization or user grants exist here.
    let list = |q: &str| {
        let s = &s;
        let t = &t;
        let q = q.to_owned();
        async move {
            s.api(Method::GET, &format!("api/v2/client-grants?{q}"), t, None)
                .await
        }
    };
    let mine = format!("client_id={client_id}");
    assert_eq!(list(&mine).await.body.as_array().unwrap().len(), 1);
    for q in ["allow_any_organization=false", "subject_type=client"] {
        let r = list(&format!("{mine}&{q}")).await;
        assert_eq!(r.body.as_array().unwrap().len(), 1, "{q}: {r:?}");
    }
    for q in [
        "allow_any_organization=true",
        "subject_type=user",
        "default_for=third_party_clients",
    ] {
        let r = list(&format!("{mine}&{q}")).await;
        assert_eq!(r.body, json!([]), "{q}: {r:?}");
    }
    for q in ["subject_type=robot", "allow_any_organization=maybe"] {
        assert_mgmt_error(&list(q).await, 400, "invalid_query_string");
    }
}

fn urlencode(s: &str) -> String {
    url::form_urlencoded::byte_serialize(s.as_bytes()).collect()
}
