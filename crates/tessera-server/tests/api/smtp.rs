//! The SMTP mailer against the test sink: delivery through lettre (plain SMTP
//! on loopback), a mail server that refuses connections never blocks the
//! caller, and the log-only mailer.

use std::time::{Duration, Instant};

use tessera_server::email::smtp::{Delivery, SmtpMailer, SmtpUrl, parse_from};
use tessera_server::email::{Content, Email, Mailer};
use tessera_server::interactive::html::Branding;

use crate::*;

fn branding() -> Branding {
    Branding {
        tenant_name: "Acme & Co".into(),
        logo_url: Some("https://cdn.example/logo.png".into()),
    }
}

fn message(to: &str, link: &str) -> Email {
    Content {
        heading: "Reset your password".into(),
        paragraphs: vec!["Someone asked to reset the password of this account.".into()],
        button: Some(("Reset password".into(), link.into())),
        code: Some("042917".into()),
        footer: vec!["If it was not you, ignore this email.".into()],
    }
    .into_email(&branding(), to, "Reset your password", "password reset")
}

#[tokio::test]
async fn a_message_reaches_the_sink_through_smtp() {
    let sink = SmtpSink::start().await;
    let mailer = SmtpMailer::start(
        &SmtpUrl::parse(&sink.url()).unwrap(),
        parse_from(EMAIL_FROM).unwrap(),
        Delivery::default(),
    )
    .unwrap();
    let link = "https://id.example/u/reset-password?ticket=abc.DEF_ghi-123";
    mailer.send(message("user@example.com", link));
    let m = sink.wait_for("user@example.com").await;
    assert_eq!(m.from, "no-reply@tessera.test");
    assert_eq!(m.header("Subject").as_deref(), Some("Reset your password"));
    assert_eq!(m.link("https://id.example/").as_deref(), Some(link));
    assert_eq!(m.code().as_deref(), Some("042917"));
    assert!(m.text().starts_with("Acme & Co"), "{}", m.text());
    let html = m.html();
    assert!(html.contains("Acme &amp; Co") && html.contains("https://cdn.example/logo.png"));
    // Waiting for a second message to the same address finds none.
    assert!(
        sink.next_to("user@example.com", Duration::from_millis(300))
            .await
            .is_none()
    );
}

#[tokio::test]
async fn a_refusing_mail_server_never_blocks_the_sender() {
    // A port nothing listens on: every attempt is refused.
    let closed = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = closed.local_addr().unwrap().port();
    drop(closed);
    let mailer = SmtpMailer::start(
        &SmtpUrl::parse(&format!("smtp://127.0.0.1:{port}")).unwrap(),
        parse_from(EMAIL_FROM).unwrap(),
        Delivery {
            queue: 2,
            concurrency: 1,
            attempts: 3,
            first_backoff: Duration::from_secs(5),
        },
    )
    .unwrap();
    let started = Instant::now();
    // Far more than the queue holds: the extra ones are dropped, not waited on.
    for i in 0..50 {
        mailer.send(message(&format!("u{i}@example.com"), "https://x.example/"));
    }
    assert!(
        started.elapsed() < Duration::from_millis(500),
        "{:?}",
        started.elapsed()
    );
}
