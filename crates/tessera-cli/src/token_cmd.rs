//! `tessera token inspect`: decode a token, say what kind it is, verify it with
//! `tessera-verify` against the issuer's JWKS, and explain in plain words every
//! reason an API or an application must reject it.

use std::collections::BTreeSet;
use std::fmt::Write as _;
use std::io::{IsTerminal, Read};
use std::process::ExitCode;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use clap::Subcommand;
use serde_json::{Map, Value, json};
use tessera_verify::{
    AccessTokenVerifier, IdTokenExpectations, IdTokenVerifier, Options, VerifyError,
};

/// The largest token read from standard input.
const MAX_STDIN_BYTES: u64 = 1 << 20;

#[derive(Subcommand)]
pub enum TokenCommand {
    /// Decode a token, say which kind it is and, with --issuer, verify it against
    /// the issuer's JWKS; lists every reason an API or an app must reject it.
    /// Exit 0: valid for what was asked; 1: not valid; 2: usage error.
    Inspect {
        /// The token (a JWT or an opaque token); `-` reads it from standard input.
        #[arg(value_name = "TOKEN")]
        token: String,
        /// The issuer (e.g. https://tessera.example/): verify the signature with
        /// the keys its discovery document points to, and check `iss`.
        #[arg(long, value_name = "URL")]
        issuer: Option<String>,
        /// Check the token as the API with this identifier would (an access token
        /// whose `aud` contains ID).
        #[arg(long, value_name = "ID", conflicts_with = "client_id")]
        audience: Option<String>,
        /// Check the token as the application with this client ID would (an ID
        /// token whose `aud` contains ID).
        #[arg(long, value_name = "ID")]
        client_id: Option<String>,
        /// Machine-readable output: {kind, header, claims, valid, reasons}.
        #[arg(long)]
        json: bool,
    },
}

/// What the operator asked for.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Ask {
    /// As an API with this identifier.
    Api(String),
    /// As an application with this client ID.
    App(String),
    /// Signature, issuer and expiry only.
    Any,
}

/// The kind of a token, guessed from its header and claims.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    IdToken,
    AccessToken,
    ManagementApi,
    MachineToMachine,
    Opaque,
    Malformed,
}

impl Kind {
    fn code(self) -> &'static str {
        match self {
            Kind::IdToken => "id_token",
            Kind::AccessToken => "access_token",
            Kind::ManagementApi => "management_api_token",
            Kind::MachineToMachine => "m2m_access_token",
            Kind::Opaque => "opaque",
            Kind::Malformed => "malformed",
        }
    }

    fn label(self) -> &'static str {
        match self {
            Kind::IdToken => "ID token",
            Kind::AccessToken => "API access token",
            Kind::ManagementApi => "Management API token",
            Kind::MachineToMachine => "machine-to-machine token",
            Kind::Opaque => "opaque token (not a JWT)",
            Kind::Malformed => "malformed JWT",
        }
    }

    fn is_access(self) -> bool {
        matches!(
            self,
            Kind::AccessToken | Kind::ManagementApi | Kind::MachineToMachine
        )
    }
}

/// One reason to reject a token: a category (so the library's verdict and our
/// own checks of the same thing are not both listed) and a sentence.
#[derive(Debug, Clone)]
struct Reason {
    category: &'static str,
    text: String,
}

fn reason(category: &'static str, text: impl Into<String>) -> Reason {
    Reason {
        category,
        text: text.into(),
    }
}

/// Everything `inspect` found.
struct Report {
    kind: Kind,
    header: Value,
    claims: Value,
    ask: Ask,
    issuer: Option<String>,
    /// Whether the signature was checked against the issuer's keys.
    verified: bool,
    reasons: Vec<Reason>,
    now: i64,
}

impl Report {
    fn valid(&self) -> bool {
        self.reasons.is_empty()
    }
}

