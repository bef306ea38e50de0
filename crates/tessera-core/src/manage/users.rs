//! Users: the `q` search syntax and `sort` of `GET /api/v2/users`, and the
//! creation and update rules of database users, shared by `/api/v2/users` and
//! the operator CLI. Password hashing is left to the caller (it is slow: run
//! [`crate::password::hash`] off the async runtime).

use serde_json::{Map, Value};

use super::Invalid;
use crate::clock::UnixTime;
use crate::ids::{self, RngError};
use crate::model::{Connection, Identity, User};
use crate::password::PasswordPolicy;
use crate::store::{UserField, UserFilter};

/// The strategy (and identity provider) of database connections.
pub const DATABASE_STRATEGY: &str = "auth0";
/// At most this many `field:value` terms in one search.
pub const MAX_SEARCH_TERMS: usize = 16;
/// The longest value of one search term.
pub const MAX_SEARCH_VALUE_LEN: usize = 512;
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

// ---------------------------------------------------------------------------
// Search

fn bad_query(problem: impl Into<String>) -> Invalid {
    Invalid::new("q", problem)
}

/// Parses the subset of Auth0's (Lucene) user search syntax Tessera supports:
/// `field:value` and `field:"quoted value"` terms joined by white space or
/// `AND` (`&&`), all of which must match. `*` in a value is a wildcard (zero or
/// more characters) whether quoted or not; `\` escapes the next character.
/// Fields are those of [`UserField::parse`] that are [`UserField::searchable`].
/// Anything else (`OR`, `NOT`, `-`/`+` prefixes, grouping, ranges, `?`, fuzzy
/// and proximity operators, terms without a field) is refused with the reason.
/// An empty or blank query has no terms.
pub fn parse_search(q: &str) -> Result<Vec<UserFilter>, Invalid> {
    let chars: Vec<char> = q.chars().collect();
    let mut i = 0;
    let mut filters = Vec::new();
    // After a term an `AND` may follow; after an `AND` a term must.
    let mut pending_and = false;
    loop {
        while i < chars.len() && chars[i].is_whitespace() {
            i += 1;
        }
        if i >= chars.len() {
            break;
        }
        let start = i;
        // A field name, an operator, or a bare word.
        while i < chars.len() && !chars[i].is_whitespace() && chars[i] != ':' {
            i += 1;
        }
        let word: String = chars[start..i].iter().collect();
        if i >= chars.len() || chars[i] != ':' {
            match word.as_str() {
                "AND" | "&&" => {
                    if filters.is_empty() || pending_and {
                        return Err(bad_query("AND must join two field:value terms"));
                    }
                    pending_and = true;
                    continue;
                }
                "OR" | "||" => {
                    return Err(bad_query(
                        "OR is not supported: every term must match (use several requests)",
                    ));
                }
                "NOT" | "!" => return Err(bad_query("NOT is not supported")),
                _ => {
                    return Err(bad_query(format!(
                        "'{word}' has no field: write terms as field:value (for example email:\"jane@example.com\")"
                    )));
                }
            }
        }
        // `word` is the field.
        if let Some(first) = word.chars().next() {
            match first {
                '-' | '!' => return Err(bad_query("NOT (a leading - or !) is not supported")),
                '+' => {
                    return Err(bad_query(
                        "a leading + is not supported: every term must match already",
                    ));
                }
                '(' => return Err(bad_query("grouping with parentheses is not supported")),
                _ => {}
            }
        }
        if word.is_empty() {
            return Err(bad_query("a term has no field before ':'"));
        }
        let field = UserField::parse(&word).ok_or_else(|| {
            bad_query(format!(
                "field '{word}' is not supported; search by user_id, email, name, given_name, family_name, nickname or connection"
            ))
        })?;
        if !field.searchable() {
            return Err(bad_query(format!(
                "field '{word}' cannot be searched (only sorted by); search by user_id, email, name, given_name, family_name, nickname or connection"
            )));
        }
        i += 1; // the ':'
        let value = if i < chars.len() && chars[i] == '"' {
            quoted_value(&chars, &mut i, &word)?
        } else {
            bare_value(&chars, &mut i, &word)?
        };
        if value.is_empty() {
            return Err(bad_query(format!("field '{word}' has an empty value")));
        }
        if value.chars().count() > MAX_SEARCH_VALUE_LEN {
            return Err(bad_query(format!(
                "the value of '{word}' is longer than {MAX_SEARCH_VALUE_LEN} characters"
            )));
        }
        if filters.len() == MAX_SEARCH_TERMS {
            return Err(bad_query(format!(
                "at most {MAX_SEARCH_TERMS} terms are supported"
            )));
        }
        filters.push(UserFilter {
            field,
            pattern: value,
        });
        pending_and = false;
    }
    if pending_and {
        return Err(bad_query("AND must join two field:value terms"));
    }
    Ok(filters)
}

