//! Outgoing email: the [`Mailer`] every feature sends through (password reset,
//! email verification, passwordless codes), the log-only mailer used when no
//! SMTP server is configured, the SMTP mailer (`smtp`) and the shared layout
//! of every message (`layout`).
//!
//! Sending never blocks and never fails the request that asked for it: a
//! mailer queues the message and reports problems in the log only.

pub mod layout;
pub mod smtp;

pub use layout::Content;

/// One message to one recipient.
#[derive(Clone)]
pub struct Email {
    pub to: String,
    pub subject: String,
    pub text: String,
    pub html: String,
    /// What a log line may say about this message (never a secret, link or code).
    pub summary: String,
}

impl std::fmt::Debug for Email {
    // The bodies hold links and codes: never printed.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Email")
            .field("to_domain", &recipient_domain(&self.to))
            .field("summary", &self.summary)
            .finish_non_exhaustive()
    }
}

/// Sends email on the server's behalf.
pub trait Mailer: Send + Sync + 'static {
    /// Queues the message; never blocks, never fails the caller.
    fn send(&self, email: Email);
}

/// The part of an address after the `@`: all a log line says about the
/// recipient.
pub fn recipient_domain(to: &str) -> &str {
    to.rsplit_once('@').map(|(_, domain)| domain).unwrap_or("")
}

/// With no SMTP server configured: logs that a message would have been sent
/// (its summary and the recipient's domain, never its body), and drops it.
#[derive(Debug, Default, Clone, Copy)]
pub struct LogMailer;

impl Mailer for LogMailer {
    fn send(&self, email: Email) {
        tracing::info!(
            summary = %email.summary,
            to_domain = %recipient_domain(&email.to),
            "email not sent (no SMTP server configured)"
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_domain_is_what_follows_the_last_at() {
        assert_eq!(recipient_domain("a@b@example.com"), "example.com");
        assert_eq!(recipient_domain("nobody"), "");
    }

    #[test]
    fn debug_never_shows_the_bodies() {
        let email = Email {
            to: "user@example.com".into(),
            subject: "s".into(),
            text: "secret-link".into(),
            html: "secret-link".into(),
            summary: "password reset".into(),
        };
        let shown = format!("{email:?}");
        assert!(
            !shown.contains("secret-link") && !shown.contains("user@"),
            "{shown}"
        );
    }
}
