//! The checks that need no key (algorithm, kid, crit, times, issuer,
//! audience, kind), so that every reason is listed even when the library
//! stops at the first one.

use serde_json::Value;

use super::report::{
    Ask, Kind, Reason, Report, audiences, client_of, list, reason, span, str_claim,
};

/// The checks that need no key, so that several reasons can be listed even when
/// the library stops at the first one.
pub(super) fn local_reasons(
    report: &Report,
    header: &Value,
    claims: &Value,
    leeway: i64,
) -> Vec<Reason> {
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

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

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
