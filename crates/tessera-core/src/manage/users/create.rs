//! Creating a database user: the body of `POST /api/v2/users` (and of
//! `tessera users create`), Auth0's defaults and a fresh id.

use serde::Deserialize;
use serde_json::{Map, Value};

use super::validate::{
    UsernameRefused, check_database_connection, check_password, check_phone_number, check_profile,
    check_user_id, check_username, normalize_email,
};
use super::{DATABASE_STRATEGY, Invalid};
use crate::clock::UnixTime;
use crate::ids::{self, RngError};
use crate::model::{Connection, Identity, User};
use crate::password::PasswordPolicy;
use crate::types::Secret;

/// A database user's id: `auth0|` and 24 random lowercase hex characters (96
/// bits). Returns the user id and the hex part (the identity's `user_id`).
pub fn new_database_user_id() -> Result<(String, String), RngError> {
    let hex = ids::hex_id()?;
    Ok((format!("{DATABASE_STRATEGY}|{hex}"), hex))
}

// The one definition of a user creation: the body of `POST /api/v2/users`,
// and what `tessera users create` and the hosted signup page ask for.
// `connection`, `email` and `password` are required; `create` names the first
// one missing. The password is a `Secret`: `Debug` never shows it, and a value
// that is not a string is refused without being echoed. (A plain comment: a
// doc comment would become the OpenAPI schema's description.)
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct CreateUser {
    /// The database connection's name (strategy `auth0`).
    #[cfg_attr(feature = "openapi", schema(required = true))]
    pub connection: Option<String>,
    /// Stored lower-cased; unique in the connection.
    #[cfg_attr(feature = "openapi", schema(required = true))]
    pub email: Option<String>,
    /// Checked against the connection's password policy.
    #[cfg_attr(
        feature = "openapi",
        schema(required = true, value_type = Option<String>, format = Password)
    )]
    pub password: Option<Secret<String>>,
    pub email_verified: Option<bool>,
    /// Accepted and ignored: Tessera sends no email.
    pub verify_email: Option<bool>,
    /// Defaults to the email.
    pub name: Option<String>,
    pub given_name: Option<String>,
    pub family_name: Option<String>,
    /// Defaults to the part of the email before `@`.
    pub nickname: Option<String>,
    /// An http(s) URL.
    pub picture: Option<String>,
    #[cfg_attr(feature = "openapi", schema(value_type = Option<Object>))]
    pub user_metadata: Option<Map<String, Value>>,
    #[cfg_attr(feature = "openapi", schema(value_type = Option<Object>))]
    pub app_metadata: Option<Map<String, Value>>,
    pub blocked: Option<bool>,
    /// The id in the connection: the user's id becomes `auth0|{user_id}`.
    /// 1 to 240 characters, without `|`, `/`, `\`, `?`, `#`, `%` or white
    /// space. Default: 24 random hex characters.
    pub user_id: Option<String>,
    /// Only for a connection with `options.requires_username`; stored
    /// lower-cased, unique in the connection (Auth0's characters and lengths).
    pub username: Option<String>,
    /// E.164: `+` and up to 15 digits. Stored and returned only.
    pub phone_number: Option<String>,
    /// Stored and returned only (default false when a phone number is given).
    pub phone_verified: Option<bool>,
}

