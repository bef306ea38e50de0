use async_trait::async_trait;
use sqlx::Row;
use tessera_core::clock::UnixTime;
use tessera_core::manage::resource_servers::retired_until;
use tessera_core::model::{Client, ClientGrant, ClientSecret, Connection, ResourceServer};
use tessera_core::store::{
    ClientCredentialsContext, ClientFilter, ConnectionFilter, GrantFilter, Page, SecretChange,
    StoreError, TenantStore,
};

use crate::{SqlStore, from_json, in_tx, json_text, map_err, retired};

fn col<T>(row: &sqlx::any::AnyRow, name: &str) -> Result<T, StoreError>
where
    T: for<'r> sqlx::Decode<'r, sqlx::Any> + sqlx::Type<sqlx::Any>,
{
    row.try_get(name)
        .map_err(|e| StoreError::Corrupt(e.to_string()))
}

fn client_row(row: &sqlx::any::AnyRow) -> Result<(Client, Option<ClientSecret>), StoreError> {
    let client: Client = from_json(&col::<String>(row, "doc")?)?;
    let sealed: Option<Vec<u8>> = col(row, "secret_sealed")?;
    let hash: Option<Vec<u8>> = col(row, "secret_hash")?;
    let secret = match (sealed, hash) {
        (Some(sealed), Some(hash)) => Some(ClientSecret { sealed, hash }),
        _ => None,
    };
    Ok((client, secret))
}

fn grant_row(row: &sqlx::any::AnyRow) -> Result<ClientGrant, StoreError> {
    Ok(ClientGrant {
        id: col(row, "id")?,
        client_id: col(row, "client_id")?,
        audience: col(row, "audience")?,
        scope: from_json(&col::<String>(row, "scope")?)?,
    })
}

/// A WHERE clause and its text parameters, numbered from `$1`.
#[derive(Default)]
pub(crate) struct Conditions {
    clauses: Vec<String>,
    binds: Vec<Bind>,
}

pub(crate) enum Bind {
    Text(String),
    Bool(bool),
}

impl Conditions {
    pub(crate) fn next(&self) -> usize {
        self.binds.len() + 1
    }
    pub(crate) fn equals(&mut self, column: &str, value: Bind) {
        self.clauses.push(format!("{column} = ${}", self.next()));
        self.binds.push(value);
    }
    pub(crate) fn one_of(&mut self, column: &str, values: &[&str]) {
        if values.is_empty() {
            return;
        }
        let first = self.next();
        let marks: Vec<String> = (first..first + values.len())
            .map(|n| format!("${n}"))
            .collect();
        self.clauses
            .push(format!("{column} IN ({})", marks.join(", ")));
        self.binds
            .extend(values.iter().map(|v| Bind::Text((*v).to_owned())));
    }
    /// A clause without parameters.
    pub(crate) fn raw(&mut self, clause: &str) {
        self.clauses.push(clause.to_owned());
    }
    pub(crate) fn sql(&self) -> String {
        if self.clauses.is_empty() {
            String::new()
        } else {
            format!(" WHERE {}", self.clauses.join(" AND "))
        }
    }
    pub(crate) fn bind<'q>(
        &'q self,
        mut q: sqlx::query::Query<'q, sqlx::Any, sqlx::any::AnyArguments<'q>>,
    ) -> sqlx::query::Query<'q, sqlx::Any, sqlx::any::AnyArguments<'q>> {
        for b in &self.binds {
            q = match b {
                Bind::Text(t) => q.bind(t.as_str()),
                Bind::Bool(v) => q.bind(*v),
            };
        }
        q
    }
}

fn decode_err(e: StoreError) -> sqlx::Error {
    sqlx::Error::Decode(Box::new(e))
}

pub(crate) fn docs<T: serde::de::DeserializeOwned>(
    rows: &[sqlx::any::AnyRow],
) -> Result<Vec<T>, StoreError> {
    rows.iter()
        .map(|r| from_json(&col::<String>(r, "doc")?))
        .collect()
}

impl SqlStore {
    /// The `doc` column of the one row `sql` (with `$1` = `key`) returns, if any.
    pub(crate) async fn one_doc<T: serde::de::DeserializeOwned>(
        &self,
        sql: &str,
        key: &str,
    ) -> Result<Option<T>, StoreError> {
        let row = sqlx::query(sql)
            .bind(key)
            .fetch_optional(&self.pool)
            .await
            .map_err(map_err)?;
        row.map(|r| from_json(&col::<String>(&r, "doc")?))
            .transpose()
    }

