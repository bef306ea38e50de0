//! Logins through upstream identity providers (`oidc`, `oauth2` connections):
//! the pending upstream request (state, nonce, PKCE) and the mapping of the
//! provider's claims onto a Tessera user. Pure: the server does the HTTP.

use serde_json::{Map, Value};

use crate::clock::UnixTime;
use crate::model::{Connection, Identity, User};

/// The strategies of upstream providers' connections.
pub const OIDC_STRATEGY: &str = "oidc";
pub const OAUTH2_STRATEGY: &str = "oauth2";

/// How long the browser has to come back from the provider.
pub const UPSTREAM_LOGIN_LIFETIME: i64 = 600;
/// Longest upstream user id and profile string kept.
pub const MAX_ID_LEN: usize = 255;
pub const MAX_TEXT_LEN: usize = 2048;

/// A login sent to a provider, stored under the SHA-256 of its `state`
/// (single use, taken at the callback).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UpstreamLogin {
    /// The pending authorization request (`AuthorizeTx::id`).
    pub tx_id: String,
    pub connection: String,
    pub nonce: String,
    /// The PKCE verifier, sealed under the master key (additional data bound
    /// to the state's hash).
    pub verifier_sealed: Vec<u8>,
    pub expires_at: UnixTime,
    /// The provider's issuer (`oidc`): an `iss` in the answer must equal it.
    pub issuer: Option<String>,
    /// The provider promised `iss` in its answers (RFC 9207 metadata
    /// `authorization_response_iss_parameter_supported`): it is required.
    pub iss_required: bool,
    /// With `prompt=login` or `max_age`: the ID token must carry an
    /// `auth_time` no earlier than this (less [`AUTH_TIME_SKEW`]).
    pub auth_after: Option<UnixTime>,
}

/// Clock skew allowed between the provider's `auth_time` and ours.
pub const AUTH_TIME_SKEW: i64 = 60;

/// What the provider says about the user, bounded and typed.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct UpstreamProfile {
    pub id: String,
    pub email: Option<String>,
    pub email_verified: bool,
    pub name: Option<String>,
    pub given_name: Option<String>,
    pub family_name: Option<String>,
    pub nickname: Option<String>,
    pub picture: Option<String>,
}

/// Why the provider's claims make no user.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ProfileError {
    #[error("the upstream profile has no usable user id")]
    NoId,
}

fn text(value: Option<&Value>) -> Option<String> {
    let s = match value? {
        Value::String(s) => s.clone(),
        Value::Number(n) => n.to_string(),
        _ => return None,
    };
    let s: String = s.chars().filter(|c| !c.is_control()).collect();
    (!s.is_empty() && s.len() <= MAX_TEXT_LEN).then_some(s)
}

/// The upstream id: a string or number as it is; one with a control
/// character is refused, never stripped (`"a\u{1}b"` and `"ab"` are two
/// users, so neither may become the other).
fn id_text(value: Option<&Value>) -> Option<String> {
    let s = match value? {
        Value::String(s) => s.clone(),
        Value::Number(n) => n.to_string(),
        _ => return None,
    };
    (!s.is_empty() && s.len() <= MAX_ID_LEN && !s.chars().any(char::is_control)).then_some(s)
}

/// Maps `claims` (an ID token's or a userinfo answer) with the connection's
/// `attribute_map.attributes` (`{field: upstream property}`; unmapped fields
/// are read from the property of the same name; the id from `sub`, else
/// `id`). `email_verified` is true only when the provider says so (`true`);
/// for `oauth2` (plain OAuth 2.0 JSON has no standard `email_verified`) only
/// when `attribute_map.attributes.email_verified` maps it explicitly.
pub fn profile_from_claims(
    claims: &Map<String, Value>,
    strategy: &str,
    options: &Value,
) -> Result<UpstreamProfile, ProfileError> {
    let mapping = options
        .pointer("/attribute_map/attributes")
        .and_then(Value::as_object);
    let get = |field: &str| {
        let key = mapping
            .and_then(|m| m.get(field))
            .and_then(Value::as_str)
            .unwrap_or(field);
        claims.get(key)
    };
    let id = match mapping
        .and_then(|m| m.get("user_id"))
        .and_then(Value::as_str)
    {
        Some(key) => id_text(claims.get(key)),
        None => match claims.get("sub") {
            Some(sub) => id_text(Some(sub)),
            None => id_text(claims.get("id")),
        },
    }
    .ok_or(ProfileError::NoId)?;
    let verified_mapped = strategy == OIDC_STRATEGY
        || mapping.is_some_and(|m| m.get("email_verified").is_some_and(Value::is_string));
    Ok(UpstreamProfile {
        id,
        email: text(get("email")).map(|e| e.to_lowercase()),
        email_verified: verified_mapped && get("email_verified") == Some(&Value::Bool(true)),
        name: text(get("name")),
        given_name: text(get("given_name")),
        family_name: text(get("family_name")),
        nickname: text(get("nickname")),
        picture: text(get("picture")),
    })
}

