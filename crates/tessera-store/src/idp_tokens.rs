//! The IdP-token vault (`idp_tokens`): sealed upstream tokens per identity.
//! The conditional replacement is one UPDATE whose WHERE compares the stored
//! refresh-token ciphertext: of concurrent writers that read the same row,
//! one wins (SQLite serialises writers; PostgreSQL re-evaluates the WHERE on
//! the row's latest version).

use async_trait::async_trait;
use sqlx::Row;
use sqlx::any::AnyRow;
use tessera_core::clock::UnixTime;
use tessera_core::idp_vault::SealedIdpTokens;
use tessera_core::store::{IdpRefreshState, IdpTokenStore, StoreError, UpstreamLoginStore};
use tessera_core::upstream::UpstreamLogin;

use crate::{SqlStore, map_err};

const COLUMNS: &str =
    "user_id, connection, access_token, refresh_token, id_token, expires_at, updated_at";

fn decode(row: &AnyRow) -> Result<SealedIdpTokens, StoreError> {
    let get = |e: sqlx::Error| StoreError::Corrupt(e.to_string());
    Ok(SealedIdpTokens {
        user_id: row.try_get("user_id").map_err(get)?,
        connection: row.try_get("connection").map_err(get)?,
        access_token: row.try_get("access_token").map_err(get)?,
        refresh_token: row.try_get("refresh_token").map_err(get)?,
        id_token: row.try_get("id_token").map_err(get)?,
        expires_at: row.try_get("expires_at").map_err(get)?,
        updated_at: row.try_get("updated_at").map_err(get)?,
    })
}

#[async_trait]
impl IdpTokenStore for SqlStore {
    async fn delete_connection_idp_tokens(&self, connection: &str) -> Result<u64, StoreError> {
        let done = sqlx::query("DELETE FROM idp_tokens WHERE connection = $1")
            .bind(connection)
            .execute(&self.pool)
            .await
            .map_err(map_err)?;
        Ok(done.rows_affected())
    }

    async fn put_idp_tokens(&self, t: &SealedIdpTokens) -> Result<(), StoreError> {
        sqlx::query(
            "INSERT INTO idp_tokens (user_id, connection, access_token, refresh_token, id_token, expires_at, updated_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7) \
             ON CONFLICT (user_id, connection) DO UPDATE SET access_token = $3, \
             refresh_token = COALESCE($4, idp_tokens.refresh_token), \
             id_token = $5, expires_at = $6, updated_at = $7, refreshing_until = NULL, \
             refresh_retry_after = NULL",
        )
        .bind(&t.user_id)
        .bind(&t.connection)
        .bind(&t.access_token)
        .bind(&t.refresh_token)
        .bind(&t.id_token)
        .bind(t.expires_at)
        .bind(t.updated_at)
        .execute(&self.pool)
        .await
        .map_err(map_err)?;
        Ok(())
    }

    async fn get_idp_tokens(
        &self,
        user_id: &str,
        connection: &str,
    ) -> Result<Option<SealedIdpTokens>, StoreError> {
        let row = sqlx::query(&format!(
            "SELECT {COLUMNS} FROM idp_tokens WHERE user_id = $1 AND connection = $2"
        ))
        .bind(user_id)
        .bind(connection)
        .fetch_optional(&self.pool)
        .await
        .map_err(map_err)?;
        row.as_ref().map(decode).transpose()
    }

    async fn list_idp_tokens(&self, user_id: &str) -> Result<Vec<SealedIdpTokens>, StoreError> {
        let rows = sqlx::query(&format!(
            "SELECT {COLUMNS} FROM idp_tokens WHERE user_id = $1 ORDER BY connection"
        ))
        .bind(user_id)
        .fetch_all(&self.pool)
        .await
        .map_err(map_err)?;
        rows.iter().map(decode).collect()
    }

    async fn replace_idp_tokens_if(
        &self,
        t: &SealedIdpTokens,
        expected_refresh: &[u8],
    ) -> Result<bool, StoreError> {
        let done = sqlx::query(
            "UPDATE idp_tokens SET access_token = $3, refresh_token = $4, id_token = $5, \
             expires_at = $6, updated_at = $7, refreshing_until = NULL, refresh_retry_after = NULL \
             WHERE user_id = $1 AND connection = $2 AND refresh_token = $8",
        )
        .bind(&t.user_id)
        .bind(&t.connection)
        .bind(&t.access_token)
        .bind(&t.refresh_token)
        .bind(&t.id_token)
        .bind(t.expires_at)
        .bind(t.updated_at)
        .bind(expected_refresh)
        .execute(&self.pool)
        .await
        .map_err(map_err)?;
        Ok(done.rows_affected() == 1)
    }

