use async_trait::async_trait;
use sqlx::Row;
use tessera_core::clock::UnixTime;
use tessera_core::flow::{
    AuthCode, AuthorizeTx, CodeIssue, CodeRecorded, CodeUse, IssuedToken, OpaqueToken, Session,
};
use tessera_core::store::{FlowStore, LoginAttempt, StoreError};

use crate::{SqlStore, from_json, json_text, map_err};

fn get<T>(row: &sqlx::any::AnyRow, name: &str) -> Result<T, StoreError>
where
    T: for<'r> sqlx::Decode<'r, sqlx::Any> + sqlx::Type<sqlx::Any>,
{
    row.try_get(name)
        .map_err(|e| StoreError::Corrupt(e.to_string()))
}

#[async_trait]
impl FlowStore for SqlStore {
    async fn put_authorize_tx(&self, tx: &AuthorizeTx) -> Result<(), StoreError> {
        sqlx::query("INSERT INTO authorize_requests (id, doc, expires_at) VALUES ($1, $2, $3)")
            .bind(&tx.id)
            .bind(json_text(tx)?)
            .bind(tx.expires_at)
            .execute(&self.pool)
            .await
            .map_err(map_err)?;
        Ok(())
    }

    async fn get_authorize_tx(
        &self,
        id: &str,
        now: UnixTime,
    ) -> Result<Option<AuthorizeTx>, StoreError> {
        let row =
            sqlx::query("SELECT doc FROM authorize_requests WHERE id = $1 AND expires_at > $2")
                .bind(id)
                .bind(now)
                .fetch_optional(&self.pool)
                .await
                .map_err(map_err)?;
        row.map(|r| from_json(&get::<String>(&r, "doc")?))
            .transpose()
    }

    async fn delete_authorize_tx(&self, id: &str) -> Result<(), StoreError> {
        sqlx::query("DELETE FROM authorize_requests WHERE id = $1")
            .bind(id)
            .execute(&self.pool)
            .await
            .map_err(map_err)?;
        Ok(())
    }

    async fn create_session(&self, s: &Session) -> Result<(), StoreError> {
        sqlx::query(
            "INSERT INTO sessions (secret_hash, sid, user_id, auth_time, created_at, last_seen, expires_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7)",
        )
        .bind(s.secret_hash.clone())
        .bind(&s.sid)
        .bind(&s.user_id)
        .bind(s.auth_time)
        .bind(s.created_at)
        .bind(s.last_seen)
        .bind(s.expires_at)
        .execute(&self.pool)
        .await
        .map_err(map_err)?;
        Ok(())
    }

    async fn get_session(
        &self,
        secret_hash: &[u8],
        now: UnixTime,
    ) -> Result<Option<Session>, StoreError> {
        let row = sqlx::query(
            "SELECT sid, user_id, auth_time, created_at, last_seen, expires_at FROM sessions \
             WHERE secret_hash = $1 AND expires_at > $2",
        )
        .bind(secret_hash.to_vec())
        .bind(now)
        .fetch_optional(&self.pool)
        .await
        .map_err(map_err)?;
        let Some(row) = row else { return Ok(None) };
        Ok(Some(Session {
            secret_hash: secret_hash.to_vec(),
            sid: get(&row, "sid")?,
            user_id: get(&row, "user_id")?,
            auth_time: get(&row, "auth_time")?,
            created_at: get(&row, "created_at")?,
            last_seen: get(&row, "last_seen")?,
            expires_at: get(&row, "expires_at")?,
        }))
    }

    async fn delete_session(&self, sid: &str) -> Result<(), StoreError> {
        sqlx::query("DELETE FROM sessions WHERE sid = $1")
            .bind(sid)
            .execute(&self.pool)
            .await
            .map_err(map_err)?;
        Ok(())
    }

    async fn touch_session(&self, sid: &str, now: UnixTime) -> Result<(), StoreError> {
        sqlx::query("UPDATE sessions SET last_seen = $2 WHERE sid = $1 AND last_seen < $2")
            .bind(sid)
            .bind(now)
            .execute(&self.pool)
            .await
            .map_err(map_err)?;
        Ok(())
    }

    async fn session_alive(&self, sid: &str, now: UnixTime) -> Result<bool, StoreError> {
        let row = sqlx::query("SELECT 1 AS alive FROM sessions WHERE sid = $1 AND expires_at > $2")
            .bind(sid)
            .bind(now)
            .fetch_optional(&self.pool)
            .await
            .map_err(map_err)?;
        Ok(row.is_some())
    }

    async fn delete_user_sessions(&self, user_id: &str) -> Result<u64, StoreError> {
        let done = sqlx::query("DELETE FROM sessions WHERE user_id = $1")
            .bind(user_id)
            .execute(&self.pool)
            .await
            .map_err(map_err)?;
        Ok(done.rows_affected())
    }