/// `oidc|{connection}|{id}` (`oauth2|…` likewise): the user's id.
pub fn user_id(connection: &Connection, upstream_id: &str) -> String {
    format!("{}|{}|{upstream_id}", connection.strategy, connection.name)
}

/// A new user of `connection` from its first login.
pub fn new_user(connection: &Connection, profile: &UpstreamProfile, now: UnixTime) -> User {
    let mut user = User {
        user_id: user_id(connection, &profile.id),
        connection: connection.name.clone(),
        email: None,
        email_verified: false,
        name: None,
        given_name: None,
        family_name: None,
        nickname: None,
        picture: None,
        username: None,
        phone_number: None,
        phone_verified: None,
        user_metadata: Map::new(),
        app_metadata: Map::new(),
        blocked: false,
        created_at: now,
        updated_at: now,
        last_login: None,
        logins_count: 0,
        identities: vec![Identity {
            connection: connection.name.clone(),
            user_id: format!("{}|{}", connection.name, profile.id),
            provider: connection.strategy.clone(),
            is_social: connection.strategy != OIDC_STRATEGY,
        }],
    };
    set_root_attributes(&mut user, profile);
    user
}

fn set_root_attributes(user: &mut User, p: &UpstreamProfile) {
    user.email = p.email.clone();
    user.email_verified = p.email.is_some() && p.email_verified;
    user.name = p.name.clone().or_else(|| p.email.clone());
    user.given_name = p.given_name.clone();
    user.family_name = p.family_name.clone();
    user.nickname = p.nickname.clone().or_else(|| {
        p.email
            .as_ref()
            .and_then(|e| e.split('@').next())
            .map(str::to_owned)
    });
    user.picture = p.picture.clone();
}

