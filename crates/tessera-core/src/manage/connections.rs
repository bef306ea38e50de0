//! Connections (where users come from): validation, defaults, creation and
//! changes, shared by `/api/v2/connections` and the operator CLI.
//!
//! Four strategies: database connections (`auth0`), Auth0's passwordless
//! email connection (`email`, always named `email`), and upstream identity
//! providers (`oidc`, `oauth2`: [`super::upstream_options`]). Their options are
//! checked in [`super::connection_options`]. Auth0's other properties
//! (`display_name`, `metadata`, `realms`, `is_domain_connection`,
//! `show_as_button`, `authentication`, `connected_accounts`) are checked,
//! stored and returned; Tessera does not act on them yet.

use serde_json::Value;

use super::Invalid;
pub use super::connection_options::{
    MAX_PASSWORD_LENGTH, MIN_PASSWORD_LENGTH, PASSWORD_POLICIES, default_options,
    default_options_for, validate_options,
};
use crate::ids::{self, RngError};
use crate::model::Connection;
use crate::passwordless::EMAIL_STRATEGY;

/// The database connection's strategy.
pub use crate::model::DATABASE_STRATEGY;
pub const STRATEGIES: &[&str] = &[
    DATABASE_STRATEGY,
    EMAIL_STRATEGY,
    super::upstream_options::OIDC_STRATEGY,
    super::upstream_options::OAUTH2_STRATEGY,
];
pub const MAX_NAME_LEN: usize = 128;
/// Most clients a connection may list.
pub const MAX_ENABLED_CLIENTS: usize = 1000;
/// Auth0's bounds of `metadata`: 10 properties, strings of 255 characters.
pub const MAX_METADATA: usize = 10;
pub const MAX_METADATA_TEXT: usize = 255;
/// Most `realms`.
pub const MAX_REALMS: usize = 10;

/// Auth0's properties of a connection that Tessera keeps without acting on
/// them; `None` keeps (on create: defaults) the value.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Presentation {
    pub display_name: Option<String>,
    pub metadata: Option<serde_json::Map<String, Value>>,
    pub realms: Option<Vec<String>>,
    pub is_domain_connection: Option<bool>,
    pub show_as_button: Option<bool>,
    pub authentication: Option<Value>,
    pub connected_accounts: Option<Value>,
}

/// What a caller asks for when creating a connection.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct NewConnection {
    /// Required.
    pub name: Option<String>,
    /// Required.
    pub strategy: Option<String>,
    /// Defaults to [`default_options_for`] the strategy.
    pub options: Option<Value>,
    /// Client ids; whether they exist is the caller's check.
    pub enabled_clients: Option<Vec<String>>,
    pub presentation: Presentation,
}

/// Changes to a connection; `None` keeps the stored value. `options` replaces the
/// whole object (as Auth0 does), but keeps stored secrets it does not name.
/// Name and strategy never change.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ConnectionChanges {
    pub options: Option<Value>,
    pub enabled_clients: Option<Vec<String>>,
    pub presentation: Presentation,
}

