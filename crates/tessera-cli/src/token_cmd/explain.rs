//! A `tessera-verify` error in plain words, with the category it shares with
//! the local checks (so one problem is not listed twice).

use tessera_verify::VerifyError;

use super::report::{Ask, Kind, Reason, list, reason, span};

/// A library error in plain words, with the category it shares with the local
/// checks.
pub(super) fn explain(e: &VerifyError, ask: &Ask, kind: Kind) -> Reason {
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
