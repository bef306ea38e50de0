//! Client authentication at the token, revocation and introspection endpoints
//! (RFC 6749 §2.3.1): `client_secret_basic`, `client_secret_post`, or `none` for
//! public clients; and `private_key_jwt` (RFC 7523), whose assertion is
//! verified by [`crate::grant::common::authenticate`] (it needs the store).

use base64::Engine;
use base64::engine::general_purpose::STANDARD;

use crate::bootstrap::CLIENT_SECRET_PURPOSE;
use crate::envelope::MasterKey;
use crate::error::{OAuthError, Reason};
use crate::model::{Client, ClientSecret, TokenEndpointAuthMethod};
use crate::types::Secret;

/// What the request presented.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Presented {
    Basic {
        client_id: String,
        secret: Secret<String>,
    },
    Post {
        client_id: String,
        secret: Secret<String>,
    },
    /// Only a `client_id`: a public client.
    None { client_id: String },
    /// `private_key_jwt`: a client assertion naming `client_id` (unverified
    /// until [`crate::grant::common::authenticate`]).
    Assertion {
        client_id: String,
        assertion: Secret<String>,
    },
}

impl Presented {
    pub fn client_id(&self) -> &str {
        match self {
            Self::Basic { client_id, .. }
            | Self::Post { client_id, .. }
            | Self::None { client_id }
            | Self::Assertion { client_id, .. } => client_id,
        }
    }
    pub fn used_basic(&self) -> bool {
        matches!(self, Self::Basic { .. })
    }
}

fn form_decode(s: &str) -> Option<String> {
    // RFC 6749 §2.3.1: id and secret are form-urlencoded before Basic encoding.
    let plus_as_space = s.replace('+', " ");
    url::form_urlencoded::parse(format!("v={plus_as_space}").as_bytes())
        .next()
        .map(|(_, v)| v.into_owned())
        .or_else(|| Some(String::new()))
}

pub use crate::error::WRONG_CLIENT;

fn invalid_client(reason: Reason, description: &str) -> OAuthError {
    OAuthError::new(reason, description)
}

/// Reads the client's credentials from the `Authorization` header value and the
/// body parameters. More than one method, or a `client_id` that disagrees with
/// the Basic one, is `invalid_request`.
pub fn presented(
    authorization: Option<&str>,
    body_client_id: Option<&str>,
    body_secret: Option<&str>,
) -> Result<Presented, OAuthError> {
    if let Some(header) = authorization {
        let Some(encoded) = header
            .strip_prefix("Basic ")
            .or_else(|| header.strip_prefix("basic "))
        else {
            return Err(invalid_client(
                Reason::AuthorizationSchemeUnsupported,
                "unsupported Authorization scheme; use Basic",
            ));
        };
        let decoded = STANDARD
            .decode(encoded.trim())
            .ok()
            .and_then(|b| String::from_utf8(b).ok())
            .ok_or_else(|| invalid_client(Reason::BasicMalformed, "malformed Basic credentials"))?;
        let (id, secret) = decoded
            .split_once(':')
            .ok_or_else(|| invalid_client(Reason::BasicMalformed, "malformed Basic credentials"))?;
        let id = form_decode(id).unwrap_or_default();
        let secret = form_decode(secret).unwrap_or_default();
        if body_secret.is_some() {
            return Err(OAuthError::new(
                Reason::ClientAuthMethodsMixed,
                "use one client authentication method, not Basic and client_secret together",
            ));
        }
        if body_client_id.is_some_and(|b| b != id) {
            return Err(OAuthError::new(
                Reason::ClientIdMismatch,
                "client_id does not match the Basic credentials",
            ));
        }
        if id.is_empty() {
            return Err(invalid_client(
                Reason::BasicMalformed,
                "malformed Basic credentials",
            ));
        }
        return Ok(Presented::Basic {
            client_id: id,
            secret: Secret::new(secret),
        });
    }
    match (body_client_id, body_secret) {
        (Some(id), Some(secret)) if !id.is_empty() => Ok(Presented::Post {
            client_id: id.to_owned(),
            secret: Secret::new(secret.to_owned()),
        }),
        (Some(id), None) if !id.is_empty() => Ok(Presented::None {
            client_id: id.to_owned(),
        }),
        _ => Err(invalid_client(
            Reason::ClientAuthMissing,
            "client authentication is required (Basic, or client_id and client_secret)",
        )),
    }
}

/// Reads the client's credentials from the `Authorization` header value and the
/// body: a client assertion (`client_assertion_type` + `client_assertion`,
/// RFC 7523 §2.2), else as [`presented`]. An assertion together with a secret
/// is refused (one method at a time), and so is a `client_id` that is not the
/// assertion's.
pub fn presented_from(
    authorization: Option<&str>,
    params: &crate::params::Params,
) -> Result<Presented, OAuthError> {
    let assertion_type = params.get("client_assertion_type");
    let assertion = params.get("client_assertion");
    if assertion_type.is_none() && assertion.is_none() {
        return presented(
            authorization,
            params.get("client_id"),
            params.get("client_secret"),
        );
    }
    if authorization.is_some() || params.get("client_secret").is_some() {
        return Err(invalid_client(
            Reason::ClientAssertionWithSecret,
            WRONG_CLIENT,
        ));
    }
    let (Some(crate::client_assertion::JWT_BEARER), Some(assertion)) = (assertion_type, assertion)
    else {
        return Err(invalid_client(
            Reason::ClientAssertionTypeUnsupported,
            WRONG_CLIENT,
        ));
    };
    let client_id = crate::client_assertion::client_id_of(assertion)?;
    if params.get("client_id").is_some_and(|id| id != client_id) {
        return Err(invalid_client(
            Reason::ClientAssertionSubjectMismatch,
            WRONG_CLIENT,
        ));
    }
    Ok(Presented::Assertion {
        client_id,
        assertion: Secret::new(assertion.to_owned()),
    })
}

