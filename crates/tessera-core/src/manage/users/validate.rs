//! The rules a user's properties obey: the email, the password policy, the
//! profile fields, the metadata, and the connection (a database one).

use serde_json::{Map, Value};

use super::{DATABASE_STRATEGY, Invalid};
use crate::model::Connection;
use crate::password::PasswordPolicy;
use crate::types::Secret;

/// Auth0's limits on profile fields, in characters.
pub const MAX_NAME_LEN: usize = 300;
pub const MAX_NICKNAME_LEN: usize = 300;
pub const MAX_GIVEN_NAME_LEN: usize = 150;
pub const MAX_FAMILY_NAME_LEN: usize = 150;
pub const MAX_PICTURE_LEN: usize = 2048;
/// RFC 5321's limits on an address and its local part, in octets.
pub const MAX_EMAIL_LEN: usize = 254;
pub const MAX_EMAIL_LOCAL_LEN: usize = 64;

/// Names Auth0 keeps for itself: refused at the top level of `app_metadata`.
const RESERVED_APP_METADATA: &[&str] = &[
    "__tenant",
    "_id",
    "blocked",
    "clientID",
    "created_at",
    "email",
    "email_verified",
    "global_client_id",
    "globalClientID",
    "identities",
    "lastIP",
    "lastLogin",
    "loginsCount",
    "metadata",
    "user_id",
    "updated_at",
];

/// Lower-cases an address after a basic syntax check: one `@`, a local part of
/// 1 to 64 characters without white space or RFC 5322 specials, a domain of
/// non-empty dot-separated labels, at most 254 characters in all.
pub fn normalize_email(email: &str) -> Result<String, Invalid> {
    let bad = |why: &str| {
        Invalid::new(
            "email",
            format!("Object didn't pass validation for format email: {why}"),
        )
    };
    if email.len() > MAX_EMAIL_LEN {
        return Err(bad("longer than 254 characters"));
    }
    let (local, domain) = email.split_once('@').ok_or_else(|| bad("no @"))?;
    if domain.contains('@') {
        return Err(bad("more than one @"));
    }
    if local.is_empty() || local.len() > MAX_EMAIL_LOCAL_LEN {
        return Err(bad("the part before @ must be 1 to 64 characters"));
    }
    let special = |c: char| {
        c.is_whitespace()
            || c.is_control()
            || matches!(
                c,
                '(' | ')' | '<' | '>' | '[' | ']' | ',' | ';' | ':' | '\\' | '"'
            )
    };
    if local.chars().any(special)
        || local.starts_with('.')
        || local.ends_with('.')
        || local.contains("..")
    {
        return Err(bad("the part before @ is not valid"));
    }
    if domain.is_empty()
        || domain.chars().any(|c| special(c) || c == '@')
        || domain
            .split('.')
            .any(|label| label.is_empty() || label.starts_with('-') || label.ends_with('-'))
    {
        return Err(bad("the domain is not valid"));
    }
    Ok(email.to_lowercase())
}

/// The connection's password policy applied to `password`.
pub fn check_password(policy: &PasswordPolicy, password: &Secret<String>) -> Result<(), Invalid> {
    policy
        .check(password)
        .map_err(|why| Invalid::new("password", why))
}

/// A profile string: 1 to `max` characters.
fn check_text(property: &str, value: &str, max: usize) -> Result<(), Invalid> {
    let len = value.chars().count();
    if len == 0 {
        return Err(Invalid::new(property, "must not be empty"));
    }
    if len > max {
        return Err(Invalid::new(
            property,
            format!("must be at most {max} characters"),
        ));
    }
    if value.chars().any(char::is_control) {
        return Err(Invalid::new(
            property,
            "must not contain control characters",
        ));
    }
    Ok(())
}

