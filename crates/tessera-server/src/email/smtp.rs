//! The SMTP mailer (lettre over tokio, rustls on aws-lc-rs): a bounded queue
//! and a worker task, so a request never waits for a mail server. A full
//! queue drops the message with a warning; a failed delivery is retried with
//! backoff a few times. Log lines name the message's summary and the
//! recipient's domain, never the body, the address or the credentials.

use std::net::IpAddr;
use std::sync::Arc;
use std::time::Duration;

pub use lettre::message::Mailbox;
use lettre::message::MultiPart;
pub use lettre::transport::smtp::Error as SmtpError;
use lettre::transport::smtp::authentication::Credentials;
use lettre::{AsyncSmtpTransport, AsyncTransport, Message, Tokio1Executor};
use tokio::sync::{Semaphore, mpsc};

use super::{Email, Mailer, recipient_domain};

/// How the server reaches its mail server: `TESSERA_SMTP_URL`.
#[derive(Clone, PartialEq, Eq)]
pub struct SmtpUrl {
    pub security: Security,
    pub host: String,
    pub port: u16,
    pub user: Option<String>,
    password: Option<String>,
}

impl std::fmt::Debug for SmtpUrl {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SmtpUrl")
            .field("security", &self.security)
            .field("host", &self.host)
            .field("port", &self.port)
            .field("user", &self.user)
            .field("password", &self.password.as_ref().map(|_| "[redacted]"))
            .finish()
    }
}

/// The connection's protection.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Security {
    /// `smtp://`: no TLS; only to a loopback host.
    Plain,
    /// `smtp+starttls://`: STARTTLS required (default port 587).
    StartTls,
    /// `smtps://`: TLS from the first byte (default port 465).
    Tls,
}

/// Why a `TESSERA_SMTP_URL` is refused (never quotes the password).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SmtpUrlError {
    #[error("not a URL")]
    NotUrl,
    #[error("the scheme must be smtp, smtp+starttls or smtps")]
    Scheme,
    #[error("the URL has no host")]
    NoHost,
    #[error("plain smtp:// is allowed only to a loopback host; use smtp+starttls:// or smtps://")]
    PlainNotLoopback,
    #[error("the URL may not have a path, query or fragment")]
    Extra,
    #[error("the user name or password is not valid percent-encoded UTF-8")]
    Credentials,
}

impl SmtpUrl {
    pub fn parse(text: &str) -> Result<Self, SmtpUrlError> {
        let url = url::Url::parse(text).map_err(|_| SmtpUrlError::NotUrl)?;
        let (security, default_port) = match url.scheme() {
            "smtp" => (Security::Plain, 25),
            "smtp+starttls" => (Security::StartTls, 587),
            "smtps" => (Security::Tls, 465),
            _ => return Err(SmtpUrlError::Scheme),
        };
        let host = match url.host() {
            Some(url::Host::Domain(d)) if !d.is_empty() => d.to_owned(),
            Some(url::Host::Ipv4(ip)) => ip.to_string(),
            Some(url::Host::Ipv6(ip)) => ip.to_string(),
            _ => return Err(SmtpUrlError::NoHost),
        };
        if security == Security::Plain && !is_loopback(&host) {
            return Err(SmtpUrlError::PlainNotLoopback);
        }
        if !matches!(url.path(), "" | "/") || url.query().is_some() || url.fragment().is_some() {
            return Err(SmtpUrlError::Extra);
        }
        let decode = |s: &str| {
            percent_decode(s)
                .filter(|s| !s.is_empty())
                .ok_or(SmtpUrlError::Credentials)
        };
        let user = match url.username() {
            "" => None,
            u => Some(decode(u)?),
        };
        let password = url.password().map(decode).transpose()?;
        Ok(Self {
            security,
            host,
            port: url.port().unwrap_or(default_port),
            user,
            password,
        })
    }