/// How a client authenticated.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Authenticated {
    Confidential,
    Public,
}

/// Checks presented credentials against the stored client. Unknown clients and
/// wrong secrets get the same answer. The secret check is one HMAC and a
/// constant-time comparison.
pub fn authenticate(
    master: &MasterKey,
    presented: &Presented,
    client: Option<&(Client, Option<ClientSecret>)>,
) -> Result<Authenticated, OAuthError> {
    const WRONG: &str = WRONG_CLIENT;
    let Some((client, stored)) = client else {
        return Err(invalid_client(Reason::ClientCredentialsInvalid, WRONG));
    };
    match presented {
        Presented::Basic { secret, .. } | Presented::Post { secret, .. } => {
            let Some(stored) = stored else {
                return Err(invalid_client(Reason::ClientCredentialsInvalid, WRONG));
            };
            if client.is_public() {
                return Err(invalid_client(Reason::ClientCredentialsInvalid, WRONG));
            }
            if !master.verify_keyed_hash(
                CLIENT_SECRET_PURPOSE,
                secret.expose().as_bytes(),
                &stored.hash,
            ) {
                return Err(invalid_client(Reason::ClientCredentialsInvalid, WRONG));
            }
            // A private_key_jwt client's secret no longer authenticates it
            // (said after the secret check, so it tells a guesser nothing).
            if client.uses_private_key_jwt() {
                return Err(assertion_required());
            }
            // RFC 7591 §2: a client registered for client_secret_basic sends its
            // secret only in the header; one in the body is refused (said only
            // after the secret was right, so it tells a guesser nothing).
            // RFC 6749 §2.3.1 makes Basic mandatory for every client holding a
            // password, so a client_secret_post client may still use Basic:
            // Auth0 accepts it, and express-openid-connect and nextjs-auth0
            // send Basic by default to Auth0's default (post) applications.
            if matches!(presented, Presented::Post { .. })
                && client.token_endpoint_auth_method == TokenEndpointAuthMethod::ClientSecretBasic
            {
                return Err(invalid_client(
                    Reason::SecretMustUseBasic,
                    "this client is registered for client_secret_basic: send the secret in the Authorization header",
                ));
            }
            Ok(Authenticated::Confidential)
        }
        Presented::None { .. } => {
            if client.is_public() {
                Ok(Authenticated::Public)
            } else if client.uses_private_key_jwt() {
                Err(assertion_required())
            } else {
                Err(invalid_client(
                    Reason::ClientSecretRequired,
                    "this client must authenticate with its client secret",
                ))
            }
        }
        // Verified with the store's help, in `grant::common::authenticate`;
        // never accepted here.
        Presented::Assertion { .. } => Err(invalid_client(
            Reason::ClientAssertionNotAllowed,
            WRONG_CLIENT,
        )),
    }
}

fn assertion_required() -> OAuthError {
    invalid_client(Reason::ClientAssertionRequired, WRONG_CLIENT)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn basic(id: &str, secret: &str) -> String {
        format!("Basic {}", STANDARD.encode(format!("{id}:{secret}")))
    }

    #[test]
    fn reads_basic_and_post() {
        let p = presented(Some(&basic("app", "s%3Acret")), None, None).unwrap();
        assert_eq!(
            p,
            Presented::Basic {
                client_id: "app".into(),
                secret: Secret::new("s:cret".into())
            }
        );
        assert!(p.used_basic());
        let p = presented(None, Some("app"), Some("x")).unwrap();
        assert_eq!(
            p,
            Presented::Post {
                client_id: "app".into(),
                secret: Secret::new("x".into())
            }
        );
        assert_eq!(
            presented(None, Some("app"), None).unwrap(),
            Presented::None {
                client_id: "app".into()
            }
        );
    }

    #[test]
    fn refuses_mixed_or_missing_credentials() {
        let e = presented(Some(&basic("app", "s")), None, Some("s")).unwrap_err();
        assert_eq!(e.reason(), Reason::ClientAuthMethodsMixed);
        let e = presented(Some(&basic("app", "s")), Some("other"), None).unwrap_err();
        assert_eq!(e.reason(), Reason::ClientIdMismatch);
        assert_eq!(
            presented(None, None, None).unwrap_err().reason(),
            Reason::ClientAuthMissing
        );
        assert_eq!(
            presented(Some("Basic !!!"), None, None)
                .unwrap_err()
                .reason(),
            Reason::BasicMalformed
        );
        assert_eq!(
            presented(Some("Bearer x"), None, None)
                .unwrap_err()
                .reason(),
            Reason::AuthorizationSchemeUnsupported
        );
    }
}
