//! Server-rendered HTML for the hosted pages: a layout, escaping, and the
//! Content-Security-Policy every page carries (no inline script but the
//! form_post auto-submit, allowed by its hash).

use std::sync::OnceLock;

use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};

/// HTML-escapes text for element content and quoted attribute values.
pub fn escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 8);
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#x27;"),
            c => out.push(c),
        }
    }
    out
}

/// The tenant's branding on every page.
#[derive(Debug, Clone)]
pub struct Branding {
    pub tenant_name: String,
    pub logo_url: Option<String>,
}

const STYLE: &str = "body{font-family:system-ui,-apple-system,Segoe UI,Roboto,sans-serif;background:#f3f4f6;color:#111827;margin:0}\
main{max-width:24rem;margin:4rem auto;background:#fff;padding:2rem;border-radius:.75rem;box-shadow:0 1px 3px rgba(0,0,0,.2)}\
h1{font-size:1.4rem;margin:0 0 1rem}img.logo{max-height:3rem;display:block;margin:0 auto 1rem}\
label{display:block;font-weight:600;margin:1rem 0 .25rem}input[type=email],input[type=password]{width:100%;box-sizing:border-box;padding:.6rem;border:1px solid #6b7280;border-radius:.375rem;font-size:1rem}\
button{margin-top:1.5rem;width:100%;padding:.7rem;border:0;border-radius:.375rem;background:#1d4ed8;color:#fff;font-size:1rem;font-weight:600;cursor:pointer}\
button.secondary{background:#fff;color:#1d4ed8;border:1px solid #1d4ed8;margin-top:.75rem}\
a{color:#1d4ed8}.error{background:#fee2e2;color:#7f1d1d;padding:.75rem;border-radius:.375rem}ul.scopes{padding-left:1.2rem}p.small{font-size:.9rem;color:#374151}";

fn style_hash() -> &'static str {
    static HASH: OnceLock<String> = OnceLock::new();
    HASH.get_or_init(|| tessera_core::ids::csp_hash(STYLE))
}

/// `Content-Security-Policy` of the hosted pages: nothing but our own style and
/// forms posting to ourselves; never framed.
pub fn csp(extra_form_action: Option<&str>, script_hash: Option<&str>) -> String {
    let form_action = match extra_form_action {
        Some(target) => format!("'self' {target}"),
        None => "'self'".to_owned(),
    };
    let script = script_hash
        .map(|h| format!("; script-src {h}"))
        .unwrap_or_default();
    format!(
        "default-src 'none'; style-src {}; img-src https: data:; form-action {form_action}; frame-ancestors 'none'; base-uri 'none'{script}",
        style_hash()
    )
}

/// The CSP source that lets a hosted form's submission redirect to the client:
/// the redirect URI's origin (or its scheme, for a native app's custom scheme).
/// Browsers apply `form-action` to the redirects that follow a submission.
pub fn redirect_source(redirect_uri: &str) -> Option<String> {
    let url = url::Url::parse(redirect_uri).ok()?;
    match url.scheme() {
        "http" | "https" => Some(url.origin().ascii_serialization()),
        scheme => Some(format!("{scheme}:")),
    }
}

/// The CSP of a hosted page whose form ends at the client's `redirect_uri`.
pub fn form_csp(redirect_uri: &str) -> String {
    csp(redirect_source(redirect_uri).as_deref(), None)
}

/// A whole page: `content` is trusted HTML built with [`escape`]d values.
pub fn page(branding: &Branding, title: &str, content: &str) -> String {
    let logo = branding
        .logo_url
        .as_deref()
        .map(|u| {
            format!(
                "<img class=\"logo\" src=\"{}\" alt=\"{} logo\">",
                escape(u),
                escape(&branding.tenant_name)
            )
        })
        .unwrap_or_default();
    format!(
        "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\"><meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\
<meta name=\"referrer\" content=\"no-referrer\"><title>{} · {}</title><style>{STYLE}</style></head>\
<body><main>{logo}<h1>{}</h1>{content}</main></body></html>",
        escape(title),
        escape(&branding.tenant_name),
        escape(title)
    )
}

/// An HTML response with the pages' headers.
pub fn respond(status: StatusCode, body: String, csp_value: &str) -> Response {
    let mut res = (status, body).into_response();
    let h = res.headers_mut();
    h.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/html; charset=utf-8"),
    );
    if let Ok(v) = HeaderValue::from_str(csp_value) {
        h.insert(header::CONTENT_SECURITY_POLICY, v);
    }
    h.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    res
}

/// Marks a response that its CSP lets some origin frame (`frame-ancestors`):
/// the shared layers then add no `X-Frame-Options: DENY` to it.
#[derive(Debug, Clone, Copy)]
pub struct MayBeFramed;

/// An HTML response that only its `csp_value`'s `frame-ancestors` governs
/// framing of (no `X-Frame-Options`, which cannot name an origin): the
/// `web_message` response.
pub fn respond_framable(status: StatusCode, body: String, csp_value: &str) -> Response {
    let mut res = respond(status, body, csp_value);
    res.headers_mut().remove(header::X_FRAME_OPTIONS);
    res.extensions_mut().insert(MayBeFramed);
    res
}

/// The error page for requests that must not redirect (unknown client, bad
/// redirect URI, expired login transaction).
pub fn error_page(branding: &Branding, status: StatusCode, title: &str, detail: &str) -> Response {
    let content = format!("<p class=\"error\" role=\"alert\">{}</p>", escape(detail));
    respond(status, page(branding, title, &content), &csp(None, None))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escapes_markup() {
        assert_eq!(
            escape("<a href=\"x\">'&'</a>"),
            "&lt;a href=&quot;x&quot;&gt;&#x27;&amp;&#x27;&lt;/a&gt;"
        );
    }
}
