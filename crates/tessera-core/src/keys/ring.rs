//! The key ring: the key set every request reads without a lock (an `ArcSwap`),
//! reloaded from storage periodically and after every local change.

use std::collections::HashMap;
use std::sync::Arc;

use arc_swap::ArcSwap;

use super::KeyStore;
use super::lifecycle::{KeyChange, KeyError, KeyPolicy, KeyRecord, KeyState, RotationRefused};
use super::{SigningAlg, SigningKey, Verifier};
use crate::clock::{Clock, UnixTime};
use crate::envelope::MasterKey;
use crate::error::StoreError;

/// An immutable snapshot: the signer, and the JWKS document ready to serve.
#[derive(Debug)]
pub struct KeySet {
    signer: Arc<SigningKey>,
    jwks: Arc<str>,
    published: Vec<String>,
    /// Decrypted handles by kid, reused by the next reload (never re-decrypted).
    handles: HashMap<String, Arc<SigningKey>>,
    /// Public keys of every published kid, to check tokens this server signed.
    verifiers: HashMap<String, Arc<Verifier>>,
}

impl KeySet {
    pub fn signer(&self) -> &Arc<SigningKey> {
        &self.signer
    }
    /// The JWKS JSON document.
    pub fn jwks(&self) -> &Arc<str> {
        &self.jwks
    }
    pub fn published_kids(&self) -> &[String] {
        &self.published
    }
    /// The verifier of a published key.
    pub fn verifier(&self, kid: &str) -> Option<&Verifier> {
        self.verifiers.get(kid).map(|v| v.as_ref())
    }
}

pub struct Keys {
    store: Arc<dyn KeyStore>,
    master: Arc<MasterKey>,
    alg: SigningAlg,
    policy: KeyPolicy,
    clock: Arc<dyn Clock>,
    set: ArcSwap<KeySet>,
}

impl std::fmt::Debug for Keys {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Keys")
            .field("alg", &self.alg)
            .field("policy", &self.policy)
            .finish()
    }
}

impl Keys {
    /// Ensures a current and a next key exist (creating them on first start) and
    /// loads the key set.
    pub async fn open(
        store: Arc<dyn KeyStore>,
        master: Arc<MasterKey>,
        alg: SigningAlg,
        policy: KeyPolicy,
        clock: Arc<dyn Clock>,
    ) -> Result<Self, KeyError> {
        let now = clock.now();
        let mut records = store.list_signing_keys().await?;
        if !records.iter().any(|r| r.state == KeyState::Current) {
            // First start: no JWKS was ever served, so the first key may sign at once.
            let mut current = new_record(&master, alg, now)?;
            current.state = KeyState::Current;
            current.activated_at = Some(now);
            let next = new_record(&master, alg, now)?;
            match store.change_signing_keys(&[], &[current, next]).await {
                Ok(()) | Err(StoreError::Conflict(_)) => {}
                Err(e) => return Err(e.into()),
            }
            records = store.list_signing_keys().await?;
        }
        if !records.iter().any(|r| r.state == KeyState::Next) {
            match store
                .change_signing_keys(&[], &[new_record(&master, alg, now)?])
                .await
            {
                Ok(()) | Err(StoreError::Conflict(_)) => {}
                Err(e) => return Err(e.into()),
            }
            records = store.list_signing_keys().await?;
        }
        let set = build_set(&master, &records, now, None)?;
        Ok(Self {
            store,
            master,
            alg,
            policy,
            clock,
            set: ArcSwap::from_pointee(set),
        })
    }

    /// The current snapshot: lock-free.
    pub fn current(&self) -> Arc<KeySet> {
        self.set.load_full()
    }

    pub fn policy(&self) -> KeyPolicy {
        self.policy
    }

    /// Re-reads the keys from storage (other nodes may have rotated).
    pub async fn reload(&self) -> Result<(), KeyError> {
        let records = self.store.list_signing_keys().await?;
        let set = build_set(
            &self.master,
            &records,
            self.clock.now(),
            Some(&self.current()),
        )?;
        self.set.store(Arc::new(set));
        Ok(())
    }

    pub async fn list(&self) -> Result<Vec<KeyRecord>, KeyError> {
        Ok(self.store.list_signing_keys().await?)
    }