/// Runs `token inspect` (after the arguments were parsed).
pub fn run(command: TokenCommand) -> ExitCode {
    let TokenCommand::Inspect {
        token,
        issuer,
        audience,
        client_id,
        json,
    } = command;
    let path = ["token", "inspect"];
    let token = if token == "-" {
        match read_stdin() {
            Ok(t) => t,
            Err(problem) => crate::usage_error(path, "TOKEN", &problem),
        }
    } else {
        token
    };
    let token = clean(&token);
    if token.is_empty() {
        crate::usage_error(path, "TOKEN", "must not be empty");
    }
    if token.chars().any(char::is_whitespace) {
        crate::usage_error(path, "TOKEN", "must not contain white space");
    }
    if let Some(issuer) = &issuer {
        match url::Url::parse(issuer) {
            Ok(u) if matches!(u.scheme(), "http" | "https") => {}
            _ => crate::usage_error(path, "--issuer", "must be an http(s) URL"),
        }
    }
    for (flag, value) in [("--audience", &audience), ("--client-id", &client_id)] {
        if value.as_deref().is_some_and(|v| v.trim().is_empty()) {
            crate::usage_error(path, flag, "must not be empty");
        }
    }
    let ask = match (audience, client_id) {
        (Some(aud), _) => Ask::Api(aud),
        (None, Some(client)) => Ask::App(client),
        (None, None) => Ask::Any,
    };
    let runtime = match tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
    {
        Ok(r) => r,
        Err(e) => {
            eprintln!("tessera: cannot start the async runtime: {e}");
            return ExitCode::from(1);
        }
    };
    let report = runtime.block_on(inspect(&token, issuer, ask));
    if json {
        println!("{}", to_json(&report));
    } else {
        print!("{}", render(&report, std::io::stdout().is_terminal()));
    }
    if report.valid() {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    }
}

fn read_stdin() -> Result<String, String> {
    let mut bytes = Vec::new();
    std::io::stdin()
        .take(MAX_STDIN_BYTES + 1)
        .read_to_end(&mut bytes)
        .map_err(|e| format!("cannot read standard input: {e}"))?;
    if bytes.len() as u64 > MAX_STDIN_BYTES {
        return Err(format!(
            "standard input holds more than {MAX_STDIN_BYTES} bytes"
        ));
    }
    String::from_utf8(bytes).map_err(|_| "standard input is not UTF-8 text".to_owned())
}

/// The token without surrounding white space or an `Authorization` scheme.
fn clean(raw: &str) -> String {
    let t = raw.trim();
    let t = t
        .strip_prefix("Bearer ")
        .or_else(|| t.strip_prefix("bearer "))
        .unwrap_or(t);
    t.trim().to_owned()
}

fn now() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| i64::try_from(d.as_secs()).unwrap_or(i64::MAX))
        .unwrap_or(0)
}

async fn inspect(token: &str, issuer: Option<String>, ask: Ask) -> Report {
    let now = now();
    let mut report = Report {
        kind: Kind::Opaque,
        header: Value::Null,
        claims: Value::Null,
        ask,
        issuer,
        verified: false,
        reasons: Vec::new(),
        now,
    };
    if token.split('.').count() != 3 {
        report.reasons.push(reason(
            "opaque",
            "this is an opaque token, not a JWT: an API cannot verify it by itself \
             (opaque tokens are for the issuer's /userinfo endpoint)",
        ));
        return report;
    }
    let (header, claims) = match tessera_verify::dangerous::decode_unverified(token) {
        Ok(decoded) => decoded,
        Err(e) => {
            report.kind = Kind::Malformed;
            report
                .reasons
                .push(explain(&e, &report.ask, Kind::Malformed));
            return report;
        }
    };
    report.kind = classify(&header, &claims);
    let leeway = i64::try_from(Options::default().leeway().as_secs()).unwrap_or(0);
    let local = local_reasons(&report, &header, &claims, leeway);
    report.header = header;
    report.claims = claims;
    let mut reasons = Vec::new();
    if let Some(issuer) = report.issuer.clone() {
        match verify(token, &issuer, &report.ask, report.kind, &report.claims).await {
            Ok(()) => report.verified = true,
            Err(r) => {
                report.verified = r.category != "jwks";
                reasons.push(r);
            }
        }
    }
    let listed: BTreeSet<&'static str> = reasons.iter().map(|r| r.category).collect();
    reasons.extend(local.into_iter().filter(|r| !listed.contains(r.category)));
    report.reasons = reasons;
    report
}