/// Why a user could not be built.
#[derive(Debug, thiserror::Error)]
pub enum CreateError {
    #[error(transparent)]
    Invalid(#[from] Invalid),
    #[error(transparent)]
    Username(#[from] UsernameRefused),
    #[error(transparent)]
    Rng(#[from] RngError),
}

/// A user ready to be stored, and the password to hash for it (checked
/// against the connection's policy; never kept in the user).
#[derive(Debug)]
pub struct NewDatabaseUser {
    pub user: User,
    pub password: Secret<String>,
}

/// A new user of the database connection `input.connection` (`found` is what
/// the store holds under that name), created at `now`, with a fresh id and
/// Auth0's defaults. The first bad property is reported: the connection, the
/// email, the password (against the connection's policy), the profile, then
/// `user_id`, `username` and `phone_number`.
pub fn create(
    input: CreateUser,
    found: Option<&Connection>,
    now: UnixTime,
) -> Result<NewDatabaseUser, CreateError> {
    let CreateUser {
        connection,
        email,
        password,
        email_verified,
        // Tessera sends no email.
        verify_email: _,
        name,
        given_name,
        family_name,
        nickname,
        picture,
        user_metadata,
        app_metadata,
        blocked,
        user_id: given_id,
        username,
        phone_number,
        phone_verified,
    } = input;
    let connection = check_database_connection(connection.as_deref(), found)?;
    let email = normalize_email(
        email
            .as_deref()
            .ok_or_else(|| Invalid::new("email", "Missing required property"))?,
    )?;
    let password = password.ok_or_else(|| Invalid::new("password", "Missing required property"))?;
    check_password(
        &PasswordPolicy::from_options(&connection.options),
        &password,
    )?;
    check_profile(
        name.as_deref(),
        given_name.as_deref(),
        family_name.as_deref(),
        nickname.as_deref(),
        picture.as_deref(),
        user_metadata.as_ref(),
        app_metadata.as_ref(),
    )?;
    if let Some(id) = &given_id {
        check_user_id(id)?;
    }
    let username = username
        .as_deref()
        .map(|u| check_username(connection, u))
        .transpose()?;
    if let Some(phone) = &phone_number {
        check_phone_number(phone)?;
    }
    let phone_verified = match (&phone_number, phone_verified) {
        (_, Some(v)) => Some(v),
        (Some(_), None) => Some(false),
        (None, None) => None,
    };
    let (user_id, hex) = match given_id {
        Some(id) => (format!("{DATABASE_STRATEGY}|{id}"), id),
        None => new_database_user_id()?,
    };
    let local = email.split('@').next().unwrap_or(&email).to_owned();
    let user = User {
        user_id,
        connection: connection.name.clone(),
        name: Some(name.unwrap_or_else(|| email.clone())),
        nickname: Some(nickname.unwrap_or(local)),
        email: Some(email),
        email_verified: email_verified.unwrap_or(false),
        given_name,
        family_name,
        picture,
        username,
        phone_number,
        phone_verified,
        user_metadata: user_metadata.unwrap_or_default(),
        app_metadata: app_metadata.unwrap_or_default(),
        blocked: blocked.unwrap_or(false),
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
    };
    Ok(NewDatabaseUser { user, password })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::manage::users::fixtures::{db_connection, new_user};
    use crate::manage::users::is_database_user;
    use serde_json::json;

    fn bad_property(input: CreateUser) -> String {
        match create(input, Some(&db_connection()), 100) {
            Err(CreateError::Invalid(e)) => e.property,
            other => panic!("expected Invalid, got {other:?}"),
        }
    }

    #[test]
    fn create_applies_auth0_defaults() {
        let NewDatabaseUser { user, password } =
            create(new_user(), Some(&db_connection()), 100).unwrap();
        assert_eq!(password.expose(), "correct horse battery");
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
        let other = create(new_user(), Some(&db_connection()), 100).unwrap();
        assert_ne!(user.user_id, other.user.user_id);
    }

    #[test]
    fn create_names_each_bad_property() {
        assert_eq!(
            bad_property(CreateUser {
                connection: None,
                ..new_user()
            }),
            "connection"
        );
        match create(new_user(), None, 1) {
            Err(CreateError::Invalid(e)) => {
                assert_eq!(e.property, "connection");
                assert!(e.problem.contains("does not exist"), "{e}");
            }
            other => panic!("{other:?}"),
        }
        assert_eq!(
            bad_property(CreateUser {
                email: None,
                ..new_user()
            }),
            "email"
        );
        assert_eq!(
            bad_property(CreateUser {
                email: Some("nope".into()),
                ..new_user()
            }),
            "email"
        );
        assert_eq!(
            bad_property(CreateUser {
                password: None,
                ..new_user()
            }),
            "password"
        );
        // The connection asks for 10 characters.
        assert_eq!(
            bad_property(CreateUser {
                password: Some(Secret::new("123456789".into())),
                ..new_user()
            }),
            "password"
        );
        assert_eq!(
            bad_property(CreateUser {
                name: Some(String::new()),
                ..new_user()
            }),
            "name"
        );
        assert_eq!(
            bad_property(CreateUser {
                given_name: Some("x".repeat(151)),
                ..new_user()
            }),
            "given_name"
        );
        assert_eq!(
            bad_property(CreateUser {
                family_name: Some("x".repeat(151)),
                ..new_user()
            }),
            "family_name"
        );
        assert_eq!(
            bad_property(CreateUser {
                nickname: Some("a\u{7}".into()),
                ..new_user()
            }),
            "nickname"
        );
        assert_eq!(
            bad_property(CreateUser {
                picture: Some("javascript:alert(1)".into()),
                ..new_user()
            }),
            "picture"
        );
        assert_eq!(
            bad_property(CreateUser {
                picture: Some("not a url".into()),
                ..new_user()
            }),
            "picture"
        );
        let meta = |v: Value| v.as_object().cloned();
        assert_eq!(
            bad_property(CreateUser {
                user_metadata: meta(json!({"a": {"b.c": 1}})),
                ..new_user()
            }),
            "user_metadata"
        );
        assert_eq!(
            bad_property(CreateUser {
                user_metadata: meta(json!({"a": [{"$x": 1}]})),
                ..new_user()
            }),
            "user_metadata"
        );
        assert_eq!(
            bad_property(CreateUser {
                app_metadata: meta(json!({"email": "x"})),
                ..new_user()
            }),
            "app_metadata"
        );
        assert!(
            create(
                CreateUser {
                    user_metadata: meta(json!({"email": "x"})),
                    ..new_user()
                },
                Some(&db_connection()),
                1
            )
            .is_ok()
        );
        let social = Connection {
            strategy: "google-oauth2".into(),
            ..db_connection()
        };
        match create(new_user(), Some(&social), 1) {
            Err(CreateError::Invalid(e)) => assert_eq!(e.property, "connection"),
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn create_takes_the_id_username_and_phone() {
        let mut conn = db_connection();
        conn.options["requires_username"] = json!(true);
        let NewDatabaseUser { user, .. } = create(
            CreateUser {
                user_id: Some("legacy-42".into()),
                username: Some("Jane_D".into()),
                phone_number: Some("+15551234567".into()),
                ..new_user()
            },
            Some(&conn),
            1,
        )
        .unwrap();
        assert_eq!(user.user_id, "auth0|legacy-42");
        assert_eq!(user.identities[0].user_id, "legacy-42");
        assert_eq!(user.username.as_deref(), Some("jane_d"));
        assert_eq!(user.phone_number.as_deref(), Some("+15551234567"));
        assert_eq!(user.phone_verified, Some(false), "defaults with a number");
        let plain = create(new_user(), Some(&conn), 1).unwrap().user;
        assert_eq!(
            (plain.username, plain.phone_number, plain.phone_verified),
            (None, None, None)
        );
        // Refusals, each naming its property.
        let bad = |input: CreateUser, conn: &Connection| match create(input, Some(conn), 1) {
            Err(CreateError::Invalid(e)) => e.property,
            Err(CreateError::Username(UsernameRefused::Invalid(e))) => e.property,
            other => panic!("{other:?}"),
        };
        let with_id = |id: &str| CreateUser {
            user_id: Some(id.into()),
            ..new_user()
        };
        assert_eq!(bad(with_id("a|b"), &conn), "user_id");
        assert_eq!(bad(with_id("a/b"), &conn), "user_id");
        assert_eq!(bad(with_id(&"x".repeat(241)), &conn), "user_id");
        let with_phone = CreateUser {
            phone_number: Some("555-1234".into()),
            ..new_user()
        };
        assert_eq!(bad(with_phone, &conn), "phone_number");
        let with_name = |u: &str| CreateUser {
            username: Some(u.into()),
            ..new_user()
        };
        assert_eq!(bad(with_name("no spaces"), &conn), "username");
        match create(with_name("jane"), Some(&db_connection()), 1) {
            Err(CreateError::Username(UsernameRefused::NotRequired)) => {}
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn the_body_is_auth0s_and_never_shows_the_password() {
        let body: CreateUser = serde_json::from_value(json!({
            "connection": "Username-Password-Authentication",
            "email": "jane@example.com",
            "password": "s3cret-pw-value",
            "verify_email": true,
        }))
        .unwrap();
        assert_eq!(body.password.as_ref().unwrap().expose(), "s3cret-pw-value");
        let shown = format!("{body:?}");
        assert!(!shown.contains("s3cret"), "{shown}");
        assert!(shown.contains("jane@example.com"), "{shown}");
        let created = create(body, Some(&db_connection()), 1).unwrap();
        assert!(!format!("{created:?}").contains("s3cret"));
        // A password of another type is refused without being echoed.
        let e = serde_json::from_value::<CreateUser>(json!({"password": 12345678})).unwrap_err();
        assert!(e.to_string().starts_with("must be a string"), "{e}");
        assert!(!e.to_string().contains("12345678"), "{e}");
        let e = serde_json::from_value::<CreateUser>(json!({"bogus": 1})).unwrap_err();
        assert!(e.to_string().contains("unknown field `bogus`"), "{e}");
    }
}
