//! Connections' enabled clients: changes by client, the tenant flag
//! `enable_client_connections` at client creation, and the one-time upgrade
//! from "an empty list means every client" to Auth0's "none".

use async_trait::async_trait;
use sqlx::Row;
use tessera_core::clock::UnixTime;
use tessera_core::manage::connections::MAX_ENABLED_CLIENTS;
use tessera_core::manage::tenant_settings::client_connections_enabled;
use tessera_core::model::Connection;
use tessera_core::store::{ConnectionClientsStore, StoreError};

use crate::{SqlStore, from_json, in_tx, json_text};

/// The `meta` key marking the upgrade done.
pub const META_UPGRADE: &str = "connections_enabled_clients_explicit";

fn decode(e: StoreError) -> sqlx::Error {
    sqlx::Error::Decode(Box::new(e))
}

async fn save(
    conn: &mut sqlx::AnyConnection,
    connection: &Connection,
    now: Option<UnixTime>,
) -> Result<(), sqlx::Error> {
    let text = json_text(connection).map_err(decode)?;
    match now {
        Some(now) => {
            sqlx::query("UPDATE connections SET doc = $2, updated_at = $3 WHERE id = $1")
                .bind(&connection.id)
                .bind(text)
                .bind(now)
                .execute(&mut *conn)
                .await?
        }
        None => {
            sqlx::query("UPDATE connections SET doc = $2 WHERE id = $1")
                .bind(&connection.id)
                .bind(text)
                .execute(&mut *conn)
                .await?
        }
    };
    Ok(())
}

async fn all_connections(conn: &mut sqlx::AnyConnection) -> Result<Vec<Connection>, sqlx::Error> {
    let rows = sqlx::query("SELECT doc FROM connections ORDER BY created_at, id")
        .fetch_all(&mut *conn)
        .await?;
    rows.iter()
        .map(|row| {
            let doc: String = row.try_get("doc")?;
            from_json(&doc).map_err(decode)
        })
        .collect()
}

/// Locks every connection row (PostgreSQL: a row lock until the transaction
/// ends; SQLite: the write lock) before the caller reads them, so concurrent
/// read-modify-writes of `enabled_clients` apply one after the other.
async fn lock_all(conn: &mut sqlx::AnyConnection) -> Result<(), sqlx::Error> {
    sqlx::query("UPDATE connections SET doc = doc")
        .execute(&mut *conn)
        .await?;
    Ok(())
}

/// Of `ids`, those that are clients now (read in the caller's transaction).
async fn existing_clients(
    conn: &mut sqlx::AnyConnection,
    ids: &[String],
) -> Result<Vec<String>, sqlx::Error> {
    let mut out = Vec::with_capacity(ids.len());
    for id in ids {
        let found = sqlx::query("SELECT 1 FROM clients WHERE client_id = $1")
            .bind(id)
            .fetch_optional(&mut *conn)
            .await?;
        if found.is_some() {
            out.push(id.clone());
        }
    }
    Ok(out)
}

/// Called by `create_client` in its transaction: with the tenant flag on,
/// the new client is enabled on every connection (below
/// [`MAX_ENABLED_CLIENTS`]).
pub(crate) async fn enable_new_client(
    conn: &mut sqlx::AnyConnection,
    client_id: &str,
) -> Result<(), sqlx::Error> {
    let settings = crate::tenant_settings::read_doc(conn).await?;
    if !client_connections_enabled(&settings) {
        return Ok(());
    }
    lock_all(conn).await?;
    for mut connection in all_connections(conn).await? {
        if !connection.enabled_clients.iter().any(|c| c == client_id)
            && connection.enabled_clients.len() < MAX_ENABLED_CLIENTS
        {
            connection.enabled_clients.push(client_id.to_owned());
            save(conn, &connection, None).await?;
        }
    }
    Ok(())
}

/// Called by `delete_client` in its transaction, after the client row is
/// gone: the client leaves every connection's list.
pub(crate) async fn forget_client(
    conn: &mut sqlx::AnyConnection,
    client_id: &str,
) -> Result<(), sqlx::Error> {
    lock_all(conn).await?;
    for mut connection in all_connections(conn).await? {
        if connection.enabled_clients.iter().any(|c| c == client_id) {
            connection.enabled_clients.retain(|c| c != client_id);
            save(conn, &connection, None).await?;
        }
    }
    Ok(())
}

