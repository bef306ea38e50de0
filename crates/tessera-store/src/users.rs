use async_trait::async_trait;
use sqlx::Row;
use sqlx::any::AnyRow;
use tessera_core::clock::UnixTime;
use tessera_core::extensibility::apply_metadata;
use tessera_core::model::User;
use tessera_core::store::{Page, StoreError, UserField, UserQuery, UserStore};

use crate::{SqlStore, from_json, in_tx, json_text, map_err};

pub(crate) const COLUMNS: &str = "doc, created_at, updated_at, last_login, logins_count";

pub(crate) fn decode(row: &AnyRow) -> Result<User, StoreError> {
    decode_prefixed(row, "")
}

/// [`decode`] of the columns named `{prefix}doc`, ... (a join's aliases).
pub(crate) fn decode_prefixed(row: &AnyRow, prefix: &str) -> Result<User, StoreError> {
    let get = |e: sqlx::Error| StoreError::Corrupt(e.to_string());
    let col = |name: &str| format!("{prefix}{name}");
    let mut user: User = from_json(&row.try_get::<String, _>(col("doc").as_str()).map_err(get)?)?;
    // Columns that change without a rewrite of the document win.
    user.created_at = row.try_get(col("created_at").as_str()).map_err(get)?;
    user.updated_at = row.try_get(col("updated_at").as_str()).map_err(get)?;
    user.last_login = row.try_get(col("last_login").as_str()).map_err(get)?;
    user.logins_count = row.try_get(col("logins_count").as_str()).map_err(get)?;
    Ok(user)
}

/// Rows that are users of their own: not identities linked to another user
/// (`identity_links.rs`).
const NOT_LINKED: &str = "linked_to IS NULL";

/// A user's row (binds: [`bind_new_user`]). Its `tokens_valid_after` is the
/// second before its creation: access tokens naming a deleted user of the
/// same id (issued before this one existed) are refused.
pub(crate) const INSERT_USER: &str = "INSERT INTO users (user_id, connection, email, name, given_name, family_name, nickname, doc, password_hash, \
     created_at, updated_at, last_login, logins_count, email_key, tokens_valid_after) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15)";

/// The column that makes an email unique in its connection: the lower-cased
/// email, but NULL for users of upstream providers (`oidc|`, `oauth2|`),
/// whose email is the provider's word and must never block another user.
pub(crate) fn email_key(user: &User) -> Option<String> {
    if user.user_id.starts_with("oidc|") || user.user_id.starts_with("oauth2|") {
        None
    } else {
        lower(&user.email)
    }
}

pub(crate) fn bind_new_user<'q>(
    q: sqlx::query::Query<'q, sqlx::Any, sqlx::any::AnyArguments<'q>>,
    user: &'q User,
    password_hash: Option<&'q str>,
) -> Result<sqlx::query::Query<'q, sqlx::Any, sqlx::any::AnyArguments<'q>>, StoreError> {
    Ok(q.bind(&user.user_id)
        .bind(&user.connection)
        .bind(lower(&user.email))
        .bind(&user.name)
        .bind(&user.given_name)
        .bind(&user.family_name)
        .bind(&user.nickname)
        .bind(json_text(user)?)
        .bind(password_hash)
        .bind(user.created_at)
        .bind(user.updated_at)
        .bind(user.last_login)
        .bind(user.logins_count)
        .bind(email_key(user))
        .bind(user.created_at.saturating_sub(1)))
}

fn lower(s: &Option<String>) -> Option<String> {
    s.as_ref().map(|v| v.to_lowercase())
}

/// `*` is the wildcard; SQL's own wildcards are escaped.
fn like_pattern(pattern: &str) -> String {
    let mut out = String::with_capacity(pattern.len() + 4);
    for c in pattern.to_lowercase().chars() {
        match c {
            '\\' | '%' | '_' => {
                out.push('\\');
                out.push(c);
            }
            '*' => out.push('%'),
            c => out.push(c),
        }
    }
    out
}

/// The expression a filter compares: emails and usernames are stored
/// lower-cased (so the index serves), other text is lower-cased here, numbers
/// are compared as text.
fn filter_expr(field: UserField) -> String {
    let col = field.column();
    if matches!(field, UserField::Email | UserField::Username) {
        col.to_owned()
    } else if field.searchable() {
        format!("LOWER({col})")
    } else {
        format!("CAST({col} AS TEXT)")
    }
}

