//! Request bodies and query strings for the Management API: every failure is a
//! 400 in Auth0's shape naming the property.

use axum::extract::{FromRequest, FromRequestParts, Request};
use axum::http::header;
use axum::http::request::Parts;
use bytes::Bytes;
use serde::de::DeserializeOwned;

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
        } else if let Some(name) = unknown_field(&problem) {
            MgmtError::additional_property("Payload", parent_of(&path, name), name)
        } else {
            let err = MgmtError::invalid_body(if path == "." { "(body)" } else { &path }, &problem);
            if problem == tessera_core::manage::NULL_REFUSED {
                err.with_reason("null_refused")
            } else {
                err
            }
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
        parse_query(parts.uri.query().unwrap_or("")).map(QueryOf)
    }
}

/// A query string as `T`; a failure names the property.
pub(super) fn parse_query<T: DeserializeOwned>(query: &str) -> Result<T, MgmtError> {
    let de = serde_urlencoded::Deserializer::new(url::form_urlencoded::parse(query.as_bytes()));
    serde_path_to_error::deserialize(de).map_err(|e| {
        let path = e.path().to_string();
        let problem = e.into_inner().to_string();
        if let Some(name) = unknown_field(&problem) {
            return MgmtError::additional_property("Query", parent_of(&path, name), name)
                .with_code("invalid_query_string");
        }
        MgmtError::bad_request(
            "invalid_query_string",
            format!("Query validation error: '{problem}' on property {path}."),
        )
    })
}

/// The property serde refused as unknown (`deny_unknown_fields`): its
/// message starts "unknown field `name`".
fn unknown_field(problem: &str) -> Option<&str> {
    problem
        .strip_prefix("unknown field `")
        .and_then(|rest| rest.split_once('`'))
        .map(|(name, _)| name)
}

/// The object holding `name` at `path` (which may end with `name` itself);
/// `None` for the body (or query string) itself.
fn parent_of<'a>(path: &'a str, name: &str) -> Option<&'a str> {
    let parent = if path == name {
        ""
    } else {
        path.strip_suffix(name)
            .and_then(|p| p.strip_suffix('.'))
            .unwrap_or(path)
    };
    (!parent.is_empty() && parent != ".").then_some(parent)
}

/// Auth0's timestamps: RFC 3339 in UTC with milliseconds.
pub fn timestamp(unix: i64) -> String {
    let t = std::time::UNIX_EPOCH + std::time::Duration::from_secs(unix.max(0) as u64);
    humantime::format_rfc3339_millis(t).to_string()
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
    fn unknown_properties_are_named_with_their_object() {
        assert_eq!(
            unknown_field("unknown field `colour`, expected one of `a`"),
            Some("colour")
        );
        assert_eq!(unknown_field("invalid type: null"), None);
        assert_eq!(parent_of(".", "x"), None);
        assert_eq!(parent_of("x", "x"), None);
        assert_eq!(parent_of("a.b", "b"), Some("a"));
        assert_eq!(parent_of("a", "b"), Some("a"));
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
#[into_params(parameter_in = Query)]
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