/// `"..."` starting at `chars[*i]`; leaves `*i` after the closing quote, which
/// must end the term.
fn quoted_value(chars: &[char], i: &mut usize, field: &str) -> Result<String, Invalid> {
    *i += 1; // the opening quote
    let mut value = String::new();
    loop {
        let Some(&c) = chars.get(*i) else {
            return Err(bad_query(format!(
                "the quoted value of '{field}' has no closing quote"
            )));
        };
        *i += 1;
        match c {
            '"' => break,
            '\\' => value.push(escaped(chars, i, field)?),
            c => value.push(c),
        }
    }
    match chars.get(*i) {
        None => Ok(value),
        Some(c) if c.is_whitespace() => Ok(value),
        Some('~') => Err(bad_query(
            "proximity searches (\"...\"~N) are not supported",
        )),
        Some('^') => Err(bad_query("boosting (^) is not supported")),
        Some(_) => Err(bad_query(format!(
            "the quoted value of '{field}' must be followed by a space or the end of the query"
        ))),
    }
}

/// An unquoted value: up to the next white space.
fn bare_value(chars: &[char], i: &mut usize, field: &str) -> Result<String, Invalid> {
    let mut value = String::new();
    if matches!(chars.get(*i), Some('[' | '{')) {
        return Err(bad_query(format!(
            "range queries are not supported (field '{field}')"
        )));
    }
    while let Some(&c) = chars.get(*i) {
        if c.is_whitespace() {
            break;
        }
        *i += 1;
        match c {
            '\\' => value.push(escaped(chars, i, field)?),
            '?' => {
                return Err(bad_query(
                    "the ? wildcard is not supported: use * (zero or more characters)",
                ));
            }
            '~' => return Err(bad_query("fuzzy searches (~) are not supported")),
            '^' => return Err(bad_query("boosting (^) is not supported")),
            '(' | ')' => return Err(bad_query("grouping with parentheses is not supported")),
            '[' | ']' | '{' | '}' => {
                return Err(bad_query(format!(
                    "range queries are not supported (field '{field}')"
                )));
            }
            '"' => {
                return Err(bad_query(format!(
                    "a quote inside the value of '{field}': quote the whole value"
                )));
            }
            ':' => {
                return Err(bad_query(format!(
                    "a ':' inside the value of '{field}': quote the value or escape it as \\:"
                )));
            }
            c => value.push(c),
        }
    }
    Ok(value)
}

/// The character after a `\` (already consumed).
fn escaped(chars: &[char], i: &mut usize, field: &str) -> Result<char, Invalid> {
    match chars.get(*i) {
        None => Err(bad_query(format!(
            "the value of '{field}' ends with a lone backslash"
        ))),
        Some('*') => Err(bad_query(
            "an escaped \\* (a literal asterisk) cannot be searched for",
        )),
        Some(&c) => {
            *i += 1;
            Ok(c)
        }
    }
}