/// Verifies with the library as an API or an app would; the first problem it
/// finds, in plain words.
async fn verify(
    token: &str,
    issuer: &str,
    ask: &Ask,
    kind: Kind,
    claims: &Value,
) -> Result<(), Reason> {
    let setup = |e: &dyn std::fmt::Display| {
        reason(
            "jwks",
            format!("the issuer's discovery document or JWKS could not be read: {e}"),
        )
    };
    match ask {
        Ask::Api(audience) => {
            let verifier = AccessTokenVerifier::from_issuer(issuer, vec![audience.clone()])
                .await
                .map_err(|e| setup(&e))?;
            verifier
                .verify(token)
                .await
                .map(|_| ())
                .map_err(|e| explain(&e, ask, kind))
        }
        Ask::App(client_id) => {
            let verifier = IdTokenVerifier::from_issuer(issuer, client_id)
                .await
                .map_err(|e| setup(&e))?;
            verifier
                .verify(token, &IdTokenExpectations::default())
                .await
                .map(|_| ())
                .map_err(|e| explain(&e, ask, kind))
        }
        Ask::Any => {
            // Signature, issuer and expiry: the token's own audience is taken as
            // the expected one.
            let audiences = audiences(claims);
            if kind == Kind::IdToken {
                let client = claims
                    .get("azp")
                    .and_then(Value::as_str)
                    .map(str::to_owned)
                    .or_else(|| audiences.first().cloned())
                    .unwrap_or_default();
                let verifier = IdTokenVerifier::from_issuer(issuer, &client)
                    .await
                    .map_err(|e| setup(&e))?;
                verifier
                    .verify(token, &IdTokenExpectations::default())
                    .await
                    .map(|_| ())
                    .map_err(|e| explain(&e, ask, kind))
            } else {
                let lenient = Options::builder()
                    .accept_plain_jwt_typ(true)
                    .build()
                    .map_err(|e| reason("other", e.to_string()))?;
                let verifier = AccessTokenVerifier::from_issuer(issuer, audiences)
                    .await
                    .map_err(|e| setup(&e))?
                    .with_options(lenient);
                verifier
                    .verify(token)
                    .await
                    .map(|_| ())
                    .map_err(|e| explain(&e, ask, kind))
            }
        }
    }
}

/// `aud` as a list (a string or an array of strings).
fn audiences(claims: &Value) -> Vec<String> {
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

fn str_claim<'a>(claims: &'a Value, name: &str) -> Option<&'a str> {
    claims.get(name).and_then(Value::as_str)
}

/// Which kind of token this is, from the header and the claims alone.
fn classify(header: &Value, claims: &Value) -> Kind {
    let typ = str_claim(header, "typ").map(str::to_ascii_lowercase);
    let at_jwt = matches!(typ.as_deref(), Some("at+jwt" | "application/at+jwt"));
    let has = |name: &str| claims.get(name).is_some_and(|v| !v.is_null());
    let id_markers = has("nonce") || has("at_hash") || has("c_hash") || has("auth_time");
    let access_markers = has("scope") || has("gty") || has("client_id") || has("permissions");
    if !at_jwt && (id_markers || !access_markers) {
        return Kind::IdToken;
    }
    if audiences(claims).iter().any(|a| a.ends_with("/api/v2/")) {
        return Kind::ManagementApi;
    }
    let m2m = str_claim(claims, "gty") == Some("client-credentials")
        || str_claim(claims, "sub").is_some_and(|s| s.ends_with("@clients"));
    if m2m {
        Kind::MachineToMachine
    } else {
        Kind::AccessToken
    }
}

/// "14 minutes", "1 hour", "3 days".
fn span(seconds: i64) -> String {
    let s = seconds.unsigned_abs();
    let (n, unit) = match s {
        0..=119 => (s, "second"),
        120..=7_199 => (s / 60, "minute"),
        7_200..=172_799 => (s / 3_600, "hour"),
        _ => (s / 86_400, "day"),
    };
    format!("{n} {unit}{}", if n == 1 { "" } else { "s" })
}

fn list(values: &[String]) -> String {
    if values.is_empty() {
        "(none)".to_owned()
    } else {
        values.join(", ")
    }
}

fn client_of(claims: &Value) -> String {
    str_claim(claims, "azp")
        .map(str::to_owned)
        .or_else(|| audiences(claims).first().cloned())
        .unwrap_or_else(|| "(unknown)".to_owned())
}

