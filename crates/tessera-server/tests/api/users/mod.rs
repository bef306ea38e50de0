//! `/api/v2/users` and `/api/v2/users-by-email`, by theme: creating, reading,
//! changing and deleting users ([`crud`]), listing and searching them
//! ([`search`]), the scopes and documentation of the endpoints ([`scopes`]),
//! and usernames, phone numbers and given ids ([`profile`]).

mod crud;
mod profile;
mod scopes;
mod search;

use reqwest::Method;
use serde_json::{Value, json};
use tessera_core::Secret;

use crate::common::*;

pub const DB: &str = "Username-Password-Authentication";
pub const PASSWORD: &str = "Tr0ub4dor&3-horse";

pub fn secret(s: &str) -> Secret<String> {
    Secret::new(s.to_owned())
}

pub fn enc(s: &str) -> String {
    url::form_urlencoded::byte_serialize(s.as_bytes()).collect()
}

/// Creates a user in the database connection; asserts 201.
pub async fn create(s: &TestServer, token: &str, email: &str, extra: Value) -> Value {
    let mut body = json!({"connection": DB, "email": email, "password": PASSWORD});
    if let (Some(b), Some(e)) = (body.as_object_mut(), extra.as_object()) {
        b.extend(e.clone());
    }
    let r = s.api(Method::POST, "api/v2/users", token, Some(body)).await;
    assert_eq!(r.status, 201, "{r:?}");
    r.body
}

pub fn ids(list: &Value) -> Vec<String> {
    list.as_array()
        .unwrap()
        .iter()
        .map(|u| u["email"].as_str().unwrap().to_owned())
        .collect()
}

pub async fn list(s: &TestServer, token: &str, query: &str) -> Reply {
    s.api(Method::GET, &format!("api/v2/users?{query}"), token, None)
        .await
}

/// No response ever carries a password or a hash.
pub fn assert_no_secret(r: &Reply, password: &str) {
    let text = r.body.to_string();
    assert!(!text.contains(password), "password echoed: {text}");
    assert!(!text.contains("argon2"), "hash returned: {text}");
    assert!(!text.contains("password_hash"), "{text}");
}