    async fn count(&self, sql: &str) -> Result<i64, StoreError> {
        sqlx::query(sql)
            .fetch_one(&self.pool)
            .await
            .map_err(map_err)?
            .try_get(0)
            .map_err(map_err)
    }

    /// `SELECT {columns} FROM {table}{where}`, counted and paged.
    pub(crate) async fn filtered_page(
        &self,
        columns: &str,
        table: &str,
        order: &str,
        cond: &Conditions,
        page: Page,
    ) -> Result<(Vec<sqlx::any::AnyRow>, i64), StoreError> {
        let filter = cond.sql();
        let count_sql = format!("SELECT COUNT(*) FROM {table}{filter}");
        let total: i64 = cond
            .bind(sqlx::query(&count_sql).persistent(false))
            .fetch_one(&self.pool)
            .await
            .map_err(map_err)?
            .try_get(0)
            .map_err(map_err)?;
        let n = cond.next();
        let sql = format!(
            "SELECT {columns} FROM {table}{filter} ORDER BY {order} LIMIT ${n} OFFSET ${}",
            n + 1
        );
        let rows = cond
            .bind(sqlx::query(&sql).persistent(false))
            .bind(page.per_page)
            .bind(page.offset())
            .fetch_all(&self.pool)
            .await
            .map_err(map_err)?;
        Ok((rows, total))
    }

    async fn page_of(&self, sql: &str, page: Page) -> Result<Vec<sqlx::any::AnyRow>, StoreError> {
        sqlx::query(sql)
            .bind(page.per_page)
            .bind(page.offset())
            .fetch_all(&self.pool)
            .await
            .map_err(map_err)
    }
}

#[async_trait]
impl TenantStore for SqlStore {
    async fn create_resource_server(
        &self,
        rs: &ResourceServer,
        now: UnixTime,
    ) -> Result<(), StoreError> {
        sqlx::query("INSERT INTO resource_servers (id, identifier, doc, created_at, updated_at) VALUES ($1, $2, $3, $4, $4)")
            .bind(&rs.id)
            .bind(&rs.identifier)
            .bind(json_text(rs)?)
            .bind(now)
            .execute(&self.pool)
            .await
            .map_err(map_err)?;
        Ok(())
    }

    async fn get_resource_server(&self, id: &str) -> Result<Option<ResourceServer>, StoreError> {
        self.one_doc("SELECT doc FROM resource_servers WHERE id = $1", id)
            .await
    }

    async fn list_resource_servers(
        &self,
        page: Page,
    ) -> Result<(Vec<ResourceServer>, i64), StoreError> {
        let total = self.count("SELECT COUNT(*) FROM resource_servers").await?;
        let rows = self
            .page_of(
                "SELECT doc FROM resource_servers ORDER BY created_at, id LIMIT $1 OFFSET $2",
                page,
            )
            .await?;
        Ok((docs(&rows)?, total))
    }

    async fn update_resource_server(
        &self,
        rs: &ResourceServer,
        now: UnixTime,
    ) -> Result<bool, StoreError> {
        let doc = json_text(rs)?;
        let rs = rs.clone();
        in_tx(&self.pool, move |conn| {
            let (rs, doc) = (rs.clone(), doc.clone());
            Box::pin(async move {
                // Lock the row first (PostgreSQL: a concurrent update waits;
                // SQLite: the write lock), so the lifetime read next is the one
                // this update replaces.
                let locked = sqlx::query(
                    "UPDATE resource_servers SET updated_at = $3 WHERE id = $1 AND identifier = $2",
                )
                .bind(&rs.id)
                .bind(&rs.identifier)
                .bind(now)
                .execute(&mut *conn)
                .await?;
                if locked.rows_affected() != 1 {
                    return Ok(false);
                }
                let old: String = sqlx::query("SELECT doc FROM resource_servers WHERE id = $1")
                    .bind(&rs.id)
                    .fetch_one(&mut *conn)
                    .await?
                    .try_get("doc")?;
                let old: ResourceServer = from_json(&old).map_err(decode_err)?;
                sqlx::query("UPDATE resource_servers SET doc = $2 WHERE id = $1")
                    .bind(&rs.id)
                    .bind(&doc)
                    .execute(&mut *conn)
                    .await?;
                if let Some(until) = retired_until(&old, Some(&rs), now) {
                    retired::remember(conn, &rs.identifier, until).await?;
                }
                crate::rbac::forget_removed_scopes(conn, &old, &rs).await?;
                Ok(true)
            })
        })
        .await
    }

