//! One row of a user import file (Auth0's bulk import schema), checked into a
//! user ready to store with its imported hash, or refused with every problem
//! found (Auth0's per-row errors: `{code, message, path}`). Also what an
//! `upsert` changes on a user that exists (Auth0's "Upsert during import?"
//! column: the profile and metadata, `email_verified`; never the email, the
//! id, `blocked` or the password hash).

use serde_json::{Map, Value};

use super::DATABASE_STRATEGY;
use super::validate::{check_profile, check_user_id, normalize_email};
use crate::clock::UnixTime;
use crate::ids::RngError;
use crate::jobs::{FailedRow, ImportUser, RowError, UpsertPatch};
use crate::model::{Identity, User};
use crate::password_import;

/// The properties a row may have.
const KNOWN: &[&str] = &[
    "email",
    "email_verified",
    "user_id",
    "username",
    "given_name",
    "family_name",
    "name",
    "nickname",
    "picture",
    "blocked",
    "password_hash",
    "custom_password_hash",
    "app_metadata",
    "user_metadata",
    "mfa_factors",
];

/// The properties of a row a job's errors may show (never hashes, MFA
/// secrets or metadata), strings cut to `MAX_SHOWN_LEN` characters: a failed
/// row's stored `user` stays small.
const SHOWN: &[&str] = &[
    "email",
    "email_verified",
    "user_id",
    "username",
    "given_name",
    "family_name",
    "name",
    "nickname",
    "picture",
    "blocked",
];
const MAX_SHOWN_LEN: usize = 256;

/// The row as a job's errors may show it: an allowlist of its profile
/// properties (`SHOWN`), each string cut short; `{}` for what is not an
/// object.
pub fn without_hashes(row: &Value) -> Value {
    let mut shown = Map::new();
    if let Value::Object(m) = row {
        for key in SHOWN {
            match m.get(*key) {
                Some(Value::String(s)) => {
                    let cut: String = s.chars().take(MAX_SHOWN_LEN).collect();
                    shown.insert((*key).to_owned(), Value::String(cut));
                }
                Some(v @ (Value::Bool(_) | Value::Number(_) | Value::Null)) => {
                    shown.insert((*key).to_owned(), v.clone());
                }
                _ => {}
            }
        }
    }
    Value::Object(shown)
}

fn text(row: &Map<String, Value>, key: &str, errors: &mut Vec<RowError>) -> Option<String> {
    match row.get(key) {
        None | Some(Value::Null) => None,
        Some(Value::String(s)) => Some(s.clone()),
        Some(_) => {
            errors.push(RowError::new(
                "INVALID_TYPE",
                "Expected type string",
                format!("#/{key}"),
            ));
            None
        }
    }
}

fn flag(row: &Map<String, Value>, key: &str, errors: &mut Vec<RowError>) -> Option<bool> {
    match row.get(key) {
        None | Some(Value::Null) => None,
        Some(Value::Bool(b)) => Some(*b),
        Some(_) => {
            errors.push(RowError::new(
                "INVALID_TYPE",
                "Expected type boolean",
                format!("#/{key}"),
            ));
            None
        }
    }
}

fn object(
    row: &Map<String, Value>,
    key: &str,
    errors: &mut Vec<RowError>,
) -> Option<Map<String, Value>> {
    match row.get(key) {
        None | Some(Value::Null) => None,
        Some(Value::Object(m)) => Some(m.clone()),
        Some(_) => {
            errors.push(RowError::new(
                "INVALID_TYPE",
                "Expected type object",
                format!("#/{key}"),
            ));
            None
        }
    }
}

/// Why a row could not become a user.
#[derive(Debug)]
pub enum RowRefused {
    Invalid(FailedRow),
    Rng(RngError),
}

