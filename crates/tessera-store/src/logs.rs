//! The tenant's log (`log_events`): batched inserts, filtered listings by
//! offset or checkpoint, and the retention sweep.

use async_trait::async_trait;
use sqlx::Row;
use tessera_core::clock::UnixTime;
use tessera_core::log_event::{LogEvent, LogFilter, LogStore, LogWindow};
use tessera_core::store::StoreError;

use crate::{SqlStore, from_json, in_tx, json_text, map_err};

/// Most events inserted by one statement.
const INSERT_CHUNK: usize = 100;

/// A value bound to a `$n` placeholder of a query built here.
enum Arg {
    Text(String),
    Int(i64),
}

/// `WHERE …` for `filter` (empty when it selects everything), its values
/// appended to `args`.
fn conditions(filter: &LogFilter, args: &mut Vec<Arg>) -> Vec<String> {
    let mut out = Vec::new();
    let next = |args: &mut Vec<Arg>, arg: Arg| {
        args.push(arg);
        format!("${}", args.len())
    };
    if !filter.types.is_empty() {
        let places: Vec<String> = filter
            .types
            .iter()
            .map(|t| next(args, Arg::Text(t.clone())))
            .collect();
        out.push(format!("type IN ({})", places.join(", ")));
    }
    if let Some(user_id) = &filter.user_id {
        out.push(format!(
            "user_id = {}",
            next(args, Arg::Text(user_id.clone()))
        ));
    }
    if let Some(client_id) = &filter.client_id {
        out.push(format!(
            "client_id = {}",
            next(args, Arg::Text(client_id.clone()))
        ));
    }
    if let Some(since) = filter.since {
        out.push(format!("date >= {}", next(args, Arg::Int(since))));
    }
    if let Some(until) = filter.until {
        out.push(format!("date <= {}", next(args, Arg::Int(until))));
    }
    out
}

fn where_clause(conditions: &[String]) -> String {
    if conditions.is_empty() {
        String::new()
    } else {
        format!(" WHERE {}", conditions.join(" AND "))
    }
}

fn bind_all<'q>(
    mut query: sqlx::query::Query<'q, sqlx::Any, sqlx::any::AnyArguments<'q>>,
    args: Vec<Arg>,
) -> sqlx::query::Query<'q, sqlx::Any, sqlx::any::AnyArguments<'q>> {
    for arg in args {
        query = match arg {
            Arg::Text(s) => query.bind(s),
            Arg::Int(i) => query.bind(i),
        };
    }
    query
}

fn event(row: &sqlx::any::AnyRow) -> Result<LogEvent, StoreError> {
    let text: String = row
        .try_get("doc")
        .map_err(|e| StoreError::Corrupt(e.to_string()))?;
    from_json(&text)
}

#[async_trait]
impl LogStore for SqlStore {
    async fn insert_log_events(&self, events: &[LogEvent]) -> Result<(), StoreError> {
        if events.is_empty() {
            return Ok(());
        }
        let rows: Vec<(LogEvent, String)> = events
            .iter()
            .map(|e| Ok((e.clone(), json_text(e)?)))
            .collect::<Result<_, StoreError>>()?;
        in_tx(&self.pool, move |conn| {
            let rows = rows.clone();
            Box::pin(async move {
                // One statement per chunk (600 placeholders, under every
                // backend's limit), not one per event.
                for chunk in rows.chunks(INSERT_CHUNK) {
                    let values: Vec<String> = (0..chunk.len())
                        .map(|i| {
                            let n = i * 6;
                            format!(
                                "(${}, ${}, ${}, ${}, ${}, ${})",
                                n + 1,
                                n + 2,
                                n + 3,
                                n + 4,
                                n + 5,
                                n + 6
                            )
                        })
                        .collect();
                    let sql = format!(
                        "INSERT INTO log_events (log_id, date, type, user_id, client_id, doc) VALUES {}",
                        values.join(", ")
                    );
                    let mut query = sqlx::query(&sql).persistent(false);
                    for (e, doc) in chunk {
                        query = query
                            .bind(e.log_id.clone())
                            .bind(e.date)
                            .bind(e.kind.code())
                            .bind(e.user_id.clone())
                            .bind(e.client_id.clone())
                            .bind(doc.clone());
                    }
                    query.execute(&mut *conn).await?;
                }
                Ok(())
            })
        })
        .await
    }

    async fn get_log_event(&self, log_id: &str) -> Result<Option<LogEvent>, StoreError> {
        let row = sqlx::query("SELECT doc FROM log_events WHERE log_id = $1")
            .bind(log_id)
            .fetch_optional(&self.pool)
            .await
            .map_err(map_err)?;
        row.as_ref().map(event).transpose()
    }

    async fn list_log_events(
        &self,
        filter: &LogFilter,
        window: &LogWindow,
    ) -> Result<Vec<LogEvent>, StoreError> {
        let mut args = Vec::new();
        let mut conds = conditions(filter, &mut args);
        let tail = match window {
            LogWindow::Offset {
                offset,
                limit,
                oldest_first,
            } => {
                let order = if *oldest_first { "ASC" } else { "DESC" };
                args.push(Arg::Int(*limit));
                args.push(Arg::Int(*offset));
                format!(
                    " ORDER BY date {order}, log_id {order} LIMIT ${} OFFSET ${}",
                    args.len() - 1,
                    args.len()
                )
            }
            LogWindow::After { after, limit } => {
                if let Some(after) = after {
                    args.push(Arg::Text(after.clone()));
                    conds.push(format!("log_id > ${}", args.len()));
                }
                args.push(Arg::Int(*limit));
                format!(" ORDER BY log_id ASC LIMIT ${}", args.len())
            }
        };
        let sql = format!("SELECT doc FROM log_events{}{tail}", where_clause(&conds));
        let rows = bind_all(sqlx::query(&sql).persistent(false), args)
            .fetch_all(&self.pool)
            .await
            .map_err(map_err)?;
        rows.iter().map(event).collect()
    }

    async fn count_log_events(&self, filter: &LogFilter) -> Result<i64, StoreError> {
        let mut args = Vec::new();
        let conds = conditions(filter, &mut args);
        let sql = format!("SELECT COUNT(*) FROM log_events{}", where_clause(&conds));
        let row = bind_all(sqlx::query(&sql).persistent(false), args)
            .fetch_one(&self.pool)
            .await
            .map_err(map_err)?;
        row.try_get::<i64, _>(0).map_err(map_err)
    }

    async fn sweep_log_events(&self, before: UnixTime, limit: i64) -> Result<u64, StoreError> {
        let done = sqlx::query(
            "DELETE FROM log_events WHERE log_id IN \
             (SELECT log_id FROM log_events WHERE date < $1 ORDER BY date LIMIT $2)",
        )
        .bind(before)
        .bind(limit.max(0))
        .execute(&self.pool)
        .await
        .map_err(map_err)?;
        Ok(done.rows_affected())
    }
}
