//! A connection's `options`, per strategy: every option Auth0 documents for
//! database (`auth0`) and passwordless email (`email`) connections, with its
//! type. Tessera acts on, for `auth0`: `passwordPolicy`,
//! `password_complexity_options.min_length`, `disable_signup` and
//! `send_verification_email`; for `email`: `disable_signup`, `totp`,
//! `brute_force_protection` and `email.subject`. The others are checked,
//! stored and returned (docs/management-api.md lists them: accepted, no
//! effect yet). An option Auth0 does not document is refused rather than
//! stored and silently ignored. `configuration` (a custom database's
//! settings: secrets) is stored but never returned.

use serde_json::{Map, Value};

use super::Invalid;
use crate::model::DATABASE_STRATEGY;
use crate::passwordless::{
    EMAIL_STRATEGY, MAX_LENGTH as MAX_CODE_LENGTH, MAX_TIME_STEP, MIN_LENGTH as MIN_CODE_LENGTH,
    MIN_TIME_STEP,
};

/// Auth0's password policy names.
pub const PASSWORD_POLICIES: &[&str] = &["none", "low", "fair", "good", "excellent"];
/// Bounds of `password_complexity_options.min_length`.
pub const MIN_PASSWORD_LENGTH: i64 = 1;
pub const MAX_PASSWORD_LENGTH: i64 = 128;
/// Options holding secrets: stored, never returned.
pub const SECRET_OPTIONS: &[&str] = &["configuration", "client_secret"];
/// Longest string in options (scripts, email bodies).
pub const MAX_OPTION_TEXT: usize = 65_536;

/// What an option must be.
#[derive(Clone, Copy)]
enum Kind {
    Bool,
    /// An integer in the range.
    Int(i64, i64),
    /// One of these strings.
    OneOf(&'static [&'static str]),
    /// Any JSON object (its own properties are Auth0's, kept as sent).
    Object,
    /// An object whose values are strings (scripts, settings).
    StringMap,
    /// An array of strings, each one of these (any when empty).
    Strings(&'static [&'static str]),
    /// Checked by the strategy's own rule.
    Own,
}

const DATABASE_OPTIONS: &[(&str, Kind)] = &[
    ("passwordPolicy", Kind::Own),
    ("password_complexity_options", Kind::Own),
    ("disable_signup", Kind::Bool),
    ("send_verification_email", Kind::Bool),
    ("brute_force_protection", Kind::Bool),
    ("requires_username", Kind::Bool),
    ("import_mode", Kind::Bool),
    ("enabledDatabaseCustomization", Kind::Bool),
    ("disable_self_service_change_password", Kind::Bool),
    ("enable_script_context", Kind::Bool),
    ("realm_fallback", Kind::Bool),
    ("api_enable_users", Kind::Bool),
    ("strategy_version", Kind::Int(1, 2)),
    (
        "set_user_root_attributes",
        Kind::OneOf(&["on_each_login", "on_first_login", "never_on_login"]),
    ),
    ("password_history", Kind::Object),
    ("password_no_personal_info", Kind::Object),
    ("password_dictionary", Kind::Object),
    ("password_options", Kind::Object),
    ("validation", Kind::Object),
    ("mfa", Kind::Object),
    ("attributes", Kind::Object),
    ("authentication_methods", Kind::Object),
    ("passkey_options", Kind::Object),
    ("upstream_params", Kind::Object),
    ("customScripts", Kind::StringMap),
    ("configuration", Kind::StringMap),
    (
        "precedence",
        Kind::Strings(&["email", "phone_number", "username"]),
    ),
    ("non_persistent_attrs", Kind::Strings(&[])),
];

const EMAIL_OPTIONS: &[(&str, Kind)] = &[
    ("disable_signup", Kind::Bool),
    ("brute_force_protection", Kind::Bool),
    ("totp", Kind::Own),
    ("email", Kind::Own),
    ("authParams", Kind::Object),
    ("name", Kind::Own),
    ("non_persistent_attrs", Kind::Strings(&[])),
    (
        "set_user_root_attributes",
        Kind::OneOf(&["on_each_login", "on_first_login", "never_on_login"]),
    ),
    ("upstream_params", Kind::Object),
];

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
    } else if super::upstream_options::is_upstream(strategy) {
        serde_json::json!({})
    } else {
        default_options()
    }
}

fn shown(key: &str) -> String {
    key.chars().take(64).collect()
}

