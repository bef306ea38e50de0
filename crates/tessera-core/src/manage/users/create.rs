//! Creating a database user: Auth0's defaults and a fresh id.

use serde_json::{Map, Value};

use super::validate::{check_database_connection, check_password, check_profile, normalize_email};
use super::{DATABASE_STRATEGY, Invalid};
use crate::clock::UnixTime;
use crate::ids::{self, RngError};
use crate::model::{Connection, Identity, User};
use crate::password::PasswordPolicy;

/// A database user's id: `auth0|` and 24 random lowercase hex characters (96
/// bits). Returns the user id and the hex part (the identity's `user_id`).
pub fn new_database_user_id() -> Result<(String, String), RngError> {
    let bytes = ids::random_bytes::<12>()?;
    let hex: String = bytes.iter().map(|b| format!("{b:02x}")).collect();
    Ok((format!("{DATABASE_STRATEGY}|{hex}"), hex))
}

/// What a caller asks for when creating a database user. `email` and
/// `password` are required; the connection is passed apart.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct NewUser {
    pub email: Option<String>,
    pub password: Option<String>,
    pub email_verified: Option<bool>,
    /// Defaults to the email.
    pub name: Option<String>,
    pub given_name: Option<String>,
    pub family_name: Option<String>,
    /// Defaults to the email's local part.
    pub nickname: Option<String>,
    pub picture: Option<String>,
    pub user_metadata: Option<Map<String, Value>>,
    pub app_metadata: Option<Map<String, Value>>,
    pub blocked: Option<bool>,
}

