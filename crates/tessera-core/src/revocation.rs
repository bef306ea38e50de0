//! Revoked access tokens, as an in-memory view: checking a token costs no
//! database read. Each node refreshes the view from storage periodically (the
//! bound on how long another node's revocation takes to apply here), and applies
//! its own revocations at once.
//!
//! The view stays bounded: every entry carries the expiry of what it revokes
//! (see [`revocation_expires_at`]: the tokens' real lifetimes, including longer
//! ones an API had before its lifetime was lowered or it was deleted) and leaves
//! the view once that has passed.
//!
//! Refreshing is incremental: storage numbers revocations (`seq`), and a
//! refresh reads only those numbered after a checkpoint. On PostgreSQL a row
//! may become visible after a row with a higher number was already read (the
//! numbers are taken at insert, visibility comes at commit), so "after the
//! highest number seen" could miss it for good. A refresh therefore reads from
//! the highest number seen at a refresh at least [`OVERLAP`] seconds old: a
//! revocation is missed only if its insert took longer than that to commit, and
//! even then the full re-read every [`FULL_REFRESH_EVERY`] seconds picks it up.
//! Applying a revocation twice changes nothing, so re-reading is harmless.

use std::collections::{HashMap, VecDeque};
use std::sync::{Arc, Mutex};

use arc_swap::ArcSwap;

use crate::clock::UnixTime;
use crate::flow::IssuedToken;
use crate::store::{Page, Revocation, RevocationStore, Store, StoreError, TenantStore};
use crate::token::access::issued_lifetime;
use crate::token::opaque::OPAQUE_TOKEN_LIFETIME;

/// How far back (seconds) an incremental refresh re-reads, against rows that
/// commit out of `seq` order. Well above the longest refresh interval (60 s).
pub const OVERLAP: i64 = 120;
/// How often (seconds) a refresh re-reads every live revocation instead.
pub const FULL_REFRESH_EVERY: i64 = 600;
/// Dropping the oldest checkpoints only makes refreshes start earlier.
const MAX_CHECKPOINTS: usize = 1024;

#[derive(Debug, Clone, PartialEq, Eq)]
struct ClientCut {
    /// One audience, or every audience.
    audience: Option<String>,
    issued_before: UnixTime,
    expires_at: UnixTime,
}

#[derive(Debug, Default, Clone)]
struct View {
    /// jti -> until when its entry is kept.
    jtis: HashMap<String, UnixTime>,
    /// client_id -> its cuts.
    clients: HashMap<String, Vec<ClientCut>>,
    /// The earliest expiry in the view (when pruning next has work to do).
    next_expiry: Option<UnixTime>,
}

fn expires_at(r: &Revocation) -> UnixTime {
    match r {
        Revocation::Jti { expires_at, .. } | Revocation::Client { expires_at, .. } => *expires_at,
    }
}

impl View {
    /// Idempotent: the same revocation applied twice is kept once.
    fn apply(&mut self, r: &Revocation) {
        let until = expires_at(r);
        match r {
            Revocation::Jti { jti, .. } => {
                let e = self.jtis.entry(jti.clone()).or_insert(until);
                *e = (*e).max(until);
            }
            Revocation::Client {
                client_id,
                audience,
                issued_before,
                ..
            } => {
                let cuts = self.clients.entry(client_id.clone()).or_default();
                match cuts
                    .iter_mut()
                    .find(|c| c.audience == *audience && c.issued_before == *issued_before)
                {
                    Some(c) => c.expires_at = c.expires_at.max(until),
                    None => cuts.push(ClientCut {
                        audience: audience.clone(),
                        issued_before: *issued_before,
                        expires_at: until,
                    }),
                }
            }
        }
        self.next_expiry = Some(self.next_expiry.map_or(until, |n| n.min(until)));
    }

    fn needs_pruning(&self, now: UnixTime) -> bool {
        self.next_expiry.is_some_and(|n| n <= now)
    }

    /// Drops the entries whose tokens have all expired at `now`.
    fn prune(&mut self, now: UnixTime) {
        self.jtis.retain(|_, until| *until > now);
        self.clients.retain(|_, cuts| {
            cuts.retain(|c| c.expires_at > now);
            !cuts.is_empty()
        });
        self.next_expiry = self
            .jtis
            .values()
            .copied()
            .chain(self.clients.values().flatten().map(|c| c.expires_at))
            .min();
    }

    fn len(&self) -> usize {
        self.jtis.len() + self.clients.values().map(Vec::len).sum::<usize>()
    }
}

/// What one refresh did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Refreshed {
    /// Every live revocation was read (at start, and every
    /// [`FULL_REFRESH_EVERY`] seconds), not only the recent ones.
    pub full: bool,
    /// Rows read from storage.
    pub read: usize,
    /// Entries in the view afterwards.
    pub live: usize,
}

