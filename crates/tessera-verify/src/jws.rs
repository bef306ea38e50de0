//! JWS compact serialisation: the size cap, splitting, the header checks that
//! need no key, and the signature check with a key chosen by `kid`.

use std::borrow::Cow;

use aws_lc_rs::signature::ParsedPublicKey;
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde::Deserialize;

use crate::{Claims, VerifyError};

/// The signature algorithms accepted. Never `none`, never HMAC.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Alg {
    RS256,
    PS256,
    ES256,
    EdDSA,
}

impl Alg {
    pub(crate) fn as_str(self) -> &'static str {
        match self {
            Self::RS256 => "RS256",
            Self::PS256 => "PS256",
            Self::ES256 => "ES256",
            Self::EdDSA => "EdDSA",
        }
    }

    fn from_header(alg: &str) -> Result<Self, VerifyError> {
        match alg {
            "RS256" => Ok(Self::RS256),
            "PS256" => Ok(Self::PS256),
            "ES256" => Ok(Self::ES256),
            "EdDSA" => Ok(Self::EdDSA),
            other => Err(VerifyError::UnsupportedAlgorithm(other.to_owned())),
        }
    }
}

/// A public key from the JWKS with the one algorithm it may be used with.
#[derive(Clone)]
pub(crate) struct Key {
    pub(crate) alg: Alg,
    pub(crate) public: ParsedPublicKey,
}

/// `typ` of the header: `at+jwt` is told apart without allocating.
#[derive(Clone)]
pub(crate) enum Typ {
    Missing,
    /// `at+jwt` or `application/at+jwt` (any case).
    AtJwt,
    Other(String),
}

impl Typ {
    pub(crate) fn is_plain_jwt(&self) -> bool {
        match self {
            Self::Other(t) => {
                t.eq_ignore_ascii_case("JWT") || t.eq_ignore_ascii_case("application/jwt")
            }
            _ => false,
        }
    }

    pub(crate) fn into_option(self) -> Option<String> {
        match self {
            Self::Missing => None,
            Self::AtJwt => Some("at+jwt".into()),
            Self::Other(t) => Some(t),
        }
    }
}

/// The header members the checks after the signature need.
pub(crate) struct HeaderInfo {
    pub(crate) typ: Typ,
}

/// A header string, borrowed from the decoded JSON when it has no escapes.
struct Str<'a>(Cow<'a, str>);

impl<'de: 'a, 'a> Deserialize<'de> for Str<'a> {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> serde::de::Visitor<'de> for V {
            type Value = Str<'de>;
            fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
                f.write_str("a string")
            }
            fn visit_borrowed_str<E: serde::de::Error>(self, v: &'de str) -> Result<Str<'de>, E> {
                Ok(Str(Cow::Borrowed(v)))
            }
            fn visit_str<E: serde::de::Error>(self, v: &str) -> Result<Str<'de>, E> {
                Ok(Str(Cow::Owned(v.to_owned())))
            }
        }
        d.deserialize_str(V)
    }
}

#[derive(Deserialize)]
struct RawHeader<'a> {
    #[serde(borrow)]
    alg: Option<Str<'a>>,
    #[serde(borrow)]
    kid: Option<Str<'a>>,
    #[serde(borrow)]
    typ: Option<Str<'a>>,
    crit: Option<Vec<String>>,
}

/// RSA signatures up to 8192 bits.
const MAX_SIGNATURE: usize = 1024;
/// Decoded on the stack up to this size (RSA-4096 and room for base64's
/// estimate); larger ones on the heap.
const STACK_SIGNATURE: usize = 520;

/// A token split and its header checked; the payload is not parsed before the
/// signature verifies.
pub(crate) struct Parsed<'t, 'h> {
    signing_input: &'t str,
    payload: &'t str,
    signature: Signature,
    alg: Alg,
    pub(crate) kid: Cow<'h, str>,
    typ: Typ,
}

pub(crate) fn b64(part: &str, what: &str) -> Result<Vec<u8>, VerifyError> {
    URL_SAFE_NO_PAD
        .decode(part)
        .map_err(|_| VerifyError::Malformed(format!("the {what} is not base64url")))
}