/// A later login: the profile is updated as the connection's
/// `set_user_root_attributes` says (`on_each_login`, the default; or
/// `on_first_login` / `never_on_login`: kept). True when something changed.
pub fn update_user(
    user: &mut User,
    connection: &Connection,
    profile: &UpstreamProfile,
    now: UnixTime,
) -> bool {
    let mode = connection
        .options
        .get("set_user_root_attributes")
        .and_then(Value::as_str)
        .unwrap_or("on_each_login");
    if mode != "on_each_login" {
        return false;
    }
    let before = user.clone();
    set_root_attributes(user, profile);
    let changed = *user != before;
    if changed {
        user.updated_at = now;
    }
    changed
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn conn(strategy: &str, options: Value) -> Connection {
        Connection {
            id: "con_1".into(),
            name: "Up".into(),
            strategy: strategy.into(),
            options,
            ..Default::default()
        }
    }

    #[test]
    fn claims_map_onto_a_user() {
        let claims = json!({"sub": "auth0|abc", "email": "Ada@Example.com", "email_verified": "true",
            "name": "Ada", "picture": "https://p.example/a.png"});
        let p = profile_from_claims(claims.as_object().unwrap(), "oidc", &json!({})).unwrap();
        assert_eq!(p.id, "auth0|abc");
        assert_eq!(p.email.as_deref(), Some("ada@example.com"));
        assert!(!p.email_verified, "only a JSON true counts");
        let c = conn("oidc", json!({}));
        let u = new_user(&c, &p, 5);
        assert_eq!(u.user_id, "oidc|Up|auth0|abc");
        assert_eq!(u.identities[0].user_id, "Up|auth0|abc");
        assert_eq!(u.nickname.as_deref(), Some("ada"));
        let gh = json!({"id": 42, "login": "octo", "email": null});
        let options = json!({"attribute_map": {"attributes": {"nickname": "login"}}});
        let p = profile_from_claims(gh.as_object().unwrap(), "oauth2", &options).unwrap();
        assert_eq!((p.id.as_str(), p.nickname.as_deref()), ("42", Some("octo")));
        assert_eq!(
            profile_from_claims(
                json!({"name": "x"}).as_object().unwrap(),
                "oidc",
                &json!({})
            ),
            Err(ProfileError::NoId)
        );
    }

    /// Review of issue 14, finding 12: ids with control characters are
    /// refused, not stripped into another user's id.
    #[test]
    fn ids_with_control_characters_are_refused() {
        for sub in ["a\u{1}b", "ab\n", "\u{7f}", "a\u{85}b"] {
            let claims = json!({"sub": sub});
            assert_eq!(
                profile_from_claims(claims.as_object().unwrap(), "oidc", &json!({})),
                Err(ProfileError::NoId),
                "{sub:?}"
            );
        }
        let mapped = json!({"attribute_map": {"attributes": {"user_id": "login"}}});
        let claims = json!({"login": "oc\u{0}to", "sub": "fine"});
        assert_eq!(
            profile_from_claims(claims.as_object().unwrap(), "oauth2", &mapped),
            Err(ProfileError::NoId)
        );
        // A bad `sub` is not replaced by `id`.
        let claims = json!({"sub": "a\u{1}b", "id": "ab"});
        assert_eq!(
            profile_from_claims(claims.as_object().unwrap(), "oidc", &json!({})),
            Err(ProfileError::NoId)
        );
        let claims = json!({"sub": "ab"});
        assert_eq!(
            profile_from_claims(claims.as_object().unwrap(), "oidc", &json!({}))
                .unwrap()
                .id,
            "ab"
        );
    }

    /// Review of issue 14, finding 10: an `oauth2` provider's
    /// `email_verified` counts only when the attribute map names it.
    #[test]
    fn oauth2_email_verified_needs_an_explicit_mapping() {
        let claims =
            json!({"id": 1, "email": "a@b.example", "email_verified": true, "verified": true});
        let c = claims.as_object().unwrap();
        assert!(
            !profile_from_claims(c, "oauth2", &json!({}))
                .unwrap()
                .email_verified
        );
        let unrelated = json!({"attribute_map": {"attributes": {"nickname": "login"}}});
        assert!(
            !profile_from_claims(c, "oauth2", &unrelated)
                .unwrap()
                .email_verified
        );
        let mapped = json!({"attribute_map": {"attributes": {"email_verified": "verified"}}});
        assert!(
            profile_from_claims(c, "oauth2", &mapped)
                .unwrap()
                .email_verified
        );
        let same_name =
            json!({"attribute_map": {"attributes": {"email_verified": "email_verified"}}});
        assert!(
            profile_from_claims(c, "oauth2", &same_name)
                .unwrap()
                .email_verified
        );
        assert!(
            profile_from_claims(c, "oidc", &json!({}))
                .unwrap()
                .email_verified
        );
    }

    #[test]
    fn root_attributes_follow_the_connection() {
        let p1 = UpstreamProfile {
            id: "1".into(),
            name: Some("A".into()),
            ..Default::default()
        };
        let p2 = UpstreamProfile {
            name: Some("B".into()),
            ..p1.clone()
        };
        let each = conn("oidc", json!({}));
        let mut u = new_user(&each, &p1, 1);
        assert!(update_user(&mut u, &each, &p2, 2));
        assert_eq!(u.name.as_deref(), Some("B"));
        let first = conn(
            "oidc",
            json!({"set_user_root_attributes": "on_first_login"}),
        );
        assert!(!update_user(&mut u, &first, &p1, 3));
        assert_eq!(u.name.as_deref(), Some("B"));
    }
}