#[derive(Debug, Default)]
struct Cursor {
    /// (when a refresh ran, the highest `seq` it had seen), oldest first.
    checkpoints: VecDeque<(UnixTime, i64)>,
    last_full: Option<UnixTime>,
}

impl Cursor {
    /// Where the next refresh at `now` starts: `None` for a full read.
    fn start(&mut self, now: UnixTime) -> Option<i64> {
        if self
            .last_full
            .is_none_or(|at| now >= at.saturating_add(FULL_REFRESH_EVERY) || now < at)
        {
            return None;
        }
        // Keep the newest checkpoint old enough to start from, and the newer ones.
        while self.checkpoints.len() >= 2 && now - self.checkpoints[1].0 >= OVERLAP {
            self.checkpoints.pop_front();
        }
        match self.checkpoints.front() {
            Some(&(at, seq)) if now - at >= OVERLAP => Some(seq),
            // Nothing old enough yet (the first OVERLAP seconds after the first
            // full read): read everything again.
            _ => None,
        }
    }

    fn record(&mut self, now: UnixTime, full: bool, seen: i64) {
        if full {
            self.last_full = Some(now);
        }
        let seen = self
            .checkpoints
            .back()
            .map_or(seen, |&(_, last)| last.max(seen));
        self.checkpoints.push_back((now, seen));
        // A clock that stands still (tests) never ages them: stay bounded.
        while self.checkpoints.len() > MAX_CHECKPOINTS {
            self.checkpoints.pop_front();
        }
    }
}

pub struct Revocations {
    store: Arc<dyn RevocationStore>,
    view: ArcSwap<View>,
    cursor: Mutex<Cursor>,
}

impl std::fmt::Debug for Revocations {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Revocations")
    }
}

impl Revocations {
    pub async fn load(store: Arc<dyn RevocationStore>, now: UnixTime) -> Result<Self, StoreError> {
        let this = Self {
            store,
            view: ArcSwap::from_pointee(View::default()),
            cursor: Mutex::new(Cursor::default()),
        };
        this.refresh(now).await?;
        Ok(this)
    }

    /// Reads the revocations recorded since the last refreshes (or, now and
    /// then, all live ones), adds them to the view and drops expired entries.
    pub async fn refresh(&self, now: UnixTime) -> Result<Refreshed, StoreError> {
        let start = match self.cursor.lock() {
            Ok(mut c) => c.start(now),
            Err(_) => None,
        };
        let rows = self
            .store
            .revocations_after(start.unwrap_or(0), now)
            .await?;
        let seen = rows
            .iter()
            .map(|r| r.seq)
            .max()
            .unwrap_or(0)
            .max(start.unwrap_or(0));
        if !rows.is_empty() || self.view.load().needs_pruning(now) {
            self.view.rcu(|current| {
                let mut next = View::clone(current);
                for r in &rows {
                    next.apply(&r.revocation);
                }
                if next.needs_pruning(now) {
                    next.prune(now);
                }
                next
            });
        }
        if let Ok(mut c) = self.cursor.lock() {
            c.record(now, start.is_none(), seen);
        }
        Ok(Refreshed {
            full: start.is_none(),
            read: rows.len(),
            live: self.len(),
        })
    }

