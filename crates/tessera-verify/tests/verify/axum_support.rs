//! The axum extractor and layer (feature `axum`): RFC 6750 answers for a
//! missing, malformed, expired or under-scoped token; a server error without
//! the layer.

use axum::body::Body;
use axum::http::{Request, StatusCode, header};
use axum::routing::get;
use serde_json::{Value, json};
use tessera_core::keys::SigningAlg;
use tessera_verify::VerifyError;
use tessera_verify::axum_support::{Authenticated, Rejection, VerifyLayer, require_scope};
use tower::ServiceExt;

use crate::common::{NOW, TestKey, fixed};

async fn appointments(Authenticated(claims): Authenticated) -> Result<String, Rejection> {
    require_scope(&claims, "read:appointments")?;
    Ok(format!("appointments of {}", claims.sub))
}

#[tokio::test]
async fn axum_extractor_and_rfc6750_answers() {
    let k = TestKey::new(SigningAlg::ES256, "k1");
    let app = axum::Router::new()
        .route("/appointments", get(appointments))
        .layer(VerifyLayer::new(fixed(&[&k])));
    let call = |auth: Option<String>| {
        let app = app.clone();
        async move {
            let mut req = Request::builder().uri("/appointments");
            if let Some(a) = auth {
                req = req.header(header::AUTHORIZATION, a);
            }
            let res = app.oneshot(req.body(Body::empty()).unwrap()).await.unwrap();
            let status = res.status();
            let www = res
                .headers()
                .get(header::WWW_AUTHENTICATE)
                .map(|v| v.to_str().unwrap().to_owned());
            let body = axum::body::to_bytes(res.into_body(), 1 << 20)
                .await
                .unwrap();
            (status, www, body)
        }
    };
    let (status, www, _) = call(None).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    assert_eq!(www.as_deref(), Some(r#"Bearer realm="api""#));

    let (status, www, body) = call(Some("Bearer not-a-jwt".into())).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    let www = www.unwrap();
    assert!(
        www.starts_with(r#"Bearer realm="api", error="invalid_token", error_description=""#),
        "{www}"
    );
    let body: Value = serde_json::from_slice(&body).unwrap();
    assert_eq!(body["error"], "invalid_token");
    // The description is the library's typed error for that token.
    let refused = fixed(&[&k]).verify("not-a-jwt").await;
    assert!(
        matches!(refused, Err(VerifyError::Malformed(_))),
        "{refused:?}"
    );
    assert_eq!(
        body["error_description"],
        refused.unwrap_err().to_string(),
        "{body}"
    );

    let expired = k.access(json!({"exp": NOW - 3600}));
    let (status, www, _) = call(Some(format!("Bearer {expired}"))).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    assert_eq!(
        www.as_deref(),
        Some(
            r#"Bearer realm="api", error="invalid_token", error_description="expired 60 minutes ago""#
        )
    );

    let no_scope = k.access(json!({"scope": "write:appointments"}));
    let (status, www, body) = call(Some(format!("Bearer {no_scope}"))).await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    assert_eq!(
        www.as_deref(),
        Some(r#"Bearer error="insufficient_scope", scope="read:appointments""#)
    );
    let body: Value = serde_json::from_slice(&body).unwrap();
    assert_eq!(body["error"], "insufficient_scope");

    let good = k.access(json!({}));
    let (status, _, body) = call(Some(format!("bearer {good}"))).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(&body[..], b"appointments of worker@clients");

    // Without the layer: a server error, not an open door.
    let bare = axum::Router::new().route("/appointments", get(appointments));
    let res = bare
        .oneshot(
            Request::builder()
                .uri("/appointments")
                .header(header::AUTHORIZATION, format!("Bearer {good}"))
                .body(Body::empty())
                .unwrap(),
        )
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::INTERNAL_SERVER_ERROR);
}
