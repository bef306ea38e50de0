//! Client credentials (`client_credentials`) and the single use of client
//! assertions' `jti` (`client_assertion_jtis`).

use async_trait::async_trait;
use sqlx::Row;
use tessera_core::clock::UnixTime;
use tessera_core::model::{Client, ClientCredential};
use tessera_core::store::{CredentialStore, StoreError};

use crate::{SqlStore, from_json, in_tx, json_text, map_err};

fn credential(row: &sqlx::any::AnyRow) -> Result<ClientCredential, StoreError> {
    let doc: String = row
        .try_get("doc")
        .map_err(|e| StoreError::Corrupt(e.to_string()))?;
    from_json(&doc)
}

fn decode_err(e: StoreError) -> sqlx::Error {
    sqlx::Error::Decode(Box::new(e))
}

#[async_trait]
impl CredentialStore for SqlStore {
    async fn create_client_credential(&self, c: &ClientCredential) -> Result<(), StoreError> {
        sqlx::query(
            "INSERT INTO client_credentials (id, client_id, kid, doc, created_at, expires_at) \
             VALUES ($1, $2, $3, $4, $5, $6)",
        )
        .bind(&c.id)
        .bind(&c.client_id)
        .bind(&c.kid)
        .bind(json_text(c)?)
        .bind(c.created_at)
        .bind(c.expires_at)
        .execute(&self.pool)
        .await
        .map_err(map_err)?;
        Ok(())
    }

    async fn list_client_credentials(
        &self,
        client_id: &str,
    ) -> Result<Vec<ClientCredential>, StoreError> {
        let rows = sqlx::query(
            "SELECT doc FROM client_credentials WHERE client_id = $1 ORDER BY created_at, id",
        )
        .bind(client_id)
        .fetch_all(&self.pool)
        .await
        .map_err(map_err)?;
        rows.iter().map(credential).collect()
    }

    async fn get_client_credential(
        &self,
        client_id: &str,
        id: &str,
    ) -> Result<Option<ClientCredential>, StoreError> {
        let row =
            sqlx::query("SELECT doc FROM client_credentials WHERE client_id = $1 AND id = $2")
                .bind(client_id)
                .bind(id)
                .fetch_optional(&self.pool)
                .await
                .map_err(map_err)?;
        row.as_ref().map(credential).transpose()
    }

    async fn update_client_credential(&self, c: &ClientCredential) -> Result<bool, StoreError> {
        let done = sqlx::query(
            "UPDATE client_credentials SET doc = $3, expires_at = $4 \
             WHERE client_id = $1 AND id = $2",
        )
        .bind(&c.client_id)
        .bind(&c.id)
        .bind(json_text(c)?)
        .bind(c.expires_at)
        .execute(&self.pool)
        .await
        .map_err(map_err)?;
        Ok(done.rows_affected() == 1)
    }

    async fn delete_client_credential(
        &self,
        client_id: &str,
        id: &str,
        now: UnixTime,
    ) -> Result<bool, StoreError> {
        let (client_id, id) = (client_id.to_owned(), id.to_owned());
        in_tx(&self.pool, move |conn| {
            let (client_id, id) = (client_id.clone(), id.clone());
            Box::pin(async move {
                let done =
                    sqlx::query("DELETE FROM client_credentials WHERE client_id = $1 AND id = $2")
                        .bind(&client_id)
                        .bind(&id)
                        .execute(&mut *conn)
                        .await?;
                if done.rows_affected() != 1 {
                    return Ok(false);
                }
                let Some(row) = sqlx::query("SELECT doc FROM clients WHERE client_id = $1")
                    .bind(&client_id)
                    .fetch_optional(&mut *conn)
                    .await?
                else {
                    return Ok(true);
                };
                let doc: String = row.try_get("doc")?;
                let mut client: Client = from_json(&doc).map_err(decode_err)?;
                let Some(pkj) = client
                    .client_authentication_methods
                    .as_mut()
                    .and_then(|m| m.private_key_jwt.as_mut())
                else {
                    return Ok(true);
                };
                let before = pkj.credentials.len();
                pkj.credentials.retain(|c| c.id != id);
                if pkj.credentials.len() != before {
                    sqlx::query(
                        "UPDATE clients SET doc = $2, updated_at = $3 WHERE client_id = $1",
                    )
                    .bind(&client_id)
                    .bind(json_text(&client).map_err(decode_err)?)
                    .bind(now)
                    .execute(&mut *conn)
                    .await?;
                }
                Ok(true)
            })
        })
        .await
    }

    async fn record_assertion_jti(
        &self,
        client_id: &str,
        jti: &str,
        expires_at: UnixTime,
        now: UnixTime,
    ) -> Result<bool, StoreError> {
        // A record that has expired (not yet swept) may be taken again; a live
        // one leaves the row alone and nothing is returned.
        let row = sqlx::query(
            "INSERT INTO client_assertion_jtis (client_id, jti, expires_at) VALUES ($1, $2, $3) \
             ON CONFLICT (client_id, jti) DO UPDATE SET expires_at = $3 \
             WHERE client_assertion_jtis.expires_at <= $4 \
             RETURNING expires_at",
        )
        .bind(client_id)
        .bind(jti)
        .bind(expires_at)
        .bind(now)
        .fetch_optional(&self.pool)
        .await
        .map_err(map_err)?;
        Ok(row.is_some())
    }

    async fn sweep_assertion_jtis(&self, now: UnixTime) -> Result<u64, StoreError> {
        let done = sqlx::query("DELETE FROM client_assertion_jtis WHERE expires_at <= $1")
            .bind(now)
            .execute(&self.pool)
            .await
            .map_err(map_err)?;
        Ok(done.rows_affected())
    }
}