/// `TenantStore::update_connection`: in one transaction, the row locked
/// first; with `keep_clients` the stored `enabled_clients` stay (a PATCH that
/// does not name them never undoes a concurrent change), else the given list
/// is stored with the ids of clients that no longer exist dropped.
pub(crate) async fn update_connection(
    store: &SqlStore,
    c: &Connection,
    keep_clients: bool,
    now: UnixTime,
) -> Result<bool, StoreError> {
    let c = c.clone();
    in_tx(&store.pool, move |conn| {
        let mut c = c.clone();
        Box::pin(async move {
            let locked =
                sqlx::query("UPDATE connections SET updated_at = $2 WHERE id = $1 AND name = $3")
                    .bind(&c.id)
                    .bind(now)
                    .bind(&c.name)
                    .execute(&mut *conn)
                    .await?;
            if locked.rows_affected() != 1 {
                return Ok(false);
            }
            if keep_clients {
                let row = sqlx::query("SELECT doc FROM connections WHERE id = $1")
                    .bind(&c.id)
                    .fetch_one(&mut *conn)
                    .await?;
                let doc: String = row.try_get("doc")?;
                let stored: Connection = from_json(&doc).map_err(decode)?;
                c.enabled_clients = stored.enabled_clients;
            } else {
                c.enabled_clients = existing_clients(conn, &c.enabled_clients).await?;
            }
            save(conn, &c, Some(now)).await?;
            Ok(true)
        })
    })
    .await
}

#[async_trait]
impl ConnectionClientsStore for SqlStore {
    async fn change_connection_clients(
        &self,
        id: &str,
        changes: &[(String, bool)],
        now: UnixTime,
    ) -> Result<Option<Connection>, StoreError> {
        let id = id.to_owned();
        let changes = changes.to_vec();
        in_tx(&self.pool, move |conn| {
            let id = id.clone();
            let changes = changes.clone();
            Box::pin(async move {
                // Lock the row (PostgreSQL) before reading it: concurrent
                // changes apply one after the other, none is lost.
                let locked = sqlx::query("UPDATE connections SET updated_at = $2 WHERE id = $1")
                    .bind(&id)
                    .bind(now)
                    .execute(&mut *conn)
                    .await?;
                if locked.rows_affected() != 1 {
                    return Ok(None);
                }
                let row = sqlx::query("SELECT doc FROM connections WHERE id = $1")
                    .bind(&id)
                    .fetch_one(&mut *conn)
                    .await?;
                let doc: String = row.try_get("doc")?;
                let mut connection: Connection = from_json(&doc).map_err(decode)?;
                let enabling: Vec<String> = changes
                    .iter()
                    .filter(|(_, on)| *on)
                    .map(|(c, _)| c.clone())
                    .collect();
                let exist = existing_clients(conn, &enabling).await?;
                for (client_id, enabled) in &changes {
                    let listed = connection.enabled_clients.iter().any(|c| c == client_id);
                    if *enabled
                        && !listed
                        && exist.contains(client_id)
                        && connection.enabled_clients.len() < MAX_ENABLED_CLIENTS
                    {
                        connection.enabled_clients.push(client_id.clone());
                    } else if !*enabled && listed {
                        connection.enabled_clients.retain(|c| c != client_id);
                    }
                }
                save(conn, &connection, Some(now)).await?;
                Ok(Some(connection))
            })
        })
        .await
    }

    async fn open_connections_upgrade(&self, now: UnixTime) -> Result<bool, StoreError> {
        in_tx(&self.pool, move |conn| {
            Box::pin(async move {
                // The first writer of the mark does the upgrade; a concurrent
                // start waits on the key and then finds it taken.
                let marked = sqlx::query(
                    "INSERT INTO meta (key, value) VALUES ($1, $2) ON CONFLICT (key) DO NOTHING",
                )
                .bind(META_UPGRADE)
                .bind(now.to_string())
                .execute(&mut *conn)
                .await?;
                if marked.rows_affected() != 1 {
                    return Ok(false);
                }
                let rows =
                    sqlx::query("SELECT client_id FROM clients ORDER BY created_at, client_id")
                        .fetch_all(&mut *conn)
                        .await?;
                let clients: Vec<String> = rows
                    .iter()
                    .map(|r| r.try_get::<String, _>("client_id"))
                    .collect::<Result<_, _>>()?;
                for mut connection in all_connections(conn).await? {
                    if connection.enabled_clients.is_empty() {
                        connection.enabled_clients = clients.clone();
                        save(conn, &connection, None).await?;
                    }
                }
                Ok(true)
            })
        })
        .await
    }
}
