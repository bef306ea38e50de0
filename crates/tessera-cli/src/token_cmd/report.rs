//! What the operator asked for and what `inspect` found, and the small
//! readers of claims that the checks and the output share.

use serde_json::Value;

/// What the operator asked for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) enum Ask {
    /// As an API with this identifier.
    Api(String),
    /// As an application with this client ID.
    App(String),
    /// Signature, issuer and expiry only.
    Any,
}

/// The kind of a token, guessed from its header and claims.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Kind {
    IdToken,
    AccessToken,
    ManagementApi,
    MachineToMachine,
    Opaque,
    Malformed,
}

impl Kind {
    pub(super) fn code(self) -> &'static str {
        match self {
            Kind::IdToken => "id_token",
            Kind::AccessToken => "access_token",
            Kind::ManagementApi => "management_api_token",
            Kind::MachineToMachine => "m2m_access_token",
            Kind::Opaque => "opaque",
            Kind::Malformed => "malformed",
        }
    }

    pub(super) fn label(self) -> &'static str {
        match self {
            Kind::IdToken => "ID token",
            Kind::AccessToken => "API access token",
            Kind::ManagementApi => "Management API token",
            Kind::MachineToMachine => "machine-to-machine token",
            Kind::Opaque => "opaque token (not a JWT)",
            Kind::Malformed => "malformed JWT",
        }
    }

    pub(super) fn is_access(self) -> bool {
        matches!(
            self,
            Kind::AccessToken | Kind::ManagementApi | Kind::MachineToMachine
        )
    }
}

/// One reason to reject a token: a category (so the library's verdict and our
/// own checks of the same thing are not both listed) and a sentence.
#[derive(Debug, Clone)]
pub(super) struct Reason {
    pub(super) category: &'static str,
    pub(super) text: String,
}

pub(super) fn reason(category: &'static str, text: impl Into<String>) -> Reason {
    Reason {
        category,
        text: text.into(),
    }
}

/// Everything `inspect` found.
pub(super) struct Report {
    pub(super) kind: Kind,
    pub(super) header: Value,
    pub(super) claims: Value,
    pub(super) ask: Ask,
    pub(super) issuer: Option<String>,
    /// Whether the signature was checked against the issuer's keys.
    pub(super) verified: bool,
    pub(super) reasons: Vec<Reason>,
    pub(super) now: i64,
}

impl Report {
    pub(super) fn valid(&self) -> bool {
        self.reasons.is_empty()
    }
}

/// `aud` as a list (a string or an array of strings).
pub(super) fn audiences(claims: &Value) -> Vec<String> {
    match claims.get("aud") {
        Some(Value::String(a)) => vec![a.clone()],
        Some(Value::Array(all)) => all
            .iter()
            .filter_map(Value::as_str)
            .map(str::to_owned)
            .collect(),
        _ => Vec::new(),
    }
}

pub(super) fn str_claim<'a>(claims: &'a Value, name: &str) -> Option<&'a str> {
    claims.get(name).and_then(Value::as_str)
}

/// "14 minutes", "1 hour", "3 days".
pub(super) fn span(seconds: i64) -> String {
    let s = seconds.unsigned_abs();
    let (n, unit) = match s {
        0..=119 => (s, "second"),
        120..=7_199 => (s / 60, "minute"),
        7_200..=172_799 => (s / 3_600, "hour"),
        _ => (s / 86_400, "day"),
    };
    format!("{n} {unit}{}", if n == 1 { "" } else { "s" })
}

pub(super) fn list(values: &[String]) -> String {
    if values.is_empty() {
        "(none)".to_owned()
    } else {
        values.join(", ")
    }
}

pub(super) fn client_of(claims: &Value) -> String {
    str_claim(claims, "azp")
        .map(str::to_owned)
        .or_else(|| audiences(claims).first().cloned())
        .unwrap_or_else(|| "(unknown)".to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn spans_read_naturally() {
        assert_eq!(span(1), "1 second");
        assert_eq!(span(90), "90 seconds");
        assert_eq!(span(14 * 60 + 5), "14 minutes");
        assert_eq!(span(3 * 3600), "3 hours");
        assert_eq!(span(5 * 86_400), "5 days");
    }
}
