//! The claims of a verified token, read in one pass over the JSON (no
//! intermediate `Value` for the registered claims).

use std::fmt;

use serde::de::{self, Deserialize, Deserializer, IgnoredAny, MapAccess, SeqAccess, Visitor};
use serde_json::{Map, Value};

/// The claims of a token that passed every check.
#[derive(Clone, Debug, PartialEq)]
pub struct Claims {
    pub iss: String,
    pub sub: String,
    /// `aud`, one string or several, always as a list.
    pub aud: Vec<String>,
    pub exp: i64,
    pub iat: Option<i64>,
    pub nbf: Option<i64>,
    /// `scope`, split on spaces.
    pub scope: Vec<String>,
    /// Auth0's RBAC `permissions`.
    pub permissions: Vec<String>,
    pub client_id: Option<String>,
    pub azp: Option<String>,
    pub jti: Option<String>,
    pub gty: Option<String>,
    /// Every other claim (`nonce`, `auth_time`, `email`, custom claims...).
    pub extra: Map<String, Value>,
}

impl Claims {
    pub fn has_scope(&self, s: &str) -> bool {
        self.scope.iter().any(|x| x == s)
    }

    pub fn has_permission(&self, p: &str) -> bool {
        self.permissions.iter().any(|x| x == p)
    }
}

/// Parses the JSON claims set. Required: `iss`, `sub`, `aud`, `exp`. Duplicate
/// registered claims are refused (ambiguous).
pub(crate) fn parse(json: &[u8]) -> Result<Claims, crate::VerifyError> {
    let raw: RawClaims = serde_json::from_slice(json)
        .map_err(|e| crate::VerifyError::Malformed(format!("claims are not a JSON object: {e}")))?;
    let r = raw.0;
    Ok(Claims {
        iss: r.iss.ok_or(crate::VerifyError::MissingClaim("iss"))?,
        sub: r.sub.ok_or(crate::VerifyError::MissingClaim("sub"))?,
        aud: r.aud.ok_or(crate::VerifyError::MissingClaim("aud"))?,
        exp: r.exp.ok_or(crate::VerifyError::MissingClaim("exp"))?,
        iat: r.iat,
        nbf: r.nbf,
        scope: r.scope,
        permissions: r.permissions,
        client_id: r.client_id,
        azp: r.azp,
        jti: r.jti,
        gty: r.gty,
        extra: r.extra,
    })
}

#[derive(Default)]
struct Partial {
    iss: Option<String>,
    sub: Option<String>,
    aud: Option<Vec<String>>,
    exp: Option<i64>,
    iat: Option<i64>,
    nbf: Option<i64>,
    scope: Vec<String>,
    permissions: Vec<String>,
    client_id: Option<String>,
    azp: Option<String>,
    jti: Option<String>,
    gty: Option<String>,
    extra: Map<String, Value>,
}

struct RawClaims(Partial);

enum Field {
    Iss,
    Sub,
    Aud,
    Exp,
    Iat,
    Nbf,
    Scope,
    Permissions,
    ClientId,
    Azp,
    Jti,
    Gty,
    Other(String),
}

impl<'de> Deserialize<'de> for Field {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl Visitor<'_> for V {
            type Value = Field;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a claim name")
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<Field, E> {
                Ok(match v {
                    "iss" => Field::Iss,
                    "sub" => Field::Sub,
                    "aud" => Field::Aud,
                    "exp" => Field::Exp,
                    "iat" => Field::Iat,
                    "nbf" => Field::Nbf,
                    "scope" => Field::Scope,
                    "permissions" => Field::Permissions,
                    "client_id" => Field::ClientId,
                    "azp" => Field::Azp,
                    "jti" => Field::Jti,
                    "gty" => Field::Gty,
                    other => Field::Other(other.to_owned()),
                })
            }
        }
        d.deserialize_identifier(V)
    }
}

/// A NumericDate: integer, or a JSON number with a fraction (truncated).
struct NumericDate(i64);

impl<'de> Deserialize<'de> for NumericDate {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl Visitor<'_> for V {
            type Value = NumericDate;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a NumericDate (seconds since 1970)")
            }
            fn visit_i64<E: de::Error>(self, v: i64) -> Result<NumericDate, E> {
                Ok(NumericDate(v))
            }
            fn visit_u64<E: de::Error>(self, v: u64) -> Result<NumericDate, E> {
                i64::try_from(v)
                    .map(NumericDate)
                    .map_err(|_| E::custom("NumericDate out of range"))
            }
            fn visit_f64<E: de::Error>(self, v: f64) -> Result<NumericDate, E> {
                if v.is_finite() && v.abs() < 1e17 {
                    Ok(NumericDate(v as i64))
                } else {
                    Err(E::custom("NumericDate out of range"))
                }
            }
        }
        d.deserialize_any(V)
    }
}