/// An absolute `http` or `https` URL.
pub fn check_picture(picture: &str) -> Result<(), Invalid> {
    let bad = || Invalid::new("picture", "must be an http or https URL");
    if picture.len() > MAX_PICTURE_LEN {
        return Err(Invalid::new(
            "picture",
            format!("must be at most {MAX_PICTURE_LEN} characters"),
        ));
    }
    let url = url::Url::parse(picture).map_err(|_| bad())?;
    if !matches!(url.scheme(), "http" | "https") || !url.has_host() {
        return Err(bad());
    }
    Ok(())
}

/// Auth0's metadata rules: no `.` or `$` in any field name, at any depth;
/// `app_metadata` may not use the names Auth0 keeps for itself. `property` is
/// `user_metadata` or `app_metadata`.
pub fn check_metadata(property: &str, metadata: &Map<String, Value>) -> Result<(), Invalid> {
    if property == "app_metadata"
        && let Some(key) = metadata
            .keys()
            .find(|k| RESERVED_APP_METADATA.contains(&k.as_str()))
    {
        return Err(Invalid::new(
            property,
            format!("'{key}' is a reserved name and cannot be stored in app_metadata"),
        ));
    }
    check_field_names(property, metadata)
}

fn check_field_names(property: &str, object: &Map<String, Value>) -> Result<(), Invalid> {
    for (key, value) in object {
        if key.contains('.') || key.contains('$') {
            return Err(Invalid::new(
                property,
                format!("field names must not contain '.' or '$' (got '{key}')"),
            ));
        }
        check_value_names(property, value)?;
    }
    Ok(())
}

fn check_value_names(property: &str, value: &Value) -> Result<(), Invalid> {
    match value {
        Value::Object(o) => check_field_names(property, o),
        Value::Array(items) => items
            .iter()
            .try_for_each(|v| check_value_names(property, v)),
        _ => Ok(()),
    }
}

/// Auth0's bounds on the `user_metadata` of a sign-up through the
/// Authentication API (`/dbconnections/signup`): at most 10 properties, names
/// of at most 100 characters, string values of at most 500 characters.
pub const MAX_SIGNUP_METADATA_PROPERTIES: usize = 10;
pub const MAX_SIGNUP_METADATA_NAME_LEN: usize = 100;
pub const MAX_SIGNUP_METADATA_VALUE_LEN: usize = 500;

pub fn check_signup_metadata(metadata: &Map<String, Value>) -> Result<(), Invalid> {
    let bad = |why: String| Invalid::new("user_metadata", why);
    if metadata.len() > MAX_SIGNUP_METADATA_PROPERTIES {
        return Err(bad(format!(
            "at most {MAX_SIGNUP_METADATA_PROPERTIES} properties"
        )));
    }
    for (key, value) in metadata {
        if key.chars().count() > MAX_SIGNUP_METADATA_NAME_LEN {
            return Err(bad(format!(
                "property names must be at most {MAX_SIGNUP_METADATA_NAME_LEN} characters"
            )));
        }
        match value {
            Value::String(v) if v.chars().count() <= MAX_SIGNUP_METADATA_VALUE_LEN => {}
            _ => {
                return Err(bad(format!(
                    "property values must be strings of at most {MAX_SIGNUP_METADATA_VALUE_LEN} characters"
                )));
            }
        }
    }
    check_metadata("user_metadata", metadata)
}

/// `connection` names an existing database connection (strategy `auth0`):
/// that connection. `found` is what the store holds under that name.
pub fn check_database_connection<'a>(
    name: Option<&str>,
    found: Option<&'a Connection>,
) -> Result<&'a Connection, Invalid> {
    let Some(name) = name else {
        return Err(Invalid::new("connection", "Missing required property"));
    };
    match found {
        None => Err(Invalid::new(
            "connection",
            format!("the connection '{name}' does not exist"),
        )),
        Some(c) if c.strategy != DATABASE_STRATEGY => Err(Invalid::new(
            "connection",
            format!(
                "'{name}' is not a database connection (strategy {DATABASE_STRATEGY}): users of strategy {} cannot be created",
                c.strategy
            ),
        )),
        Some(c) => Ok(c),
    }
}

