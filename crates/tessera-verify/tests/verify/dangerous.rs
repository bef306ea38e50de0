//! `dangerous::decode_unverified`: decodes any JWS, `alg: none` too, checks
//! nothing.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD as B64;
use serde_json::json;
use tessera_core::keys::SigningAlg;
use tessera_verify::{VerifyError, dangerous};

use crate::common::{API, TestKey};

#[tokio::test]
async fn inspect_decodes_without_verifying() {
    let k = TestKey::new(SigningAlg::RS256, "k1");
    let (h, c) = dangerous::decode_unverified(&k.access(json!({}))).unwrap();
    assert_eq!(h["kid"], "k1");
    assert_eq!(c["aud"], API);
    let none = format!(
        "{}.{}.",
        B64.encode(br#"{"alg":"none"}"#),
        B64.encode(br#"{"sub":"x"}"#)
    );
    let (h, _) = dangerous::decode_unverified(&none).unwrap();
    assert_eq!(h["alg"], "none");
    assert!(matches!(
        dangerous::decode_unverified("opaque"),
        Err(VerifyError::Malformed(_))
    ));
}
