//! Account linking: a linked user's row names its primary in `linked_to`
//! (migration 0021). A link is one transaction that first locks both rows
//! (a no-op UPDATE each, in user-id order, so two links touching the same
//! users wait for each other instead of deadlocking), then checks every rule
//! on what is committed, then writes: of concurrent links that conflict
//! (the same secondary, A to B against B to A, two identities of one
//! connection onto one primary), exactly one wins, on SQLite (one writer)
//! and PostgreSQL (row locks) alike.

use async_trait::async_trait;
use sqlx::Row;
use tessera_core::clock::UnixTime;
use tessera_core::model::User;
use tessera_core::store::{IdentityLinkStore, LinkRefusal, LoginIdentity, StoreError};

use crate::users::{COLUMNS, decode, decode_prefixed};
use crate::{SqlStore, in_tx, map_err};

/// The state of one row, read under its lock.
struct Linkable {
    connection: String,
    linked_to: Option<String>,
}

async fn lock_and_read(
    conn: &mut sqlx::AnyConnection,
    user_id: &str,
) -> Result<Option<Linkable>, sqlx::Error> {
    sqlx::query("UPDATE users SET linked_to = linked_to WHERE user_id = $1")
        .bind(user_id)
        .execute(&mut *conn)
        .await?;
    let row = sqlx::query("SELECT connection, linked_to FROM users WHERE user_id = $1")
        .bind(user_id)
        .fetch_optional(&mut *conn)
        .await?;
    row.map(|r| {
        Ok(Linkable {
            connection: r.try_get("connection")?,
            linked_to: r.try_get("linked_to")?,
        })
    })
    .transpose()
}

async fn link_in_tx(
    conn: &mut sqlx::AnyConnection,
    primary: &str,
    secondary: &str,
    now: UnixTime,
) -> Result<Result<(), LinkRefusal>, sqlx::Error> {
    let (first, second) = if primary < secondary {
        (primary, secondary)
    } else {
        (secondary, primary)
    };
    let a = lock_and_read(conn, first).await?;
    let b = lock_and_read(conn, second).await?;
    let (p, s) = if first == primary { (a, b) } else { (b, a) };
    let Some(p) = p else {
        return Ok(Err(LinkRefusal::PrimaryMissing));
    };
    let Some(s) = s else {
        return Ok(Err(LinkRefusal::SecondaryMissing));
    };
    if p.linked_to.is_some() {
        return Ok(Err(LinkRefusal::PrimaryIsLinked));
    }
    if s.linked_to.is_some() {
        return Ok(Err(LinkRefusal::SecondaryIsLinked));
    }
    let has_links: i64 = sqlx::query("SELECT COUNT(*) FROM users WHERE linked_to = $1")
        .bind(secondary)
        .fetch_one(&mut *conn)
        .await?
        .try_get(0)?;
    if has_links > 0 {
        return Ok(Err(LinkRefusal::SecondaryHasLinks));
    }
    // Every identity of the primary: its own and those linked to it (which
    // wait behind the primary's lock for any other link onto it).
    let same: i64 = sqlx::query(
        "SELECT COUNT(*) FROM users WHERE (user_id = $1 OR linked_to = $1) AND connection = $2",
    )
    .bind(primary)
    .bind(&s.connection)
    .fetch_one(&mut *conn)
    .await?
    .try_get(0)?;
    if same > 0 || p.connection == s.connection {
        return Ok(Err(LinkRefusal::SameConnection));
    }
    sqlx::query("UPDATE users SET linked_to = $2, linked_at = $3 WHERE user_id = $1")
        .bind(secondary)
        .bind(primary)
        .bind(now)
        .execute(&mut *conn)
        .await?;
    Ok(Ok(()))
}

#[async_trait]
impl IdentityLinkStore for SqlStore {
    async fn link_user(
        &self,
        primary: &str,
        secondary: &str,
        now: UnixTime,
    ) -> Result<Result<(), LinkRefusal>, StoreError> {
        let (primary, secondary) = (primary.to_owned(), secondary.to_owned());
        in_tx(&self.pool, move |conn| {
            let (primary, secondary) = (primary.clone(), secondary.clone());
            Box::pin(async move { link_in_tx(conn, &primary, &secondary, now).await })
        })
        .await
    }

    async fn unlink_user(
        &self,
        primary: &str,
        secondary: &str,
        now: UnixTime,
    ) -> Result<bool, StoreError> {
        let done = sqlx::query(
            "UPDATE users SET linked_to = NULL, linked_at = NULL, updated_at = $3, \
             tokens_valid_after = $3 \
             WHERE user_id = $1 AND linked_to = $2",
        )
        .bind(secondary)
        .bind(primary)
        .bind(now)
        .execute(&self.pool)
        .await
        .map_err(map_err)?;
        Ok(done.rows_affected() == 1)
    }

    async fn tokens_valid_after(&self, user_id: &str) -> Result<Option<UnixTime>, StoreError> {
        let row = sqlx::query("SELECT tokens_valid_after FROM users WHERE user_id = $1")
            .bind(user_id)
            .fetch_optional(&self.pool)
            .await
            .map_err(map_err)?;
        let Some(row) = row else {
            return Ok(None);
        };
        row.try_get::<Option<i64>, _>("tokens_valid_after")
            .map_err(|e| StoreError::Corrupt(e.to_string()))
    }

    async fn linked_users(&self, primary: &str) -> Result<Vec<User>, StoreError> {
        let rows = sqlx::query(&format!(
            "SELECT {COLUMNS} FROM users WHERE linked_to = $1 ORDER BY linked_at, user_id"
        ))
        .bind(primary)
        .fetch_all(&self.pool)
        .await
        .map_err(map_err)?;
        rows.iter().map(decode).collect()
    }

    async fn find_login_identity(
        &self,
        user_id: &str,
    ) -> Result<Option<LoginIdentity>, StoreError> {
        let row = sqlx::query(
            "SELECT s.doc AS s_doc, s.created_at AS s_created_at, s.updated_at AS s_updated_at, \
             s.last_login AS s_last_login, s.logins_count AS s_logins_count, \
             p.doc AS p_doc, p.created_at AS p_created_at, p.updated_at AS p_updated_at, \
             p.last_login AS p_last_login, p.logins_count AS p_logins_count \
             FROM users s LEFT JOIN users p ON p.user_id = s.linked_to WHERE s.user_id = $1",
        )
        .bind(user_id)
        .fetch_optional(&self.pool)
        .await
        .map_err(map_err)?;
        let Some(row) = row else { return Ok(None) };
        let identity = decode_prefixed(&row, "s_")?;
        let linked: Option<String> = row
            .try_get("p_doc")
            .map_err(|e| StoreError::Corrupt(e.to_string()))?;
        let primary = match linked {
            Some(_) => Some(decode_prefixed(&row, "p_")?),
            None => None,
        };
        Ok(Some(LoginIdentity { identity, primary }))
    }
}
