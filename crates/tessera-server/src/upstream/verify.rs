//! The upstream ID token, checked with the `openidconnect` crate: signature
//! against the provider's JWKS with the algorithm the key and header name
//! (asymmetric algorithms only: no `none`, no HMAC), `iss`, `aud` (no
//! extra audience), `exp`, `iat`, and our `nonce`; then `azp`, which the
//! crate does not check (4.1), must be our client id when present. The
//! verifier is built as a public client's: it holds no client secret, so no
//! HMAC key exists even if [`ALGS`] were widened.

use openidconnect::core::{
    CoreIdToken, CoreIdTokenVerifier, CoreJsonWebKeySet, CoreJwsSigningAlgorithm,
};
use openidconnect::{ClientId, IssuerUrl, Nonce};
use serde_json::{Map, Value};

use super::client::UpstreamError;

const ALGS: [CoreJwsSigningAlgorithm; 9] = [
    CoreJwsSigningAlgorithm::RsaSsaPkcs1V15Sha256,
    CoreJwsSigningAlgorithm::RsaSsaPkcs1V15Sha384,
    CoreJwsSigningAlgorithm::RsaSsaPkcs1V15Sha512,
    CoreJwsSigningAlgorithm::RsaSsaPssSha256,
    CoreJwsSigningAlgorithm::RsaSsaPssSha384,
    CoreJwsSigningAlgorithm::RsaSsaPssSha512,
    CoreJwsSigningAlgorithm::EcdsaP256Sha256,
    CoreJwsSigningAlgorithm::EcdsaP384Sha384,
    CoreJwsSigningAlgorithm::EdDsa,
];

fn invalid(what: &str, e: impl std::fmt::Display) -> UpstreamError {
    UpstreamError::Invalid(format!("{what}: {e}"))
}

/// The verified claims of `raw`, as JSON.
pub fn id_token_claims(
    raw: &str,
    jwks: &Value,
    issuer: &str,
    client_id: &str,
    nonce: &str,
) -> Result<Map<String, Value>, UpstreamError> {
    let keys: CoreJsonWebKeySet =
        serde_json::from_value(jwks.clone()).map_err(|e| invalid("the JWKS", e))?;
    let issuer = IssuerUrl::new(issuer.to_owned()).map_err(|e| invalid("the issuer", e))?;
    let verifier =
        CoreIdTokenVerifier::new_public_client(ClientId::new(client_id.to_owned()), issuer, keys)
            .set_allowed_algs(ALGS);
    // The parser's message could quote the token: never shown.
    let token: CoreIdToken = raw
        .parse()
        .map_err(|_| UpstreamError::Invalid("the ID token is not a JWT".into()))?;
    let claims = token
        .claims(&verifier, &Nonce::new(nonce.to_owned()))
        .map_err(|e| invalid("the ID token", e))?;
    if claims
        .authorized_party()
        .is_some_and(|azp| azp.as_str() != client_id)
    {
        return Err(UpstreamError::Invalid(
            "the ID token's azp is another client".into(),
        ));
    }
    match serde_json::to_value(claims) {
        Ok(Value::Object(map)) => Ok(map),
        _ => Err(UpstreamError::Invalid("the ID token's claims".into())),
    }
}
