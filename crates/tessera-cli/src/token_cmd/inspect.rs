//! The inspection: decode without verifying, classify, then (with an issuer)
//! verify with `tessera-verify` as an API or an application would.

use std::collections::BTreeSet;
use std::time::{SystemTime, UNIX_EPOCH};

use serde_json::Value;
use tessera_verify::{AccessTokenVerifier, IdTokenExpectations, IdTokenVerifier, Options};

use super::explain::explain;
use super::local_checks::local_reasons;
use super::report::{Ask, Kind, Reason, Report, audiences, reason, str_claim};

fn now() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| i64::try_from(d.as_secs()).unwrap_or(i64::MAX))
        .unwrap_or(0)
}

pub(super) async fn inspect(token: &str, issuer: Option<String>, ask: Ask) -> Report {
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
        let checked = verify(
            token,
            &issuer,
            &report.ask,
            report.kind,
            &report.claims,
            report.now,
        );
        match checked.await {
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

/// Verifies with the library as an API or an app would, at `now` (the instant
/// the report states and the local checks use); the first problem it finds, in
/// plain words.
async fn verify(
    token: &str,
    issuer: &str,
    ask: &Ask,
    kind: Kind,
    claims: &Value,
    now: i64,
) -> Result<(), Reason> {
    let setup = |e: &dyn std::fmt::Display| {
        reason(
            "jwks",
            format!("the issuer's discovery document or JWKS could not be read: {e}"),
        )
    };
    let options = |accept_plain_jwt_typ: bool| {
        Options::builder()
            .clock(move || now)
            .accept_plain_jwt_typ(accept_plain_jwt_typ)
            .build()
            .map_err(|e| reason("other", e.to_string()))
    };
    let result = match as_whom(ask, kind, claims) {
        Verifier::App(client_id) => {
            let verifier = IdTokenVerifier::from_issuer(issuer, &client_id)
                .await
                .map_err(|e| setup(&e))?
                .with_options(options(false)?);
            verifier
                .verify(token, &IdTokenExpectations::default())
                .await
        }
        Verifier::Api { audiences, lenient } => {
            let verifier = AccessTokenVerifier::from_issuer(issuer, audiences)
                .await
                .map_err(|e| setup(&e))?
                .with_options(options(lenient)?);
            verifier.verify(token).await
        }
    };
    result.map(|_| ()).map_err(|e| explain(&e, ask, kind))
}

/// The library verifier `verify` sets up.
enum Verifier {
    /// An API's: these identifiers; `lenient` also accepts `typ: JWT`.
    Api {
        audiences: Vec<String>,
        lenient: bool,
    },
    /// An application's, with this client ID.
    App(String),
}

/// As whom the library checks the token: as asked, or, with `--issuer` alone,
/// as whoever the token itself names.
fn as_whom(ask: &Ask, kind: Kind, claims: &Value) -> Verifier {
    match ask {
        Ask::Api(audience) => Verifier::Api {
            audiences: vec![audience.clone()],
            lenient: false,
        },
        Ask::App(client_id) => Verifier::App(client_id.clone()),
        // Signature, issuer and expiry: the token's own audience is taken as
        // the expected one.
        Ask::Any if kind == Kind::IdToken => Verifier::App(
            claims
                .get("azp")
                .and_then(Value::as_str)
                .map(str::to_owned)
                .or_else(|| audiences(claims).first().cloned())
                .unwrap_or_default(),
        ),
        Ask::Any => Verifier::Api {
            audiences: audiences(claims),
            lenient: true,
        },
    }
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

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

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
}
