//! The HTTP base shared by every endpoint.

use std::time::{Duration, Instant};

use axum::Router;
use axum::body::Body;
use axum::extract::{DefaultBodyLimit, MatchedPath, Request, State};
use axum::http::{HeaderName, HeaderValue, Response, StatusCode, header};
use axum::middleware::{self, Next};
use axum::response::IntoResponse;
use tessera_core::error::ErrorCode;
use tower::{Layer, ServiceExt};
use tower_http::catch_panic::CatchPanicLayer;
use tower_http::set_header::SetResponseHeaderLayer;
use tower_http::timeout::TimeoutLayer;
use tower_http::trace::TraceLayer;
use tracing::Span;

use crate::error::{ApiError, HttpError, json_body};
use crate::state::AppState;

pub const REQUEST_ID: HeaderName = HeaderName::from_static("x-request-id");

/// The request id of this request (accepted from the client when it is short and
/// plain, otherwise generated), echoed in the response and in every log line.
#[derive(Debug, Clone)]
pub struct RequestId(pub String);

fn acceptable_request_id(v: &HeaderValue) -> Option<String> {
    let s = v.to_str().ok()?;
    (!s.is_empty()
        && s.len() <= 64
        && s.bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"-_.".contains(&b)))
    .then(|| s.to_owned())
}

async fn request_id(mut req: Request, next: Next) -> Response<Body> {
    let id = req
        .headers()
        .get(&REQUEST_ID)
        .and_then(acceptable_request_id)
        .unwrap_or_else(|| uuid::Uuid::new_v4().to_string());
    if let Ok(v) = HeaderValue::from_str(&id) {
        req.headers_mut().insert(REQUEST_ID, v.clone());
        req.extensions_mut().insert(RequestId(id));
        let mut res = next.run(req).await;
        res.headers_mut().insert(REQUEST_ID, v);
        res
    } else {
        next.run(req).await
    }
}

/// Records requests and latency per matched route (never the raw path, which
/// would let clients blow up the label set).
async fn record_metrics(State(state): State<AppState>, req: Request, next: Next) -> Response<Body> {
    let started = Instant::now();
    let method = req.method().as_str().to_owned();
    let route = req
        .extensions()
        .get::<MatchedPath>()
        .map(|p| p.as_str().to_owned())
        .unwrap_or_else(|| "unmatched".into());
    let res = next.run(req).await;
    state.metrics.observe_request(
        &method,
        &route,
        res.status().as_u16(),
        started.elapsed().as_secs_f64(),
    );
    res
}

/// Error responses that layers produce as plain text (413, 408, 405, ...) become
/// JSON in the same shape as every other error.
async fn json_errors(req: Request, next: Next) -> Response<Body> {
    let res = next.run(req).await;
    let status = res.status();
    if !(status.is_client_error() || status.is_server_error()) {
        return res;
    }
    let has_body_type = res.headers().get(header::CONTENT_TYPE).is_some_and(|ct| {
        let ct = ct.to_str().unwrap_or("");
        ct.starts_with("application/json") || ct.starts_with("text/html")
    });
    if has_body_type {
        return res;
    }
    let mut out = match status {
        StatusCode::NOT_FOUND => ApiError::Http(HttpError::NotFound).into_response(),
        StatusCode::METHOD_NOT_ALLOWED => {
            ApiError::Http(HttpError::MethodNotAllowed).into_response()
        }
        StatusCode::PAYLOAD_TOO_LARGE => ApiError::Http(HttpError::PayloadTooLarge).into_response(),
        StatusCode::REQUEST_TIMEOUT => json_body(
            status,
            ErrorCode::TemporarilyUnavailable.as_str(),
            "the request took too long",
        ),
        StatusCode::UNSUPPORTED_MEDIA_TYPE => json_body(
            status,
            ErrorCode::InvalidRequest.as_str(),
            "unsupported content type",
        ),
        s if s.is_server_error() => json_body(
            s,
            ErrorCode::ServerError.as_str(),
            "the server could not complete the request",
        ),
        s => json_body(
            s,
            ErrorCode::InvalidRequest.as_str(),
            "the request is malformed",
        ),
    };
    for name in [header::ALLOW, header::WWW_AUTHENTICATE, header::RETRY_AFTER] {
        if let Some(v) = res.headers().get(&name) {
            out.headers_mut().insert(name, v.clone());
        }
    }
    out
}

/// `X-Frame-Options: DENY` on every response but the one page some origin may
/// frame ([`crate::interactive::html::MayBeFramed`]; its CSP names who).
async fn deny_framing(mut res: Response<Body>) -> Response<Body> {
    let framable = res
        .extensions()
        .get::<crate::interactive::html::MayBeFramed>()
        .is_some();
    if !framable && !res.headers().contains_key(header::X_FRAME_OPTIONS) {
        res.headers_mut()
            .insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    }
    res
}

fn panic_response(_: Box<dyn std::any::Any + Send + 'static>) -> Response<Body> {
    tracing::error!("a handler panicked");
    json_body(
        StatusCode::INTERNAL_SERVER_ERROR,
        ErrorCode::ServerError.as_str(),
        "the server could not complete the request",
    )
}

