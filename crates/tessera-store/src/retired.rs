//! Retired token lifetimes: when an API's `token_lifetime` is lowered or the
//! API deleted, tokens already issued keep their longer lifetime. One row per
//! API identifier holds the latest expiry such a token can have, so that
//! revocations made later outlive them (`tessera-core::revocation`). Kept in
//! the database so every node, and a restart, see it; swept once passed.

use sqlx::{AnyConnection, Row};
use tessera_core::clock::UnixTime;
use tessera_core::store::StoreError;

use crate::{SqlStore, map_err};

/// Records that tokens for `identifier` may live until `until` (keeping a later
/// expiry already recorded). Runs in the caller's transaction.
pub(crate) async fn remember(
    conn: &mut AnyConnection,
    identifier: &str,
    until: UnixTime,
) -> Result<(), sqlx::Error> {
    sqlx::query(
        "INSERT INTO retired_token_lifetimes (identifier, expires_at) VALUES ($1, $2) \
         ON CONFLICT (identifier) DO UPDATE SET expires_at = \
         CASE WHEN excluded.expires_at > retired_token_lifetimes.expires_at \
         THEN excluded.expires_at ELSE retired_token_lifetimes.expires_at END",
    )
    .bind(identifier)
    .bind(until)
    .execute(&mut *conn)
    .await?;
    Ok(())
}

impl SqlStore {
    /// The latest recorded expiry after `now`, for `identifier` or for any.
    pub(crate) async fn latest_retired_expiry(
        &self,
        identifier: Option<&str>,
        now: UnixTime,
    ) -> Result<Option<UnixTime>, StoreError> {
        let row = match identifier {
            Some(identifier) => sqlx::query(
                "SELECT MAX(expires_at) AS latest FROM retired_token_lifetimes \
                 WHERE identifier = $1 AND expires_at > $2",
            )
            .bind(identifier)
            .bind(now),
            None => sqlx::query(
                "SELECT MAX(expires_at) AS latest FROM retired_token_lifetimes WHERE expires_at > $1",
            )
            .bind(now),
        }
        .fetch_one(&self.pool)
        .await
        .map_err(map_err)?;
        row.try_get::<Option<i64>, _>("latest")
            .map_err(|e| StoreError::Corrupt(e.to_string()))
    }

    /// Deletes the rows whose tokens have all expired at `now`; how many.
    pub(crate) async fn purge_retired_lifetimes(&self, now: UnixTime) -> Result<u64, StoreError> {
        let done = sqlx::query("DELETE FROM retired_token_lifetimes WHERE expires_at <= $1")
            .bind(now)
            .execute(&self.pool)
            .await
            .map_err(map_err)?;
        Ok(done.rows_affected())
    }
}
