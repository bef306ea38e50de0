//! Issuing single-use tickets (password change, email verification): the
//! stored ticket and the link that carries its value. Shared by the
//! Authentication API (`dbconnections/change_password`), the hosted sign-up
//! and the Management API's `tickets/*` and `jobs/verification-email`.

use tessera_core::clock::UnixTime;
use tessera_core::ids::RngError;
use tessera_core::model::User;
use tessera_core::store::StoreError;
use tessera_core::ticket::{Ticket, TicketKind, new_ticket_value, password_fingerprint};

use crate::state::AppState;

/// Why no ticket was issued (a server fault: log it, answer 503).
#[derive(Debug, thiserror::Error)]
pub enum IssueError {
    #[error("storage: {0}")]
    Store(#[from] StoreError),
    #[error("randomness: {0}")]
    Rng(#[from] RngError),
}

/// The hosted page a ticket of `kind` opens.
pub fn page(kind: TicketKind) -> &'static str {
    match kind {
        TicketKind::PasswordChange => "u/reset-password",
        TicketKind::EmailVerification => "u/verify-email",
    }
}

/// Options of a new ticket beyond its kind and user.
#[derive(Debug, Clone, Default)]
pub struct TicketOptions {
    pub client_id: Option<String>,
    pub result_url: Option<String>,
    /// Seconds; the kind's default when `None`.
    pub ttl: Option<i64>,
    pub mark_email_verified: bool,
    pub include_email_in_redirect: bool,
}

/// Stores a new ticket of `kind` for `user` and returns the link carrying its
/// value. A password change needs the user's current password hash, which it
/// is bound to.
pub async fn issue(
    state: &AppState,
    kind: TicketKind,
    user: &User,
    password_hash: Option<&str>,
    options: TicketOptions,
    now: UnixTime,
) -> Result<String, IssueError> {
    let (value, hash) = new_ticket_value()?;
    let ticket = Ticket {
        kind,
        user_id: user.user_id.clone(),
        email: user.email.as_deref().map(str::to_lowercase),
        replaces: password_hash.map(password_fingerprint),
        client_id: options.client_id,
        result_url: options.result_url,
        mark_email_verified: options.mark_email_verified,
        include_email_in_redirect: options.include_email_in_redirect,
        created_at: now,
        expires_at: now + options.ttl.unwrap_or_else(|| kind.default_lifetime()),
    };
    state.store.create_ticket(&hash, &ticket).await?;
    let mut url = state.config.issuer.join(page(kind));
    url.push_str("?ticket=");
    url.push_str(&value);
    Ok(url)
}