/// Sorted by `field`, missing values last in both directions (SQLite and
/// PostgreSQL disagree by default), then by user id.
fn order_clause(sort: Option<(UserField, bool)>) -> String {
    match sort {
        Some((field, asc)) => {
            let col = field.column();
            format!(
                "CASE WHEN {col} IS NULL THEN 1 ELSE 0 END, {col} {}, user_id",
                if asc { "ASC" } else { "DESC" }
            )
        }
        None => "created_at ASC, user_id".into(),
    }
}

fn where_clause(query: &UserQuery, first_param: usize) -> (String, Vec<String>) {
    let mut clauses = Vec::new();
    let mut binds = Vec::new();
    for (i, f) in query.filters.iter().enumerate() {
        let col = filter_expr(f.field);
        let n = first_param + i;
        if f.pattern.contains('*') {
            clauses.push(format!("{col} LIKE ${n} ESCAPE '\\'"));
            binds.push(like_pattern(&f.pattern));
        } else {
            clauses.push(format!("{col} = ${n}"));
            binds.push(f.pattern.to_lowercase());
        }
    }
    if clauses.is_empty() {
        (String::new(), binds)
    } else {
        (format!(" WHERE {}", clauses.join(" AND ")), binds)
    }
}

#[async_trait]
impl UserStore for SqlStore {
    async fn create_user(
        &self,
        user: &User,
        password_hash: Option<&str>,
    ) -> Result<(), StoreError> {
        bind_new_user(sqlx::query(INSERT_USER), user, password_hash)?
            .execute(&self.pool)
            .await
            .map_err(map_err)?;
        Ok(())
    }

    async fn get_user(&self, user_id: &str) -> Result<Option<User>, StoreError> {
        let row = sqlx::query(&format!(
            "SELECT {COLUMNS} FROM users WHERE user_id = $1 AND {NOT_LINKED}"
        ))
        .bind(user_id)
        .fetch_optional(&self.pool)
        .await
        .map_err(map_err)?;
        row.as_ref().map(decode).transpose()
    }

    async fn find_user_for_login(
        &self,
        connection: &str,
        email: &str,
    ) -> Result<Option<(User, Option<String>)>, StoreError> {
        let row = sqlx::query(&format!(
            "SELECT {COLUMNS}, password_hash FROM users WHERE connection = $1 AND email = $2"
        ))
        .bind(connection)
        .bind(email.to_lowercase())
        .fetch_optional(&self.pool)
        .await
        .map_err(map_err)?;
        let Some(row) = row else { return Ok(None) };
        let hash: Option<String> = row
            .try_get("password_hash")
            .map_err(|e| StoreError::Corrupt(e.to_string()))?;
        Ok(Some((decode(&row)?, hash)))
    }

    async fn list_users(
        &self,
        query: &UserQuery,
        page: Page,
    ) -> Result<(Vec<User>, i64), StoreError> {
        let (filter, binds) = where_clause(query, 1);
        let filter = if filter.is_empty() {
            format!(" WHERE {NOT_LINKED}")
        } else {
            format!("{filter} AND {NOT_LINKED}")
        };
        let count_sql = format!("SELECT COUNT(*) FROM users{filter}");
        let mut count = sqlx::query(&count_sql).persistent(false);
        for b in &binds {
            count = count.bind(b.clone());
        }
        let total: i64 = count
            .fetch_one(&self.pool)
            .await
            .map_err(map_err)?
            .try_get(0)
            .map_err(map_err)?;
        let order = order_clause(query.sort);
        let n = binds.len();
        let sql = format!(
            "SELECT {COLUMNS} FROM users{filter} ORDER BY {order} LIMIT ${} OFFSET ${}",
            n + 1,
            n + 2
        );
        let mut q = sqlx::query(&sql).persistent(false);
        for b in &binds {
            q = q.bind(b.clone());
        }
        let rows = q
            .bind(page.per_page)
            .bind(page.offset())
            .fetch_all(&self.pool)
            .await
            .map_err(map_err)?;
        Ok((rows.iter().map(decode).collect::<Result<_, _>>()?, total))
    }

    async fn users_by_email(&self, email: &str) -> Result<Vec<User>, StoreError> {
        let rows = sqlx::query(&format!(
            "SELECT {COLUMNS} FROM users WHERE email = $1 AND {NOT_LINKED} ORDER BY created_at, user_id"
        ))
        .bind(email.to_lowercase())
        .fetch_all(&self.pool)
        .await
        .map_err(map_err)?;
        rows.iter().map(decode).collect()
    }

    async fn find_user_by_username(
        &self,
        connection: &str,
        username: &str,
    ) -> Result<Option<User>, StoreError> {
        let row = sqlx::query(&format!(
            "SELECT {COLUMNS} FROM users WHERE connection = $1 AND username = $2"
        ))
        .bind(connection)
        .bind(username.to_lowercase())
        .fetch_optional(&self.pool)
        .await
        .map_err(map_err)?;
        row.as_ref().map(decode).transpose()
    }

