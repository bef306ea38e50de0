//! ID tokens (OIDC Core §2) and the user claims released by scope (§5.4), shared
//! with the UserInfo endpoint.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde_json::{Map, Value};

use crate::clock::UnixTime;
use crate::keys::SigningAlg;
use crate::model::User;

/// The OIDC scopes Tessera knows; any other scope belongs to an API.
pub const OIDC_SCOPES: &[&str] = &[
    "openid",
    "profile",
    "email",
    "phone",
    "address",
    "offline_access",
];

pub fn is_oidc_scope(scope: &str) -> bool {
    OIDC_SCOPES.contains(&scope)
}

/// The claims about `user` that `scopes` release (OIDC Core §5.4). Claims the
/// user has no value for are left out. `phone_number` and
/// `phone_number_verified` come from the user's own `phone_number` and
/// `phone_verified` (never from `user_metadata`, which the user may write at
/// sign-up: a self-asserted "verified" phone); `gender`, `birthdate` and
/// `address` from `user_metadata` when set there.
pub fn user_claims(user: &User, scopes: &[String]) -> Map<String, Value> {
    let has = |s: &str| scopes.iter().any(|x| x == s);
    let mut out = Map::new();
    out.insert("sub".into(), user.user_id.clone().into());
    let mut put = |k: &str, v: Option<Value>| {
        if let Some(v) = v.filter(|v| !v.is_null()) {
            out.insert(k.into(), v);
        }
    };
    let meta = |k: &str| user.user_metadata.get(k).cloned();
    if has("profile") {
        put("name", user.name.clone().map(Value::from));
        put("given_name", user.given_name.clone().map(Value::from));
        put("family_name", user.family_name.clone().map(Value::from));
        put("nickname", user.nickname.clone().map(Value::from));
        put("picture", user.picture.clone().map(Value::from));
        put("gender", meta("gender"));
        put("birthdate", meta("birthdate"));
        put("updated_at", Some(Value::from(user.updated_at)));
    }
    if has("email") {
        put("email", user.email.clone().map(Value::from));
        if user.email.is_some() {
            put("email_verified", Some(Value::from(user.email_verified)));
        }
    }
    if has("phone")
        && let Some(phone) = &user.phone_number
    {
        put("phone_number", Some(Value::from(phone.clone())));
        put(
            "phone_number_verified",
            Some(Value::from(user.phone_verified.unwrap_or(false))),
        );
    }
    if has("address") {
        put("address", meta("address"));
    }
    out
}

/// `at_hash` (OIDC Core §3.1.3.6) of an access token, or `c_hash` (§3.3.2.11)
/// of a code: the left half of the value's hash, with the hash of the ID
/// token's algorithm (SHA-512 for Ed25519).
pub fn half_hash(alg: SigningAlg, value: &str) -> String {
    let digest = match alg {
        SigningAlg::EdDSA => {
            aws_lc_rs::digest::digest(&aws_lc_rs::digest::SHA512, value.as_bytes())
        }
        _ => aws_lc_rs::digest::digest(&aws_lc_rs::digest::SHA256, value.as_bytes()),
    };
    let bytes = digest.as_ref();
    URL_SAFE_NO_PAD.encode(&bytes[..bytes.len() / 2])
}

/// What goes into an ID token besides the user's claims.
pub struct IdTokenInput<'a> {
    pub issuer: &'a str,
    pub client_id: &'a str,
    pub now: UnixTime,
    pub lifetime: i64,
    pub auth_time: UnixTime,
    pub sid: &'a str,
    pub nonce: Option<&'a str>,
    /// `at_hash` of the access token issued with it, if any.
    pub at_hash: Option<String>,
    /// `c_hash` of the code issued with it (hybrid flow), if any.
    pub c_hash: Option<String>,
}

pub fn id_token_claims(
    user: &User,
    scopes: &[String],
    input: IdTokenInput<'_>,
) -> Map<String, Value> {
    let mut claims = user_claims(user, scopes);
    claims.insert("iss".into(), input.issuer.into());
    claims.insert("aud".into(), input.client_id.into());
    claims.insert("iat".into(), input.now.into());
    claims.insert("exp".into(), (input.now + input.lifetime).into());
    claims.insert("auth_time".into(), input.auth_time.into());
    claims.insert("sid".into(), input.sid.into());
    if let Some(nonce) = input.nonce {
        claims.insert("nonce".into(), nonce.into());
    }
    if let Some(h) = input.at_hash {
        claims.insert("at_hash".into(), h.into());
    }
    if let Some(h) = input.c_hash {
        claims.insert("c_hash".into(), h.into());
    }
    claims
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_phone_claims_come_from_the_user_never_from_its_metadata() {
        let mut user: User = serde_json::from_value(serde_json::json!({
            "user_id": "auth0|1", "connection": "c", "created_at": 1, "updated_at": 1,
            "user_metadata": {"phone_number": "+15550100", "phone_number_verified": true},
        }))
        .unwrap();
        let phone = vec!["phone".to_owned()];
        let claims = user_claims(&user, &phone);
        assert!(claims.get("phone_number").is_none());
        assert!(claims.get("phone_number_verified").is_none());
        user.phone_number = Some("+15550199".into());
        let claims = user_claims(&user, &phone);
        assert_eq!(claims["phone_number"], "+15550199");
        assert_eq!(claims["phone_number_verified"], false);
        user.phone_verified = Some(true);
        assert_eq!(user_claims(&user, &phone)["phone_number_verified"], true);
    }

    #[test]
    fn at_hash_matches_the_oidc_example() {
        // OIDC Core appendix A.3: access_token "jHkWEdUXMU1BwAsC4vtUsZwnNvTIxEl0z9K3vx5KF0Y" -> at_hash "77QmUPtjPfzWtF2AnpK9RQ".
        assert_eq!(
            half_hash(
                SigningAlg::RS256,
                "jHkWEdUXMU1BwAsC4vtUsZwnNvTIxEl0z9K3vx5KF0Y"
            ),
            "77QmUPtjPfzWtF2AnpK9RQ"
        );
    }

    #[test]
    fn c_hash_matches_the_oidc_example() {
        // OIDC Core appendix A.4: code "Qcb0Orv1zh30vL1MPRsbm-diHiMwcLyZvn1arpZv-Jxf_11jnpEX3Tgfvk" -> c_hash "LDktKdoQak3Pk0cnXxCltA".
        assert_eq!(
            half_hash(
                SigningAlg::RS256,
                "Qcb0Orv1zh30vL1MPRsbm-diHiMwcLyZvn1arpZv-Jxf_11jnpEX3Tgfvk"
            ),
            "LDktKdoQak3Pk0cnXxCltA"
        );
    }
}
