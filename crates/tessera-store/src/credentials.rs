//! Client credentials (`client_credentials`) and the single use of client
//! assertions' `jti` (`client_assertion_jtis`).

use async_trait::async_trait;
use sqlx::Row;
use tessera_core::clock::UnixTime;
use tessera_core::model::{Client, ClientCredential, ClientSecret};
use tessera_core::store::{CredentialStore, SecretChange, StoreError};

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
    async fn create_client_credential(
        &self,
        c: &ClientCredential,
        max: usize,
    ) -> Result<bool, StoreError> {
        let c = c.clone();
        let doc = json_text(&c)?;
        let max = i64::try_from(max).unwrap_or(i64::MAX);
        in_tx(&self.pool, move |conn| {
            let (c, doc) = (c.clone(), doc.clone());
            Box::pin(async move {
                // The client row's lock first: concurrent creations for one
                // client count one after the other. (No row: the insert
                // below fails on the foreign key.)
                sqlx::query("UPDATE clients SET updated_at = updated_at WHERE client_id = $1")
                    .bind(&c.client_id)
                    .execute(&mut *conn)
                    .await?;
                let held: i64 = sqlx::query(
                    "SELECT COUNT(*) AS n FROM client_credentials WHERE client_id = $1",
                )
                .bind(&c.client_id)
                .fetch_one(&mut *conn)
                .await?
                .try_get("n")?;
                if held >= max {
                    return Ok(false);
                }
                sqlx::query(
                    "INSERT INTO client_credentials (id, client_id, kid, doc, created_at, expires_at) \
                     VALUES ($1, $2, $3, $4, $5, $6)",
                )
                .bind(&c.id)
                .bind(&c.client_id)
                .bind(&c.kid)
                .bind(&doc)
                .bind(c.created_at)
                .bind(c.expires_at)
                .execute(&mut *conn)
                .await?;
                Ok(true)
            })
        })
        .await
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

    async fn update_client_if_unchanged(
        &self,
        read: &Client,
        client: &Client,
        secret: SecretChange<'_>,
        now: UnixTime,
    ) -> Result<bool, StoreError> {
        // Compared as JSON values: the same document however its maps are
        // ordered.
        let read = serde_json::to_value(read).map_err(|e| StoreError::Corrupt(e.to_string()))?;
        let doc = json_text(client)?;
        let client_id = client.client_id.clone();
        // None: keep the secret; Some(None): remove it; Some(Some): set it.
        let secret: Option<Option<ClientSecret>> = match secret {
            SecretChange::Keep => None,
            SecretChange::Set(s) => Some(Some(s.clone())),
            SecretChange::Remove => Some(None),
        };
        let outcome = in_tx(&self.pool, move |conn| {
            let (client_id, read, doc, secret) =
                (client_id.clone(), read.clone(), doc.clone(), secret.clone());
            Box::pin(async move {
                // The row's write lock first: the document read next is the
                // latest committed one and stays so until this commits.
                let locked = sqlx::query(
                    "UPDATE clients SET updated_at = updated_at WHERE client_id = $1",
                )
                .bind(&client_id)
                .execute(&mut *conn)
                .await?;
                if locked.rows_affected() != 1 {
                    return Ok(None);
                }
                let row = sqlx::query("SELECT doc FROM clients WHERE client_id = $1")
                    .bind(&client_id)
                    .fetch_one(&mut *conn)
                    .await?;
                let stored: String = row.try_get("doc")?;
                let stored: Client = from_json(&stored).map_err(decode_err)?;
                let stored = serde_json::to_value(&stored)
                    .map_err(|e| decode_err(StoreError::Corrupt(e.to_string())))?;
                if stored != read {
                    return Ok(Some(false));
                }
                let query = match &secret {
                    None => sqlx::query(
                        "UPDATE clients SET doc = $2, updated_at = $3 WHERE client_id = $1",
                    )
                    .bind(&client_id)
                    .bind(&doc)
                    .bind(now),
                    Some(Some(s)) => sqlx::query(
                        "UPDATE clients SET doc = $2, updated_at = $3, secret_sealed = $4, secret_hash = $5 WHERE client_id = $1",
                    )
                    .bind(&client_id)
                    .bind(&doc)
                    .bind(now)
                    .bind(s.sealed.clone())
                    .bind(s.hash.clone()),
                    Some(None) => sqlx::query(
                        "UPDATE clients SET doc = $2, updated_at = $3, secret_sealed = NULL, secret_hash = NULL WHERE client_id = $1",
                    )
                    .bind(&client_id)
                    .bind(&doc)
                    .bind(now),
                };
                query.execute(&mut *conn).await?;
                Ok(Some(true))
            })
        })
        .await?;
        match outcome {
            None => Ok(false),
            Some(true) => Ok(true),
            Some(false) => Err(StoreError::Conflict(
                "the client changed since it was read".into(),
            )),
        }
    }
}
