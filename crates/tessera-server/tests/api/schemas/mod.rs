//! Auth0's full Management API schemas (issue 13): every property of clients,
//! resource servers and client grants accepted with Auth0's types, stored and
//! read back; `null` resets; Auth0's refusals; the list query parameters; the
//! Management API (system resource server); the OpenAPI document's parameters.

mod client_properties;
mod listings;
mod not_enforced;
mod resource_servers;

use serde_json::Value;

use crate::common::*;

/// Asserts Auth0's answer to a property its schema does not define: 400
/// `invalid_body` naming the property and, when nested, its object.
pub fn assert_additional(r: &Reply, name: &str, parent: Option<&str>) {
    assert_mgmt_error(r, 400, "invalid_body");
    let message = r.body["message"].as_str().unwrap_or_default();
    assert!(
        message.contains(&format!("Additional properties not allowed: {name}'")),
        "{name}: {message}"
    );
    match parent {
        Some(p) => assert!(message.ends_with(&format!("on property {p}.")), "{message}"),
        None => assert!(!message.contains("on property"), "{message}"),
    }
}

/// Asserts a 400 `invalid_body` naming `property`.
pub fn assert_refused(r: &Reply, property: &str) {
    assert_mgmt_error(r, 400, "invalid_body");
    let message = r.body["message"].as_str().unwrap_or_default();
    assert!(
        message.ends_with(&format!("on property {property}.")),
        "{property}: {message}"
    );
}

/// Every property of `sent` is in `got` with the same value.
pub fn assert_has_all(got: &Value, sent: &Value) {
    for (k, v) in sent.as_object().unwrap() {
        assert_eq!(&got[k], v, "property {k}: {got}");
    }
}