    /// Promotes the next key to current, retires the current key to previous and
    /// publishes a new next key. Refused while the next key has not been published
    /// for the JWKS cache lifetime plus the reload interval.
    pub async fn rotate(&self) -> Result<KeyRecord, KeyError> {
        let now = self.clock.now();
        let records = self.store.list_signing_keys().await?;
        let current = records
            .iter()
            .find(|r| r.state == KeyState::Current)
            .ok_or(RotationRefused::NoCurrentKey)?;
        let next = records
            .iter()
            .find(|r| r.state == KeyState::Next)
            .ok_or(RotationRefused::NoNextKey)?;
        let eligible_at = self.policy.eligible_at(next);
        if now < eligible_at {
            return Err(RotationRefused::NextNotPublishedLongEnough {
                kid: next.kid.clone(),
                created_at: next.created_at,
                eligible_at,
            }
            .into());
        }
        let retired = KeyRecord {
            state: KeyState::Previous,
            retired_at: Some(now),
            publish_until: Some(self.policy.publish_until(now)),
            ..current.clone()
        };
        let promoted = KeyRecord {
            state: KeyState::Current,
            activated_at: Some(now),
            ..next.clone()
        };
        let fresh = new_record(&self.master, self.alg, now)?;
        self.store
            .change_signing_keys(
                &[
                    KeyChange {
                        expect: KeyState::Current,
                        record: retired,
                    },
                    KeyChange {
                        expect: KeyState::Next,
                        record: promoted.clone(),
                    },
                ],
                &[fresh],
            )
            .await
            .map_err(conflict)?;
        self.reload().await?;
        Ok(promoted)
    }

    /// Revokes a previous or next key: it leaves the JWKS at once. Revoking the
    /// next key publishes a new one. The current key cannot be revoked.
    pub async fn revoke(&self, kid: &str) -> Result<KeyRecord, KeyError> {
        let now = self.clock.now();
        let records = self.store.list_signing_keys().await?;
        let target = records
            .iter()
            .find(|r| r.kid == kid)
            .ok_or_else(|| RotationRefused::UnknownKid(kid.to_owned()))?;
        let insert = match target.state {
            KeyState::Current => return Err(RotationRefused::RevokeCurrent(kid.to_owned()).into()),
            KeyState::Revoked => return Err(RotationRefused::AlreadyRevoked(kid.to_owned()).into()),
            KeyState::Next => vec![new_record(&self.master, self.alg, now)?],
            KeyState::Previous => vec![],
        };
        let revoked = KeyRecord {
            state: KeyState::Revoked,
            revoked_at: Some(now),
            ..target.clone()
        };
        self.store
            .change_signing_keys(
                &[KeyChange {
                    expect: target.state,
                    record: revoked.clone(),
                }],
                &insert,
            )
            .await
            .map_err(conflict)?;
        self.reload().await?;
        Ok(revoked)
    }
}

fn conflict(e: StoreError) -> KeyError {
    match e {
        StoreError::Conflict(_) => KeyError::Conflict,
        other => other.into(),
    }
}

fn new_record(master: &MasterKey, alg: SigningAlg, now: UnixTime) -> Result<KeyRecord, KeyError> {
    let (key, der) = SigningKey::generate(alg)?;
    let sealed = master.seal(&aad(key.kid()), &der)?;
    Ok(KeyRecord {
        kid: key.kid().to_owned(),
        alg,
        state: KeyState::Next,
        public_jwk: key.public_jwk().clone(),
        sealed_private_key: sealed,
        created_at: now,
        activated_at: None,
        retired_at: None,
        publish_until: None,
        revoked_at: None,
    })
}

fn aad(kid: &str) -> String {
    format!("signing_key:{kid}")
}

fn build_set(
    master: &MasterKey,
    records: &[KeyRecord],
    now: UnixTime,
    previous: Option<&KeySet>,
) -> Result<KeySet, KeyError> {
    let current = records
        .iter()
        .find(|r| r.state == KeyState::Current)
        .ok_or(RotationRefused::NoCurrentKey)?;
    let signer = match previous.and_then(|p| p.handles.get(&current.kid)) {
        Some(handle) => handle.clone(),
        None => {
            let der = master
                .open(&aad(&current.kid), &current.sealed_private_key)
                .map_err(|source| KeyError::Open {
                    kid: current.kid.clone(),
                    source,
                })?;
            Arc::new(SigningKey::from_pkcs8(current.alg, &der)?)
        }
    };
    // Current first, then next, then previous keys, newest first.
    let mut published: Vec<&KeyRecord> = records.iter().filter(|r| r.is_published(now)).collect();
    published.sort_by_key(|r| {
        let rank = match r.state {
            KeyState::Current => 0,
            KeyState::Next => 1,
            _ => 2,
        };
        (rank, -r.created_at)
    });
    let keys: Vec<&super::Jwk> = published.iter().map(|r| &r.public_jwk).collect();
    let jwks = serde_json::to_string(&serde_json::json!({ "keys": keys }))
        .map_err(|e| KeyError::Store(StoreError::Corrupt(e.to_string())))?;
    let mut handles = HashMap::new();
    handles.insert(current.kid.clone(), signer.clone());
    let verifiers = published
        .iter()
        .filter_map(|r| {
            let reused = previous.and_then(|p| p.verifiers.get(&r.kid).cloned());
            reused
                .or_else(|| Verifier::from_jwk(&r.public_jwk).map(Arc::new))
                .map(|v| (r.kid.clone(), v))
        })
        .collect();
    Ok(KeySet {
        signer,
        jwks: Arc::from(jwks),
        published: published.iter().map(|r| r.kid.clone()).collect(),
        handles,
        verifiers,
    })
}