    fn transport(
        &self,
    ) -> Result<AsyncSmtpTransport<Tokio1Executor>, lettre::transport::smtp::Error> {
        let builder = match self.security {
            Security::Plain => AsyncSmtpTransport::<Tokio1Executor>::builder_dangerous(&self.host),
            Security::StartTls => AsyncSmtpTransport::<Tokio1Executor>::starttls_relay(&self.host)?,
            Security::Tls => AsyncSmtpTransport::<Tokio1Executor>::relay(&self.host)?,
        };
        let builder = builder
            .port(self.port)
            .timeout(Some(Duration::from_secs(20)));
        let builder = match (&self.user, &self.password) {
            (Some(user), password) => builder.credentials(Credentials::new(
                user.clone(),
                password.clone().unwrap_or_default(),
            )),
            (None, _) => builder,
        };
        Ok(builder.build())
    }
}

fn is_loopback(host: &str) -> bool {
    host.eq_ignore_ascii_case("localhost")
        || host
            .trim_start_matches('[')
            .trim_end_matches(']')
            .parse::<IpAddr>()
            .is_ok_and(|ip| ip.is_loopback())
}

fn percent_decode(s: &str) -> Option<String> {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' {
            let hex = s.get(i + 1..i + 3)?;
            out.push(u8::from_str_radix(hex, 16).ok()?);
            i += 3;
        } else {
            out.push(bytes[i]);
            i += 1;
        }
    }
    String::from_utf8(out).ok()
}

/// `TESSERA_EMAIL_FROM`: `Name <address>` or a bare address.
pub fn parse_from(text: &str) -> Result<Mailbox, String> {
    text.parse::<Mailbox>().map_err(|_| {
        "not an email address (\"Name <user@example.com>\" or \"user@example.com\")".to_owned()
    })
}

/// Queue and retry settings.
#[derive(Debug, Clone)]
pub struct Delivery {
    /// Messages waiting at most; more are dropped with a warning.
    pub queue: usize,
    /// Deliveries in flight at once.
    pub concurrency: usize,
    /// Tries per message.
    pub attempts: u32,
    /// Wait after the first failure; doubled after each further one.
    pub first_backoff: Duration,
}

impl Default for Delivery {
    fn default() -> Self {
        Self {
            queue: 1000,
            concurrency: 4,
            attempts: 4,
            first_backoff: Duration::from_secs(2),
        }
    }
}

/// Sends through an SMTP server from a worker task.
#[derive(Debug, Clone)]
pub struct SmtpMailer {
    queue: mpsc::Sender<Email>,
}

impl SmtpMailer {
    /// Starts the worker (on the current Tokio runtime). It ends when the
    /// last clone of the mailer is dropped and the queue is drained.
    pub fn start(
        url: &SmtpUrl,
        from: Mailbox,
        delivery: Delivery,
    ) -> Result<Self, lettre::transport::smtp::Error> {
        let transport = url.transport()?;
        let (tx, rx) = mpsc::channel(delivery.queue.max(1));
        tokio::spawn(worker(rx, transport, from, delivery));
        Ok(Self { queue: tx })
    }
}

impl Mailer for SmtpMailer {
    fn send(&self, email: Email) {
        if let Err(e) = self.queue.try_send(email) {
            let (why, email) = match e {
                mpsc::error::TrySendError::Full(m) => ("the queue is full", m),
                mpsc::error::TrySendError::Closed(m) => ("the mail worker has stopped", m),
            };
            tracing::warn!(
                summary = %email.summary,
                to_domain = %recipient_domain(&email.to),
                "email dropped: {why}"
            );
        }
    }
}

async fn worker(
    mut rx: mpsc::Receiver<Email>,
    transport: AsyncSmtpTransport<Tokio1Executor>,
    from: Mailbox,
    delivery: Delivery,
) {
    let permits = Arc::new(Semaphore::new(delivery.concurrency.max(1)));
    while let Some(email) = rx.recv().await {
        let Ok(permit) = permits.clone().acquire_owned().await else {
            return;
        };
        let transport = transport.clone();
        let from = from.clone();
        let delivery = delivery.clone();
        tokio::spawn(async move {
            deliver(&transport, from, email, &delivery).await;
            drop(permit);
        });
    }
}

