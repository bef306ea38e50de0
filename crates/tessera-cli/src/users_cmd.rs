//! `tessera users create|list`: users of database connections in the same
//! storage as the server, under the same rules as `POST /api/v2/users`
//! (`tessera_core::manage::users`, the connection's password policy, argon2id
//! hashes). No server needs to run. The password is read from standard input
//! only, so it never shows in shell history or the process list, and it is
//! never printed or logged.

use std::io::{IsTerminal, Read};

use tessera_core::manage::Invalid;
use tessera_core::manage::users::{
    self, CreateError, CreateUser, MAX_SEARCH_VALUE_LEN, NewDatabaseUser, UsernameRefused,
    normalize_email,
};
use tessera_core::model::User;
use tessera_core::password;
use tessera_core::store::{
    Page, StoreError, TenantStore, UserField, UserFilter, UserQuery, UserStore,
};
use tessera_core::types::Secret;
use tessera_core::{Clock, SystemClock};
use tessera_server::management::extract::timestamp;

use crate::settings::Settings;
use crate::startup::{Fail, Opened, db, print_table, with_store};

/// The database connection every installation starts with.
pub const DEFAULT_CONNECTION: &str = "Username-Password-Authentication";
/// Most bytes read from standard input for a password (the policy allows at
/// most 256 characters).
const MAX_PASSWORD_INPUT: usize = 4096;

/// The password piped on standard input. Refused when standard input is a
/// terminal: it would echo the password.
pub fn read_password_stdin() -> Result<Secret<String>, String> {
    let stdin = std::io::stdin();
    if stdin.is_terminal() {
        return Err(
            "standard input is a terminal; pipe the password in, for example: printf '%s' \"$PASSWORD\" | tessera users create --email ... --password-stdin"
                .into(),
        );
    }
    read_password(stdin.lock())
}

/// Everything up to the end of `input`, less one trailing line break (`echo`
/// and here-strings add one).
fn read_password(input: impl Read) -> Result<Secret<String>, String> {
    let mut raw = Vec::new();
    input
        .take(MAX_PASSWORD_INPUT as u64 + 1)
        .read_to_end(&mut raw)
        .map_err(|e| format!("cannot read standard input: {e}"))?;
    if raw.len() > MAX_PASSWORD_INPUT {
        return Err(format!(
            "standard input holds more than {MAX_PASSWORD_INPUT} bytes; pipe only the password"
        ));
    }
    if raw.last() == Some(&b'\n') {
        raw.pop();
        if raw.last() == Some(&b'\r') {
            raw.pop();
        }
    }
    if raw.is_empty() {
        return Err("standard input held no password".into());
    }
    String::from_utf8(raw)
        .map(Secret::new)
        .map_err(|_| "the password on standard input is not UTF-8".into())
}

/// The command-line flag for a property the shared validation names.
fn flag_of(property: &str) -> &'static str {
    match property {
        "email" => "--email",
        "connection" => "--connection",
        "name" => "--name",
        "given_name" => "--given-name",
        "family_name" => "--family-name",
        "password" => "--password-stdin",
        _ => "",
    }
}

fn invalid_user(invalid: &Invalid, connection: &str) -> Fail {
    if invalid.property == "password" {
        // The problem names the rule broken (e.g. "at least 8 characters").
        return Fail::Runtime(format!(
            "the password does not meet the password policy of connection {connection}: {}; nothing was created",
            invalid.problem
        ));
    }
    let flag = flag_of(&invalid.property);
    let property = if flag.is_empty() {
        invalid.property.clone()
    } else {
        format!("{} ({flag})", invalid.property)
    };
    Fail::Runtime(format!(
        "invalid user: {property}: {}; nothing was created",
        invalid.problem
    ))
}

fn already_exists(connection: &str, email: &str, existing: Option<&User>) -> Fail {
    Fail::Runtime(format!(
        "the connection {connection} already has a user with email {email}{}; nothing was changed",
        existing
            .map(|u| format!(" ({})", u.user_id))
            .unwrap_or_default()
    ))
}

/// argon2id, off the async runtime (as `/api/v2/users` does).
async fn hash_password(password: Secret<String>) -> Result<String, Fail> {
    tokio::task::spawn_blocking(move || password::hash(&password))
        .await
        .map_err(|e| Fail::Runtime(format!("password hashing task failed: {e}")))?
        .map_err(|e| Fail::Runtime(e.to_string()))
}