/// The checks that need no key, so that several reasons can be listed even when
/// the library stops at the first one.
fn local_reasons(report: &Report, header: &Value, claims: &Value, leeway: i64) -> Vec<Reason> {
    let now = report.now;
    let mut out = Vec::new();
    let alg = str_claim(header, "alg").unwrap_or("");
    if alg.is_empty() {
        out.push(reason("alg", "the header names no algorithm (alg)"));
    } else if alg.eq_ignore_ascii_case("none") {
        out.push(reason(
            "alg",
            "alg is none: the token is not signed at all and must never be accepted",
        ));
    } else if alg.to_ascii_uppercase().starts_with("HS") {
        out.push(reason(
            "alg",
            format!(
                "alg is {alg}, a shared-secret algorithm: tokens of this issuer are signed \
                 with its private key and verified with the published public key"
            ),
        ));
    }
    if str_claim(header, "kid").is_none() {
        out.push(reason(
            "kid",
            "the header has no kid, so no key of the issuer can be chosen to check it",
        ));
    }
    if let Some(crit) = header.get("crit") {
        out.push(reason(
            "crit",
            format!("the header marks {crit} as critical extensions, which a verifier does not understand"),
        ));
    }
    match claims.get("exp").and_then(Value::as_i64) {
        None => out.push(reason(
            "exp",
            "the exp claim is missing: every token must expire",
        )),
        Some(exp) if exp + leeway <= now => {
            out.push(reason("exp", format!("expired {} ago", span(now - exp))));
        }
        Some(_) => {}
    }
    if let Some(nbf) = claims.get("nbf").and_then(Value::as_i64)
        && nbf - leeway > now
    {
        out.push(reason(
            "nbf",
            format!("not valid yet: it becomes valid in {}", span(nbf - now)),
        ));
    }
    if let Some(iat) = claims.get("iat").and_then(Value::as_i64)
        && iat - leeway > now
    {
        out.push(reason(
            "iat",
            format!("issued in the future ({} from now)", span(iat - now)),
        ));
    }
    if let Some(expected) = &report.issuer {
        match str_claim(claims, "iss") {
            None => out.push(reason("iss", "the iss claim is missing")),
            Some(actual) if actual.trim_end_matches('/') != expected.trim_end_matches('/') => {
                out.push(reason(
                    "issuer",
                    format!("issuer is {actual}, not {expected}"),
                ));
            }
            Some(_) => {}
        }
    }
    let aud = audiences(claims);
    match &report.ask {
        Ask::Api(expected) => {
            if report.kind == Kind::IdToken {
                out.push(reason(
                    "id_token",
                    format!(
                        "this is an ID token for client {}; an API must not accept ID tokens",
                        client_of(claims)
                    ),
                ));
            }
            if !aud.iter().any(|a| a == expected) {
                out.push(reason(
                    "audience",
                    format!("audience is {}, not {expected}", list(&aud)),
                ));
            }
        }
        Ask::App(client_id) => {
            if report.kind.is_access() {
                out.push(reason(
                    "typ",
                    format!(
                        "this is an access token (for {}), not an ID token; an application \
                         must not accept an access token as proof of a login",
                        list(&aud)
                    ),
                ));
            }
            if !aud.iter().any(|a| a == client_id) {
                out.push(reason(
                    "audience",
                    format!("audience is {}, not client {client_id}", list(&aud)),
                ));
            } else if aud.len() > 1 && str_claim(claims, "azp") != Some(client_id.as_str()) {
                out.push(reason(
                    "azp",
                    format!(
                        "the token has several audiences and azp is {}, not client {client_id}",
                        str_claim(claims, "azp").unwrap_or("missing")
                    ),
                ));
            }
        }
        Ask::Any => {}
    }
    out
}

