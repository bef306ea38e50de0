//! Request bodies and query strings for the Management API: every failure is a
//! 400 in Auth0's shape naming the property.

use axum::extract::{FromRequest, FromRequestParts, Request};
use axum::http::header;
use axum::http::request::Parts;
use bytes::Bytes;
use serde::de::DeserializeOwned;
use tessera_core::store::Page;

use super::error::MgmtError;

/// A JSON body, deserialised with the failing property named.
pub struct Payload<T>(pub T);

impl<T: DeserializeOwned, S: Send + Sync> FromRequest<S> for Payload<T> {
    type Rejection = MgmtError;

    async fn from_request(req: Request, state: &S) -> Result<Self, Self::Rejection> {
        let is_json = req
            .headers()
            .get(header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .is_some_and(|ct| {
                ct.split(';')
                    .next()
                    .unwrap_or("")
                    .trim()
                    .eq_ignore_ascii_case("application/json")
            });
        if !is_json {
            return Err(MgmtError::bad_request(
                "invalid_body",
                "Content-Type must be application/json",
            ));
        }
        let body = Bytes::from_request(req, state).await.map_err(|e| {
            MgmtError::new(
                e.status(),
                "invalid_body",
                "The request body could not be read (too large?)",
            )
        })?;
        parse_json(&body).map(Payload)
    }
}

pub fn parse_json<T: DeserializeOwned>(body: &[u8]) -> Result<T, MgmtError> {
    let mut de = serde_json::Deserializer::from_slice(body);
    let value = serde_path_to_error::deserialize(&mut de).map_err(|e| {
        let path = e.path().to_string();
        let inner = e.into_inner();
        let problem = inner.to_string();
        // serde's messages end with " at line L column C"; the property says where.
        let problem = problem
            .split(" at line ")
            .next()
            .unwrap_or(&problem)
            .to_owned();
        if inner.is_syntax() || inner.is_eof() {
            MgmtError::bad_request("invalid_body", "Payload is not valid JSON")
        } else {
            MgmtError::invalid_body(if path == "." { "(body)" } else { &path }, &problem)
        }
    })?;
    de.end()
        .map_err(|_| MgmtError::bad_request("invalid_body", "Payload is not valid JSON"))?;
    Ok(value)
}

/// A query string, deserialised with unknown parameters refused.
pub struct QueryOf<T>(pub T);

impl<T: DeserializeOwned, S: Send + Sync> FromRequestParts<S> for QueryOf<T> {
    type Rejection = MgmtError;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, Self::Rejection> {
        let query = parts.uri.query().unwrap_or("");
        let de = serde_urlencoded::Deserializer::new(url::form_urlencoded::parse(query.as_bytes()));
        serde_path_to_error::deserialize(de)
            .map(QueryOf)
            .map_err(|e| {
                let path = e.path().to_string();
                let problem = e.into_inner().to_string();
                MgmtError::bad_request(
                    "invalid_query_string",
                    format!("Query validation error: '{problem}' on property {path}."),
                )
            })
    }
}

/// Auth0's paging: `page` from 0, `per_page` 1..=100 (default 50).
pub fn page(page: Option<i64>, per_page: Option<i64>) -> Result<Page, MgmtError> {
    let page = page.unwrap_or(0);
    let per_page = per_page.unwrap_or(50);
    // Bounded, so that page * per_page can never overflow.
    if !(0..=100_000).contains(&page) {
        return Err(MgmtError::bad_request(
            "invalid_query_string",
            "Query validation error: 'page' must be between 0 and 100000.",
        ));
    }
    if !(1..=100).contains(&per_page) {
        return Err(MgmtError::bad_request(
            "invalid_query_string",
            "Query validation error: 'per_page' must be between 1 and 100.",
        ));
    }
    Ok(Page { page, per_page })
}

/// A listing: a plain array, or with `include_totals=true`
/// `{"start", "limit", "length", "total", "<key>": [...]}`.
pub fn listing<T: serde::Serialize>(
    key: &str,
    items: Vec<T>,
    total: i64,
    page: Page,
    include_totals: bool,
) -> axum::response::Response {
    use axum::response::IntoResponse;
    if include_totals {
        let mut body = serde_json::Map::new();
        body.insert("start".into(), page.offset().into());
        body.insert("limit".into(), page.per_page.into());
        body.insert("length".into(), (items.len() as i64).into());
        body.insert("total".into(), total.into());
        body.insert(key.into(), serde_json::to_value(items).unwrap_or_default());
        axum::Json(serde_json::Value::Object(body)).into_response()
    } else {
        axum::Json(items).into_response()
    }
}

/// Auth0's timestamps: RFC 3339 in UTC with milliseconds.
pub fn timestamp(unix: i64) -> String {
    let t = std::time::UNIX_EPOCH + std::time::Duration::from_secs(unix.max(0) as u64);
    humantime::format_rfc3339_millis(t).to_string()
}

/// Auth0's two ways of paging a listing: offset (`page`, `per_page`,
/// `include_totals`) and checkpoint (`from`, `take`; answered with `next`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Paging {
    Offset {
        page: Page,
        include_totals: bool,
    },
    /// `from` is the opaque `next` of the previous answer (here: a page index).
    Checkpoint {
        page: Page,
    },
}

