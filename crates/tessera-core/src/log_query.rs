//! Auth0's Lucene-like `q` of `GET /api/v2/logs`, the subset Tessera serves:
//! terms joined by `AND`, each `type:CODE` (or `type:(A OR B)`),
//! `user_id:VALUE`, `client_id:VALUE` (values bare or in double quotes), and
//! `date:[FROM TO UNTIL]` (inclusive; `{…}` exclusive; `*` open; dates as
//! `YYYY-MM-DD` or RFC 3339). Anything else is refused with a message naming
//! the problem; a query is at most [`MAX_QUERY_LENGTH`] characters.

use crate::clock::UnixTime;
use crate::log_event::LogFilter;

/// The longest `q` accepted.
pub const MAX_QUERY_LENGTH: usize = 1000;
/// The most types one `type:(…)` may list.
const MAX_TYPES: usize = 20;

/// Why a `q` was refused (shown to the caller).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct QueryError(pub String);

fn bad(message: impl Into<String>) -> QueryError {
    QueryError(message.into())
}

/// The filter `q` asks for.
pub fn parse(q: &str) -> Result<LogFilter, QueryError> {
    if q.chars().count() > MAX_QUERY_LENGTH {
        return Err(bad(format!(
            "q must be at most {MAX_QUERY_LENGTH} characters"
        )));
    }
    let mut filter = LogFilter::default();
    let q = q.trim();
    if q.is_empty() {
        return Ok(filter);
    }
    let mut seen: Vec<&str> = Vec::new();
    for term in split_terms(q)? {
        let (field, value) = term
            .split_once(':')
            .ok_or_else(|| bad(format!("'{}' is not field:value", shorten(term))))?;
        let field = field.trim();
        let value = value.trim();
        if seen.contains(&field) {
            return Err(bad(format!("{field} is given twice")));
        }
        match field {
            "type" => filter.types = types(value)?,
            "user_id" => filter.user_id = Some(single(field, value)?),
            "client_id" => filter.client_id = Some(single(field, value)?),
            "date" => (filter.since, filter.until) = date_range(value)?,
            other => {
                return Err(bad(format!(
                    "'{}' cannot be searched: use type, user_id, client_id or date",
                    shorten(other)
                )));
            }
        }
        seen.push(field);
    }
    Ok(filter)
}

fn shorten(s: &str) -> String {
    s.chars().take(64).collect()
}

/// The terms between top-level ` AND `s (not inside quotes, brackets or
/// parentheses).
fn split_terms(q: &str) -> Result<Vec<&str>, QueryError> {
    let mut terms = Vec::new();
    let (mut depth, mut quoted, mut start) = (0i32, false, 0usize);
    let bytes = q.as_bytes();
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'"' => quoted = !quoted,
            b'[' | b'{' | b'(' if !quoted => depth += 1,
            b']' | b'}' | b')' if !quoted => depth -= 1,
            b' ' if !quoted && depth == 0 && q[i..].starts_with(" AND ") => {
                terms.push(q[start..i].trim());
                i += 5;
                start = i;
                continue;
            }
            _ => {}
        }
        if depth < 0 {
            return Err(bad("unbalanced brackets"));
        }
        i += 1;
    }
    if quoted || depth != 0 {
        return Err(bad("unbalanced quotes or brackets"));
    }
    terms.push(q[start..].trim());
    if terms.iter().any(|t| t.is_empty()) {
        return Err(bad("an AND without a term"));
    }
    Ok(terms)
}

/// One value: bare (no spaces, quotes or brackets) or in double quotes.
fn single(field: &str, value: &str) -> Result<String, QueryError> {
    let inner = match value.strip_prefix('"') {
        Some(rest) => rest
            .strip_suffix('"')
            .filter(|v| !v.contains('"'))
            .ok_or_else(|| bad(format!("{field}: unbalanced quotes")))?,
        None => value,
    };
    let plain = !value.starts_with('"');
    if inner.is_empty() || (plain && inner.contains([' ', '(', ')', '[', ']', '{', '}', '*'])) {
        return Err(bad(format!(
            "{field}: give one value, quoted if it has spaces"
        )));
    }
    Ok(inner.replace("\\|", "|"))
}

/// `s`, `"s"` or `(s OR fp OR "f")`.
fn types(value: &str) -> Result<Vec<String>, QueryError> {
    let list = match value.strip_prefix('(').and_then(|v| v.strip_suffix(')')) {
        Some(inner) => inner.split(" OR ").collect::<Vec<_>>(),
        None => vec![value],
    };
    if list.len() > MAX_TYPES {
        return Err(bad(format!("type: at most {MAX_TYPES} types")));
    }
    list.into_iter().map(|t| single("type", t.trim())).collect()
}

