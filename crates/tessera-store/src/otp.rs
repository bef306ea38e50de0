//! Passwordless codes (`otp_codes`): every operation one conditional write, so
//! the tries and sends hold across concurrent requests and nodes. SQLite
//! serialises writers; PostgreSQL locks the row and re-evaluates the WHERE on
//! its latest version.

use async_trait::async_trait;
use sqlx::Row;
use tessera_core::clock::UnixTime;
use tessera_core::passwordless::NewOtp;
use tessera_core::store::{OtpStore, StoreError};

use crate::{SqlStore, map_err};

#[async_trait]
impl OtpStore for SqlStore {
    async fn put_otp(
        &self,
        otp: &NewOtp,
        now: UnixTime,
        window: i64,
        max_sends: i64,
    ) -> Result<bool, StoreError> {
        // A window older than `window` seconds starts again at one send; a live
        // window at `max_sends` leaves the row alone (nothing returned).
        let row = sqlx::query(
            "INSERT INTO otp_codes \
               (connection, email, code_hash, client_id, tries, expires_at, window_started, sends) \
             VALUES ($1, $2, $3, $4, 0, $5, $6, 1) \
             ON CONFLICT (connection, email) DO UPDATE SET \
               code_hash = $3, client_id = $4, tries = 0, expires_at = $5, \
               window_started = CASE WHEN otp_codes.window_started <= $7 THEN $6 \
                 ELSE otp_codes.window_started END, \
               sends = CASE WHEN otp_codes.window_started <= $7 THEN 1 \
                 ELSE otp_codes.sends + 1 END \
             WHERE otp_codes.window_started <= $7 OR otp_codes.sends < $8 \
             RETURNING sends",
        )
        .bind(&otp.connection)
        .bind(&otp.email)
        .bind(&otp.code_hash)
        .bind(&otp.client_id)
        .bind(otp.expires_at)
        .bind(now)
        .bind(now - window)
        .bind(max_sends)
        .fetch_optional(&self.pool)
        .await
        .map_err(map_err)?;
        Ok(row.is_some())
    }

    async fn reserve_otp_try(
        &self,
        connection: &str,
        email: &str,
        now: UnixTime,
        max_tries: i64,
    ) -> Result<Option<Vec<u8>>, StoreError> {
        let row = sqlx::query(
            "UPDATE otp_codes SET tries = tries + 1 \
             WHERE connection = $1 AND email = $2 AND expires_at > $3 AND tries < $4 \
             RETURNING code_hash",
        )
        .bind(connection)
        .bind(email)
        .bind(now)
        .bind(max_tries)
        .fetch_optional(&self.pool)
        .await
        .map_err(map_err)?;
        row.map(|r| {
            r.try_get::<Vec<u8>, _>("code_hash")
                .map_err(|e| StoreError::Corrupt(e.to_string()))
        })
        .transpose()
    }

    async fn consume_otp(
        &self,
        connection: &str,
        email: &str,
        code_hash: &[u8],
        now: UnixTime,
    ) -> Result<bool, StoreError> {
        // The row stays (expires_at = 0: never live again) so its send window
        // still counts.
        let done = sqlx::query(
            "UPDATE otp_codes SET expires_at = 0 \
             WHERE connection = $1 AND email = $2 AND code_hash = $3 AND expires_at > $4",
        )
        .bind(connection)
        .bind(email)
        .bind(code_hash)
        .bind(now)
        .execute(&self.pool)
        .await
        .map_err(map_err)?;
        Ok(done.rows_affected() == 1)
    }
}