    async fn delete_resource_server(
        &self,
        id: &str,
        now: UnixTime,
    ) -> Result<Option<ResourceServer>, StoreError> {
        let id = id.to_owned();
        in_tx(&self.pool, move |conn| {
            let id = id.clone();
            Box::pin(async move {
                let row = sqlx::query("DELETE FROM resource_servers WHERE id = $1 RETURNING doc")
                    .bind(&id)
                    .fetch_optional(&mut *conn)
                    .await?;
                let Some(row) = row else { return Ok(None) };
                let doc: String = row.try_get("doc")?;
                let old: ResourceServer = from_json(&doc).map_err(decode_err)?;
                // Its tokens outlive it: revocations made later must too.
                if let Some(until) = retired_until(&old, None, now) {
                    retired::remember(conn, &old.identifier, until).await?;
                }
                Ok(Some(old))
            })
        })
        .await
    }

    async fn create_client(
        &self,
        client: &Client,
        secret: Option<&ClientSecret>,
        now: UnixTime,
    ) -> Result<(), StoreError> {
        let client_id = client.client_id.clone();
        let doc = json_text(client)?;
        let secret = secret.cloned();
        in_tx(&self.pool, move |conn| {
            let (client_id, doc, secret) = (client_id.clone(), doc.clone(), secret.clone());
            Box::pin(async move {
                sqlx::query(
                    "INSERT INTO clients (client_id, doc, secret_sealed, secret_hash, created_at, updated_at) VALUES ($1, $2, $3, $4, $5, $5)",
                )
                .bind(&client_id)
                .bind(doc)
                .bind(secret.as_ref().map(|s| s.sealed.clone()))
                .bind(secret.as_ref().map(|s| s.hash.clone()))
                .bind(now)
                .execute(&mut *conn)
                .await?;
                crate::connection_clients::enable_new_client(conn, &client_id).await
            })
        })
        .await
    }

    async fn list_clients(
        &self,
        filter: &ClientFilter,
        page: Page,
    ) -> Result<(Vec<(Client, Option<ClientSecret>)>, i64), StoreError> {
        // app_type and is_first_party are columns computed from the document.
        let mut cond = Conditions::default();
        let app_types: Vec<&str> = filter.app_types.iter().map(|t| t.as_str()).collect();
        cond.one_of("app_type", &app_types);
        if let Some(first_party) = filter.is_first_party {
            cond.equals("is_first_party", Bind::Bool(first_party));
        }
        let (rows, total) = self
            .filtered_page(
                "doc, secret_sealed, secret_hash",
                "clients",
                "created_at, client_id",
                &cond,
                page,
            )
            .await?;
        Ok((
            rows.iter().map(client_row).collect::<Result<_, _>>()?,
            total,
        ))
    }

    async fn update_client(
        &self,
        client: &Client,
        secret: SecretChange<'_>,
        now: UnixTime,
    ) -> Result<bool, StoreError> {
        let doc = json_text(client)?;
        let query = match secret {
            SecretChange::Keep => {
                sqlx::query("UPDATE clients SET doc = $2, updated_at = $3 WHERE client_id = $1")
                    .bind(&client.client_id)
                    .bind(doc)
                    .bind(now)
            }
            SecretChange::Set(s) => sqlx::query(
                "UPDATE clients SET doc = $2, updated_at = $3, secret_sealed = $4, secret_hash = $5 WHERE client_id = $1",
            )
            .bind(&client.client_id)
            .bind(doc)
            .bind(now)
            .bind(s.sealed.clone())
            .bind(s.hash.clone()),
            SecretChange::Remove => sqlx::query(
                "UPDATE clients SET doc = $2, updated_at = $3, secret_sealed = NULL, secret_hash = NULL WHERE client_id = $1",
            )
            .bind(&client.client_id)
            .bind(doc)
            .bind(now),
        };
        let done = query.execute(&self.pool).await.map_err(map_err)?;
        Ok(done.rows_affected() == 1)
    }

