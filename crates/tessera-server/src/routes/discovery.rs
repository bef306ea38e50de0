//! OIDC Discovery 1.0 §3 and RFC 8414 metadata. Only what is implemented is listed:
//! each endpoint joins this document in the change that implements it.

use axum::Json;
use axum::extract::State;
use axum::http::{HeaderValue, header};
use axum::response::{IntoResponse, Response};
use serde::Serialize;
use tessera_core::keys::SigningAlg;

use crate::state::AppState;

#[derive(Debug, Serialize)]
pub struct Metadata {
    pub issuer: String,
    pub jwks_uri: String,
    pub token_endpoint: String,
    pub grant_types_supported: Vec<&'static str>,
    pub token_endpoint_auth_methods_supported: Vec<&'static str>,
    pub subject_types_supported: Vec<&'static str>,
    pub id_token_signing_alg_values_supported: Vec<&'static str>,
}

pub fn metadata(state: &AppState) -> Metadata {
    let issuer = &state.config.issuer;
    Metadata {
        issuer: issuer.as_str().to_owned(),
        jwks_uri: issuer.join(".well-known/jwks.json"),
        token_endpoint: issuer.join("oauth/token"),
        grant_types_supported: vec!["client_credentials"],
        token_endpoint_auth_methods_supported: vec!["client_secret_basic", "client_secret_post"],
        subject_types_supported: vec!["public"],
        id_token_signing_alg_values_supported: SigningAlg::ALL.iter().map(|a| a.as_str()).collect(),
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