/// A string or a list of strings (`aud`).
struct OneOrMany(Vec<String>);

impl<'de> Deserialize<'de> for OneOrMany {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = OneOrMany;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a string or a list of strings")
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<OneOrMany, E> {
                Ok(OneOrMany(vec![v.to_owned()]))
            }
            fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<OneOrMany, A::Error> {
                let mut out = Vec::with_capacity(seq.size_hint().unwrap_or(2));
                while let Some(s) = seq.next_element::<String>()? {
                    out.push(s);
                }
                Ok(OneOrMany(out))
            }
        }
        d.deserialize_any(V)
    }
}

/// `scope`: a space-separated string (RFC 8693 §4.2), or a list.
struct Scopes(Vec<String>);

impl<'de> Deserialize<'de> for Scopes {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = Scopes;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a space-separated string or a list of strings")
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<Scopes, E> {
                Ok(Scopes(
                    v.split(' ')
                        .filter(|s| !s.is_empty())
                        .map(str::to_owned)
                        .collect(),
                ))
            }
            fn visit_seq<A: SeqAccess<'de>>(self, seq: A) -> Result<Scopes, A::Error> {
                OneOrMany::deserialize(de::value::SeqAccessDeserializer::new(seq))
                    .map(|m| Scopes(m.0))
            }
        }
        d.deserialize_any(V)
    }
}

fn dup<E: de::Error>(name: &'static str) -> E {
    E::custom(format_args!("duplicate claim {name}"))
}

fn set<T, E: de::Error>(slot: &mut Option<T>, v: T, name: &'static str) -> Result<(), E> {
    if slot.is_some() {
        return Err(dup(name));
    }
    *slot = Some(v);
    Ok(())
}

impl<'de> Deserialize<'de> for RawClaims {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = RawClaims;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a JSON object of claims")
            }
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<RawClaims, A::Error> {
                let mut p = Partial::default();
                let (mut seen_scope, mut seen_perms) = (false, false);
                while let Some(field) = map.next_key::<Field>()? {
                    match field {
                        Field::Iss => set(&mut p.iss, map.next_value()?, "iss")?,
                        Field::Sub => set(&mut p.sub, map.next_value()?, "sub")?,
                        Field::Aud => set(&mut p.aud, map.next_value::<OneOrMany>()?.0, "aud")?,
                        Field::Exp => set(&mut p.exp, map.next_value::<NumericDate>()?.0, "exp")?,
                        Field::Iat => set(&mut p.iat, map.next_value::<NumericDate>()?.0, "iat")?,
                        Field::Nbf => set(&mut p.nbf, map.next_value::<NumericDate>()?.0, "nbf")?,
                        Field::Scope => {
                            if std::mem::replace(&mut seen_scope, true) {
                                return Err(dup("scope"));
                            }
                            p.scope = map
                                .next_value::<Option<Scopes>>()?
                                .map(|s| s.0)
                                .unwrap_or_default();
                        }
                        Field::Permissions => {
                            if std::mem::replace(&mut seen_perms, true) {
                                return Err(dup("permissions"));
                            }
                            p.permissions = map
                                .next_value::<Option<OneOrMany>>()?
                                .map(|s| s.0)
                                .unwrap_or_default();
                        }
                        Field::ClientId => set(&mut p.client_id, map.next_value()?, "client_id")?,
                        Field::Azp => set(&mut p.azp, map.next_value()?, "azp")?,
                        Field::Jti => set(&mut p.jti, map.next_value()?, "jti")?,
                        Field::Gty => set(&mut p.gty, map.next_value()?, "gty")?,
                        Field::Other(name) => {
                            if p.extra.contains_key(&name) {
                                // Duplicate unregistered claim: refuse too.
                                let _: IgnoredAny = map.next_value()?;
                                return Err(de::Error::custom(format_args!(
                                    "duplicate claim {name}"
                                )));
                            }
                            let v: Value = map.next_value()?;
                            p.extra.insert(name, v);
                        }
                    }
                }
                Ok(RawClaims(p))
            }
        }
        d.deserialize_map(V)
    }
}