/// Why a user could not be built.
#[derive(Debug, thiserror::Error)]
pub enum CreateError {
    #[error(transparent)]
    Invalid(#[from] Invalid),
    #[error(transparent)]
    Rng(#[from] RngError),
}

/// A new user of the database connection `connection`, created at `now`, with
/// a fresh id and Auth0's defaults; the password is checked against the
/// connection's policy but not hashed (nor kept in the user). The first bad
/// property is reported.
pub fn create(connection: &Connection, input: NewUser, now: UnixTime) -> Result<User, CreateError> {
    check_database_connection(Some(&connection.name), Some(connection))?;
    let email = normalize_email(
        input
            .email
            .as_deref()
            .ok_or_else(|| Invalid::new("email", "Missing required property"))?,
    )?;
    let password = input
        .password
        .as_deref()
        .ok_or_else(|| Invalid::new("password", "Missing required property"))?;
    check_password(&PasswordPolicy::from_options(&connection.options), password)?;
    check_profile(
        input.name.as_deref(),
        input.given_name.as_deref(),
        input.family_name.as_deref(),
        input.nickname.as_deref(),
        input.picture.as_deref(),
        input.user_metadata.as_ref(),
        input.app_metadata.as_ref(),
    )?;
    let (user_id, hex) = new_database_user_id()?;
    let local = email.split('@').next().unwrap_or(&email).to_owned();
    Ok(User {
        user_id,
        connection: connection.name.clone(),
        name: Some(input.name.unwrap_or_else(|| email.clone())),
        nickname: Some(input.nickname.unwrap_or(local)),
        email: Some(email),
        email_verified: input.email_verified.unwrap_or(false),
        given_name: input.given_name,
        family_name: input.family_name,
        picture: input.picture,
        user_metadata: input.user_metadata.unwrap_or_default(),
        app_metadata: input.app_metadata.unwrap_or_default(),
        blocked: input.blocked.unwrap_or(false),
        created_at: now,
        updated_at: now,
        last_login: None,
        logins_count: 0,
        identities: vec![Identity {
            connection: connection.name.clone(),
            user_id: hex,
            provider: DATABASE_STRATEGY.into(),
            is_social: false,
        }],
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::manage::users::fixtures::{db_connection, new_user};
    use crate::manage::users::is_database_user;
    use serde_json::json;

    fn bad_property(input: NewUser) -> String {
        match create(&db_connection(), input, 100) {
            Err(CreateError::Invalid(e)) => e.property,
            other => panic!("expected Invalid, got {other:?}"),
        }
    }
    #[test]
    fn create_applies_auth0_defaults() {
        let user = create(&db_connection(), new_user(), 100).unwrap();
        assert_eq!(user.email.as_deref(), Some("jane.doe@example.com"));
        assert_eq!(user.name.as_deref(), Some("jane.doe@example.com"));
        assert_eq!(user.nickname.as_deref(), Some("jane.doe"));
        assert!(!user.email_verified && !user.blocked);
        assert_eq!(user.connection, "Username-Password-Authentication");
        let hex = user.user_id.strip_prefix("auth0|").unwrap();
        assert_eq!(hex.len(), 24);
        assert!(
            hex.bytes()
                .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
        );
        assert_eq!(
            user.identities,
            vec![Identity {
                connection: "Username-Password-Authentication".into(),
                user_id: hex.into(),
                provider: "auth0".into(),
                is_social: false,
            }]
        );
        assert_eq!((user.created_at, user.updated_at), (100, 100));
        assert!(is_database_user(&user));
        let other = create(&db_connection(), new_user(), 100).unwrap();
        assert_ne!(user.user_id, other.user_id);
    }

    #[test]
    fn create_names_each_bad_property() {
        assert_eq!(
            bad_property(NewUser {
                email: None,
                ..new_user()
            }),
            "email"
        );
        assert_eq!(
            bad_property(NewUser {
                email: Some("nope".into()),
                ..new_user()
            }),
            "email"
        );
        assert_eq!(
            bad_property(NewUser {
                password: None,
                ..new_user()
            }),
            "password"
        );
        // The connection asks for 10 characters.
        assert_eq!(
            bad_property(NewUser {
                password: Some("123456789".into()),
                ..new_user()
            }),
            "password"
        );
        assert_eq!(
            bad_property(NewUser {
                name: Some(String::new()),
                ..new_user()
            }),
            "name"
        );
        assert_eq!(
            bad_property(NewUser {
                given_name: Some("x".repeat(151)),
                ..new_user()
            }),
            "given_name"
        );
        assert_eq!(
            bad_property(NewUser {
                family_name: Some("x".repeat(151)),
                ..new_user()
            }),
            "family_name"
        );
        assert_eq!(
            bad_property(NewUser {
                nickname: Some("a\u{7}".into()),
                ..new_user()
            }),
            "nickname"
        );
        assert_eq!(
            bad_property(NewUser {
                picture: Some("javascript:alert(1)".into()),
                ..new_user()
            }),
            "picture"
        );
        assert_eq!(
            bad_property(NewUser {
                picture: Some("not a url".into()),
                ..new_user()
            }),
            "picture"
        );
        let meta = |v: Value| v.as_object().cloned();
        assert_eq!(
            bad_property(NewUser {
                user_metadata: meta(json!({"a": {"b.c": 1}})),
                ..new_user()
            }),
            "user_metadata"
        );
        assert_eq!(
            bad_property(NewUser {
                user_metadata: meta(json!({"a": [{"$x": 1}]})),
                ..new_user()
            }),
            "user_metadata"
        );
        assert_eq!(
            bad_property(NewUser {
                app_metadata: meta(json!({"email": "x"})),
                ..new_user()
            }),
            "app_metadata"
        );
        assert!(
            create(
                &db_connection(),
                NewUser {
                    user_metadata: meta(json!({"email": "x"})),
                    ..new_user()
                },
                1
            )
            .is_ok()
        );
        let social = Connection {
            strategy: "google-oauth2".into(),
            ..db_connection()
        };
        match create(&social, new_user(), 1) {
            Err(CreateError::Invalid(e)) => assert_eq!(e.property, "connection"),
            other => panic!("{other:?}"),
        }
    }
}