/// Why a connection could not be built.
#[derive(Debug, thiserror::Error)]
pub enum CreateError {
    #[error(transparent)]
    Invalid(#[from] Invalid),
    #[error(transparent)]
    Rng(#[from] RngError),
}

/// 1 to 128 characters from `[A-Za-z0-9_-]`.
pub fn validate_name(name: &str) -> Result<(), Invalid> {
    validate_name_of("name", name)
}

fn validate_name_of(property: &str, name: &str) -> Result<(), Invalid> {
    if name.is_empty()
        || name.len() > MAX_NAME_LEN
        || !name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
    {
        return Err(Invalid::new(
            property,
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
            "only database (auth0), passwordless email (email), oidc and oauth2 connections are supported",
        ))
    }
}

/// `{active: bool}`.
fn check_purpose(property: &str, value: &Value) -> Result<(), Invalid> {
    match value {
        Value::Object(map) if map.iter().all(|(k, v)| k == "active" && v.is_boolean()) => Ok(()),
        _ => Err(Invalid::new(property, "must be {\"active\": true|false}")),
    }
}

/// Checks Auth0's presentation properties.
pub fn validate_presentation(p: &Presentation) -> Result<(), Invalid> {
    if let Some(name) = &p.display_name
        && (name.chars().count() > MAX_NAME_LEN || name.chars().any(char::is_control))
    {
        return Err(Invalid::new(
            "display_name",
            format!("must be at most {MAX_NAME_LEN} characters, no control characters"),
        ));
    }
    if let Some(metadata) = &p.metadata {
        if metadata.len() > MAX_METADATA {
            return Err(Invalid::new(
                "metadata",
                format!("at most {MAX_METADATA} properties"),
            ));
        }
        for (key, value) in metadata {
            let fits = |s: &str| s.chars().count() <= MAX_METADATA_TEXT;
            if !fits(key) || !value.as_str().is_some_and(fits) {
                return Err(Invalid::new(
                    "metadata",
                    format!(
                        "keys and values must be strings of at most {MAX_METADATA_TEXT} characters"
                    ),
                ));
            }
        }
    }
    if let Some(realms) = &p.realms {
        if realms.len() > MAX_REALMS {
            return Err(Invalid::new(
                "realms",
                format!("at most {MAX_REALMS} realms"),
            ));
        }
        for realm in realms {
            validate_name_of("realms", realm)?;
        }
    }
    if let Some(v) = &p.authentication {
        check_purpose("authentication", v)?;
    }
    if let Some(v) = &p.connected_accounts {
        check_purpose("connected_accounts", v)?;
    }
    Ok(())
}

fn apply_presentation(connection: &mut Connection, p: Presentation) {
    if let Some(v) = p.display_name {
        connection.display_name = Some(v);
    }
    if let Some(v) = p.metadata {
        connection.metadata = v;
    }
    if let Some(v) = p.realms {
        connection.realms = v;
    }
    if let Some(v) = p.is_domain_connection {
        connection.is_domain_connection = v;
    }
    if let Some(v) = p.show_as_button {
        connection.show_as_button = Some(v);
    }
    if let Some(v) = p.authentication {
        connection.authentication = Some(v);
    }
    if let Some(v) = p.connected_accounts {
        connection.connected_accounts = Some(v);
    }
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
    if super::upstream_options::is_upstream(&strategy) {
        super::upstream_options::check_required(&strategy, &options)?;
    }
    validate_presentation(&input.presentation)?;
    let enabled_clients = normalize_enabled_clients(input.enabled_clients.unwrap_or_default())?;
    let mut connection = Connection {
        realms: vec![name.clone()],
        id,
        name,
        strategy,
        options,
        enabled_clients,
        ..Default::default()
    };
    apply_presentation(&mut connection, input.presentation);
    Ok(connection)
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
    validate_presentation(&changes.presentation)?;
    let enabled = changes
        .enabled_clients
        .map(normalize_enabled_clients)
        .transpose()?;
    // Moving the provider (or the client it authenticates as) needs a new
    // client secret: the stored one must never go to a URL it was not given for.
    if let Some(options) = &changes.options
        && super::upstream_options::is_upstream(&connection.strategy)
    {
        super::upstream_options::check_secret_follows(&connection.options, options)?;
    }
    let options = changes.options.map(|mut options| {
        super::connection_options::keep_secrets(&connection.options, &mut options);
        options
    });
    // An upstream connection keeps what a login needs (the kept secret counts).
    if let Some(options) = &options
        && super::upstream_options::is_upstream(&connection.strategy)
    {
        super::upstream_options::check_required(&connection.strategy, options)?;
    }
    if let Some(options) = options {
        connection.options = options;
    }
    if let Some(enabled) = enabled {
        connection.enabled_clients = enabled;
    }
    apply_presentation(connection, changes.presentation);
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
                options: Some(json!({"brute_force_protection": "no"})),
                ..db("a")
            }),
            "options.brute_force_protection"
        );
        assert_eq!(
            bad(NewConnection {
                presentation: Presentation {
                    metadata: Some(json!({"k": 1}).as_object().unwrap().clone()),
                    ..Default::default()
                },
                ..db("a")
            }),
            "metadata"
        );
        assert_eq!(
            bad(NewConnection {
                presentation: Presentation {
                    authentication: Some(json!({"active": "yes"})),
                    ..Default::default()
                },
                ..db("a")
            }),
            "authentication"
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
            presentation: Presentation::default(),
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
                ..Default::default()
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
                ..Default::default()
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