    async fn claim_idp_refresh(
        &self,
        user_id: &str,
        connection: &str,
        expected_refresh: &[u8],
        now: UnixTime,
        until: UnixTime,
    ) -> Result<bool, StoreError> {
        // One conditional UPDATE: SQLite serialises writers, PostgreSQL
        // re-evaluates the WHERE on the row's latest version, so of
        // concurrent claimers exactly one sees no live lease.
        let done = sqlx::query(
            "UPDATE idp_tokens SET refreshing_until = $5 \
             WHERE user_id = $1 AND connection = $2 AND refresh_token = $3 \
             AND (refreshing_until IS NULL OR refreshing_until <= $4) \
             AND (refresh_retry_after IS NULL OR refresh_retry_after <= $4)",
        )
        .bind(user_id)
        .bind(connection)
        .bind(expected_refresh)
        .bind(now)
        .bind(until)
        .execute(&self.pool)
        .await
        .map_err(map_err)?;
        Ok(done.rows_affected() == 1)
    }

    async fn release_idp_refresh(
        &self,
        user_id: &str,
        connection: &str,
        expected_refresh: &[u8],
        retry_after: UnixTime,
    ) -> Result<(), StoreError> {
        sqlx::query(
            "UPDATE idp_tokens SET refreshing_until = NULL, refresh_retry_after = $4 \
             WHERE user_id = $1 AND connection = $2 AND refresh_token = $3",
        )
        .bind(user_id)
        .bind(connection)
        .bind(expected_refresh)
        .bind(retry_after)
        .execute(&self.pool)
        .await
        .map_err(map_err)?;
        Ok(())
    }

    async fn idp_refresh_state(
        &self,
        user_id: &str,
        connection: &str,
    ) -> Result<Option<IdpRefreshState>, StoreError> {
        let row = sqlx::query(
            "SELECT refreshing_until, refresh_retry_after FROM idp_tokens \
             WHERE user_id = $1 AND connection = $2",
        )
        .bind(user_id)
        .bind(connection)
        .fetch_optional(&self.pool)
        .await
        .map_err(map_err)?;
        let get = |e: sqlx::Error| StoreError::Corrupt(e.to_string());
        row.map(|r| {
            Ok(IdpRefreshState {
                refreshing_until: r.try_get("refreshing_until").map_err(get)?,
                retry_after: r.try_get("refresh_retry_after").map_err(get)?,
            })
        })
        .transpose()
    }
}

#[async_trait]
impl UpstreamLoginStore for SqlStore {
    async fn put_upstream_login(
        &self,
        state_hash: &[u8],
        login: &UpstreamLogin,
        now: UnixTime,
    ) -> Result<(), StoreError> {
        let mut db = self.pool.begin().await.map_err(map_err)?;
        sqlx::query("DELETE FROM upstream_logins WHERE expires_at <= $1")
            .bind(now)
            .execute(&mut *db)
            .await
            .map_err(map_err)?;
        // One live login per authorization request: the newest.
        sqlx::query("DELETE FROM upstream_logins WHERE tx_id = $1")
            .bind(&login.tx_id)
            .execute(&mut *db)
            .await
            .map_err(map_err)?;
        sqlx::query(
            "INSERT INTO upstream_logins (state_hash, tx_id, connection, nonce, verifier_sealed, expires_at, \
             issuer, iss_required, auth_after) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
        )
        .bind(state_hash)
        .bind(&login.tx_id)
        .bind(&login.connection)
        .bind(&login.nonce)
        .bind(&login.verifier_sealed)
        .bind(login.expires_at)
        .bind(&login.issuer)
        .bind(i64::from(login.iss_required))
        .bind(login.auth_after)
        .execute(&mut *db)
        .await
        .map_err(map_err)?;
        db.commit().await.map_err(map_err)?;
        Ok(())
    }

    async fn take_upstream_login(
        &self,
        state_hash: &[u8],
        now: UnixTime,
    ) -> Result<Option<UpstreamLogin>, StoreError> {
        // One DELETE ... RETURNING: the row goes to exactly one caller.
        let row = sqlx::query(
            "DELETE FROM upstream_logins WHERE state_hash = $1 \
             RETURNING tx_id, connection, nonce, verifier_sealed, expires_at, issuer, iss_required, auth_after",
        )
        .bind(state_hash)
        .fetch_optional(&self.pool)
        .await
        .map_err(map_err)?;
        let Some(row) = row else { return Ok(None) };
        let get = |e: sqlx::Error| StoreError::Corrupt(e.to_string());
        let login = UpstreamLogin {
            tx_id: row.try_get("tx_id").map_err(get)?,
            connection: row.try_get("connection").map_err(get)?,
            nonce: row.try_get("nonce").map_err(get)?,
            verifier_sealed: row.try_get("verifier_sealed").map_err(get)?,
            expires_at: row.try_get("expires_at").map_err(get)?,
            issuer: row.try_get("issuer").map_err(get)?,
            iss_required: row.try_get::<i64, _>("iss_required").map_err(get)? != 0,
            auth_after: row.try_get("auth_after").map_err(get)?,
        };
        Ok((login.expires_at > now).then_some(login))
    }
}
