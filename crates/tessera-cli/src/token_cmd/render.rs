//! The output of `inspect`: JSON (`--json`) or text for a person, coloured on
//! a terminal, with readable notes on the time claims.

use std::fmt::Write as _;
use std::time::{Duration, UNIX_EPOCH};

use serde_json::{Map, Value, json};

use super::report::{Ask, Kind, Report, audiences, client_of, list, span, str_claim};

pub(super) fn to_json(report: &Report) -> Value {
    json!({
        "kind": report.kind.code(),
        "header": report.header,
        "claims": report.claims,
        "valid": report.valid(),
        "verified": report.verified,
        "reasons": report.reasons.iter().map(|r| r.text.as_str()).collect::<Vec<_>>(),
    })
}

struct Paint(bool);

impl Paint {
    fn wrap(&self, code: &str, text: &str) -> String {
        if self.0 {
            format!("\x1b[{code}m{text}\x1b[0m")
        } else {
            text.to_owned()
        }
    }
    fn bold(&self, t: &str) -> String {
        self.wrap("1", t)
    }
    fn key(&self, t: &str) -> String {
        self.wrap("36", t)
    }
    fn string(&self, t: &str) -> String {
        self.wrap("32", t)
    }
    fn number(&self, t: &str) -> String {
        self.wrap("33", t)
    }
    fn dim(&self, t: &str) -> String {
        self.wrap("2", t)
    }
    fn good(&self, t: &str) -> String {
        self.wrap("1;32", t)
    }
    fn bad(&self, t: &str) -> String {
        self.wrap("1;31", t)
    }
}

/// Pretty JSON, coloured when `paint` is on; time claims get a readable note.
fn pretty(out: &mut String, paint: &Paint, value: &Value, indent: usize, now: i64) {
    match value {
        Value::Object(map) => object(out, paint, map, indent, now),
        Value::Array(items) if items.is_empty() => out.push_str("[]"),
        Value::Array(items) => {
            out.push_str("[\n");
            for (i, item) in items.iter().enumerate() {
                out.push_str(&"  ".repeat(indent + 1));
                pretty(out, paint, item, indent + 1, now);
                out.push_str(if i + 1 < items.len() { ",\n" } else { "\n" });
            }
            out.push_str(&"  ".repeat(indent));
            out.push(']');
        }
        Value::String(_) => out.push_str(&paint.string(&value.to_string())),
        Value::Number(_) | Value::Bool(_) | Value::Null => {
            out.push_str(&paint.number(&value.to_string()));
        }
    }
}

fn object(out: &mut String, paint: &Paint, map: &Map<String, Value>, indent: usize, now: i64) {
    if map.is_empty() {
        out.push_str("{}");
        return;
    }
    out.push_str("{\n");
    for (i, (k, v)) in map.iter().enumerate() {
        out.push_str(&"  ".repeat(indent + 1));
        out.push_str(&paint.key(&Value::String(k.clone()).to_string()));
        out.push_str(": ");
        pretty(out, paint, v, indent + 1, now);
        if i + 1 < map.len() {
            out.push(',');
        }
        if indent == 0
            && let Some(note) = time_note(k, v, now)
        {
            out.push_str(&paint.dim(&format!("  // {note}")));
        }
        out.push('\n');
    }
    out.push_str(&"  ".repeat(indent));
    out.push('}');
}

fn time_note(name: &str, value: &Value, now: i64) -> Option<String> {
    if !matches!(name, "exp" | "iat" | "nbf" | "auth_time" | "updated_at") {
        return None;
    }
    let t = value.as_i64()?;
    let when = u64::try_from(t)
        .ok()
        .and_then(|s| UNIX_EPOCH.checked_add(Duration::from_secs(s)))?;
    let stamp = humantime::format_rfc3339_seconds(when);
    let relative = if (t - now).abs() < 5 {
        "now".to_owned()
    } else if t > now {
        format!("in {}", span(t - now))
    } else {
        format!("{} ago", span(now - t))
    };
    Some(format!("{stamp}, {relative}"))
}

pub(super) fn render(report: &Report, colour: bool) -> String {
    let paint = Paint(colour);
    let mut out = String::new();
    let _ = writeln!(out, "{} {}", paint.bold("Kind:"), report.kind.label());
    if let Some(note) = kind_note(report) {
        let _ = writeln!(out, "      {}", paint.dim(&note));
    }
    if !report.header.is_null() {
        let _ = writeln!(out, "\n{}", paint.bold("Header:"));
        pretty(&mut out, &paint, &report.header, 0, report.now);
        out.push('\n');
        let _ = writeln!(out, "\n{}", paint.bold("Claims:"));
        pretty(&mut out, &paint, &report.claims, 0, report.now);
        out.push('\n');
    }
    out.push('\n');
    let checked = match (&report.issuer, report.verified) {
        (Some(issuer), true) => format!("signature checked with the keys of {issuer}"),
        (Some(_), false) => "the signature could not be checked".to_owned(),
        (None, _) => "signature NOT checked: pass --issuer URL to verify it".to_owned(),
    };
    let whom = match &report.ask {
        Ask::Api(aud) => format!("an API with identifier {aud}"),
        Ask::App(client) => format!("the application with client ID {client}"),
        Ask::Any => "anyone".to_owned(),
    };
    if report.valid() {
        let what = match &report.ask {
            Ask::Any => "no problem found (no audience was checked: pass --audience ID as an API \
                         would, or --client-id ID as an app would)"
                .to_owned(),
            _ => format!("{whom} may accept this token"),
        };
        let _ = writeln!(out, "{} {what}", paint.good("Valid:"));
    } else {
        let who = match &report.ask {
            Ask::Any => "An API or app must reject this token".to_owned(),
            _ => {
                let mut w = whom;
                if let Some(first) = w.get_mut(0..1) {
                    first.make_ascii_uppercase();
                }
                format!("{w} must reject this token")
            }
        };
        let _ = writeln!(out, "{} {who}:", paint.bad("Invalid:"));
        for r in &report.reasons {
            let _ = writeln!(out, "  - {}", r.text);
        }
    }
    let _ = writeln!(out, "{}", paint.dim(&format!("({checked})")));
    out
}

fn kind_note(report: &Report) -> Option<String> {
    let claims = &report.claims;
    let aud = audiences(claims);
    match report.kind {
        Kind::IdToken => Some(format!(
            "proves a login to the application {}; only that application may accept it",
            client_of(claims)
        )),
        Kind::AccessToken => Some(format!("for the API {}", list(&aud))),
        Kind::ManagementApi => Some(format!(
            "for the Management API {}; an API of your own must not accept it",
            list(&aud)
        )),
        Kind::MachineToMachine => Some(format!(
            "issued to the client {} with client credentials, for the API {}",
            str_claim(claims, "client_id")
                .or_else(|| str_claim(claims, "azp"))
                .unwrap_or("(unknown)"),
            list(&aud)
        )),
        Kind::Opaque | Kind::Malformed => None,
    }
}
