use axum::extract::State;
use axum::http::{HeaderValue, header};
use axum::response::{IntoResponse, Response};

use crate::state::AppState;

/// `GET .well-known/jwks.json`: the published public keys (current, next, and
/// previous keys whose tokens may still be valid), served from memory.
pub async fn jwks(State(state): State<AppState>) -> Response {
    let set = state.keys.current();
    let mut res = set.jwks().to_string().into_response();
    let headers = res.headers_mut();
    headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    if let Ok(v) = HeaderValue::from_str(&format!("public, max-age={}", state.config.jwks_max_age))
    {
        headers.insert(header::CACHE_CONTROL, v);
    }
    // Browsers' SPAs and other origins may fetch the JWKS.
    headers.insert(
        header::ACCESS_CONTROL_ALLOW_ORIGIN,
        HeaderValue::from_static("*"),
    );
    res
}
