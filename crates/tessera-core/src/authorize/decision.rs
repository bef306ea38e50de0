//! What happens next to a pending `/authorize` request. [`decide`] is a pure
//! function of the request, the browser's session, the client and API as they
//! are now, the user's consent and the clock; the HTTP layer loads those and
//! renders the [`Decision`].

use super::granted_scopes;
use crate::clock::UnixTime;
use crate::error::{OAuthError, Reason};
use crate::flow::{AuthorizeTx, Prompt, Session};
use crate::model::{Client, ResourceServer};

/// The next step of a pending request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Decision {
    /// The user must log in (the hosted login page).
    Login,
    /// The user must consent to these scopes (the hosted consent page).
    Consent,
    /// Issue the code for these scopes.
    Issue { scope: Vec<String> },
    /// Answer the client with this error; the request is finished.
    Deny(OAuthError),
}

/// What a decision is made from.
#[derive(Debug, Clone, Copy)]
pub struct Situation<'a> {
    pub tx: &'a AuthorizeTx,
    /// The browser's live session (none for a blocked or deleted user).
    pub session: Option<&'a Session>,
    /// The user authenticated on the login page just now, so `prompt=login`,
    /// `prompt=consent` and `max_age` are satisfied.
    pub fresh_login: bool,
    /// The request's client as stored now (`None`: deleted since).
    pub client: Option<&'a Client>,
    /// The request's API as stored now (`None`: none asked, or deleted since).
    pub api: Option<&'a ResourceServer>,
    /// The scopes the user has consented to for this client and API (read only
    /// when [`asks_consent`] says so).
    pub consented: &'a [String],
    pub now: UnixTime,
}

/// Whether `client` needs the user's consent (third-party applications do),
/// so the caller knows to read it.
pub fn asks_consent(client: &Client) -> bool {
    !client.is_first_party
}

/// The client and the scopes the request may be granted now: the client and
/// the API it asked for must still exist.
pub fn grant_scope<'a>(
    tx: &AuthorizeTx,
    client: Option<&'a Client>,
    api: Option<&ResourceServer>,
) -> Result<(&'a Client, Vec<String>), OAuthError> {
    let Some(client) = client else {
        return Err(OAuthError::new(
            Reason::ClientGone,
            "the application no longer exists",
        ));
    };
    if tx.audience.is_some() && api.is_none() {
        return Err(OAuthError::new(Reason::ApiUnknown, "Service not found"));
    }
    Ok((client, granted_scopes(&tx.scope, api)))
}

