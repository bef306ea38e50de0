use async_trait::async_trait;
use sqlx::Row;
use tessera_core::clock::UnixTime;
use tessera_core::model::{Client, ClientGrant, ClientSecret, Connection, ResourceServer};
use tessera_core::store::{StoreError, TenantStore};

use crate::{SqlStore, from_json, json_text, map_err};

fn col<T>(row: &sqlx::any::AnyRow, name: &str) -> Result<T, StoreError>
where
    T: for<'r> sqlx::Decode<'r, sqlx::Any> + sqlx::Type<sqlx::Any>,
{
    row.try_get(name)
        .map_err(|e| StoreError::Corrupt(e.to_string()))
}

#[async_trait]
impl TenantStore for SqlStore {
    async fn insert_resource_server_if_absent(
        &self,
        rs: &ResourceServer,
        now: UnixTime,
    ) -> Result<bool, StoreError> {
        let done = sqlx::query(
            "INSERT INTO resource_servers (id, identifier, doc, created_at, updated_at) VALUES ($1, $2, $3, $4, $4) \
             ON CONFLICT (identifier) DO NOTHING",
        )
        .bind(&rs.id)
        .bind(&rs.identifier)
        .bind(json_text(rs)?)
        .bind(now)
        .execute(&self.pool)
        .await
        .map_err(map_err)?;
        Ok(done.rows_affected() == 1)
    }

    async fn get_resource_server_by_identifier(
        &self,
        identifier: &str,
    ) -> Result<Option<ResourceServer>, StoreError> {
        let row = sqlx::query("SELECT doc FROM resource_servers WHERE identifier = $1")
            .bind(identifier)
            .fetch_optional(&self.pool)
            .await
            .map_err(map_err)?;
        row.map(|r| from_json(&col::<String>(&r, "doc")?))
            .transpose()
    }

    async fn insert_connection_if_absent(
        &self,
        c: &Connection,
        now: UnixTime,
    ) -> Result<bool, StoreError> {
        let done = sqlx::query(
            "INSERT INTO connections (id, name, strategy, doc, created_at, updated_at) VALUES ($1, $2, $3, $4, $5, $5) \
             ON CONFLICT (name) DO NOTHING",
        )
        .bind(&c.id)
        .bind(&c.name)
        .bind(&c.strategy)
        .bind(json_text(c)?)
        .bind(now)
        .execute(&self.pool)
        .await
        .map_err(map_err)?;
        Ok(done.rows_affected() == 1)
    }

    async fn get_connection_by_name(&self, name: &str) -> Result<Option<Connection>, StoreError> {
        let row = sqlx::query("SELECT doc FROM connections WHERE name = $1")
            .bind(name)
            .fetch_optional(&self.pool)
            .await
            .map_err(map_err)?;
        row.map(|r| from_json(&col::<String>(&r, "doc")?))
            .transpose()
    }

    async fn get_client(
        &self,
        client_id: &str,
    ) -> Result<Option<(Client, Option<ClientSecret>)>, StoreError> {
        let row =
            sqlx::query("SELECT doc, secret_sealed, secret_hash FROM clients WHERE client_id = $1")
                .bind(client_id)
                .fetch_optional(&self.pool)
                .await
                .map_err(map_err)?;
        let Some(row) = row else { return Ok(None) };
        let client: Client = from_json(&col::<String>(&row, "doc")?)?;
        let sealed: Option<Vec<u8>> = col(&row, "secret_sealed")?;
        let hash: Option<Vec<u8>> = col(&row, "secret_hash")?;
        let secret = match (sealed, hash) {
            (Some(sealed), Some(hash)) => Some(ClientSecret { sealed, hash }),
            _ => None,
        };
        Ok(Some((client, secret)))
    }

    async fn put_client(
        &self,
        client: &Client,
        secret: Option<&ClientSecret>,
        now: UnixTime,
    ) -> Result<(), StoreError> {
        sqlx::query(
            "INSERT INTO clients (client_id, doc, secret_sealed, secret_hash, created_at, updated_at) \
             VALUES ($1, $2, $3, $4, $5, $5) ON CONFLICT (client_id) DO UPDATE SET doc = excluded.doc, \
             secret_sealed = excluded.secret_sealed, secret_hash = excluded.secret_hash, updated_at = excluded.updated_at",
        )
        .bind(&client.client_id)
        .bind(json_text(client)?)
        .bind(secret.map(|s| s.sealed.clone()))
        .bind(secret.map(|s| s.hash.clone()))
        .bind(now)
        .execute(&self.pool)
        .await
        .map_err(map_err)?;
        Ok(())
    }

    async fn put_client_grant(&self, grant: &ClientGrant, now: UnixTime) -> Result<(), StoreError> {
        sqlx::query(
            "INSERT INTO client_grants (id, client_id, audience, scope, created_at, updated_at) \
             VALUES ($1, $2, $3, $4, $5, $5) ON CONFLICT (client_id, audience) DO UPDATE SET \
             scope = excluded.scope, updated_at = excluded.updated_at",
        )
        .bind(&grant.id)
        .bind(&grant.client_id)
        .bind(&grant.audience)
        .bind(json_text(&grant.scope)?)
        .bind(now)
        .execute(&self.pool)
        .await
        .map_err(map_err)?;
        Ok(())
    }

    async fn get_client_grant(
        &self,
        client_id: &str,
        audience: &str,
    ) -> Result<Option<ClientGrant>, StoreError> {
        let row = sqlx::query(
            "SELECT id, scope FROM client_grants WHERE client_id = $1 AND audience = $2",
        )
        .bind(client_id)
        .bind(audience)
        .fetch_optional(&self.pool)
        .await
        .map_err(map_err)?;
        let Some(row) = row else { return Ok(None) };
        Ok(Some(ClientGrant {
            id: col(&row, "id")?,
            client_id: client_id.to_owned(),
            audience: audience.to_owned(),
            scope: from_json(&col::<String>(&row, "scope")?)?,
        }))
    }
}