pub async fn create(settings: Settings, input: CreateUser, json: bool) -> Result<(), Fail> {
    let user = with_store(&settings, async |opened: &Opened| {
        create_in(opened, input).await
    })
    .await?;
    if json {
        println!("{}", to_json(&user));
    } else {
        println!(
            "created user {} (email {}, connection {}, email {})",
            user.user_id,
            user.email.as_deref().unwrap_or("-"),
            user.connection,
            if user.email_verified {
                "verified"
            } else {
                "not verified"
            }
        );
    }
    Ok(())
}

async fn create_in(opened: &Opened, input: CreateUser) -> Result<User, Fail> {
    let store = &opened.store;
    let connection = input.connection.clone().unwrap_or_default();
    let found = store
        .get_connection_by_name(&connection)
        .await
        .map_err(db)?;
    let NewDatabaseUser { user, password } =
        users::create(input, found.as_ref(), SystemClock.now()).map_err(|e| match e {
            CreateError::Invalid(e) => invalid_user(&e, &connection),
            CreateError::Username(UsernameRefused::Invalid(e)) => invalid_user(&e, &connection),
            CreateError::Username(e) => {
                Fail::Runtime(format!("invalid user: {e}; nothing was created"))
            }
            CreateError::Rng(e) => Fail::Runtime(e.to_string()),
        })?;
    let Some(email) = user.email.clone() else {
        return Err(Fail::Runtime("a new database user lacks an email".into()));
    };
    // Refuse a duplicate before paying for a hash; the unique index decides races.
    if let Some((existing, _)) = store
        .find_user_for_login(&user.connection, &email)
        .await
        .map_err(db)?
    {
        return Err(already_exists(&user.connection, &email, Some(&existing)));
    }
    let hash = hash_password(password).await?;
    match store.create_user(&user, Some(&hash)).await {
        Ok(()) => Ok(user),
        Err(StoreError::Conflict(_)) => Err(already_exists(&user.connection, &email, None)),
        Err(e) => Err(db(e)),
    }
}

/// The `--email` filter of `users list`: an address (checked and lower-cased
/// as the Management API does), or a pattern with `*` wildcards.
pub fn email_filter(value: &str) -> Result<String, String> {
    if value.contains('*') {
        if value.chars().count() > MAX_SEARCH_VALUE_LEN {
            return Err(format!("must be at most {MAX_SEARCH_VALUE_LEN} characters"));
        }
        if value.chars().any(|c| c.is_whitespace() || c.is_control()) {
            return Err("must not contain white space".into());
        }
        if value.chars().all(|c| c == '*') {
            return Err(
                "a pattern needs more than wildcards (omit --email to list every user)".into(),
            );
        }
        return Ok(value.to_lowercase());
    }
    normalize_email(value).map_err(|e| e.problem)
}

pub async fn list(
    settings: Settings,
    email: Option<String>,
    page: Page,
    json: bool,
) -> Result<(), Fail> {
    let query = UserQuery {
        filters: email
            .into_iter()
            .map(|pattern| UserFilter {
                field: UserField::Email,
                pattern,
            })
            .collect(),
        sort: None,
    };
    let (found, total) = with_store(&settings, async |opened: &Opened| {
        opened.store.list_users(&query, page).await.map_err(db)
    })
    .await?;
    if json {
        // Auth0's `include_totals=true` shape.
        println!(
            "{}",
            serde_json::json!({
                "start": page.offset(),
                "limit": page.per_page,
                "length": found.len(),
                "total": total,
                "users": found.iter().map(to_json).collect::<Vec<_>>(),
            })
        );
        return Ok(());
    }
    if found.is_empty() {
        if total > 0 {
            println!(
                "no users on page {} ({total} in all, {} per page)",
                page.page, page.per_page
            );
        } else {
            println!("no users");
        }
        return Ok(());
    }
    let header = [
        "USER_ID",
        "EMAIL",
        "VERIFIED",
        "CONNECTION",
        "NAME",
        "CREATED",
    ];
    let rows: Vec<Vec<String>> = found
        .iter()
        .map(|u| {
            vec![
                u.user_id.clone(),
                u.email.clone().unwrap_or_else(|| "-".into()),
                if u.email_verified { "yes" } else { "no" }.to_owned(),
                u.connection.clone(),
                u.name.clone().unwrap_or_else(|| "-".into()),
                timestamp(u.created_at),
            ]
        })
        .collect();
    print_table(&header, &rows);
    let first = page.offset() + 1;
    let last = page.offset() + found.len() as i64;
    println!(
        "users {first} to {last} of {total} (page {}, {} per page)",
        page.page, page.per_page
    );
    Ok(())
}

