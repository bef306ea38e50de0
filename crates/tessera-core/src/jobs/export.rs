//! The lines of a user export: one JSON object per line (`json`, Auth0's
//! NDJSON) or CSV with a header, of the fields asked for (`fields`, dotted
//! names reach into objects: `app_metadata.plan`), each under its
//! `export_as` name. Users come in as their public JSON view, which holds no
//! password hash, so no export can hold one.
//!
//! CSV cells follow RFC 4180 (quoted when they hold a comma, a quote or a line
//! break, quotes doubled). A text cell starting with `=`, `+`, `-`, `@`, a tab
//! or a carriage return is prefixed with `'` (OWASP's advice against formula
//! injection when the file is opened in a spreadsheet); numbers and booleans
//! are written as they are.

use serde_json::{Map, Value};

use super::ExportField;

/// What an export without `fields` holds.
pub const DEFAULT_FIELDS: &[&str] = &[
    "user_id",
    "email",
    "email_verified",
    "name",
    "given_name",
    "family_name",
    "nickname",
    "picture",
    "blocked",
    "created_at",
    "updated_at",
    "last_login",
    "logins_count",
    "user_metadata",
    "app_metadata",
];

/// The fields to write: those asked for, or the defaults.
pub fn fields_or_default(fields: Option<&[ExportField]>) -> Vec<ExportField> {
    match fields {
        Some(f) if !f.is_empty() => f.to_vec(),
        _ => DEFAULT_FIELDS
            .iter()
            .map(|n| ExportField {
                name: (*n).into(),
                export_as: None,
            })
            .collect(),
    }
}

fn lookup<'a>(user: &'a Value, name: &str) -> Option<&'a Value> {
    if let Some(v) = user.get(name) {
        return Some(v);
    }
    name.split('.').try_fold(user, |v, part| v.get(part))
}

fn label(f: &ExportField) -> &str {
    f.export_as.as_deref().unwrap_or(&f.name)
}

/// One NDJSON line (with its `\n`): the fields the user has.
pub fn json_line(user: &Value, fields: &[ExportField]) -> String {
    let mut out = Map::new();
    for f in fields {
        if let Some(v) = lookup(user, &f.name).filter(|v| !v.is_null()) {
            out.insert(label(f).to_owned(), v.clone());
        }
    }
    let mut line = Value::Object(out).to_string();
    line.push('\n');
    line
}

fn csv_cell(value: Option<&Value>) -> String {
    let (text, is_text) = match value {
        None | Some(Value::Null) => return String::new(),
        Some(Value::String(s)) => (s.clone(), true),
        Some(other) => (other.to_string(), false),
    };
    let text = if is_text && text.starts_with(['=', '+', '-', '@', '\t', '\r']) {
        format!("'{text}")
    } else {
        text
    };
    if text.contains([',', '"', '\n', '\r']) {
        format!("\"{}\"", text.replace('"', "\"\""))
    } else {
        text
    }
}

/// The CSV header line (with its `\r\n`).
pub fn csv_header(fields: &[ExportField]) -> String {
    let cells: Vec<String> = fields
        .iter()
        .map(|f| csv_cell(Some(&Value::String(label(f).to_owned()))))
        .collect();
    format!("{}\r\n", cells.join(","))
}

/// One CSV line (with its `\r\n`).
pub fn csv_line(user: &Value, fields: &[ExportField]) -> String {
    let cells: Vec<String> = fields
        .iter()
        .map(|f| csv_cell(lookup(user, &f.name)))
        .collect();
    format!("{}\r\n", cells.join(","))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn f(name: &str, export_as: Option<&str>) -> ExportField {
        ExportField {
            name: name.into(),
            export_as: export_as.map(Into::into),
        }
    }

    #[test]
    fn lines_hold_the_fields_asked_for_under_their_names() {
        let user = json!({"user_id": "auth0|1", "email": "a@b.co", "app_metadata": {"plan": "gold"}, "name": null});
        let fields = [
            f("user_id", None),
            f("app_metadata.plan", Some("plan")),
            f("name", None),
        ];
        assert_eq!(
            json_line(&user, &fields),
            "{\"plan\":\"gold\",\"user_id\":\"auth0|1\"}\n"
        );
        assert_eq!(csv_header(&fields), "user_id,plan,name\r\n");
        assert_eq!(csv_line(&user, &fields), "auth0|1,gold,\r\n");
        assert_eq!(fields_or_default(None).len(), DEFAULT_FIELDS.len());
        assert_eq!(fields_or_default(Some(&fields)), fields.to_vec());
    }

    #[test]
    fn csv_cells_are_escaped_and_formulas_defused() {
        let user = json!({"a": "x,\"y\"\nz", "b": "=HYPERLINK(\"http://evil\")", "c": -3, "d": "@sum", "e": true});
        let fields: Vec<_> = ["a", "b", "c", "d", "e"]
            .iter()
            .map(|n| f(n, None))
            .collect();
        assert_eq!(
            csv_line(&user, &fields),
            "\"x,\"\"y\"\"\nz\",\"'=HYPERLINK(\"\"http://evil\"\")\",-3,'@sum,true\r\n"
        );
    }
}