/// Checks one row (`bytes`: one element of the file) for `connection` (a
/// database connection's name), at `now`.
pub fn parse_row(bytes: &[u8], connection: &str, now: UnixTime) -> Result<ImportUser, RowRefused> {
    let fail = |user: Value, errors: Vec<RowError>| RowRefused::Invalid(FailedRow { user, errors });
    let value: Value = match serde_json::from_slice(bytes) {
        Ok(v) => v,
        // Neither the row's bytes nor serde's message (which quotes them):
        // the row may hold a hash.
        Err(_) => {
            return Err(fail(
                Value::Object(Map::new()),
                vec![RowError::new("INVALID_FORMAT", "Invalid JSON", "#")],
            ));
        }
    };
    let shown = without_hashes(&value);
    let Value::Object(row) = &value else {
        return Err(fail(
            shown,
            vec![RowError::new("INVALID_TYPE", "Expected type object", "#")],
        ));
    };
    let mut errors = Vec::new();
    let extra: Vec<&str> = row
        .keys()
        .map(String::as_str)
        .filter(|k| !KNOWN.contains(k))
        .collect();
    if !extra.is_empty() {
        errors.push(RowError::new(
            "OBJECT_ADDITIONAL_PROPERTIES",
            format!("Additional properties not allowed: {}", extra.join(",")),
            "#",
        ));
    }
    // Tessera cannot import MFA enrolments yet: a user imported without its
    // factors would sign in with the password alone, so the row is refused.
    if row.get("mfa_factors").is_some_and(|f| !f.is_null()) {
        errors.push(RowError::new(
            "UNSUPPORTED_PROPERTY",
            "mfa_factors cannot be imported into Tessera yet",
            "#/mfa_factors",
        ));
    }
    let email = match text(row, "email", &mut errors) {
        None if !row.contains_key("email") => {
            errors.push(RowError::new(
                "OBJECT_MISSING_REQUIRED_PROPERTY",
                "Missing required property: email",
                "#",
            ));
            None
        }
        None => None,
        Some(e) => match normalize_email(&e) {
            Ok(e) => Some(e),
            Err(invalid) => {
                errors.push(RowError::new("INVALID_FORMAT", invalid.problem, "#/email"));
                None
            }
        },
    };
    let patch = UpsertPatch {
        email_verified: flag(row, "email_verified", &mut errors),
        name: text(row, "name", &mut errors),
        given_name: text(row, "given_name", &mut errors),
        family_name: text(row, "family_name", &mut errors),
        nickname: text(row, "nickname", &mut errors),
        picture: text(row, "picture", &mut errors),
        user_metadata: object(row, "user_metadata", &mut errors),
        app_metadata: object(row, "app_metadata", &mut errors),
    };
    let blocked = flag(row, "blocked", &mut errors);
    // Accepted, not kept: Tessera's database users sign in by email.
    let _username = text(row, "username", &mut errors);
    let given_id = text(row, "user_id", &mut errors);
    // The rule of `POST /api/v2/users`: the id must read the same in a path.
    if let Some(Err(invalid)) = given_id.as_deref().map(check_user_id) {
        errors.push(RowError::new(
            "INVALID_FORMAT",
            format!("user_id {}", invalid.problem),
            "#/user_id",
        ));
    }
    if let Err(invalid) = check_profile(
        patch.name.as_deref(),
        patch.given_name.as_deref(),
        patch.family_name.as_deref(),
        patch.nickname.as_deref(),
        patch.picture.as_deref(),
        patch.user_metadata.as_ref(),
        patch.app_metadata.as_ref(),
    ) {
        errors.push(RowError::new(
            "INVALID_FORMAT",
            invalid.problem,
            format!("#/{}", invalid.property),
        ));
    }
    let password_hash = match password_import::from_import(
        row.get("password_hash"),
        row.get("custom_password_hash"),
    ) {
        Ok(h) => h,
        Err(e) => {
            errors.push(RowError::new(e.code, e.message, e.path));
            None
        }
    };
    let Some(email) = email.filter(|_| errors.is_empty()) else {
        return Err(fail(shown, errors));
    };
    let hex = match given_id {
        Some(id) => id,
        None => super::new_database_user_id().map_err(RowRefused::Rng)?.1,
    };
    let local = email.split('@').next().unwrap_or(&email).to_owned();
    let user = User {
        user_id: format!("{DATABASE_STRATEGY}|{hex}"),
        connection: connection.to_owned(),
        name: Some(patch.name.clone().unwrap_or_else(|| email.clone())),
        nickname: Some(patch.nickname.clone().unwrap_or(local)),
        email: Some(email),
        email_verified: patch.email_verified.unwrap_or(false),
        given_name: patch.given_name.clone(),
        family_name: patch.family_name.clone(),
        picture: patch.picture.clone(),
        user_metadata: patch.user_metadata.clone().unwrap_or_default(),
        app_metadata: patch.app_metadata.clone().unwrap_or_default(),
        blocked: blocked.unwrap_or(false),
        created_at: now,
        updated_at: now,
        last_login: None,
        logins_count: 0,
        username: None,
        phone_number: None,
        phone_verified: None,
        identities: vec![Identity {
            connection: connection.to_owned(),
            user_id: hex,
            provider: DATABASE_STRATEGY.into(),
            is_social: false,
        }],
    };
    Ok(ImportUser {
        user,
        password_hash,
        patch,
        shown,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn errors(row: Value) -> Vec<(String, String)> {
        match parse_row(row.to_string().as_bytes(), "db", 5) {
            Err(RowRefused::Invalid(f)) => {
                assert!(f.user.get("password_hash").is_none());
                assert!(f.user.get("custom_password_hash").is_none());
                assert!(f.user.get("mfa_factors").is_none());
                assert!(f.user.get("app_metadata").is_none());
                f.errors.into_iter().map(|e| (e.code, e.path)).collect()
            }
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn a_good_row_becomes_a_database_user_with_its_hash() {
        let row = json!({"email": "Ann@Example.com", "email_verified": true, "user_id": "legacy-42",
            "given_name": "Ann", "app_metadata": {"plan": "gold"}, "username": "ann",
            "password_hash": "$2a$05$CCCCCCCCCCCCCCCCCCCCC.E5YPO9kmyuRGyh0XouQYb4YMJKvyOeW"});
        let u = parse_row(row.to_string().as_bytes(), "db", 5).unwrap();
        assert_eq!(u.user.user_id, "auth0|legacy-42");
        assert_eq!(u.user.identities[0].user_id, "legacy-42");
        assert_eq!(u.user.email.as_deref(), Some("ann@example.com"));
        assert!(u.user.email_verified);
        assert_eq!(u.user.app_metadata["plan"], "gold");
        assert!(u.password_hash.unwrap().starts_with("$2a$05$"));
        assert!(u.shown.get("password_hash").is_none());
        // Without a user_id: a fresh one.
        let u = parse_row(br#"{"email": "b@example.com"}"#, "db", 5).unwrap();
        assert_eq!(u.user.user_id.len(), "auth0|".len() + 24);
        assert_eq!(u.password_hash, None);
    }

    #[test]
    fn every_problem_of_a_row_is_named() {
        let s = |c: &str, p: &str| (c.to_owned(), p.to_owned());
        assert_eq!(
            errors(json!({"name": "x"})),
            vec![s("OBJECT_MISSING_REQUIRED_PROPERTY", "#")]
        );
        assert_eq!(
            errors(
                json!({"email": "nope", "blocked": "yes", "colour": 1, "user_metadata": [],
                "password_hash": "md5:abc"})
            ),
            vec![
                s("OBJECT_ADDITIONAL_PROPERTIES", "#"),
                s("INVALID_FORMAT", "#/email"),
                s("INVALID_TYPE", "#/user_metadata"),
                s("INVALID_TYPE", "#/blocked"),
                s("INVALID_FORMAT", "#/password_hash"),
            ]
        );
        assert_eq!(
            errors(json!({"email": "a@b.co", "user_id": "a|b"})),
            vec![s("INVALID_FORMAT", "#/user_id")]
        );
        assert_eq!(
            errors(json!(["not", "an", "object"])),
            vec![s("INVALID_TYPE", "#")]
        );
        assert_eq!(
            errors(json!({"email": "a@b.co", "picture": "ftp://x"})),
            vec![s("INVALID_FORMAT", "#/picture")]
        );
        // Broken JSON: neither its bytes nor serde's message come back.
        match parse_row(
            br#"{"email": "a@b.co", "password_hash": "$2a$10$secretsecret", }"#,
            "db",
            5,
        ) {
            Err(RowRefused::Invalid(f)) => {
                assert_eq!(f.errors[0].code, "INVALID_FORMAT");
                assert_eq!(f.user, serde_json::json!({}));
                assert!(!f.errors[0].message.contains("secret"));
            }
            other => panic!("{other:?}"),
        }
        assert_eq!(
            errors(
                json!({"email": "a@b.co", "mfa_factors": [{"totp": {"secret": "JBSWY3DPEHPK3PXP"}}]})
            ),
            vec![s("UNSUPPORTED_PROPERTY", "#/mfa_factors")]
        );
    }

    #[test]
    fn an_upsert_changes_the_profile_never_the_email_block_or_id() {
        let old = parse_row(
            br#"{"email": "a@b.co", "name": "Old", "app_metadata": {"a": 1}}"#,
            "db",
            1,
        )
        .unwrap()
        .user;
        let row = parse_row(
            br#"{"email": "a@b.co", "name": "New", "blocked": true, "user_id": "other", "email_verified": true, "app_metadata": {"b": 2}}"#,
            "db",
            9,
        )
        .unwrap();
        let new = row.upsert_onto(&old, 9);
        assert_eq!(new.name.as_deref(), Some("New"));
        assert!(new.email_verified && !new.blocked);
        assert_eq!(new.user_id, old.user_id);
        assert_eq!(
            new.app_metadata,
            json!({"a": 1, "b": 2}).as_object().unwrap().clone()
        );
        assert_eq!((new.created_at, new.updated_at), (1, 9));
    }
}