    async fn put_code(&self, code_hash: &[u8], code: &AuthCode) -> Result<(), StoreError> {
        sqlx::query(
            "INSERT INTO authorization_codes (code_hash, doc, expires_at) VALUES ($1, $2, $3)",
        )
        .bind(code_hash.to_vec())
        .bind(json_text(code)?)
        .bind(code.expires_at)
        .execute(&self.pool)
        .await
        .map_err(map_err)?;
        Ok(())
    }

    async fn consume_code(&self, code_hash: &[u8], now: UnixTime) -> Result<CodeUse, StoreError> {
        // One conditional UPDATE decides, whatever runs concurrently: exactly one
        // caller sees `used_at` go from NULL to now.
        let first = sqlx::query(
            "UPDATE authorization_codes SET used_at = $2 WHERE code_hash = $1 AND used_at IS NULL AND expires_at > $2 RETURNING doc",
        )
        .bind(code_hash.to_vec())
        .bind(now)
        .fetch_optional(&self.pool)
        .await
        .map_err(map_err)?;
        if let Some(row) = first {
            return Ok(CodeUse::First(from_json(&get::<String>(&row, "doc")?)?));
        }
        // A replay marks the code (a write), then reads what the first
        // redemption recorded; the redemption records (a write), then reads the
        // mark. Whichever runs second sees the other.
        let seen = sqlx::query(
            "UPDATE authorization_codes SET replayed_at = $2 WHERE code_hash = $1 AND used_at IS NOT NULL RETURNING doc, issued_jtis",
        )
        .bind(code_hash.to_vec())
        .bind(now)
        .fetch_optional(&self.pool)
        .await
        .map_err(map_err)?;
        match seen {
            Some(row) => Ok(CodeUse::Replayed {
                code: from_json(&get::<String>(&row, "doc")?)?,
                issued: parse_code_issue(&get::<String>(&row, "issued_jtis")?, now),
            }),
            None => Ok(CodeUse::Unknown),
        }
    }

    async fn record_code_issue(
        &self,
        code_hash: &[u8],
        issued: &CodeIssue,
    ) -> Result<CodeRecorded, StoreError> {
        // Only the first redemption writes this column, once: no read-modify-write.
        let row = sqlx::query(
            "UPDATE authorization_codes SET issued_jtis = $2 WHERE code_hash = $1 RETURNING replayed_at",
        )
        .bind(code_hash.to_vec())
        .bind(json_text(issued)?)
        .fetch_optional(&self.pool)
        .await
        .map_err(map_err)?;
        let replayed = match row {
            Some(row) => get::<Option<i64>>(&row, "replayed_at")?.is_some(),
            // Swept meanwhile: nothing to revoke against, nothing seen.
            None => false,
        };
        Ok(if replayed {
            CodeRecorded::ReplayedMeanwhile
        } else {
            CodeRecorded::Clean
        })
    }

    async fn get_consent(
        &self,
        user_id: &str,
        client_id: &str,
        audience: &str,
    ) -> Result<Option<Vec<String>>, StoreError> {
        let row = sqlx::query(
            "SELECT scope FROM consents WHERE user_id = $1 AND client_id = $2 AND audience = $3",
        )
        .bind(user_id)
        .bind(client_id)
        .bind(audience)
        .fetch_optional(&self.pool)
        .await
        .map_err(map_err)?;
        row.map(|r| from_json(&get::<String>(&r, "scope")?))
            .transpose()
    }

    async fn put_consent(
        &self,
        user_id: &str,
        client_id: &str,
        audience: &str,
        scope: &[String],
        now: UnixTime,
    ) -> Result<(), StoreError> {
        sqlx::query(
            "INSERT INTO consents (user_id, client_id, audience, scope, updated_at) VALUES ($1, $2, $3, $4, $5) \
             ON CONFLICT (user_id, client_id, audience) DO UPDATE SET scope = excluded.scope, updated_at = excluded.updated_at",
        )
        .bind(user_id)
        .bind(client_id)
        .bind(audience)
        .bind(json_text(&scope)?)
        .bind(now)
        .execute(&self.pool)
        .await
        .map_err(map_err)?;
        Ok(())
    }

    async fn put_opaque_token(
        &self,
        token_hash: &[u8],
        token: &OpaqueToken,
        jti: &str,
    ) -> Result<(), StoreError> {
        sqlx::query(
            "INSERT INTO opaque_tokens (token_hash, jti, doc, expires_at) VALUES ($1, $2, $3, $4)",
        )
        .bind(token_hash.to_vec())
        .bind(jti)
        .bind(json_text(token)?)
        .bind(token.expires_at)
        .execute(&self.pool)
        .await
        .map_err(map_err)?;
        Ok(())
    }

    async fn get_opaque_token(
        &self,
        token_hash: &[u8],
        now: UnixTime,
    ) -> Result<Option<OpaqueToken>, StoreError> {
        let row =
            sqlx::query("SELECT doc FROM opaque_tokens WHERE token_hash = $1 AND expires_at > $2")
                .bind(token_hash.to_vec())
                .bind(now)
                .fetch_optional(&self.pool)
                .await
                .map_err(map_err)?;
        row.map(|r| from_json(&get::<String>(&r, "doc")?))
            .transpose()
    }