/// A library error in plain words, with the category it shares with the local
/// checks.
fn explain(e: &VerifyError, ask: &Ask, kind: Kind) -> Reason {
    match e {
        VerifyError::TooLarge => reason("size", "the token is larger than a verifier accepts"),
        VerifyError::Malformed(what) => reason(
            "malformed",
            format!("the token is not a well-formed JWT: {what}"),
        ),
        VerifyError::UnsupportedAlgorithm(alg) => reason(
            "alg",
            format!(
                "algorithm {alg} is not accepted (never none, never a shared-secret \
                 algorithm with a public key)"
            ),
        ),
        VerifyError::UnknownKid(kid) => reason(
            "kid",
            format!(
                "unknown kid {kid}: the issuer's JWKS has no such key (signed by \
                 someone else, or with a key the issuer no longer publishes)"
            ),
        ),
        VerifyError::MissingKid => reason(
            "kid",
            "the header has no kid, so no key of the issuer can be chosen to check it",
        ),
        VerifyError::AlgorithmMismatch { header, key } => reason(
            "alg",
            format!(
                "algorithm does not match the key: the header says {header}, the issuer's \
                 key is for {key}"
            ),
        ),
        VerifyError::BadSignature => reason(
            "signature",
            "the signature does not verify with the issuer's key: the token was altered \
             or was not signed by this issuer",
        ),
        VerifyError::UnknownCritical(names) => reason(
            "crit",
            format!(
                "the header marks {} as critical, which a verifier does not understand",
                names.join(", ")
            ),
        ),
        VerifyError::WrongType(typ) => {
            let typ = typ.as_deref().unwrap_or("missing");
            match ask {
                Ask::Api(_) if kind == Kind::IdToken => reason(
                    "id_token",
                    format!(
                        "typ is {typ}, not at+jwt: this is an ID token; an API must not accept ID tokens"
                    ),
                ),
                Ask::App(_) => reason(
                    "typ",
                    format!(
                        "typ is {typ}: this is not an ID token; an application must not accept it as one"
                    ),
                ),
                _ => reason(
                    "typ",
                    format!("typ is {typ}, not at+jwt: this is not an access token"),
                ),
            }
        }
        VerifyError::IdToken { client_id } => reason(
            "id_token",
            format!("this is an ID token for client {client_id}; an API must not accept ID tokens"),
        ),
        VerifyError::WrongIssuer { expected, actual } => {
            reason("issuer", format!("issuer is {actual}, not {expected}"))
        }
        VerifyError::WrongAudience { expected, actual } => {
            let expected = match ask {
                Ask::App(client) => format!("client {client}"),
                _ => list(expected),
            };
            reason(
                "audience",
                format!("audience is {}, not {expected}", list(actual)),
            )
        }
        VerifyError::Expired { seconds_ago } => {
            reason("exp", format!("expired {} ago", span(*seconds_ago)))
        }
        VerifyError::NotYetValid { seconds_until } => reason(
            "nbf",
            format!(
                "not valid yet: it becomes valid in {}",
                span(*seconds_until)
            ),
        ),
        VerifyError::IssuedInFuture => reason("iat", "issued in the future (iat is after now)"),
        VerifyError::MissingClaim(claim) => {
            let category = match *claim {
                "exp" => "exp",
                "iss" => "iss",
                "aud" => "audience",
                "azp" => "azp",
                _ => "claim",
            };
            reason(category, format!("the {claim} claim is missing"))
        }
        VerifyError::NonceMismatch => reason("nonce", "the nonce does not match the login request"),
        VerifyError::AuthTooOld => reason(
            "auth_time",
            "the login is older than max_age allows; the user must log in again",
        ),
        VerifyError::AzpMismatch => reason(
            "azp",
            "the token has several audiences and azp does not name this client",
        ),
        VerifyError::JwksUnavailable(why) => reason(
            "jwks",
            format!("the issuer's JWKS could not be fetched, so nothing can be verified: {why}"),
        ),
        // `VerifyError` is non-exhaustive: a reason added to the library later
        // is shown in its own words until this explains it.
        other => reason("other", other.to_string()),
    }
}

fn to_json(report: &Report) -> Value {
    json!({
        "kind": report.kind.code(),
        "header": report.header,
        "claims": report.claims,
        "valid": report.valid(),
        "verified": report.verified,
        "reasons": report.reasons.iter().map(|r| r.text.as_str()).collect::<Vec<_>>(),
    })
}

// ---------------------------------------------------------------------------
// Human output
// ---------------------------------------------------------------------------

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

fn render(report: &Report, colour: bool) -> String {
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

    #[test]
    fn kinds_are_told_apart() {
        let at = json!({"typ": "at+jwt", "alg": "RS256"});
        let jwt = json!({"typ": "JWT", "alg": "RS256"});
        assert_eq!(
            classify(&jwt, &json!({"aud": "abc", "nonce": "n", "sub": "auth0|1"})),
            Kind::IdToken
        );
        assert_eq!(
            classify(
                &at,
                &json!({"aud": "https://t.example/api/v2/", "gty": "client-credentials"})
            ),
            Kind::ManagementApi
        );
        assert_eq!(
            classify(
                &at,
                &json!({"aud": "https://api.example/", "sub": "x@clients"})
            ),
            Kind::MachineToMachine
        );
        assert_eq!(
            classify(
                &at,
                &json!({"aud": "https://api.example/", "sub": "auth0|1", "scope": "a"})
            ),
            Kind::AccessToken
        );
    }

    #[test]
    fn several_local_reasons_are_listed() {
        let report = Report {
            kind: Kind::IdToken,
            header: Value::Null,
            claims: Value::Null,
            ask: Ask::Api("https://api.example/".into()),
            issuer: None,
            verified: false,
            reasons: vec![],
            now: 10_000,
        };
        let header = json!({"alg": "RS256", "kid": "k", "typ": "JWT"});
        let claims = json!({"aud": "client-1", "exp": 10_000 - 14 * 60, "nonce": "n"});
        let texts: Vec<String> = local_reasons(&report, &header, &claims, 0)
            .into_iter()
            .map(|r| r.text)
            .collect();
        assert_eq!(
            texts,
            [
                "expired 14 minutes ago",
                "this is an ID token for client client-1; an API must not accept ID tokens",
                "audience is client-1, not https://api.example/",
            ]
        );
    }
}