async fn deliver(
    transport: &AsyncSmtpTransport<Tokio1Executor>,
    from: Mailbox,
    email: Email,
    delivery: &Delivery,
) {
    let summary = email.summary.clone();
    let domain = recipient_domain(&email.to).to_owned();
    let message = match build(from, email) {
        Ok(m) => m,
        Err(why) => {
            tracing::warn!(%summary, to_domain = %domain, "email dropped: {why}");
            return;
        }
    };
    let mut backoff = delivery.first_backoff;
    for attempt in 1..=delivery.attempts.max(1) {
        match transport.send(message.clone()).await {
            Ok(_) => {
                tracing::info!(%summary, to_domain = %domain, attempt, "email sent");
                return;
            }
            Err(e) => {
                let kind = error_kind(&e);
                let code = e.status().map(|c| c.to_string()).unwrap_or_default();
                if e.is_permanent() || attempt >= delivery.attempts {
                    tracing::warn!(%summary, to_domain = %domain, attempt, kind, code, "email not delivered");
                    return;
                }
                tracing::warn!(%summary, to_domain = %domain, attempt, kind, code, "email delivery failed; will retry");
                tokio::time::sleep(backoff).await;
                backoff = backoff.saturating_mul(2);
            }
        }
    }
}

/// The class of a delivery failure, for the log (lettre's message may quote
/// the server's reply, which can name the recipient).
fn error_kind(e: &lettre::transport::smtp::Error) -> &'static str {
    if e.is_permanent() {
        "permanent"
    } else if e.is_transient() {
        "transient"
    } else if e.is_timeout() {
        "timeout"
    } else if e.is_tls() {
        "tls"
    } else if e.is_response() {
        "response"
    } else {
        "connection"
    }
}

fn build(from: Mailbox, email: Email) -> Result<Message, &'static str> {
    let to = email
        .to
        .parse::<Mailbox>()
        .map_err(|_| "the recipient is not a valid address")?;
    Message::builder()
        .from(from)
        .to(to)
        .subject(email.subject)
        .multipart(MultiPart::alternative_plain_html(email.text, email.html))
        .map_err(|_| "the message could not be built")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls() {
        let u = SmtpUrl::parse("smtp+starttls://me%40x:p%3Ass@mail.example").unwrap();
        assert_eq!(
            (
                u.security,
                u.host.as_str(),
                u.port,
                u.user.as_deref(),
                u.password.as_deref()
            ),
            (
                Security::StartTls,
                "mail.example",
                587,
                Some("me@x"),
                Some("p:ss")
            )
        );
        let u = SmtpUrl::parse("smtps://mail.example").unwrap();
        assert_eq!((u.security, u.port, u.user), (Security::Tls, 465, None));
        let u = SmtpUrl::parse("smtp://127.0.0.1:2525").unwrap();
        assert_eq!((u.security, u.port), (Security::Plain, 2525));
        assert!(SmtpUrl::parse("smtp://[::1]:25").is_ok());
        assert!(SmtpUrl::parse("smtp://localhost").is_ok());
        assert!(
            !format!("{:?}", SmtpUrl::parse("smtps://u:hunter2@h").unwrap()).contains("hunter2")
        );
    }

    #[test]
    fn refusals() {
        for (text, why) in [
            ("smtp://mail.example:25", SmtpUrlError::PlainNotLoopback),
            ("smtp://10.0.0.1", SmtpUrlError::PlainNotLoopback),
            ("http://mail.example", SmtpUrlError::Scheme),
            ("mail.example:25", SmtpUrlError::Scheme),
            ("nothing", SmtpUrlError::NotUrl),
            ("smtps://mail.example/x", SmtpUrlError::Extra),
            ("smtps://mail.example?tls=x", SmtpUrlError::Extra),
            ("smtps://u:%ff@mail.example", SmtpUrlError::Credentials),
        ] {
            assert_eq!(SmtpUrl::parse(text), Err(why), "{text}");
        }
    }

    #[test]
    fn from_addresses() {
        assert!(parse_from("Acme <no-reply@acme.example>").is_ok());
        assert!(parse_from("no-reply@acme.example").is_ok());
        assert!(parse_from("not an address").is_err());
    }
}