    async fn find_opaque_token(
        &self,
        token_hash: &[u8],
        now: UnixTime,
    ) -> Result<Option<(OpaqueToken, String)>, StoreError> {
        let row = sqlx::query(
            "SELECT doc, jti FROM opaque_tokens WHERE token_hash = $1 AND expires_at > $2",
        )
        .bind(token_hash.to_vec())
        .bind(now)
        .fetch_optional(&self.pool)
        .await
        .map_err(map_err)?;
        row.map(|r| Ok((from_json(&get::<String>(&r, "doc")?)?, get(&r, "jti")?)))
            .transpose()
    }

    async fn delete_opaque_token_by_jti(&self, jti: &str) -> Result<(), StoreError> {
        sqlx::query("DELETE FROM opaque_tokens WHERE jti = $1")
            .bind(jti)
            .execute(&self.pool)
            .await
            .map_err(map_err)?;
        Ok(())
    }

    async fn reserve_login_attempt(
        &self,
        key: &str,
        now: UnixTime,
        window: i64,
        threshold: i64,
    ) -> Result<LoginAttempt, StoreError> {
        // One conditional upsert decides, on either backend and across nodes: a
        // counter row per key. A live row below the threshold counts one more; an
        // expired row (no attempt for `window` seconds) starts again at 1; a live
        // row at the threshold is left alone, so nothing is returned (refused).
        // SQLite serialises writers; PostgreSQL locks the conflicting row and
        // re-evaluates the WHERE on its latest version.
        let row = sqlx::query(
            "INSERT INTO login_attempts (key, failures, last_at) VALUES ($1, 1, $2) \
             ON CONFLICT (key) DO UPDATE SET \
               failures = CASE WHEN login_attempts.last_at <= $3 THEN 1 ELSE login_attempts.failures + 1 END, \
               last_at = $2 \
             WHERE login_attempts.last_at <= $3 OR login_attempts.failures < $4 \
             RETURNING failures",
        )
        .bind(key)
        .bind(now)
        .bind(now - window)
        .bind(threshold)
        .fetch_optional(&self.pool)
        .await
        .map_err(map_err)?;
        match row {
            Some(row) => Ok(LoginAttempt::Reserved {
                failures: get(&row, "failures")?,
            }),
            None => Ok(LoginAttempt::Refused),
        }
    }

    async fn clear_login_failures(&self, key: &str) -> Result<(), StoreError> {
        sqlx::query("DELETE FROM login_attempts WHERE key = $1")
            .bind(key)
            .execute(&self.pool)
            .await
            .map_err(map_err)?;
        Ok(())
    }

    async fn record_login(&self, user_id: &str, now: UnixTime) -> Result<(), StoreError> {
        sqlx::query(
            "UPDATE users SET last_login = $2, logins_count = logins_count + 1 WHERE user_id = $1",
        )
        .bind(user_id)
        .bind(now)
        .execute(&self.pool)
        .await
        .map_err(map_err)?;
        Ok(())
    }

    async fn sweep_flow(&self, now: UnixTime) -> Result<u64, StoreError> {
        let mut total = 0;
        for sql in [
            "DELETE FROM authorize_requests WHERE expires_at <= $1",
            "DELETE FROM sessions WHERE expires_at <= $1",
            // Codes are kept a day past expiry, to recognise (and answer) replays.
            "DELETE FROM authorization_codes WHERE expires_at <= $1 - 86400",
            "DELETE FROM opaque_tokens WHERE expires_at <= $1",
            // Counters idle for a day no longer count for any window.
            "DELETE FROM login_attempts WHERE last_at <= $1 - 86400",
            // Passwordless codes once expired and outside any send window.
            "DELETE FROM otp_codes WHERE expires_at <= $1 AND window_started <= $1 - 86400",
        ] {
            total += sqlx::query(sql)
                .bind(now)
                .execute(&self.pool)
                .await
                .map_err(map_err)?
                .rows_affected();
        }
        Ok(total)
    }
}

/// What a code's redemption recorded. Rows written before `CodeIssue` hold a
/// list of jtis (with `family:{id}` entries for families); their expiry is
/// unknown, so they are revoked for the longest a token can live.
fn parse_code_issue(text: &str, now: UnixTime) -> CodeIssue {
    if let Ok(issued) = serde_json::from_str::<CodeIssue>(text) {
        return issued;
    }
    let mut issued = CodeIssue::default();
    for entry in serde_json::from_str::<Vec<String>>(text).unwrap_or_default() {
        match entry.strip_prefix("family:") {
            Some(family) => issued.families.push(family.to_owned()),
            None => issued.access_tokens.push(IssuedToken {
                jti: entry,
                expires_at: now + tessera_core::keys::MAX_TOKEN_LIFETIME,
            }),
        }
    }
    issued
}
