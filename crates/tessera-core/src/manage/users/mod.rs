//! Users: the `q` search syntax and `sort` of `GET /api/v2/users`
//! ([`search`]), the rules a user's properties obey ([`validate`]), and the
//! creation ([`create`]) and update ([`update`]) of database users, shared by
//! `/api/v2/users` and the operator CLI. Password hashing is left to the
//! caller (it is slow: run [`crate::password::hash`] off the async runtime).

use super::Invalid;
use crate::model::User;

mod create;
mod import;
mod search;
mod update;
mod validate;

pub use create::{CreateError, CreateUser, NewDatabaseUser, create, new_database_user_id};
pub use import::{RowRefused, parse_row, without_hashes};
pub use search::{MAX_SEARCH_TERMS, MAX_SEARCH_VALUE_LEN, parse_search, parse_sort};
pub use update::{UpdateUser, apply_changes, merge_metadata};
pub use validate::{
    DEFAULT_USERNAME_MAX, DEFAULT_USERNAME_MIN, MAX_EMAIL_LEN, MAX_EMAIL_LOCAL_LEN,
    MAX_FAMILY_NAME_LEN, MAX_GIVEN_NAME_LEN, MAX_NAME_LEN, MAX_NICKNAME_LEN, MAX_PHONE_DIGITS,
    MAX_PICTURE_LEN, MAX_USER_ID_LEN, MAX_USERNAME_LEN, USERNAME_NOT_ALLOWED, UsernameRefused,
    check_database_connection, check_metadata, check_password, check_phone_number, check_picture,
    check_signup_metadata, check_user_id, check_username, normalize_email, requires_username,
};

/// The strategy (and identity provider) of database connections.
pub const DATABASE_STRATEGY: &str = "auth0";

/// Is this a user of a database connection (one that has a password)?
pub fn is_database_user(user: &User) -> bool {
    user.identities
        .first()
        .is_some_and(|i| i.provider == DATABASE_STRATEGY)
}

#[cfg(test)]
mod fixtures {
    use super::create::CreateUser;
    use crate::model::Connection;
    use crate::types::Secret;
    use serde_json::json;

    pub(super) fn db_connection() -> Connection {
        Connection {
            id: "con_1".into(),
            name: "Username-Password-Authentication".into(),
            strategy: "auth0".into(),
            options: json!({"password_complexity_options": {"min_length": 10}}),
            enabled_clients: vec![],
            ..Default::default()
        }
    }

    pub(super) fn new_user() -> CreateUser {
        CreateUser {
            connection: Some("Username-Password-Authentication".into()),
            email: Some("Jane.Doe@Example.COM".into()),
            password: Some(Secret::new("correct horse battery".into())),
            ..Default::default()
        }
    }
}