impl Paging {
    pub fn page(&self) -> Page {
        match self {
            Self::Offset { page, .. } | Self::Checkpoint { page } => *page,
        }
    }
}

/// Checkpoint paging when `from` or `take` is given, offset paging otherwise.
pub fn paging(
    page_index: Option<i64>,
    per_page: Option<i64>,
    include_totals: Option<bool>,
    from: Option<&str>,
    take: Option<i64>,
) -> Result<Paging, MgmtError> {
    if from.is_none() && take.is_none() {
        return Ok(Paging::Offset {
            page: page(page_index, per_page)?,
            include_totals: include_totals.unwrap_or(false),
        });
    }
    let index = match from {
        None | Some("") => 0,
        Some(cursor) => cursor
            .parse::<i64>()
            .ok()
            .filter(|i| *i >= 0)
            .ok_or_else(|| {
                MgmtError::bad_request(
                    "invalid_query_string",
                    "Query validation error: 'from' is not a cursor this server issued.",
                )
            })?,
    };
    Ok(Paging::Checkpoint {
        page: page(Some(index), take)?,
    })
}

/// A listing in the shape the request's paging asks for.
pub fn paged_listing<T: serde::Serialize>(
    key: &str,
    items: Vec<T>,
    total: i64,
    paging: Paging,
) -> axum::response::Response {
    match paging {
        Paging::Offset {
            page,
            include_totals,
        } => listing(key, items, total, page, include_totals),
        Paging::Checkpoint { page } => {
            let mut body = serde_json::Map::new();
            let more = page.offset() + (items.len() as i64) < total;
            body.insert(key.into(), serde_json::to_value(items).unwrap_or_default());
            if more {
                body.insert("next".into(), (page.page + 1).to_string().into());
            }
            axum::response::IntoResponse::into_response(axum::Json(serde_json::Value::Object(body)))
        }
    }
}

/// Auth0's `fields` (comma separated) and `include_fields` (default true): keep
/// only, or drop, those top-level properties of `value` (an object or an array of
/// objects).
pub fn select_fields(
    value: &mut serde_json::Value,
    fields: Option<&str>,
    include_fields: Option<bool>,
) {
    let Some(fields) = fields.filter(|f| !f.trim().is_empty()) else {
        return;
    };
    let names: Vec<&str> = fields
        .split(',')
        .map(str::trim)
        .filter(|f| !f.is_empty())
        .collect();
    let include = include_fields.unwrap_or(true);
    let apply = |obj: &mut serde_json::Map<String, serde_json::Value>| {
        obj.retain(|k, _| names.contains(&k.as_str()) == include);
    };
    match value {
        serde_json::Value::Object(obj) => apply(obj),
        serde_json::Value::Array(items) => {
            for item in items {
                if let serde_json::Value::Object(obj) = item {
                    apply(obj);
                }
            }
        }
        _ => {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn checkpoint_paging_walks_by_next() {
        let p = paging(None, None, Some(true), None, Some(2)).unwrap();
        assert_eq!(
            p,
            Paging::Checkpoint {
                page: Page {
                    page: 0,
                    per_page: 2
                }
            }
        );
        let p = paging(None, None, None, Some("3"), Some(2)).unwrap();
        assert_eq!(p.page().offset(), 6);
        assert!(paging(None, None, None, Some("x"), None).is_err());
        assert!(matches!(
            paging(Some(1), Some(10), Some(true), None, None).unwrap(),
            Paging::Offset {
                include_totals: true,
                ..
            }
        ));
    }

    #[test]
    fn fields_are_kept_or_dropped() {
        let mut v = serde_json::json!([{"a": 1, "b": 2, "c": 3}]);
        select_fields(&mut v, Some("a,c"), None);
        assert_eq!(v, serde_json::json!([{"a": 1, "c": 3}]));
        let mut v = serde_json::json!({"a": 1, "b": 2});
        select_fields(&mut v, Some("a"), Some(false));
        assert_eq!(v, serde_json::json!({"b": 2}));
    }
}

/// Auth0's field selection on a single object: `?fields=a,b&include_fields=true`.
#[derive(Debug, Default, serde::Deserialize, utoipa::IntoParams)]
#[serde(deny_unknown_fields)]
pub struct FieldsQuery {
    /// Comma-separated top-level properties to include (or, with
    /// `include_fields=false`, to exclude).
    pub fields: Option<String>,
    /// Whether `fields` lists properties to include (default) or to exclude.
    pub include_fields: Option<bool>,
}

/// Serialises `items` and applies `fields` / `include_fields` to each.
pub fn project<T: serde::Serialize>(
    items: Vec<T>,
    fields: Option<&str>,
    include_fields: Option<bool>,
) -> Vec<serde_json::Value> {
    items
        .into_iter()
        .map(|item| {
            let mut v = serde_json::to_value(item).unwrap_or_default();
            select_fields(&mut v, fields, include_fields);
            v
        })
        .collect()
}

/// One object as JSON, with `fields` / `include_fields` applied.
pub fn projected<T: serde::Serialize>(item: T, q: &FieldsQuery) -> axum::response::Response {
    let mut v = serde_json::to_value(item).unwrap_or_default();
    select_fields(&mut v, q.fields.as_deref(), q.include_fields);
    axum::response::IntoResponse::into_response(axum::Json(v))
}
