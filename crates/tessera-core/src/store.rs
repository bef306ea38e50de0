//! Narrow storage traits. Operations that carry an invariant are atomic in the
//! store (e.g. [`KeyStore::change_signing_keys`]); everything else is plain CRUD.

use async_trait::async_trait;

use crate::clock::UnixTime;
use crate::keys::{KeyChange, KeyRecord};
use crate::model::{Client, ClientGrant, ClientSecret, Connection, ResourceServer};

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// A uniqueness or optimistic-concurrency check failed; nothing was written.
    #[error("conflict: {0}")]
    Conflict(String),
    /// The database cannot be reached.
    #[error("database unavailable: {0}")]
    Unavailable(String),
    /// A stored row does not decode.
    #[error("corrupt row: {0}")]
    Corrupt(String),
    #[error("database error: {0}")]
    Backend(String),
}

#[async_trait]
pub trait KeyStore: Send + Sync + 'static {
    async fn list_signing_keys(&self) -> Result<Vec<KeyRecord>, StoreError>;
    /// In one transaction: apply every change (each row must still be in its
    /// expected state) and insert every new key. Any failed expectation or
    /// uniqueness rule (one current key, one next key) -> `Conflict`, nothing written.
    async fn change_signing_keys(
        &self,
        changes: &[KeyChange],
        insert: &[KeyRecord],
    ) -> Result<(), StoreError>;
}

#[async_trait]
pub trait MetaStore: Send + Sync + 'static {
    async fn get_meta(&self, key: &str) -> Result<Option<String>, StoreError>;
    /// Stores `value` unless the key exists; returns the value now stored.
    async fn put_meta_if_absent(&self, key: &str, value: &str) -> Result<String, StoreError>;
}

#[async_trait]
pub trait TenantStore: Send + Sync + 'static {
    /// Inserts unless a resource server with the same identifier exists; true when inserted.
    async fn insert_resource_server_if_absent(
        &self,
        rs: &ResourceServer,
        now: UnixTime,
    ) -> Result<bool, StoreError>;
    async fn get_resource_server_by_identifier(
        &self,
        identifier: &str,
    ) -> Result<Option<ResourceServer>, StoreError>;
    /// Inserts unless a connection with the same name exists; true when inserted.
    async fn insert_connection_if_absent(
        &self,
        connection: &Connection,
        now: UnixTime,
    ) -> Result<bool, StoreError>;
    async fn get_connection_by_name(&self, name: &str) -> Result<Option<Connection>, StoreError>;
    async fn get_client(
        &self,
        client_id: &str,
    ) -> Result<Option<(Client, Option<ClientSecret>)>, StoreError>;
    /// Inserts or replaces a client and its secret.
    async fn put_client(
        &self,
        client: &Client,
        secret: Option<&ClientSecret>,
        now: UnixTime,
    ) -> Result<(), StoreError>;
    /// Inserts or replaces the grant for (client_id, audience).
    async fn put_client_grant(&self, grant: &ClientGrant, now: UnixTime) -> Result<(), StoreError>;
    async fn get_client_grant(
        &self,
        client_id: &str,
        audience: &str,
    ) -> Result<Option<ClientGrant>, StoreError>;
}

/// Everything the server needs from a database.
#[async_trait]
pub trait Store: KeyStore + MetaStore + TenantStore {
    /// Is the database reachable? (readiness)
    async fn ping(&self) -> Result<(), StoreError>;
    /// `sqlite` or `postgres`.
    fn backend(&self) -> &'static str;
}