/// A create or update of an action: its code alone may be Auth0's 100 KB.
fn is_action_body(req: &Request) -> bool {
    matches!(
        *req.method(),
        axum::http::Method::POST | axum::http::Method::PATCH
    ) && req
        .uri()
        .path()
        .contains(crate::management::actions::ACTIONS_PATH)
}

/// The body limit: `body_limit` for every request but user imports
/// (`jobs.import_limit`, answered in the Management API's shape) and actions'
/// bodies (at least [`crate::management::actions::BODY_LIMIT`]). A declared
/// length over it is refused before the body is read; a body that grows past
/// it fails when read (as `RequestBodyLimitLayer` does), and extractors see the
/// same limit (`DefaultBodyLimit`).
async fn limit_body(State(state): State<AppState>, req: Request, next: Next) -> Response<Body> {
    let config = &state.config;
    let import = req.method() == axum::http::Method::POST
        && req
            .uri()
            .path()
            .ends_with(crate::management::user_jobs::IMPORT_PATH);
    let limit = if import {
        config.jobs.import_limit
    } else if is_action_body(&req) {
        config
            .body_limit
            .max(crate::management::actions::BODY_LIMIT)
    } else {
        config.body_limit
    };
    let declared = req
        .headers()
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok());
    if declared.is_some_and(|n| n > limit as u64) {
        if import {
            return crate::management::error::MgmtError::new(
                StatusCode::PAYLOAD_TOO_LARGE,
                "payload_too_large",
                "The users file is larger than this server accepts (jobs.import_limit).",
            )
            .into_response();
        }
        return StatusCode::PAYLOAD_TOO_LARGE.into_response();
    }
    let req = req.map(|body| Body::new(http_body_util::Limited::new(body, limit)));
    match DefaultBodyLimit::max(limit).layer(next).oneshot(req).await {
        Ok(res) => res,
        Err(never) => match never {},
    }
}

/// A request's path as logs may show it: an export's download link carries
/// its secret token in the path, so that segment becomes `{file}`.
pub(crate) fn loggable_path(path: &str) -> std::borrow::Cow<'_, str> {
    const DOWNLOADS: &str = "/jobs/exports/";
    match path.find(DOWNLOADS) {
        Some(at) => format!("{}{{file}}", &path[..at + DOWNLOADS.len()]).into(),
        None => path.into(),
    }
}

/// Wraps the application in the shared layers, outermost first: request id,
/// tracing, panic catcher, JSON errors, security headers, timeout, body limit.
pub fn layers(app: Router<AppState>, state: AppState) -> Router {
    let config = state.config.clone();
    let hsts = config
        .issuer
        .is_https()
        .then(|| HeaderValue::from_static("max-age=31536000; includeSubDomains"));
    let trace = TraceLayer::new_for_http()
        .make_span_with(|req: &Request| {
            let id = req.extensions().get::<RequestId>().map(|r| r.0.clone()).unwrap_or_default();
            // The path only: query strings can hold codes and tokens.
            tracing::info_span!("request", method = %req.method(), path = %loggable_path(req.uri().path()), request_id = %id)
        })
        .on_request(())
        .on_response(|res: &Response<Body>, latency: Duration, _span: &Span| {
            tracing::info!(status = res.status().as_u16(), latency_ms = latency.as_secs_f64() * 1000.0, "response");
        })
        .on_failure(());
    let app = app.route_layer(middleware::from_fn_with_state(
        state.clone(),
        record_metrics,
    ));
    // Router::layer wraps what is already there: the last added is the outermost.
    app.layer(middleware::from_fn_with_state(state.clone(), limit_body))
        .layer(TimeoutLayer::with_status_code(
            StatusCode::REQUEST_TIMEOUT,
            config.request_timeout,
        ))
        .layer(SetResponseHeaderLayer::if_not_present(
            header::STRICT_TRANSPORT_SECURITY,
            hsts,
        ))
        .layer(SetResponseHeaderLayer::if_not_present(
            header::CACHE_CONTROL,
            HeaderValue::from_static("no-store"),
        ))
        .layer(SetResponseHeaderLayer::if_not_present(
            header::REFERRER_POLICY,
            HeaderValue::from_static("no-referrer"),
        ))
        .layer(SetResponseHeaderLayer::if_not_present(
            header::CONTENT_SECURITY_POLICY,
            HeaderValue::from_static("default-src 'none'; frame-ancestors 'none'"),
        ))
        .layer(middleware::map_response(deny_framing))
        .layer(SetResponseHeaderLayer::if_not_present(
            header::X_CONTENT_TYPE_OPTIONS,
            HeaderValue::from_static("nosniff"),
        ))
        .layer(middleware::from_fn(json_errors))
        .layer(CatchPanicLayer::custom(panic_response))
        .layer(trace)
        .layer(middleware::from_fn(request_id))
        .with_state(state)
}

#[cfg(test)]
mod tests {
    use super::loggable_path;

    #[test]
    fn an_export_link_token_never_reaches_the_request_log() {
        assert_eq!(
            loggable_path("/tenant/jobs/exports/s3cr3t-token.json.gz"),
            "/tenant/jobs/exports/{file}"
        );
        assert_eq!(
            loggable_path("/jobs/exports/x.csv.gz"),
            "/jobs/exports/{file}"
        );
        assert_eq!(loggable_path("/api/v2/jobs/job_1"), "/api/v2/jobs/job_1");
    }
}