/// The longest id a database user may be given (the part after `auth0|`):
/// the whole id then stays within Auth0's 255 characters.
pub const MAX_USER_ID_LEN: usize = 240;

/// A `user_id` given for a new database user (the part after `auth0|`): 1 to
/// [`MAX_USER_ID_LEN`] characters, none of which would change how the id
/// reads in a URL path or in `{provider}|{id}`: no `|`, `/`, `\`, `?`, `#`,
/// `%`, white space or control characters.
pub fn check_user_id(id: &str) -> Result<(), Invalid> {
    if id.is_empty() || id.chars().count() > MAX_USER_ID_LEN {
        return Err(Invalid::new(
            "user_id",
            format!("must be 1 to {MAX_USER_ID_LEN} characters"),
        ));
    }
    if id.chars().any(|c| {
        c.is_whitespace() || c.is_control() || matches!(c, '|' | '/' | '\\' | '?' | '#' | '%')
    }) {
        return Err(Invalid::new(
            "user_id",
            "must not contain '|', '/', '\\', '?', '#', '%', white space or control characters",
        ));
    }
    Ok(())
}

/// Auth0's default bounds on a username's length, and the largest maximum a
/// connection may set (`options.validation.username.max`).
pub const DEFAULT_USERNAME_MIN: usize = 1;
pub const DEFAULT_USERNAME_MAX: usize = 15;
pub const MAX_USERNAME_LEN: usize = 128;

/// `Tessera-Error-Reason` of a username sent for a connection without
/// `options.requires_username`.
pub const USERNAME_NOT_ALLOWED: &str = "username_not_allowed";

/// Why a username was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum UsernameRefused {
    /// Auth0's answer, word for word.
    #[error("Cannot set username for connection without requires_username")]
    NotRequired,
    #[error(transparent)]
    Invalid(#[from] Invalid),
}

/// Does the connection take usernames (`options.requires_username: true`)?
pub fn requires_username(connection: &Connection) -> bool {
    connection
        .options
        .get("requires_username")
        .and_then(Value::as_bool)
        .unwrap_or(false)
}

/// The connection's bounds on a username's length:
/// `options.validation.username.{min,max}`, Auth0's 1 to 15 by default, never
/// beyond 1 to 128.
fn username_bounds(connection: &Connection) -> (usize, usize) {
    let bounds = connection
        .options
        .get("validation")
        .and_then(|v| v.get("username"));
    let bound = |key: &str, default: usize| {
        bounds
            .and_then(|b| b.get(key))
            .and_then(Value::as_u64)
            .and_then(|n| usize::try_from(n).ok())
            .map_or(default, |n| n.clamp(1, MAX_USERNAME_LEN))
    };
    let min = bound("min", DEFAULT_USERNAME_MIN);
    let max = bound("max", DEFAULT_USERNAME_MAX);
    (min, max.max(min))
}

/// A username for a user of `connection`, lower-cased (Auth0 compares
/// usernames without case). Auth0's rules: the connection must require
/// usernames; its length within the connection's bounds; ASCII letters and
/// digits and `@ ^ $ . ! ` - # + ' ~ _` only; not an email address (so a
/// username never reads as another user's email).
pub fn check_username(connection: &Connection, username: &str) -> Result<String, UsernameRefused> {
    if !requires_username(connection) {
        return Err(UsernameRefused::NotRequired);
    }
    let (min, max) = username_bounds(connection);
    let len = username.chars().count();
    if len < min || len > max {
        return Err(Invalid::new("username", format!("must be {min} to {max} characters")).into());
    }
    let allowed = |c: char| {
        c.is_ascii_alphanumeric()
            || matches!(
                c,
                '@' | '^' | '$' | '.' | '!' | '`' | '-' | '#' | '+' | '\'' | '~' | '_'
            )
    };
    if !username.chars().all(allowed) {
        return Err(Invalid::new(
            "username",
            "may contain only letters, digits and @ ^ $ . ! ` - # + ' ~ _",
        )
        .into());
    }
    if normalize_email(username).is_ok() {
        return Err(Invalid::new("username", "must not be an email address").into());
    }
    Ok(username.to_ascii_lowercase())
}