    async fn update_user(
        &self,
        user: &User,
        password_hash: Option<&str>,
    ) -> Result<bool, StoreError> {
        let done = sqlx::query(
            "UPDATE users SET email = $2, name = $3, given_name = $4, family_name = $5, nickname = $6, doc = $7, \
             password_hash = COALESCE($8, password_hash), updated_at = $9, last_login = $10, logins_count = $11, \
             email_key = $12 WHERE user_id = $1",
        )
        .bind(&user.user_id)
        .bind(lower(&user.email))
        .bind(&user.name)
        .bind(&user.given_name)
        .bind(&user.family_name)
        .bind(&user.nickname)
        .bind(json_text(user)?)
        .bind(password_hash)
        .bind(user.updated_at)
        .bind(user.last_login)
        .bind(user.logins_count)
        .bind(email_key(user))
        .execute(&self.pool)
        .await
        .map_err(map_err)?;
        Ok(done.rows_affected() == 1)
    }

    async fn change_user_metadata(
        &self,
        user_id: &str,
        app: Option<&serde_json::Map<String, serde_json::Value>>,
        user: Option<&serde_json::Map<String, serde_json::Value>>,
        now: UnixTime,
    ) -> Result<bool, StoreError> {
        let (user_id, app, changes) = (user_id.to_owned(), app.cloned(), user.cloned());
        in_tx(&self.pool, move |conn| {
            let (user_id, app, changes) = (user_id.clone(), app.clone(), changes.clone());
            Box::pin(async move {
                // The row's lock first: a concurrent writer waits, then reads
                // what this one wrote (or this one reads what it wrote).
                let locked =
                    sqlx::query("UPDATE users SET updated_at = updated_at WHERE user_id = $1")
                        .bind(&user_id)
                        .execute(&mut *conn)
                        .await?;
                if locked.rows_affected() == 0 {
                    return Ok(false);
                }
                let doc: String = sqlx::query("SELECT doc FROM users WHERE user_id = $1")
                    .bind(&user_id)
                    .fetch_one(&mut *conn)
                    .await?
                    .try_get("doc")?;
                let mut stored: User =
                    from_json(&doc).map_err(|e| sqlx::Error::Decode(Box::new(e)))?;
                apply_metadata(&mut stored.app_metadata, app.as_ref());
                apply_metadata(&mut stored.user_metadata, changes.as_ref());
                stored.updated_at = now;
                sqlx::query("UPDATE users SET doc = $2, updated_at = $3 WHERE user_id = $1")
                    .bind(&user_id)
                    .bind(json_text(&stored).map_err(|e| sqlx::Error::Decode(Box::new(e)))?)
                    .bind(now)
                    .execute(&mut *conn)
                    .await?;
                Ok(true)
            })
        })
        .await
    }

    async fn delete_user(&self, user_id: &str) -> Result<bool, StoreError> {
        let done = sqlx::query(&format!(
            "DELETE FROM users WHERE user_id = $1 AND {NOT_LINKED}"
        ))
        .bind(user_id)
        .execute(&self.pool)
        .await
        .map_err(map_err)?;
        Ok(done.rows_affected() == 1)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn like_patterns_escape_sql_wildcards() {
        assert_eq!(like_pattern("*@Example.com"), "%@example.com");
        assert_eq!(like_pattern("a_b%c\\"), "a\\_b\\%c\\\\");
    }

    #[test]
    fn where_clause_numbers_parameters() {
        let q = UserQuery {
            filters: vec![
                tessera_core::store::UserFilter {
                    field: UserField::Email,
                    pattern: "A@b.c".into(),
                },
                tessera_core::store::UserFilter {
                    field: UserField::Name,
                    pattern: "jo*".into(),
                },
            ],
            sort: None,
        };
        let (sql, binds) = where_clause(&q, 1);
        assert_eq!(sql, " WHERE email = $1 AND LOWER(name) LIKE $2 ESCAPE '\\'");
        assert_eq!(binds, vec!["a@b.c".to_string(), "jo%".to_string()]);
    }

    #[test]
    fn missing_values_sort_last() {
        assert_eq!(
            order_clause(Some((UserField::Name, false))),
            "CASE WHEN name IS NULL THEN 1 ELSE 0 END, name DESC, user_id"
        );
        assert_eq!(order_clause(None), "created_at ASC, user_id");
        assert_eq!(
            filter_expr(UserField::LoginsCount),
            "CAST(logins_count AS TEXT)"
        );
    }
}
