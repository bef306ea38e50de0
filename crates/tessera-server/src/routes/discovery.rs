//! OIDC Discovery 1.0 §3 and RFC 8414 metadata. Only what is implemented is listed:
//! each endpoint joins this document in the change that implements it.

use axum::Json;
use axum::extract::State;
use axum::http::{HeaderValue, header};
use axum::response::{IntoResponse, Response};
use serde::Serialize;
use tessera_core::flow::{ResponseMode, ResponseType};
use tessera_core::keys::SigningAlg;
use tessera_core::model::{CredentialAlg, GrantType};

use crate::state::AppState;

#[derive(Debug, Serialize)]
pub struct Metadata {
    pub issuer: String,
    pub authorization_endpoint: String,
    pub token_endpoint: String,
    pub userinfo_endpoint: String,
    pub jwks_uri: String,
    pub end_session_endpoint: String,
    pub revocation_endpoint: String,
    pub introspection_endpoint: String,
    pub response_types_supported: Vec<&'static str>,
    pub response_modes_supported: Vec<&'static str>,
    pub grant_types_supported: Vec<&'static str>,
    pub token_endpoint_auth_methods_supported: Vec<&'static str>,
    pub revocation_endpoint_auth_methods_supported: Vec<&'static str>,
    pub introspection_endpoint_auth_methods_supported: Vec<&'static str>,
    /// RFC 8414 §2: the algorithms `private_key_jwt` assertions may use.
    pub token_endpoint_auth_signing_alg_values_supported: Vec<&'static str>,
    pub revocation_endpoint_auth_signing_alg_values_supported: Vec<&'static str>,
    pub introspection_endpoint_auth_signing_alg_values_supported: Vec<&'static str>,
    pub code_challenge_methods_supported: Vec<&'static str>,
    pub scopes_supported: Vec<&'static str>,
    pub claims_supported: Vec<&'static str>,
    pub subject_types_supported: Vec<&'static str>,
    pub id_token_signing_alg_values_supported: Vec<&'static str>,
    /// RFC 9207: `iss` accompanies every authorization response.
    pub authorization_response_iss_parameter_supported: bool,
    pub request_parameter_supported: bool,
}

/// The claims an ID token or UserInfo may carry.
const CLAIMS: &[&str] = &[
    "sub",
    "iss",
    "aud",
    "exp",
    "iat",
    "auth_time",
    "nonce",
    "sid",
    "at_hash",
    "c_hash",
    "azp",
    "name",
    "given_name",
    "family_name",
    "nickname",
    "picture",
    "gender",
    "birthdate",
    "updated_at",
    "email",
    "email_verified",
    "phone_number",
    "phone_number_verified",
    "address",
];

/// The algorithms a client credential (and so an assertion) may use.
fn assertion_algs() -> Vec<&'static str> {
    CredentialAlg::ALL.iter().map(|a| a.as_str()).collect()
}

pub fn metadata(state: &AppState) -> Metadata {
    let issuer = &state.config.issuer;
    Metadata {
        issuer: issuer.as_str().to_owned(),
        authorization_endpoint: issuer.join("authorize"),
        token_endpoint: issuer.join("oauth/token"),
        userinfo_endpoint: issuer.join("userinfo"),
        jwks_uri: issuer.join(".well-known/jwks.json"),
        end_session_endpoint: issuer.join("oidc/logout"),
        revocation_endpoint: issuer.join("oauth/revoke"),
        introspection_endpoint: issuer.join("oauth/introspect"),
        response_types_supported: ResponseType::ALL.iter().map(|t| t.as_str()).collect(),
        response_modes_supported: ResponseMode::ALL.iter().map(|m| m.as_str()).collect(),
        // The token endpoint's grants, and `implicit` (ID tokens from
        // /authorize).
        grant_types_supported: tessera_core::grant::GRANT_TYPES
            .iter()
            .copied()
            .chain([GrantType::Implicit.as_str()])
            .collect(),
        token_endpoint_auth_methods_supported: vec![
            "client_secret_basic",
            "client_secret_post",
            "private_key_jwt",
            "none",
        ],
        revocation_endpoint_auth_methods_supported: vec![
            "client_secret_basic",
            "client_secret_post",
            "private_key_jwt",
            "none",
        ],
        introspection_endpoint_auth_methods_supported: vec![
            "client_secret_basic",
            "client_secret_post",
            "private_key_jwt",
        ],
        token_endpoint_auth_signing_alg_values_supported: assertion_algs(),
        revocation_endpoint_auth_signing_alg_values_supported: assertion_algs(),
        introspection_endpoint_auth_signing_alg_values_supported: assertion_algs(),
        code_challenge_methods_supported: vec!["S256"],
        scopes_supported: vec![
            "openid",
            "profile",
            "email",
            "phone",
            "address",
            "offline_access",
        ],
        claims_supported: CLAIMS.to_vec(),
        subject_types_supported: vec!["public"],
        id_token_signing_alg_values_supported: SigningAlg::ALL.iter().map(|a| a.as_str()).collect(),
        authorization_response_iss_parameter_supported: true,
        request_parameter_supported: false,
    }
}

fn cached(state: &AppState, body: Metadata) -> Response {
    let mut res = Json(body).into_response();
    if let Ok(v) = HeaderValue::from_str(&format!("public, max-age={}", state.config.jwks_max_age))
    {
        res.headers_mut().insert(header::CACHE_CONTROL, v);
    }
    res.headers_mut().insert(
        header::ACCESS_CONTROL_ALLOW_ORIGIN,
        HeaderValue::from_static("*"),
    );
    res
}

pub async fn openid_configuration(State(state): State<AppState>) -> Response {
    cached(&state, metadata(&state))
}

pub async fn oauth_authorization_server(State(state): State<AppState>) -> Response {
    cached(&state, metadata(&state))
}