/// The longest phone number E.164 allows: `+` and 15 digits.
pub const MAX_PHONE_DIGITS: usize = 15;

/// A phone number in E.164 form, as Auth0 asks: `+`, then a country code not
/// starting with 0, 2 to 15 digits in all.
pub fn check_phone_number(phone: &str) -> Result<(), Invalid> {
    let digits = phone.strip_prefix('+').unwrap_or("");
    let ok = (2..=MAX_PHONE_DIGITS).contains(&digits.len())
        && digits.bytes().all(|b| b.is_ascii_digit())
        && !digits.starts_with('0');
    if ok {
        Ok(())
    } else {
        Err(Invalid::new(
            "phone_number",
            "must be an E.164 number: '+' and 2 to 15 digits",
        ))
    }
}

/// Checks the profile fields shared by creation and update.
pub(super) fn check_profile(
    name: Option<&str>,
    given_name: Option<&str>,
    family_name: Option<&str>,
    nickname: Option<&str>,
    picture: Option<&str>,
    user_metadata: Option<&Map<String, Value>>,
    app_metadata: Option<&Map<String, Value>>,
) -> Result<(), Invalid> {
    if let Some(v) = name {
        check_text("name", v, MAX_NAME_LEN)?;
    }
    if let Some(v) = given_name {
        check_text("given_name", v, MAX_GIVEN_NAME_LEN)?;
    }
    if let Some(v) = family_name {
        check_text("family_name", v, MAX_FAMILY_NAME_LEN)?;
    }
    if let Some(v) = nickname {
        check_text("nickname", v, MAX_NICKNAME_LEN)?;
    }
    if let Some(v) = picture {
        check_picture(v)?;
    }
    if let Some(m) = user_metadata {
        check_metadata("user_metadata", m)?;
    }
    if let Some(m) = app_metadata {
        check_metadata("app_metadata", m)?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::manage::users::fixtures::db_connection;

    #[test]
    fn emails_normalize() {
        assert_eq!(
            normalize_email("Jane@Example.com").unwrap(),
            "jane@example.com"
        );
        assert_eq!(
            normalize_email("a.b+c@sub.example.org").unwrap(),
            "a.b+c@sub.example.org"
        );
        for bad in [
            "",
            "jane",
            "@example.com",
            "jane@",
            "jane@@example.com",
            "ja ne@example.com",
            "jane@exa mple.com",
            "jane@example..com",
            "jane@.example.com",
            ".jane@example.com",
            "jane.@example.com",
            "ja..ne@example.com",
            "jane@-example.com",
            "<jane>@example.com",
        ] {
            assert_eq!(
                normalize_email(bad).unwrap_err().property,
                "email",
                "{bad:?}"
            );
        }
        assert!(normalize_email(&format!("{}@example.com", "x".repeat(65))).is_err());
        assert!(normalize_email(&format!("x@{}.com", "x".repeat(250))).is_err());
    }

    #[test]
    fn signup_metadata_keeps_auth0s_bounds() {
        let map = |v: Value| v.as_object().cloned().unwrap();
        assert!(check_signup_metadata(&map(serde_json::json!({"plan": "silver"}))).is_ok());
        let eleven: Map<String, Value> = (0..11)
            .map(|i| (format!("k{i}"), Value::String("v".into())))
            .collect();
        assert!(check_signup_metadata(&eleven).is_err());
        assert!(check_signup_metadata(&map(serde_json::json!({"n": 1}))).is_err());
        assert!(check_signup_metadata(&map(serde_json::json!({"n": "x".repeat(501)}))).is_err());
        assert!(check_signup_metadata(&map(serde_json::json!({"n": "x".repeat(500)}))).is_ok());
        let long_name = map(serde_json::json!({ "x".repeat(101): "v" }));
        assert!(check_signup_metadata(&long_name).is_err());
        assert!(check_signup_metadata(&map(serde_json::json!({"a.b": "v"}))).is_err());
    }

    #[test]
    fn user_ids_read_the_same_in_a_path() {
        for ok in [
            "abc",
            "0123-4567_89.ab",
            "a@b",
            &"x".repeat(MAX_USER_ID_LEN),
        ] {
            assert!(check_user_id(ok).is_ok(), "{ok:?}");
        }
        for bad in [
            String::new(),
            "x".repeat(MAX_USER_ID_LEN + 1),
            "a|b".into(),
            "a/b".into(),
            "a\\b".into(),
            "a?b".into(),
            "a#b".into(),
            "a%2Fb".into(),
            "a b".into(),
            "a\u{0}b".into(),
            "a\nb".into(),
        ] {
            assert_eq!(
                check_user_id(&bad).unwrap_err().property,
                "user_id",
                "{bad:?}"
            );
        }
    }

    #[test]
    fn usernames_follow_auth0s_rules() {
        let plain = db_connection();
        assert_eq!(
            check_username(&plain, "jane"),
            Err(UsernameRefused::NotRequired)
        );
        let mut c = db_connection();
        c.options["requires_username"] = serde_json::json!(true);
        assert_eq!(check_username(&c, "Jane_Doe").unwrap(), "jane_doe");
        assert_eq!(
            check_username(&c, "a.b-c+d~'`!#$^_").unwrap(),
            "a.b-c+d~'`!#$^_"
        );
        assert_eq!(
            check_username(&c, "x".repeat(15).as_str()).unwrap().len(),
            15
        );
        let invalid_in = |c: &Connection, u: &str| match check_username(c, u) {
            Err(UsernameRefused::Invalid(e)) => e.property,
            other => panic!("{u:?}: {other:?}"),
        };
        for bad in [
            "",
            &"x".repeat(16),
            "jane doe",
            "jané",
            "a/b",
            "a|b",
            "a\u{7}",
            "jane@example.com",
            "a@b",
        ] {
            assert_eq!(invalid_in(&c, bad), "username", "{bad:?}");
        }
        // `@` alone is allowed when the whole is no email.
        assert!(check_username(&c, "jane@").is_ok());
        // The connection's bounds, within 1 to 128.
        c.options["validation"] = serde_json::json!({"username": {"min": 3, "max": 200}});
        assert_eq!(invalid_in(&c, "ab"), "username");
        assert!(check_username(&c, &"x".repeat(MAX_USERNAME_LEN)).is_ok());
        assert_eq!(
            invalid_in(&c, &"x".repeat(MAX_USERNAME_LEN + 1)),
            "username"
        );
    }

    #[test]
    fn phone_numbers_are_e164() {
        for ok in [
            "+15551234567",
            "+33612345678",
            "+12",
            &format!("+1{}", "2".repeat(14)),
        ] {
            assert!(check_phone_number(ok).is_ok(), "{ok:?}");
        }
        for bad in [
            "",
            "+",
            "+1",
            "15551234567",
            "+0123456",
            "+1 555 123",
            "+1-555-123",
            "+1555abc",
            "++15551234",
            &format!("+1{}", "2".repeat(15)),
        ] {
            assert_eq!(
                check_phone_number(bad).unwrap_err().property,
                "phone_number",
                "{bad:?}"
            );
        }
    }

    #[test]
    fn connection_checks() {
        let c = db_connection();
        assert!(check_database_connection(Some(&c.name), Some(&c)).is_ok());
        assert_eq!(
            check_database_connection(None, None).unwrap_err().property,
            "connection"
        );
        let e = check_database_connection(Some("nope"), None).unwrap_err();
        assert!(e.problem.contains("does not exist"), "{e}");
    }
}
