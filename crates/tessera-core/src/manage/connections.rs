//! Connections (where users come from): validation, defaults, creation and
//! changes, shared by `/api/v2/connections` and the operator CLI.
//!
//! Two strategies: database connections (`auth0`) and Auth0's passwordless
//! email connection (`email`, always named `email`). Their options are the
//! ones Tessera enforces: for `auth0`, `passwordPolicy`,
//! `password_complexity_options.min_length`, `disable_signup` (no sign-up
//! page on the hosted login) and `send_verification_email` (sign-ups get a
//! verification email); for `email`, `disable_signup`, `totp` (code lifetime
//! and length), `brute_force_protection` and `email` (the message: `subject`
//! is used; `from`, `syntax` and `body` are kept but Tessera sends its own
//! layout from `TESSERA_EMAIL_FROM`, see docs/authentication-api.md). Any
//! other option is refused rather than stored and silently ignored.

use serde_json::{Map, Value};

use super::Invalid;
use crate::ids::{self, RngError};
use crate::model::Connection;
use crate::passwordless::{
    EMAIL_STRATEGY, MAX_LENGTH as MAX_CODE_LENGTH, MAX_TIME_STEP, MIN_LENGTH as MIN_CODE_LENGTH,
    MIN_TIME_STEP,
};

/// The database connection's strategy.
pub use crate::model::DATABASE_STRATEGY;
pub const STRATEGIES: &[&str] = &[DATABASE_STRATEGY, EMAIL_STRATEGY];
pub const MAX_NAME_LEN: usize = 128;
/// Auth0's password policy names.
pub const PASSWORD_POLICIES: &[&str] = &["none", "low", "fair", "good", "excellent"];
/// Bounds of `password_complexity_options.min_length`.
pub const MIN_PASSWORD_LENGTH: i64 = 1;
pub const MAX_PASSWORD_LENGTH: i64 = 128;
/// Most clients a connection may list.
pub const MAX_ENABLED_CLIENTS: usize = 1000;

/// What a caller asks for when creating a connection.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct NewConnection {
    /// Required.
    pub name: Option<String>,
    /// Required.
    pub strategy: Option<String>,
    /// Defaults to [`default_options`].
    pub options: Option<Value>,
    /// Client ids; whether they exist is the caller's check.
    pub enabled_clients: Option<Vec<String>>,
}

/// Changes to a connection; `None` keeps the stored value. `options` replaces the
/// whole object (as Auth0 does). Name and strategy never change.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ConnectionChanges {
    pub options: Option<Value>,
    pub enabled_clients: Option<Vec<String>>,
}

