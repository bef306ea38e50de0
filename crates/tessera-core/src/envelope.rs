//! Encryption at rest under the master key (AES-256-GCM), and keyed hashes.
//!
//! Sub-keys are derived from the master key with HMAC-SHA256 under distinct labels,
//! so the AEAD key, the hashing key and the key id never coincide. Every sealed blob
//! names the master key id it was sealed under, so a later master-key rotation can
//! tell old blobs from new ones.

use std::fmt;

use aws_lc_rs::aead::{AES_256_GCM, Aad, LessSafeKey, NONCE_LEN, Nonce, UnboundKey};
use aws_lc_rs::{constant_time, hmac};
use base64::Engine;
use base64::engine::general_purpose::{STANDARD, STANDARD_NO_PAD, URL_SAFE, URL_SAFE_NO_PAD};
use zeroize::Zeroizing;

use crate::ids::{RngError, random_bytes};

const VERSION: u8 = 1;
const KEY_ID_LEN: usize = 8;
const HEADER_LEN: usize = 1 + KEY_ID_LEN + NONCE_LEN;

pub struct MasterKey {
    aead: LessSafeKey,
    hash_key: hmac::Key,
    id: [u8; KEY_ID_LEN],
}

impl fmt::Debug for MasterKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "MasterKey(id={})", self.id_hex())
    }
}

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum MasterKeyError {
    #[error(
        "must be 32 bytes encoded as base64 (44 characters) or hex (64 characters); got {0} characters that are neither"
    )]
    Malformed(usize),
    #[error("decodes to {0} bytes, but a master key is exactly 32 bytes")]
    WrongLength(usize),
}

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum OpenError {
    #[error("sealed under master key {sealed_under}, not under this one ({this})")]
    WrongKey { sealed_under: String, this: String },
    #[error("the sealed value is corrupt or was tampered with")]
    Corrupt,
}

fn derive(master: &[u8; 32], label: &str) -> Zeroizing<[u8; 32]> {
    let key = hmac::Key::new(hmac::HMAC_SHA256, master);
    let tag = hmac::sign(&key, label.as_bytes());
    let mut out = Zeroizing::new([0u8; 32]);
    out.copy_from_slice(tag.as_ref());
    out
}

impl MasterKey {
    pub fn from_bytes(master: &[u8; 32]) -> Self {
        let aead_key = derive(master, "tessera/v1/aead");
        let hash_key = derive(master, "tessera/v1/keyed-hash");
        let id_full = derive(master, "tessera/v1/key-id");
        let mut id = [0u8; KEY_ID_LEN];
        id.copy_from_slice(&id_full[..KEY_ID_LEN]);
        // AES-256 accepts every 32-byte key, so this cannot fail.
        let unbound = UnboundKey::new(&AES_256_GCM, aead_key.as_ref())
            .unwrap_or_else(|_| unreachable!("a 32-byte AES-256 key is always valid"));
        Self {
            aead: LessSafeKey::new(unbound),
            hash_key: hmac::Key::new(hmac::HMAC_SHA256, hash_key.as_ref()),
            id,
        }
    }

    /// Parses a master key given as base64 (standard or URL alphabet, padded or
    /// not) or hex. The value itself never appears in an error.
    pub fn parse(encoded: &str) -> Result<Self, MasterKeyError> {
        let s = encoded.trim();
        let bytes: Zeroizing<Vec<u8>> = if s.len() == 64 && s.bytes().all(|b| b.is_ascii_hexdigit())
        {
            Zeroizing::new(
                (0..32)
                    .map(|i| u8::from_str_radix(&s[2 * i..2 * i + 2], 16).unwrap_or(0))
                    .collect(),
            )
        } else {
            let decoded = [&STANDARD, &STANDARD_NO_PAD, &URL_SAFE, &URL_SAFE_NO_PAD]
                .iter()
                .find_map(|engine| engine.decode(s).ok())
                .ok_or(MasterKeyError::Malformed(s.len()))?;
            Zeroizing::new(decoded)
        };
        let arr: &[u8; 32] = bytes
            .as_slice()
            .try_into()
            .map_err(|_| MasterKeyError::WrongLength(bytes.len()))?;
        Ok(Self::from_bytes(arr))
    }

    /// A fresh master key and its base64 encoding (for a key file).
    pub fn generate() -> Result<(Self, Zeroizing<String>), RngError> {
        let raw = Zeroizing::new(random_bytes::<32>()?);
        Ok((
            Self::from_bytes(&raw),
            Zeroizing::new(STANDARD.encode(raw.as_ref())),
        ))
    }

    /// A short public identifier of this master key (not secret: derived one-way).
    pub fn id_hex(&self) -> String {
        hex(&self.id)
    }