    /// Entries in the view (each live jti and client cut once).
    pub fn len(&self) -> usize {
        self.view.load().len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Stores a revocation and applies it on this node at once.
    pub async fn revoke(&self, r: Revocation) -> Result<(), StoreError> {
        self.store.add_revocation(&r).await?;
        self.apply_local(r);
        Ok(())
    }

    /// Applies a revocation already stored (by the caller) on this node at once.
    /// (Refreshes only ever add to the view, so it stays until it expires.)
    pub fn apply_local(&self, r: Revocation) {
        self.view.rcu(|current| {
            let mut next = View::clone(current);
            next.apply(&r);
            next
        });
    }

    /// Is a token with these claims revoked?
    pub fn is_revoked(
        &self,
        jti: &str,
        client_id: &str,
        audiences: &[String],
        iat: UnixTime,
    ) -> bool {
        let view = self.view.load();
        if view.jtis.contains_key(jti) {
            return true;
        }
        view.clients.get(client_id).is_some_and(|cuts| {
            cuts.iter().any(|c| {
                iat <= c.issued_before
                    && c.audience
                        .as_ref()
                        .is_none_or(|a| audiences.iter().any(|x| x == a))
            })
        })
    }
}

/// Until when a revocation made at `now` must be kept so that it outlives every
/// token it can refuse, issued up to `now`:
/// - for `audience` naming an API, or one deleted while its tokens may live: that
///   API's access-token lifetime from `now`, or, when it was lowered (or the API
///   deleted) while longer-lived tokens were out, when the last of those expires
///   ([`TenantStore::retired_token_expiry`]), whichever is later;
/// - for every audience (`None`, or an audience that names no API now or then):
///   the same over every API, and at least the opaque access tokens' lifetime.
///
/// ID tokens are not counted: no surface that consults the view accepts them
/// (the Management API, userinfo and introspection take `at+jwt` access tokens
/// or opaque ones only). Refresh tokens are revoked through their families.
pub async fn revocation_expires_at<S: TenantStore + ?Sized>(
    store: &S,
    audience: Option<&str>,
    now: UnixTime,
) -> Result<UnixTime, StoreError> {
    if let Some(aud) = audience {
        let api = store.get_resource_server_by_identifier(aud).await?;
        let retired = store.retired_token_expiry(Some(aud), now).await?;
        if api.is_some() || retired.is_some() {
            let current = api.map_or(now, |api| now.saturating_add(issued_lifetime(&api)));
            return Ok(retired.map_or(current, |r| r.max(current)));
        }
    }
    let mut longest = OPAQUE_TOKEN_LIFETIME;
    let per_page = 100;
    for page in 0.. {
        let (apis, total) = store.list_resource_servers(Page { page, per_page }).await?;
        longest = apis.iter().map(issued_lifetime).fold(longest, i64::max);
        if apis.is_empty() || (page + 1) * per_page >= total {
            break;
        }
    }
    let current = now.saturating_add(longest);
    let retired = store.retired_token_expiry(None, now).await?;
    Ok(retired.map_or(current, |r| r.max(current)))
}

/// Revokes one access token issued under a grant: an opaque one is deleted, a
/// JWT one enters the revocation view until it would have expired anyway.
pub async fn revoke_access_token(
    store: &dyn Store,
    revocations: &Revocations,
    token: IssuedToken,
    now: UnixTime,
) -> Result<(), StoreError> {
    store.delete_opaque_token_by_jti(&token.jti).await?;
    if token.expires_at > now {
        revocations
            .revoke(Revocation::Jti {
                jti: token.jti,
                expires_at: token.expires_at,
            })
            .await?;
    }
    Ok(())
}

/// Revokes a refresh-token family and every access token issued under it.
/// Whether an access token of `user_id` issued at `iat` predates the user's
/// `tokens_valid_after` (the second before its creation, or an unlink's
/// time), and so is refused. `iat` is in
/// whole seconds, so a token of the unlink's own second is refused too.
pub async fn issued_before_cutoff(
    store: &dyn Store,
    user_id: &str,
    iat: UnixTime,
) -> Result<bool, StoreError> {
    Ok(store
        .tokens_valid_after(user_id)
        .await?
        .is_some_and(|cutoff| iat <= cutoff))
}

pub async fn revoke_family(
    store: &dyn Store,
    revocations: &Revocations,
    family_id: &str,
    now: UnixTime,
) -> Result<(), StoreError> {
    for token in store.revoke_refresh_family(family_id, now).await? {
        revoke_access_token(store, revocations, token, now).await?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn jti(j: &str, until: UnixTime) -> Revocation {
        Revocation::Jti {
            jti: j.into(),
            expires_at: until,
        }
    }

    #[test]
    fn the_view_is_idempotent_and_drops_what_expired() {
        let mut v = View::default();
        v.apply(&jti("a", 100));
        v.apply(&jti("a", 100));
        let cut = Revocation::Client {
            client_id: "c".into(),
            audience: None,
            issued_before: 50,
            expires_at: 200,
        };
        v.apply(&cut);
        v.apply(&cut);
        assert_eq!(v.len(), 2);
        assert!(!v.needs_pruning(99));
        assert!(v.needs_pruning(100));
        v.prune(100);
        assert_eq!(v.len(), 1);
        assert_eq!(v.next_expiry, Some(200));
        v.prune(200);
        assert_eq!(v.len(), 0);
        assert_eq!(v.next_expiry, None);
    }

    #[test]
    fn the_cursor_starts_from_a_checkpoint_old_enough() {
        let mut c = Cursor::default();
        assert_eq!(c.start(1000), None, "the first read is full");
        c.record(1000, true, 5);
        assert_eq!(c.start(1002), None, "no checkpoint is old enough yet");
        c.record(1002, false, 9);
        assert_eq!(c.start(1000 + OVERLAP), Some(5));
        c.record(1000 + OVERLAP, false, 12);
        assert_eq!(c.start(1002 + OVERLAP), Some(9));
        assert_eq!(
            c.start(1000 + FULL_REFRESH_EVERY),
            None,
            "a full read now and then"
        );
        assert_eq!(c.start(999), None, "the clock went back: read everything");
    }
}