/// `field:1` (ascending) or `field:-1` (descending); any field of
/// [`UserField::parse`].
pub fn parse_sort(sort: &str) -> Result<(UserField, bool), Invalid> {
    let bad = || {
        Invalid::new(
            "sort",
            "must be field:1 (ascending) or field:-1 (descending), for example created_at:1",
        )
    };
    let (name, order) = sort.split_once(':').ok_or_else(bad)?;
    let ascending = match order {
        "1" => true,
        "-1" => false,
        _ => return Err(bad()),
    };
    let field = UserField::parse(name)
        .ok_or_else(|| Invalid::new("sort", format!("users cannot be sorted by '{name}'")))?;
    Ok((field, ascending))
}

// ---------------------------------------------------------------------------
// Validation

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
pub fn check_password(policy: &PasswordPolicy, password: &str) -> Result<(), Invalid> {
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

/// Auth0's metadata update: top-level keys of `patch` replace those of
/// `metadata` (nested objects are replaced whole); a key set to `null` is
/// removed; an empty `patch` removes everything.
pub fn merge_metadata(metadata: &mut Map<String, Value>, patch: Map<String, Value>) {
    if patch.is_empty() {
        metadata.clear();
        return;
    }
    for (key, value) in patch {
        if value.is_null() {
            metadata.remove(&key);
        } else {
            metadata.insert(key, value);
        }
    }
}

// ---------------------------------------------------------------------------
// Creation

/// `connection` names an existing database connection (strategy `auth0`).
/// `found` is what the store holds under that name.
pub fn check_database_connection(
    name: Option<&str>,
    found: Option<&Connection>,
) -> Result<(), Invalid> {
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
        Some(_) => Ok(()),
    }
}

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

/// Checks the profile fields shared by creation and update.
fn check_profile(
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

// ---------------------------------------------------------------------------
// Update

/// Changes to an existing user; `None` keeps the stored value. Metadata is
/// merged (see [`merge_metadata`]). A new password is checked apart, with
/// [`check_password`], because only database users have one.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct UserChanges {
    pub email: Option<String>,
    pub email_verified: Option<bool>,
    pub name: Option<String>,
    pub given_name: Option<String>,
    pub family_name: Option<String>,
    pub nickname: Option<String>,
    pub picture: Option<String>,
    pub user_metadata: Option<Map<String, Value>>,
    pub app_metadata: Option<Map<String, Value>>,
    pub blocked: Option<bool>,
}

impl UserChanges {
    /// Does this change anything besides `app_metadata`? (A caller holding
    /// only `update:users_app_metadata` may change nothing else.)
    pub fn touches_more_than_app_metadata(&self) -> bool {
        let Self {
            email,
            email_verified,
            name,
            given_name,
            family_name,
            nickname,
            picture,
            user_metadata,
            app_metadata: _,
            blocked,
        } = self;
        email.is_some()
            || email_verified.is_some()
            || name.is_some()
            || given_name.is_some()
            || family_name.is_some()
            || nickname.is_some()
            || picture.is_some()
            || user_metadata.is_some()
            || blocked.is_some()
    }

    /// Does this change, with a new password or not, end the user's sessions?
    /// A new password or a block does: what the old credentials opened (SSO
    /// sessions, refresh-token families and their access tokens) must not
    /// outlive them.
    pub fn ends_sessions(&self, new_password: bool) -> bool {
        new_password || self.blocked == Some(true)
    }
}

/// Is this a user of a database connection (one that has a password)?
pub fn is_database_user(user: &User) -> bool {
    user.identities
        .first()
        .is_some_and(|i| i.provider == DATABASE_STRATEGY)
}