/// `[A TO B]` (inclusive) or `{A TO B}` (exclusive), `*` for an open end.
fn date_range(value: &str) -> Result<(Option<UnixTime>, Option<UnixTime>), QueryError> {
    let (inner, exclusive) =
        if let Some(v) = value.strip_prefix('[').and_then(|v| v.strip_suffix(']')) {
            (v, false)
        } else if let Some(v) = value.strip_prefix('{').and_then(|v| v.strip_suffix('}')) {
            (v, true)
        } else {
            // One day or instant: `date:2024-01-31` is that whole day.
            let day = date(value)?.ok_or_else(|| bad("date: give a date or a range"))?;
            let end = if value.len() == 10 { day + 86_399 } else { day };
            return Ok((Some(day), Some(end)));
        };
    let (from, until) = inner
        .split_once(" TO ")
        .ok_or_else(|| bad("date: a range is [FROM TO UNTIL]"))?;
    let shift = i64::from(exclusive);
    let since = date(from.trim())?.map(|t| t + shift);
    let until = date(until.trim())?.map(|t| t - shift);
    Ok((since, until))
}

/// `*` (none), `YYYY-MM-DD` (midnight UTC) or an RFC 3339 instant.
fn date(value: &str) -> Result<Option<UnixTime>, QueryError> {
    let value = value.trim_matches('"');
    if value == "*" {
        return Ok(None);
    }
    let text = if value.len() == 10 {
        format!("{value}T00:00:00Z")
    } else {
        value.to_owned()
    };
    let at = humantime::parse_rfc3339_weak(&text)
        .map_err(|_| bad(format!("date: '{}' is not a date", shorten(value))))?;
    let secs = at
        .duration_since(std::time::UNIX_EPOCH)
        .map_err(|_| bad("date: before 1970"))?
        .as_secs();
    Ok(Some(i64::try_from(secs).unwrap_or(i64::MAX)))
}

#[cfg(test)]
mod tests {
    use super::*;

    const JAN1: i64 = 1_704_067_200; // 2024-01-01T00:00:00Z

    #[test]
    fn terms_combine_with_and() {
        let f = parse(r#"type:fp AND user_id:"auth0|abc" AND client_id:app1"#).unwrap();
        assert_eq!(f.types, ["fp"]);
        assert_eq!(f.user_id.as_deref(), Some("auth0|abc"));
        assert_eq!(f.client_id.as_deref(), Some("app1"));
        assert_eq!(
            parse("user_id:auth0\\|x").unwrap().user_id.as_deref(),
            Some("auth0|x")
        );
        assert_eq!(parse("type:(s OR fp)").unwrap().types, ["s", "fp"]);
        assert_eq!(parse("  ").unwrap(), LogFilter::default());
    }

    #[test]
    fn dates_are_ranges() {
        let f = parse("date:[2024-01-01 TO 2024-01-02T00:00:00Z]").unwrap();
        assert_eq!((f.since, f.until), (Some(JAN1), Some(JAN1 + 86_400)));
        let f = parse("date:[* TO 2024-01-01]").unwrap();
        assert_eq!((f.since, f.until), (None, Some(JAN1)));
        let f = parse("date:{2024-01-01 TO *}").unwrap();
        assert_eq!((f.since, f.until), (Some(JAN1 + 1), None));
        let f = parse("date:2024-01-01").unwrap();
        assert_eq!((f.since, f.until), (Some(JAN1), Some(JAN1 + 86_399)));
        let f = parse("type:s AND date:[2024-01-01 TO *]").unwrap();
        assert_eq!((f.types.len(), f.since), (1, Some(JAN1)));
    }

    #[test]
    fn anything_else_is_refused() {
        for q in [
            "type",
            "nope:1",
            "type:s AND type:f",
            "type:s AND",
            "AND type:s",
            "type:s OR type:f",
            "user_id:\"unclosed",
            "user_id:a b",
            "date:[2024-01-01 TO",
            "date:[yesterday TO *]",
            "date:[2024-01-01]",
            "date:]",
            "client_id:",
            "type:(s OR f",
        ] {
            assert!(parse(q).is_err(), "{q}");
        }
        assert!(parse(&"a".repeat(MAX_QUERY_LENGTH + 1)).is_err());
        let many = vec!["s"; MAX_TYPES + 1].join(" OR ");
        assert!(parse(&format!("type:({many})")).is_err());
    }
}