fn check_kind(key: &str, kind: Kind, value: &Value) -> Result<(), Invalid> {
    let property = format!("options.{}", shown(key));
    let ok = match (kind, value) {
        (_, Value::Null) | (Kind::Own, _) => true,
        (Kind::Bool, v) => v.is_boolean(),
        (Kind::Int(min, max), v) => v.as_i64().is_some_and(|n| (min..=max).contains(&n)),
        (Kind::OneOf(allowed), v) => v.as_str().is_some_and(|s| allowed.contains(&s)),
        (Kind::Object, v) => v.is_object(),
        (Kind::StringMap, Value::Object(map)) => map
            .values()
            .all(|v| v.as_str().is_some_and(|s| s.len() <= MAX_OPTION_TEXT)),
        (Kind::Strings(allowed), Value::Array(items)) => items.iter().all(|i| {
            i.as_str()
                .is_some_and(|s| s.len() <= 256 && (allowed.is_empty() || allowed.contains(&s)))
        }),
        _ => false,
    };
    if ok {
        return Ok(());
    }
    let problem = match kind {
        Kind::Bool => "must be true or false".to_owned(),
        Kind::Int(min, max) => format!("must be an integer between {min} and {max}"),
        Kind::OneOf(allowed) => format!("must be one of {}", allowed.join(", ")),
        Kind::Object => "must be an object".to_owned(),
        Kind::StringMap => {
            format!("must be an object of strings of at most {MAX_OPTION_TEXT} bytes")
        }
        Kind::Strings([]) => "must be an array of strings".to_owned(),
        Kind::Strings(allowed) => format!("must be an array of {}", allowed.join(", ")),
        Kind::Own => "is invalid".to_owned(),
    };
    Err(Invalid::new(property, problem))
}

/// Checks a connection's options for its strategy.
pub fn validate_options(strategy: &str, options: &Value) -> Result<(), Invalid> {
    let Value::Object(map) = options else {
        return Err(Invalid::new("options", "must be an object"));
    };
    let (table, what) = match strategy {
        DATABASE_STRATEGY => (DATABASE_OPTIONS, "database connections"),
        EMAIL_STRATEGY => (EMAIL_OPTIONS, "passwordless email connections"),
        s if super::upstream_options::is_upstream(s) => {
            return super::upstream_options::validate_upstream_options(s, options);
        }
        _ => return Err(Invalid::new("strategy", "is not supported")),
    };
    for (key, value) in map {
        let Some((_, kind)) = table.iter().find(|(name, _)| name == key) else {
            return Err(Invalid::new(
                format!("options.{}", shown(key)),
                format!("is not a supported option of {what}"),
            ));
        };
        check_kind(key, *kind, value)?;
        match (strategy, key.as_str()) {
            (DATABASE_STRATEGY, "passwordPolicy") => check_policy(value)?,
            (DATABASE_STRATEGY, "password_complexity_options") => check_complexity(value)?,
            (
                DATABASE_STRATEGY,
                "password_history" | "password_no_personal_info" | "password_dictionary",
            ) if value.get("enable").and_then(Value::as_bool) == Some(true) => {
                return Err(Invalid::new(
                    format!("options.{key}.enable"),
                    "is not enforced by Tessera; only false is accepted",
                ));
            }
            (EMAIL_STRATEGY, "totp") => check_totp(value)?,
            (EMAIL_STRATEGY, "email") => check_email(value)?,
            (EMAIL_STRATEGY, "name") if !(value.is_string() || value.is_null()) => {
                return Err(Invalid::new("options.name", "must be a string"));
            }
            _ => {}
        }
    }
    Ok(())
}

/// The options as the API shows them: without secrets.
pub fn shown_options(options: &Value) -> Value {
    let mut out = options.clone();
    if let Value::Object(map) = &mut out {
        for secret in SECRET_OPTIONS {
            map.remove(*secret);
        }
    }
    out
}

/// New options replacing `old` as a whole keep the secrets they do not name
/// (the API never shows them, so a client sending back what it read must not
/// erase them).
pub fn keep_secrets(old: &Value, new: &mut Value) {
    if let (Value::Object(old), Value::Object(new)) = (old, new) {
        for secret in SECRET_OPTIONS {
            if let (Some(v), false) = (old.get(*secret), new.contains_key(*secret)) {
                new.insert((*secret).to_owned(), v.clone());
            }
        }
    }
}