/// Log in, consent, the code, or an error: in that order of checks.
pub fn decide(s: Situation<'_>) -> Decision {
    let tx = s.tx;
    let needs_login = match s.session {
        None => true,
        Some(session) if !s.fresh_login => {
            tx.prompts(Prompt::Login)
                || tx
                    .max_age
                    .is_some_and(|max| s.now - session.auth_time > max)
        }
        Some(_) => false,
    };
    if needs_login {
        return if tx.prompts(Prompt::None) {
            Decision::Deny(OAuthError::new(
                Reason::LoginRequired,
                "the user is not logged in",
            ))
        } else {
            Decision::Login
        };
    }
    let (client, scope) = match grant_scope(tx, s.client, s.api) {
        Ok(granted) => granted,
        Err(e) => return Decision::Deny(e),
    };
    if asks_consent(client) {
        let covered = scope.iter().all(|x| s.consented.contains(x));
        if !covered || (tx.prompts(Prompt::Consent) && !s.fresh_login) {
            return if tx.prompts(Prompt::None) {
                Decision::Deny(OAuthError::new(
                    Reason::ConsentRequired,
                    "the user has not consented",
                ))
            } else {
                Decision::Consent
            };
        }
    }
    Decision::Issue { scope }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::flow::{ResponseMode, ResponseType};

    fn tx(prompt: Vec<Prompt>, max_age: Option<i64>, audience: Option<&str>) -> AuthorizeTx {
        AuthorizeTx {
            id: "tx".into(),
            client_id: "app".into(),
            redirect_uri: "https://app.example/cb".into(),
            response_type: ResponseType::Code,
            response_mode: ResponseMode::Query,
            scope: vec!["openid".into(), "read:x".into()],
            audience: audience.map(str::to_owned),
            state: None,
            nonce: None,
            code_challenge: None,
            prompt,
            max_age,
            login_hint: None,
            connection: None,
            browser_binding: Vec::new(),
            created_at: 0,
            expires_at: 900,
        }
    }

    fn session(auth_time: UnixTime) -> Session {
        Session {
            secret_hash: Vec::new(),
            sid: "sid".into(),
            user_id: "auth0|u".into(),
            auth_time,
            created_at: auth_time,
            last_seen: auth_time,
            expires_at: auth_time + 86400,
        }
    }

    fn client(first_party: bool) -> Client {
        serde_json::from_value(serde_json::json!({
            "client_id": "app",
            "name": "App",
            "app_type": "regular_web",
            "token_endpoint_auth_method": "client_secret_post",
            "is_first_party": first_party,
        }))
        .unwrap()
    }

    fn reason(d: Decision) -> Option<Reason> {
        match d {
            Decision::Deny(e) => Some(e.reason()),
            _ => None,
        }
    }

    #[test]
    fn login_comes_first() {
        let t = tx(vec![], None, None);
        let c = client(true);
        let base = Situation {
            tx: &t,
            session: None,
            fresh_login: false,
            client: None,
            api: None,
            consented: &[],
            now: 1000,
        };
        // No session: log in, even when the client is gone.
        assert_eq!(decide(base), Decision::Login);
        let t_none = tx(vec![Prompt::None], None, None);
        assert_eq!(
            reason(decide(Situation {
                tx: &t_none,
                ..base
            })),
            Some(Reason::LoginRequired)
        );
        let s = session(100);
        let ok = Situation {
            session: Some(&s),
            client: Some(&c),
            ..base
        };
        assert!(matches!(decide(ok), Decision::Issue { .. }));
        // prompt=login and max_age need a fresh login.
        let t_login = tx(vec![Prompt::Login], None, None);
        assert_eq!(decide(Situation { tx: &t_login, ..ok }), Decision::Login);
        assert!(matches!(
            decide(Situation {
                tx: &t_login,
                fresh_login: true,
                ..ok
            }),
            Decision::Issue { .. }
        ));
        let t_age = tx(vec![], Some(899), None);
        assert_eq!(decide(Situation { tx: &t_age, ..ok }), Decision::Login);
        let t_age = tx(vec![], Some(900), None);
        assert!(matches!(
            decide(Situation { tx: &t_age, ..ok }),
            Decision::Issue { .. }
        ));
    }

    #[test]
    fn gone_client_or_api_and_consent() {
        let s = session(100);
        let first = client(true);
        let third = client(false);
        let t = tx(vec![], None, Some("urn:api"));
        let base = Situation {
            tx: &t,
            session: Some(&s),
            fresh_login: false,
            client: Some(&first),
            api: None,
            consented: &[],
            now: 1000,
        };
        assert_eq!(reason(decide(base)), Some(Reason::ApiUnknown));
        let t = tx(vec![], None, None);
        let base = Situation { tx: &t, ..base };
        assert_eq!(
            reason(decide(Situation {
                client: None,
                ..base
            })),
            Some(Reason::ClientGone)
        );
        // A third-party client needs consent to what is granted (openid here:
        // read:x is no scope of any API).
        let third_party = Situation {
            client: Some(&third),
            ..base
        };
        assert_eq!(decide(third_party), Decision::Consent);
        let consented = vec!["openid".to_owned()];
        let done = Situation {
            consented: &consented,
            ..third_party
        };
        assert_eq!(
            decide(done),
            Decision::Issue {
                scope: vec!["openid".into()]
            }
        );
        let t_none = tx(vec![Prompt::None], None, None);
        assert_eq!(
            reason(decide(Situation {
                tx: &t_none,
                ..third_party
            })),
            Some(Reason::ConsentRequired)
        );
        // prompt=consent asks again, unless the user just logged in.
        let t_consent = tx(vec![Prompt::Consent], None, None);
        assert_eq!(
            decide(Situation {
                tx: &t_consent,
                ..done
            }),
            Decision::Consent
        );
        assert!(matches!(
            decide(Situation {
                tx: &t_consent,
                fresh_login: true,
                ..done
            }),
            Decision::Issue { .. }
        ));
    }
}