/// Auth0's user shape, as `/api/v2/users` answers: never a password or its
/// hash, and no upstream identity-provider tokens.
fn to_json(user: &User) -> serde_json::Value {
    let mut value = serde_json::json!({
        "user_id": user.user_id,
        "email_verified": user.email_verified,
        "user_metadata": user.user_metadata,
        "app_metadata": user.app_metadata,
        "blocked": user.blocked,
        "created_at": timestamp(user.created_at),
        "updated_at": timestamp(user.updated_at),
        "logins_count": user.logins_count,
        "identities": user.identities.iter().map(|i| serde_json::json!({
            "connection": i.connection,
            "user_id": i.user_id,
            "provider": i.provider,
            "isSocial": i.is_social,
        })).collect::<Vec<_>>(),
    });
    if let Some(object) = value.as_object_mut() {
        let optional = [
            ("email", user.email.clone()),
            ("name", user.name.clone()),
            ("given_name", user.given_name.clone()),
            ("family_name", user.family_name.clone()),
            ("nickname", user.nickname.clone()),
            ("picture", user.picture.clone()),
            ("username", user.username.clone()),
            ("phone_number", user.phone_number.clone()),
            ("last_login", user.last_login.map(timestamp)),
        ];
        for (key, v) in optional {
            if let Some(v) = v {
                object.insert(key.into(), v.into());
            }
        }
        if let Some(v) = user.phone_verified {
            object.insert("phone_verified".into(), v.into());
        }
    }
    value
}

#[cfg(test)]
mod tests {
    use super::*;

    fn read(bytes: &[u8]) -> Result<String, String> {
        read_password(bytes).map(|s| s.expose().clone())
    }

    #[test]
    fn one_trailing_line_break_is_dropped() {
        assert_eq!(read(b"hunter22").unwrap(), "hunter22");
        assert_eq!(read(b"hunter22\n").unwrap(), "hunter22");
        assert_eq!(read(b"hunter22\r\n").unwrap(), "hunter22");
        assert_eq!(read(b"hunter22\n\n").unwrap(), "hunter22\n");
        assert_eq!(read(b" spaced out ").unwrap(), " spaced out ");
    }

    #[test]
    fn empty_oversized_and_binary_input_is_refused() {
        assert!(read(b"").unwrap_err().contains("no password"));
        assert!(read(b"\n").unwrap_err().contains("no password"));
        assert!(read(&[b'x'; MAX_PASSWORD_INPUT]).is_ok());
        assert!(
            read(&[b'x'; MAX_PASSWORD_INPUT + 1])
                .unwrap_err()
                .contains("more than")
        );
        assert!(read(&[0xff, 0xfe, b'a']).unwrap_err().contains("UTF-8"));
    }

    #[test]
    fn email_filters() {
        assert_eq!(
            email_filter("Jane@Example.COM").unwrap(),
            "jane@example.com"
        );
        assert_eq!(email_filter("*@Example.com").unwrap(), "*@example.com");
        assert!(email_filter("jane").is_err());
        assert!(email_filter("**").is_err());
        assert!(email_filter("a *@x").is_err());
    }

    #[test]
    fn json_never_has_a_password() {
        let user = User {
            user_id: "auth0|0123456789abcdef01234567".into(),
            connection: DEFAULT_CONNECTION.into(),
            email: Some("jane@example.com".into()),
            email_verified: true,
            name: Some("Jane".into()),
            given_name: None,
            family_name: None,
            nickname: Some("jane".into()),
            picture: None,
            user_metadata: Default::default(),
            app_metadata: Default::default(),
            blocked: false,
            created_at: 0,
            updated_at: 0,
            last_login: None,
            logins_count: 0,
            username: None,
            phone_number: None,
            phone_verified: None,
            identities: vec![],
        };
        let v = to_json(&user);
        assert_eq!(v["email"], "jane@example.com");
        assert_eq!(v["created_at"], "1970-01-01T00:00:00.000Z");
        assert!(v.get("given_name").is_none() && v.get("last_login").is_none());
        for key in ["password", "password_hash"] {
            assert!(v.get(key).is_none());
        }
    }
}
