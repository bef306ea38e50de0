//! The one layout of every email: the tenant's name and logo, a heading, a few
//! paragraphs, an optional button (a link) and an optional code, as plain text
//! and as HTML. Every value is HTML-escaped in the HTML part.

use crate::interactive::html::{Branding, escape};

use super::Email;

/// What a message says; each feature builds one next to its handler.
#[derive(Debug, Clone, Default)]
pub struct Content {
    pub heading: String,
    /// Paragraphs before the button or code.
    pub paragraphs: Vec<String>,
    /// A link shown as a button: (label, URL).
    pub button: Option<(String, String)>,
    /// A one-time code shown large.
    pub code: Option<String>,
    /// Paragraphs after the button or code (e.g. "ignore this if ...").
    pub footer: Vec<String>,
}

impl Content {
    /// The message to `to`; `summary` is what a log line may say about it.
    pub fn into_email(self, branding: &Branding, to: &str, subject: &str, summary: &str) -> Email {
        Email {
            to: to.to_owned(),
            subject: subject.to_owned(),
            text: self.text(branding),
            html: self.html(branding),
            summary: summary.to_owned(),
        }
    }

    /// The plain-text part.
    pub fn text(&self, branding: &Branding) -> String {
        let mut out = format!("{}\n\n{}\n\n", branding.tenant_name, self.heading);
        for p in &self.paragraphs {
            out.push_str(p);
            out.push_str("\n\n");
        }
        if let Some((label, url)) = &self.button {
            out.push_str(&format!("{label}:\n{url}\n\n"));
        }
        if let Some(code) = &self.code {
            out.push_str(&format!("{code}\n\n"));
        }
        for p in &self.footer {
            out.push_str(p);
            out.push_str("\n\n");
        }
        out
    }

    /// The HTML part: inline styles only (mail clients drop style sheets).
    pub fn html(&self, branding: &Branding) -> String {
        let name = escape(&branding.tenant_name);
        let logo = branding
            .logo_url
            .as_deref()
            .map(|u| {
                format!(
                    "<img src=\"{}\" alt=\"{name}\" style=\"max-height:48px;display:block;margin:0 auto 16px\">",
                    escape(u)
                )
            })
            .unwrap_or_default();
        let mut body = String::new();
        for p in &self.paragraphs {
            body.push_str(&format!("<p>{}</p>", escape(p)));
        }
        if let Some((label, url)) = &self.button {
            body.push_str(&format!(
                "<p style=\"text-align:center;margin:24px 0\"><a href=\"{}\" style=\"background:#1d4ed8;color:#ffffff;padding:12px 20px;border-radius:6px;text-decoration:none;font-weight:600\">{}</a></p>\
<p style=\"font-size:13px;color:#374151\">{}</p>",
                escape(url),
                escape(label),
                escape(url)
            ));
        }
        if let Some(code) = &self.code {
            body.push_str(&format!(
                "<p style=\"font-size:28px;letter-spacing:6px;font-weight:700;text-align:center\">{}</p>",
                escape(code)
            ));
        }
        for p in &self.footer {
            body.push_str(&format!(
                "<p style=\"font-size:13px;color:#374151\">{}</p>",
                escape(p)
            ));
        }
        format!(
            "<!DOCTYPE html><html lang=\"en\"><head><meta charset=\"utf-8\"><title>{}</title></head>\
<body style=\"font-family:system-ui,-apple-system,Segoe UI,Roboto,sans-serif;background:#f3f4f6;color:#111827;margin:0;padding:24px\">\
<div style=\"max-width:480px;margin:0 auto;background:#ffffff;padding:24px;border-radius:12px\">{logo}\
<p style=\"font-weight:600;color:#374151\">{name}</p><h1 style=\"font-size:20px\">{}</h1>{body}</div></body></html>",
            escape(&self.heading),
            escape(&self.heading)
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn branding() -> Branding {
        Branding {
            tenant_name: "Acme <Corp>".into(),
            logo_url: Some("https://cdn.example/logo.png?a=1&b=\"2\"".into()),
        }
    }

    #[test]
    fn every_value_is_escaped_in_html() {
        let content = Content {
            heading: "<h>".into(),
            paragraphs: vec!["<script>x</script>".into()],
            button: Some(("Go & see".into(), "https://x.example/?a=1&b=<2>".into())),
            code: Some("<1>".into()),
            footer: vec!["\"q\"".into()],
        };
        let html = content.html(&branding());
        for raw in [
            "<script>",
            "<h>",
            "Acme <Corp>",
            "b=<2>",
            "<1>",
            "\"q\"",
            "b=\"2\"",
        ] {
            assert!(!html.contains(raw), "{raw} unescaped in {html}");
        }
        assert!(html.contains("https://x.example/?a=1&amp;b=&lt;2&gt;"));
        assert!(html.contains("Acme &lt;Corp&gt;"));
    }

    #[test]
    fn text_has_the_tenant_the_link_and_the_code() {
        let content = Content {
            heading: "Reset".into(),
            button: Some(("Open".into(), "https://x.example/t".into())),
            code: Some("123456".into()),
            ..Content::default()
        };
        let text = content.text(&branding());
        assert!(text.starts_with("Acme <Corp>\n"));
        assert!(text.contains("https://x.example/t\n") && text.contains("123456"));
    }
}