    async fn delete_client(&self, client_id: &str) -> Result<bool, StoreError> {
        let client_id = client_id.to_owned();
        in_tx(&self.pool, move |conn| {
            let client_id = client_id.clone();
            Box::pin(async move {
                // Grants go with the client (ON DELETE CASCADE).
                let done = sqlx::query("DELETE FROM clients WHERE client_id = $1")
                    .bind(&client_id)
                    .execute(&mut *conn)
                    .await?;
                if done.rows_affected() != 1 {
                    return Ok(false);
                }
                // Connections list their clients in their documents.
                crate::connection_clients::forget_client(conn, &client_id).await?;
                Ok(true)
            })
        })
        .await
    }

    async fn create_client_grant(
        &self,
        grant: &ClientGrant,
        now: UnixTime,
    ) -> Result<(), StoreError> {
        sqlx::query(
            "INSERT INTO client_grants (id, client_id, audience, scope, created_at, updated_at) VALUES ($1, $2, $3, $4, $5, $5)",
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

    async fn get_client_grant_by_id(&self, id: &str) -> Result<Option<ClientGrant>, StoreError> {
        let row =
            sqlx::query("SELECT id, client_id, audience, scope FROM client_grants WHERE id = $1")
                .bind(id)
                .fetch_optional(&self.pool)
                .await
                .map_err(map_err)?;
        row.as_ref().map(grant_row).transpose()
    }

    async fn list_client_grants(
        &self,
        filter: &GrantFilter,
        page: Page,
    ) -> Result<(Vec<ClientGrant>, i64), StoreError> {
        // NULL parameters mean "any".
        let cond = "($1 IS NULL OR audience = $1) AND ($2 IS NULL OR client_id = $2)";
        let total: i64 = sqlx::query(&format!("SELECT COUNT(*) FROM client_grants WHERE {cond}"))
            .bind(filter.audience.clone())
            .bind(filter.client_id.clone())
            .fetch_one(&self.pool)
            .await
            .map_err(map_err)?
            .try_get(0)
            .map_err(map_err)?;
        let rows = sqlx::query(&format!(
            "SELECT id, client_id, audience, scope FROM client_grants WHERE {cond} ORDER BY created_at, id LIMIT $3 OFFSET $4"
        ))
        .bind(filter.audience.clone())
        .bind(filter.client_id.clone())
        .bind(page.per_page)
        .bind(page.offset())
        .fetch_all(&self.pool)
        .await
        .map_err(map_err)?;
        Ok((rows.iter().map(grant_row).collect::<Result<_, _>>()?, total))
    }

    async fn update_client_grant(
        &self,
        id: &str,
        scope: &[String],
        now: UnixTime,
    ) -> Result<Option<ClientGrant>, StoreError> {
        let row = sqlx::query(
            "UPDATE client_grants SET scope = $2, updated_at = $3 WHERE id = $1 RETURNING id, client_id, audience, scope",
        )
        .bind(id)
        .bind(json_text(&scope)?)
        .bind(now)
        .fetch_optional(&self.pool)
        .await
        .map_err(map_err)?;
        row.as_ref().map(grant_row).transpose()
    }

    async fn delete_client_grant(&self, id: &str) -> Result<Option<ClientGrant>, StoreError> {
        let row = sqlx::query(
            "DELETE FROM client_grants WHERE id = $1 RETURNING id, client_id, audience, scope",
        )
        .bind(id)
        .fetch_optional(&self.pool)
        .await
        .map_err(map_err)?;
        row.as_ref().map(grant_row).transpose()
    }

    async fn create_connection(&self, c: &Connection, now: UnixTime) -> Result<(), StoreError> {
        sqlx::query(
            "INSERT INTO connections (id, name, strategy, doc, created_at, updated_at) VALUES ($1, $2, $3, $4, $5, $5)",
        )
        .bind(&c.id)
        .bind(&c.name)
        .bind(&c.strategy)
        .bind(json_text(c)?)
        .bind(now)
        .execute(&self.pool)
        .await
        .map_err(map_err)?;
        Ok(())
    }

    async fn get_connection(&self, id: &str) -> Result<Option<Connection>, StoreError> {
        self.one_doc("SELECT doc FROM connections WHERE id = $1", id)
            .await
    }

    async fn list_connections(
        &self,
        filter: &ConnectionFilter,
        page: Page,
    ) -> Result<(Vec<Connection>, i64), StoreError> {
        let mut cond = Conditions::default();
        let strategies: Vec<&str> = filter.strategies.iter().map(String::as_str).collect();
        cond.one_of("strategy", &strategies);
        if let Some(name) = &filter.name {
            cond.equals("name", Bind::Text(name.clone()));
        }
        let (rows, total) = self
            .filtered_page("doc", "connections", "created_at, id", &cond, page)
            .await?;
        Ok((docs(&rows)?, total))
    }

    async fn update_connection(
        &self,
        c: &Connection,
        keep_clients: bool,
        now: UnixTime,
    ) -> Result<bool, StoreError> {
        crate::connection_clients::update_connection(self, c, keep_clients, now).await
    }

    async fn delete_connection(&self, id: &str) -> Result<Option<Connection>, StoreError> {
        let id = id.to_owned();
        in_tx(&self.pool, move |conn| {
            let id = id.clone();
            Box::pin(async move {
                let row = sqlx::query("DELETE FROM connections WHERE id = $1 RETURNING name, doc")
                    .bind(&id)
                    .fetch_optional(&mut *conn)
                    .await?;
                let Some(row) = row else { return Ok(None) };
                let name: String = row.try_get("name")?;
                let doc: String = row.try_get("doc")?;
                // Its users go with it, as in Auth0.
                sqlx::query("DELETE FROM users WHERE connection = $1")
                    .bind(&name)
                    .execute(&mut *conn)
                    .await?;
                Ok(Some(from_json(&doc).map_err(decode_err)?))
            })
        })
        .await
    }

    async fn client_credentials_context(
        &self,
        client_id: &str,
        audience: &str,
    ) -> Result<ClientCredentialsContext, StoreError> {
        // One round trip: the client, the API and the grant, each possibly absent.
        let row = sqlx::query(
            "SELECT c.doc AS c_doc, c.secret_sealed AS secret_sealed, c.secret_hash AS secret_hash, \
                    r.doc AS r_doc, g.id AS g_id, g.scope AS g_scope \
             FROM (SELECT 1 AS one) AS anchor \
             LEFT JOIN clients c ON c.client_id = $1 \
             LEFT JOIN resource_servers r ON r.identifier = $2 \
             LEFT JOIN client_grants g ON g.client_id = $1 AND g.audience = $2",
        )
        .bind(client_id)
        .bind(audience)
        .fetch_one(&self.pool)
        .await
        .map_err(map_err)?;
        let client_doc: Option<String> = col(&row, "c_doc")?;
        let client = match client_doc {
            Some(doc) => {
                let sealed: Option<Vec<u8>> = col(&row, "secret_sealed")?;
                let hash: Option<Vec<u8>> = col(&row, "secret_hash")?;
                let secret = match (sealed, hash) {
                    (Some(sealed), Some(hash)) => Some(ClientSecret { sealed, hash }),
                    _ => None,
                };
                Some((from_json::<Client>(&doc)?, secret))
            }
            None => None,
        };
        let rs_doc: Option<String> = col(&row, "r_doc")?;
        let grant_id: Option<String> = col(&row, "g_id")?;
        let grant = match grant_id {
            Some(id) => Some(ClientGrant {
                id,
                client_id: client_id.to_owned(),
                audience: audience.to_owned(),
                scope: from_json(&col::<String>(&row, "g_scope")?)?,
            }),
            None => None,
        };
        Ok(ClientCredentialsContext {
            client,
            resource_server: rs_doc.map(|d| from_json(&d)).transpose()?,
            grant,
        })
    }

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
        self.one_doc(
            "SELECT doc FROM resource_servers WHERE identifier = $1",
            identifier,
        )
        .await
    }

    async fn retired_token_expiry(
        &self,
        identifier: Option<&str>,
        now: UnixTime,
    ) -> Result<Option<UnixTime>, StoreError> {
        self.latest_retired_expiry(identifier, now).await
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
        self.one_doc("SELECT doc FROM connections WHERE name = $1", name)
            .await
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
        row.as_ref().map(client_row).transpose()
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