    /// Encrypts `plaintext`; `aad` binds the blob to its place (e.g. the key's kid)
    /// so a blob cannot be moved to another row.
    pub fn seal(&self, aad: &str, plaintext: &[u8]) -> Result<Vec<u8>, RngError> {
        let nonce_bytes = random_bytes::<NONCE_LEN>()?;
        let mut out = Vec::with_capacity(HEADER_LEN + plaintext.len() + 16);
        out.push(VERSION);
        out.extend_from_slice(&self.id);
        out.extend_from_slice(&nonce_bytes);
        let mut body = plaintext.to_vec();
        self.aead
            .seal_in_place_append_tag(
                Nonce::assume_unique_for_key(nonce_bytes),
                Aad::from(aad.as_bytes()),
                &mut body,
            )
            .map_err(|_| RngError)?;
        out.extend_from_slice(&body);
        Ok(out)
    }

    pub fn open(&self, aad: &str, sealed: &[u8]) -> Result<Zeroizing<Vec<u8>>, OpenError> {
        if sealed.len() < HEADER_LEN + 16 || sealed[0] != VERSION {
            return Err(OpenError::Corrupt);
        }
        let key_id = &sealed[1..1 + KEY_ID_LEN];
        if key_id != self.id {
            return Err(OpenError::WrongKey {
                sealed_under: hex(key_id),
                this: self.id_hex(),
            });
        }
        let mut nonce = [0u8; NONCE_LEN];
        nonce.copy_from_slice(&sealed[1 + KEY_ID_LEN..HEADER_LEN]);
        let mut body = Zeroizing::new(sealed[HEADER_LEN..].to_vec());
        let len = self
            .aead
            .open_in_place(
                Nonce::assume_unique_for_key(nonce),
                Aad::from(aad.as_bytes()),
                &mut body,
            )
            .map_err(|_| OpenError::Corrupt)?
            .len();
        body.truncate(len);
        Ok(body)
    }

    /// HMAC-SHA256 of `data` under a key derived from the master key, domain
    /// separated by `purpose`. Used to check client secrets quickly without the
    /// database alone revealing them.
    pub fn keyed_hash(&self, purpose: &str, data: &[u8]) -> [u8; 32] {
        let mut ctx = hmac::Context::with_key(&self.hash_key);
        ctx.update(purpose.as_bytes());
        ctx.update(&[0]);
        ctx.update(data);
        let mut out = [0u8; 32];
        out.copy_from_slice(ctx.sign().as_ref());
        out
    }

    /// Constant-time check of `data` against a stored keyed hash.
    pub fn verify_keyed_hash(&self, purpose: &str, data: &[u8], expected: &[u8]) -> bool {
        constant_time::verify_slices_are_equal(&self.keyed_hash(purpose, data), expected).is_ok()
    }

    /// A value stored in the database on first start, to recognise a different
    /// master key on a later start before anything is decrypted.
    pub fn check_value(&self) -> String {
        hex(&self.keyed_hash("master-key-check", b"tessera"))
    }
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn seal_open_roundtrip_and_binding() {
        let (k, _) = MasterKey::generate().unwrap();
        let sealed = k.seal("kid-1", b"private").unwrap();
        assert_eq!(k.open("kid-1", &sealed).unwrap().as_slice(), b"private");
        assert_eq!(k.open("kid-2", &sealed), Err(OpenError::Corrupt));
        let mut tampered = sealed.clone();
        let last = tampered.len() - 1;
        tampered[last] ^= 1;
        assert_eq!(k.open("kid-1", &tampered), Err(OpenError::Corrupt));
        let (other, _) = MasterKey::generate().unwrap();
        assert!(matches!(
            other.open("kid-1", &sealed),
            Err(OpenError::WrongKey { .. })
        ));
    }

    #[test]
    fn parses_encodings() {
        let raw = [7u8; 32];
        let from_b64 = MasterKey::parse(&STANDARD.encode(raw)).unwrap();
        let from_hex = MasterKey::parse(&"07".repeat(32)).unwrap();
        let from_url = MasterKey::parse(&URL_SAFE_NO_PAD.encode(raw)).unwrap();
        assert_eq!(from_b64.id_hex(), from_hex.id_hex());
        assert_eq!(from_b64.id_hex(), from_url.id_hex());
        assert_eq!(
            MasterKey::parse("short!").unwrap_err(),
            MasterKeyError::Malformed(6)
        );
        assert_eq!(
            MasterKey::parse(&STANDARD.encode([1u8; 16])).unwrap_err(),
            MasterKeyError::WrongLength(16)
        );
    }

    #[test]
    fn keyed_hash_verifies_in_constant_time() {
        let k = MasterKey::from_bytes(&[1u8; 32]);
        let h = k.keyed_hash("client-secret", b"s3cret");
        assert!(k.verify_keyed_hash("client-secret", b"s3cret", &h));
        assert!(!k.verify_keyed_hash("client-secret", b"s3creT", &h));
        assert!(!k.verify_keyed_hash("other", b"s3cret", &h));
        assert_ne!(
            MasterKey::from_bytes(&[2u8; 32]).check_value(),
            k.check_value()
        );
    }
}