/// Splits `header.payload.signature`; refuses JWE (five parts) and anything else.
pub(crate) fn split(token: &str) -> Result<(&str, &str, &str), VerifyError> {
    let mut parts = token.split('.');
    match (parts.next(), parts.next(), parts.next(), parts.next()) {
        (Some(h), Some(p), Some(s), None) => Ok((h, p, s)),
        (_, _, _, Some(_)) if token.split('.').count() == 5 => Err(VerifyError::Malformed(
            "encrypted tokens (JWE) are not accepted".into(),
        )),
        _ => Err(VerifyError::Malformed(
            "a JWT has three base64url parts separated by dots".into(),
        )),
    }
}

/// The three parts of a compact JWS.
#[derive(Clone, Copy)]
pub(crate) struct Parts<'t> {
    h: &'t str,
    p: &'t str,
    s: &'t str,
}

/// The size cap, the split, then the decoded header JSON (parse it with
/// [`parse`]).
pub(crate) fn header_json(
    token: &str,
    max_bytes: usize,
) -> Result<(Parts<'_>, Vec<u8>), VerifyError> {
    if token.len() > max_bytes {
        return Err(VerifyError::TooLarge);
    }
    let (h, p, s) = split(token)?;
    Ok((Parts { h, p, s }, b64(h, "header")?))
}

/// Every header check that needs no key: `alg` is one we accept (so `none`
/// and `HS*` are refused before any key is looked at), no `crit`, a `kid`.
pub(crate) fn parse<'t, 'h>(
    token: &'t str,
    parts: Parts<'t>,
    header_json: &'h [u8],
) -> Result<Parsed<'t, 'h>, VerifyError> {
    let Parts { h, p, s } = parts;
    let header: RawHeader<'h> = serde_json::from_slice(header_json).map_err(|e| {
        VerifyError::Malformed(format!(
            "the header is not a JSON object of the right shape: {e}"
        ))
    })?;
    let alg = Alg::from_header(
        &header
            .alg
            .ok_or_else(|| VerifyError::Malformed("the header has no alg".into()))?
            .0,
    )?;
    if let Some(crit) = header.crit {
        // This library understands no JWS extension, so any `crit` is unknown.
        return Err(VerifyError::UnknownCritical(crit));
    }
    let kid = header.kid.ok_or(VerifyError::MissingKid)?.0;
    let not_b64 = || VerifyError::Malformed("the signature is not base64url".into());
    let signature = if s.len() > MAX_SIGNATURE * 4 / 3 + 4 {
        return Err(VerifyError::BadSignature);
    } else if s.len() <= (STACK_SIGNATURE - 4) / 3 * 4 {
        let mut buf = [0u8; STACK_SIGNATURE];
        let len = URL_SAFE_NO_PAD
            .decode_slice(s, &mut buf)
            .map_err(|_| not_b64())?;
        Signature::Stack(buf, len)
    } else {
        Signature::Heap(URL_SAFE_NO_PAD.decode(s).map_err(|_| not_b64())?)
    };
    let typ = match header.typ {
        None => Typ::Missing,
        Some(Str(t))
            if t.eq_ignore_ascii_case("at+jwt") || t.eq_ignore_ascii_case("application/at+jwt") =>
        {
            Typ::AtJwt
        }
        Some(Str(t)) => Typ::Other(t.into_owned()),
    };
    Ok(Parsed {
        signing_input: &token[..h.len() + 1 + p.len()],
        payload: p,
        signature,
        alg,
        kid,
        typ,
    })
}

// The stack variant is the point: no allocation for the usual signatures.
#[allow(clippy::large_enum_variant)]
enum Signature {
    Stack([u8; STACK_SIGNATURE], usize),
    Heap(Vec<u8>),
}

impl Signature {
    fn bytes(&self) -> &[u8] {
        match self {
            Self::Stack(b, len) => &b[..*len],
            Self::Heap(v) => v,
        }
    }
}

impl Parsed<'_, '_> {
    /// Signature with `key` (whose algorithm must be the header's), then the
    /// claims.
    pub(crate) fn finish(&self, key: &Key) -> Result<(HeaderInfo, Claims), VerifyError> {
        if key.alg != self.alg {
            return Err(VerifyError::AlgorithmMismatch {
                header: self.alg.as_str().into(),
                key: key.alg.as_str().into(),
            });
        }
        key.public
            .verify_sig(self.signing_input.as_bytes(), self.signature.bytes())
            .map_err(|_| VerifyError::BadSignature)?;
        let payload = b64(self.payload, "payload")?;
        let claims = crate::claims::parse(&payload)?;
        Ok((
            HeaderInfo {
                typ: self.typ.clone(),
            },
            claims,
        ))
    }
}