/// Why a connection could not be built.
#[derive(Debug, thiserror::Error)]
pub enum CreateError {
    #[error(transparent)]
    Invalid(#[from] Invalid),
    #[error(transparent)]
    Rng(#[from] RngError),
}

/// A new database connection's options: Auth0's `fair` policy, 8 characters.
pub fn default_options() -> Value {
    serde_json::json!({
        "passwordPolicy": "fair",
        "password_complexity_options": { "min_length": 8 }
    })
}

/// A new connection's options: [`default_options`] for a database; for
/// `email`, sign-ups allowed and 6-digit codes living 5 minutes.
pub fn default_options_for(strategy: &str) -> Value {
    if strategy == EMAIL_STRATEGY {
        serde_json::json!({
            "disable_signup": false,
            "brute_force_protection": true,
            "totp": { "time_step": 300, "length": 6 }
        })
    } else {
        default_options()
    }
}

/// 1 to 128 characters from `[A-Za-z0-9_-]`.
pub fn validate_name(name: &str) -> Result<(), Invalid> {
    if name.is_empty()
        || name.len() > MAX_NAME_LEN
        || !name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
    {
        return Err(Invalid::new(
            "name",
            format!("must be 1 to {MAX_NAME_LEN} characters from A-Z, a-z, 0-9, - and _"),
        ));
    }
    Ok(())
}

pub fn validate_strategy(strategy: &str) -> Result<(), Invalid> {
    if STRATEGIES.contains(&strategy) {
        Ok(())
    } else {
        Err(Invalid::new(
            "strategy",
            "only database (auth0) and passwordless email (email) connections are supported",
        ))
    }
}

/// Checks a database connection's options.
pub fn validate_options(strategy: &str, options: &Value) -> Result<(), Invalid> {
    let Value::Object(map) = options else {
        return Err(Invalid::new("options", "must be an object"));
    };
    if strategy == EMAIL_STRATEGY {
        return validate_email_options(map);
    }
    if strategy != DATABASE_STRATEGY {
        return validate_strategy(strategy);
    }
    for (key, value) in map {
        match key.as_str() {
            "passwordPolicy" => match value {
                Value::Null => {}
                Value::String(p) if PASSWORD_POLICIES.contains(&p.as_str()) => {}
                _ => {
                    return Err(Invalid::new(
                        "options.passwordPolicy",
                        "must be one of none, low, fair, good, excellent",
                    ));
                }
            },
            "password_complexity_options" => check_complexity(value)?,
            "disable_signup" | "send_verification_email" => {
                if !matches!(value, Value::Bool(_) | Value::Null) {
                    return Err(Invalid::new(
                        format!("options.{key}"),
                        "must be true or false",
                    ));
                }
            }
            other => {
                let shown: String = other.chars().take(64).collect();
                return Err(Invalid::new(
                    format!("options.{shown}"),
                    "is not a supported option of database connections",
                ));
            }
        }
    }
    Ok(())
}

fn check_bool(name: &str, value: &Value) -> Result<(), Invalid> {
    if matches!(value, Value::Bool(_) | Value::Null) {
        Ok(())
    } else {
        Err(Invalid::new(
            format!("options.{name}"),
            "must be true or false",
        ))
    }
}

fn unsupported(prefix: &str, key: &str) -> Invalid {
    let shown: String = key.chars().take(64).collect();
    Invalid::new(
        format!("options.{prefix}{shown}"),
        "is not a supported option of passwordless email connections",
    )
}

/// A passwordless email connection's options.
fn validate_email_options(map: &Map<String, Value>) -> Result<(), Invalid> {
    for (key, value) in map {
        match key.as_str() {
            "disable_signup" | "brute_force_protection" => check_bool(key, value)?,
            "totp" => {
                let Value::Object(totp) = value else {
                    return Err(Invalid::new("options.totp", "must be an object"));
                };
                for (k, v) in totp {
                    let (min, max) = match k.as_str() {
                        "time_step" => (MIN_TIME_STEP, MAX_TIME_STEP),
                        "length" => (i64::from(MIN_CODE_LENGTH), i64::from(MAX_CODE_LENGTH)),
                        other => return Err(unsupported("totp.", other)),
                    };
                    if !v.as_i64().is_some_and(|n| (min..=max).contains(&n)) {
                        return Err(Invalid::new(
                            format!("options.totp.{k}"),
                            format!("must be an integer between {min} and {max}"),
                        ));
                    }
                }
            }
            "email" => {
                let Value::Object(email) = value else {
                    return Err(Invalid::new("options.email", "must be an object"));
                };
                for (k, v) in email {
                    match (k.as_str(), v) {
                        ("syntax", Value::String(s)) if s == "liquid" => {}
                        ("syntax", _) => {
                            return Err(Invalid::new("options.email.syntax", "must be liquid"));
                        }
                        ("from" | "subject" | "body", Value::String(s)) if s.len() <= 65_536 => {}
                        ("from" | "subject" | "body", _) => {
                            return Err(Invalid::new(
                                format!("options.email.{k}"),
                                "must be a string of at most 65536 bytes",
                            ));
                        }
                        (other, _) => return Err(unsupported("email.", other)),
                    }
                }
            }
            other => return Err(unsupported("", other)),
        }
    }
    Ok(())
}

fn check_complexity(value: &Value) -> Result<(), Invalid> {
    let map: &Map<String, Value> = match value {
        Value::Object(map) => map,
        Value::Null => return Ok(()),
        _ => {
            return Err(Invalid::new(
                "options.password_complexity_options",
                "must be an object",
            ));
        }
    };
    for (key, value) in map {
        if key != "min_length" {
            let shown: String = key.chars().take(64).collect();
            return Err(Invalid::new(
                format!("options.password_complexity_options.{shown}"),
                "is not a supported option",
            ));
        }
        match value.as_i64() {
            Some(n) if (MIN_PASSWORD_LENGTH..=MAX_PASSWORD_LENGTH).contains(&n) => {}
            _ => {
                return Err(Invalid::new(
                    "options.password_complexity_options.min_length",
                    format!(
                        "must be an integer between {MIN_PASSWORD_LENGTH} and {MAX_PASSWORD_LENGTH}"
                    ),
                ));
            }
        }
    }
    Ok(())
}

/// At most [`MAX_ENABLED_CLIENTS`]; duplicates are dropped, order kept.
pub fn normalize_enabled_clients(ids: Vec<String>) -> Result<Vec<String>, Invalid> {
    let mut out: Vec<String> = Vec::with_capacity(ids.len().min(MAX_ENABLED_CLIENTS));
    for id in ids {
        if id.is_empty() {
            return Err(Invalid::new(
                "enabled_clients",
                "a client id must not be empty",
            ));
        }
        if !out.contains(&id) {
            out.push(id);
        }
        if out.len() > MAX_ENABLED_CLIENTS {
            return Err(Invalid::new(
                "enabled_clients",
                format!("at most {MAX_ENABLED_CLIENTS} clients"),
            ));
        }
    }
    Ok(out)
}

/// A new connection with the given id (`con_…`) and defaults applied.
pub fn build(id: String, input: NewConnection) -> Result<Connection, Invalid> {
    let name = input
        .name
        .ok_or_else(|| Invalid::new("name", "is required"))?;
    validate_name(&name)?;
    let strategy = input
        .strategy
        .ok_or_else(|| Invalid::new("strategy", "is required"))?;
    validate_strategy(&strategy)?;
    if strategy == EMAIL_STRATEGY && name != EMAIL_STRATEGY {
        return Err(Invalid::new(
            "name",
            "a passwordless email connection must be named email",
        ));
    }
    let options = input
        .options
        .unwrap_or_else(|| default_options_for(&strategy));
    validate_options(&strategy, &options)?;
    let enabled_clients = normalize_enabled_clients(input.enabled_clients.unwrap_or_default())?;
    Ok(Connection {
        id,
        name,
        strategy,
        options,
        enabled_clients,
    })
}

/// A new connection with a fresh id.
pub fn create(input: NewConnection) -> Result<Connection, CreateError> {
    Ok(build(ids::prefixed("con")?, input)?)
}

/// Applies `changes`, or leaves `connection` untouched and names the first bad property.
pub fn apply_changes(
    connection: &mut Connection,
    changes: ConnectionChanges,
) -> Result<(), Invalid> {
    if let Some(options) = &changes.options {
        validate_options(&connection.strategy, options)?;
    }
    let enabled = changes
        .enabled_clients
        .map(normalize_enabled_clients)
        .transpose()?;
    if let Some(options) = changes.options {
        connection.options = options;
    }
    if let Some(enabled) = enabled {
        connection.enabled_clients = enabled;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn db(name: &str) -> NewConnection {
        NewConnection {
            name: Some(name.into()),
            strategy: Some("auth0".into()),
            ..Default::default()
        }
    }

    fn bad(input: NewConnection) -> String {
        match build("con_x".into(), input) {
            Err(e) => e.property,
            Ok(c) => panic!("expected Invalid, got {c:?}"),
        }
    }

    #[test]
    fn defaults_apply() {
        let c = build("con_x".into(), db("Users-2_b")).unwrap();
        assert_eq!(c.options, default_options());
        assert!(c.enabled_clients.is_empty());
        assert!(create(db("x")).unwrap().id.starts_with("con_"));
        assert_eq!(
            crate::password::PasswordPolicy::from_options(&c.options).min_length,
            8
        );
    }

    #[test]
    fn each_property_is_named() {
        assert_eq!(bad(NewConnection::default()), "name");
        assert_eq!(bad(db("")), "name");
        assert_eq!(bad(db("has space")), "name");
        assert_eq!(bad(db(&"x".repeat(129))), "name");
        assert_eq!(
            bad(NewConnection {
                strategy: None,
                ..db("a")
            }),
            "strategy"
        );
        assert_eq!(
            bad(NewConnection {
                strategy: Some("google-oauth2".into()),
                ..db("a")
            }),
            "strategy"
        );
        assert_eq!(
            bad(NewConnection {
                options: Some(json!([])),
                ..db("a")
            }),
            "options"
        );
        assert_eq!(
            bad(NewConnection {
                options: Some(json!({"passwordPolicy": "strong"})),
                ..db("a")
            }),
            "options.passwordPolicy"
        );
        assert_eq!(
            bad(NewConnection {
                options: Some(json!({"password_complexity_options": {"min_length": 0}})),
                ..db("a")
            }),
            "options.password_complexity_options.min_length"
        );
        assert_eq!(
            bad(NewConnection {
                options: Some(json!({"password_complexity_options": {"min_length": "9"}})),
                ..db("a")
            }),
            "options.password_complexity_options.min_length"
        );
        assert_eq!(
            bad(NewConnection {
                options: Some(json!({"password_complexity_options": {"min_length": 129}})),
                ..db("a")
            }),
            "options.password_complexity_options.min_length"
        );
        assert_eq!(
            bad(NewConnection {
                options: Some(json!({"disable_signup": "yes"})),
                ..db("a")
            }),
            "options.disable_signup"
        );
        assert_eq!(
            bad(NewConnection {
                options: Some(json!({"brute_force_protection": false})),
                ..db("a")
            }),
            "options.brute_force_protection"
        );
        assert!(
            build(
                "con_x".into(),
                NewConnection {
                    options: Some(json!({"disable_signup": true})),
                    ..db("a")
                }
            )
            .is_ok()
        );
        assert_eq!(
            bad(NewConnection {
                enabled_clients: Some(vec![String::new()]),
                ..db("a")
            }),
            "enabled_clients"
        );
    }

    #[test]
    fn passwordless_email_connections() {
        let email = |options: Option<Value>| NewConnection {
            name: Some("email".into()),
            strategy: Some("email".into()),
            options,
            enabled_clients: None,
        };
        let c = build("con_x".into(), email(None)).unwrap();
        assert_eq!(c.options["totp"], json!({"time_step": 300, "length": 6}));
        assert_eq!(
            bad(NewConnection {
                name: Some("other".into()),
                ..email(None)
            }),
            "name"
        );
        assert!(
            build(
                "con_x".into(),
                email(Some(
                    json!({"disable_signup": true, "brute_force_protection": true,
                    "totp": {"time_step": 180, "length": 6},
                    "email": {"from": "a@example.com", "subject": "Code", "syntax": "liquid",
                        "body": "<p>{{ code }}</p>"}})
                ))
            )
            .is_ok()
        );
        assert_eq!(
            bad(email(Some(json!({"totp": {"length": 4}})))),
            "options.totp.length"
        );
        assert_eq!(
            bad(email(Some(json!({"totp": {"time_step": 1}})))),
            "options.totp.time_step"
        );
        assert_eq!(
            bad(email(Some(json!({"totp": {"x": 1}})))),
            "options.totp.x"
        );
        assert_eq!(
            bad(email(Some(json!({"email": {"syntax": "md"}})))),
            "options.email.syntax"
        );
        assert_eq!(
            bad(email(Some(json!({"passwordPolicy": "fair"})))),
            "options.passwordPolicy"
        );
        assert_eq!(
            bad(email(Some(json!({"disable_signup": 1})))),
            "options.disable_signup"
        );
    }

    #[test]
    fn changes_replace_options_and_dedupe_clients() {
        let mut c = build("con_x".into(), db("a")).unwrap();
        let before = c.clone();
        let err = apply_changes(
            &mut c,
            ConnectionChanges {
                options: Some(json!({"passwordPolicy": 3})),
                enabled_clients: Some(vec!["c1".into()]),
            },
        )
        .unwrap_err();
        assert_eq!(err.property, "options.passwordPolicy");
        assert_eq!(c, before);
        apply_changes(
            &mut c,
            ConnectionChanges {
                options: Some(json!({"password_complexity_options": {"min_length": 12}})),
                enabled_clients: Some(vec!["c1".into(), "c2".into(), "c1".into()]),
            },
        )
        .unwrap();
        assert_eq!(
            c.options,
            json!({"password_complexity_options": {"min_length": 12}})
        );
        assert_eq!(c.enabled_clients, ["c1", "c2"]);
    }
}