/// Applies `changes` to `user` at `now`, or leaves it untouched and names the
/// first bad property. A new email clears `email_verified` unless the change
/// sets it too (as Auth0 does). Whether the new email is free is the store's
/// rule.
pub fn apply_changes(user: &mut User, changes: UserChanges, now: UnixTime) -> Result<(), Invalid> {
    let email = changes.email.as_deref().map(normalize_email).transpose()?;
    check_profile(
        changes.name.as_deref(),
        changes.given_name.as_deref(),
        changes.family_name.as_deref(),
        changes.nickname.as_deref(),
        changes.picture.as_deref(),
        changes.user_metadata.as_ref(),
        changes.app_metadata.as_ref(),
    )?;
    if let Some(email) = email
        && user.email.as_deref() != Some(email.as_str())
    {
        user.email = Some(email);
        user.email_verified = false;
    }
    if let Some(v) = changes.email_verified {
        user.email_verified = v;
    }
    if let Some(v) = changes.name {
        user.name = Some(v);
    }
    if let Some(v) = changes.given_name {
        user.given_name = Some(v);
    }
    if let Some(v) = changes.family_name {
        user.family_name = Some(v);
    }
    if let Some(v) = changes.nickname {
        user.nickname = Some(v);
    }
    if let Some(v) = changes.picture {
        user.picture = Some(v);
    }
    if let Some(patch) = changes.user_metadata {
        merge_metadata(&mut user.user_metadata, patch);
    }
    if let Some(patch) = changes.app_metadata {
        merge_metadata(&mut user.app_metadata, patch);
    }
    if let Some(v) = changes.blocked {
        user.blocked = v;
    }
    user.updated_at = now;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn filter(field: UserField, pattern: &str) -> UserFilter {
        UserFilter {
            field,
            pattern: pattern.into(),
        }
    }

    fn db_connection() -> Connection {
        Connection {
            id: "con_1".into(),
            name: "Username-Password-Authentication".into(),
            strategy: "auth0".into(),
            options: json!({"password_complexity_options": {"min_length": 10}}),
            enabled_clients: vec![],
        }
    }

    fn new_user() -> NewUser {
        NewUser {
            email: Some("Jane.Doe@Example.COM".into()),
            password: Some("correct horse battery".into()),
            ..Default::default()
        }
    }

    fn bad_property(input: NewUser) -> String {
        match create(&db_connection(), input, 100) {
            Err(CreateError::Invalid(e)) => e.property,
            other => panic!("expected Invalid, got {other:?}"),
        }
    }

    #[test]
    fn search_terms_parse() {
        assert_eq!(parse_search("").unwrap(), vec![]);
        assert_eq!(parse_search("   ").unwrap(), vec![]);
        assert_eq!(
            parse_search("email:\"a@b.c\"").unwrap(),
            vec![filter(UserField::Email, "a@b.c")]
        );
        assert_eq!(
            parse_search("email:a@b.c").unwrap(),
            vec![filter(UserField::Email, "a@b.c")]
        );
        assert_eq!(
            parse_search("name:\"John Doe\" AND email:*@example.com nickname:jo\\:hn").unwrap(),
            vec![
                filter(UserField::Name, "John Doe"),
                filter(UserField::Email, "*@example.com"),
                filter(UserField::Nickname, "jo:hn"),
            ]
        );
        assert_eq!(
            parse_search(
                "identities.connection:\"Username-Password-Authentication\" && user_id:auth0|abc"
            )
            .unwrap(),
            vec![
                filter(UserField::Connection, "Username-Password-Authentication"),
                filter(UserField::UserId, "auth0|abc"),
            ]
        );
        assert_eq!(
            parse_search("name:\"say \\\"hi\\\"\"").unwrap(),
            vec![filter(UserField::Name, "say \"hi\"")]
        );
    }

    #[test]
    fn unsupported_search_says_what() {
        let problem = |q: &str| {
            let e = parse_search(q).unwrap_err();
            assert_eq!(e.property, "q");
            e.problem
        };
        assert!(problem("john").contains("has no field"));
        assert!(problem("email:a OR email:b").contains("OR"));
        assert!(problem("NOT email:a").contains("NOT"));
        assert!(problem("-email:a").contains("NOT"));
        assert!(problem("+email:a").contains("+"));
        assert!(problem("(email:a)").contains("parentheses"));
        assert!(problem("email:(a b)").contains("parentheses"));
        assert!(problem("logins_count:[1 TO 5]").contains("cannot be searched"));
        assert!(problem("name:[a TO b]").contains("range"));
        assert!(problem("name:jo?n").contains("?"));
        assert!(problem("name:john~").contains("fuzzy"));
        assert!(problem("name:\"john doe\"~2").contains("proximity"));
        assert!(problem("name:\"john").contains("closing quote"));
        assert!(problem("name:").contains("empty"));
        assert!(problem("name:\"\"").contains("empty"));
        assert!(problem("phone:1").contains("not supported"));
        assert!(problem(":x").contains("no field"));
        assert!(problem("AND email:a").contains("AND"));
        assert!(problem("email:a AND").contains("AND"));
        assert!(problem("email:a AND AND email:b").contains("AND"));
        assert!(problem("name:a:b").contains("':'"));
        assert!(problem("name:\\*").contains("literal asterisk"));
        assert!(problem("name:ab\\").contains("backslash"));
        let many = vec!["name:x"; MAX_SEARCH_TERMS + 1].join(" ");
        assert!(problem(&many).contains("at most"));
        assert!(
            problem(&format!("name:{}", "x".repeat(MAX_SEARCH_VALUE_LEN + 1))).contains("longer")
        );
        // Never a panic, whatever the input.
        for q in [
            "\"",
            "\\",
            ":",
            "::",
            "a:\"\\",
            "é:é",
            "name:\u{0}",
            "\u{3000}name:x",
        ] {
            let _ = parse_search(q);
        }
    }

    #[test]
    fn sort_parses() {
        assert_eq!(
            parse_sort("created_at:1").unwrap(),
            (UserField::CreatedAt, true)
        );
        assert_eq!(parse_sort("email:-1").unwrap(), (UserField::Email, false));
        for bad in ["email", "email:0", "email:asc", "password:1", ":1", ""] {
            assert_eq!(parse_sort(bad).unwrap_err().property, "sort", "{bad}");
        }
    }

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

    #[test]
    fn changes_merge_metadata_and_reset_verification() {
        let mut user = create(
            &db_connection(),
            NewUser {
                email_verified: Some(true),
                user_metadata: json!({"keep": 1, "drop": 2}).as_object().cloned(),
                ..new_user()
            },
            100,
        )
        .unwrap();
        let before = user.clone();
        let err = apply_changes(
            &mut user,
            UserChanges {
                name: Some("Jane".into()),
                picture: Some("ftp://x".into()),
                ..Default::default()
            },
            200,
        )
        .unwrap_err();
        assert_eq!(err.property, "picture");
        assert_eq!(user, before, "a bad change changes nothing");

        // The same email (any case) keeps the verification.
        apply_changes(
            &mut user,
            UserChanges {
                email: Some("JANE.DOE@example.com".into()),
                ..Default::default()
            },
            150,
        )
        .unwrap();
        assert!(user.email_verified);

        apply_changes(
            &mut user,
            UserChanges {
                email: Some("New@Example.com".into()),
                user_metadata: json!({"drop": null, "add": [1]}).as_object().cloned(),
                blocked: Some(true),
                ..Default::default()
            },
            200,
        )
        .unwrap();
        assert_eq!(user.email.as_deref(), Some("new@example.com"));
        assert!(!user.email_verified);
        assert_eq!(
            Value::Object(user.user_metadata.clone()),
            json!({"keep": 1, "add": [1]})
        );
        assert!(user.blocked);
        assert_eq!(user.updated_at, 200);
        apply_changes(
            &mut user,
            UserChanges {
                user_metadata: Some(Map::new()),
                ..Default::default()
            },
            200,
        )
        .unwrap();
        assert!(user.user_metadata.is_empty(), "an empty object clears it");
        assert_eq!(user.created_at, 100);

        apply_changes(
            &mut user,
            UserChanges {
                email: Some("other@example.com".into()),
                email_verified: Some(true),
                ..Default::default()
            },
            300,
        )
        .unwrap();
        assert!(user.email_verified);
    }

    #[test]
    fn app_metadata_only_changes_are_recognised() {
        let only = UserChanges {
            app_metadata: Some(Map::new()),
            ..Default::default()
        };
        assert!(!only.touches_more_than_app_metadata());
        assert!(!UserChanges::default().touches_more_than_app_metadata());
        let more = UserChanges {
            name: Some("x".into()),
            ..only
        };
        assert!(more.touches_more_than_app_metadata());
    }
}
