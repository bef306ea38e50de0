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
    if page < 0 {
        return Err(MgmtError::bad_request(
            "invalid_query_string",
            "Query validation error: 'page' must be 0 or more.",
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