fn check_policy(value: &Value) -> Result<(), Invalid> {
    match value {
        Value::Null => Ok(()),
        Value::String(p) if PASSWORD_POLICIES.contains(&p.as_str()) => Ok(()),
        _ => Err(Invalid::new(
            "options.passwordPolicy",
            "must be one of none, low, fair, good, excellent",
        )),
    }
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
            return Err(Invalid::new(
                format!("options.password_complexity_options.{}", shown(key)),
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

fn unsupported_email(prefix: &str, key: &str) -> Invalid {
    Invalid::new(
        format!("options.{prefix}{}", shown(key)),
        "is not a supported option of passwordless email connections",
    )
}

fn check_totp(value: &Value) -> Result<(), Invalid> {
    let Value::Object(totp) = value else {
        return Err(Invalid::new("options.totp", "must be an object"));
    };
    for (k, v) in totp {
        let (min, max) = match k.as_str() {
            "time_step" => (MIN_TIME_STEP, MAX_TIME_STEP),
            "length" => (i64::from(MIN_CODE_LENGTH), i64::from(MAX_CODE_LENGTH)),
            other => return Err(unsupported_email("totp.", other)),
        };
        if !v.as_i64().is_some_and(|n| (min..=max).contains(&n)) {
            return Err(Invalid::new(
                format!("options.totp.{k}"),
                format!("must be an integer between {min} and {max}"),
            ));
        }
    }
    Ok(())
}

fn check_email(value: &Value) -> Result<(), Invalid> {
    let Value::Object(email) = value else {
        return Err(Invalid::new("options.email", "must be an object"));
    };
    for (k, v) in email {
        match (k.as_str(), v) {
            ("syntax", Value::String(s)) if s == "liquid" => {}
            ("syntax", _) => {
                return Err(Invalid::new("options.email.syntax", "must be liquid"));
            }
            ("from" | "subject" | "body", Value::String(s)) if s.len() <= MAX_OPTION_TEXT => {}
            ("from" | "subject" | "body", _) => {
                return Err(Invalid::new(
                    format!("options.email.{k}"),
                    "must be a string of at most 65536 bytes",
                ));
            }
            (other, _) => return Err(unsupported_email("email.", other)),
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn bad(strategy: &str, options: Value) -> String {
        match validate_options(strategy, &options) {
            Err(e) => e.property,
            Ok(()) => panic!("expected Invalid for {options}"),
        }
    }

    #[test]
    fn auth0s_documented_options_are_accepted_with_their_types() {
        let full = json!({
            "passwordPolicy": "good", "password_complexity_options": {"min_length": 10},
            "password_history": {"enable": false, "size": 5}, "password_no_personal_info": {"enable": false},
            "password_dictionary": {"enable": false, "dictionary": ["acme"]},
            "brute_force_protection": true, "disable_signup": false, "requires_username": false,
            "validation": {"username": {"min": 1, "max": 15}}, "import_mode": false,
            "enabledDatabaseCustomization": false, "customScripts": {"login": "function login() {}"},
            "configuration": {"API_KEY": "s3cret"}, "precedence": ["email", "username"],
            "attributes": {"email": {"identifier": {"active": true}}}, "mfa": {"active": true},
            "set_user_root_attributes": "on_each_login", "non_persistent_attrs": ["ethnicity"],
            "strategy_version": 2, "authentication_methods": {"password": {"enabled": true}}
        });
        validate_options("auth0", &full).unwrap();
        assert_eq!(
            bad("auth0", json!({"requires_username": "yes"})),
            "options.requires_username"
        );
        assert_eq!(
            bad("auth0", json!({"precedence": ["phone"]})),
            "options.precedence"
        );
        assert_eq!(
            bad("auth0", json!({"customScripts": {"login": 1}})),
            "options.customScripts"
        );
        assert_eq!(
            bad("auth0", json!({"set_user_root_attributes": "always"})),
            "options.set_user_root_attributes"
        );
        assert_eq!(bad("auth0", json!({"mfa": true})), "options.mfa");
        assert_eq!(bad("auth0", json!({"made_up": true})), "options.made_up");
        assert_eq!(
            bad("email", json!({"passwordPolicy": "fair"})),
            "options.passwordPolicy"
        );
    }

    #[test]
    fn secrets_are_never_shown_and_survive_a_replacement_that_omits_them() {
        let stored = json!({"passwordPolicy": "fair", "configuration": {"API_KEY": "s3cret"}});
        assert_eq!(shown_options(&stored), json!({"passwordPolicy": "fair"}));
        let mut new = json!({"passwordPolicy": "good"});
        keep_secrets(&stored, &mut new);
        assert_eq!(new["configuration"]["API_KEY"], "s3cret");
        let mut replaced = json!({"configuration": {}});
        keep_secrets(&stored, &mut replaced);
        assert_eq!(replaced["configuration"], json!({}));
    }
}
