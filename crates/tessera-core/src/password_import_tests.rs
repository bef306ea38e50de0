//! Vectors made by independent implementations: Python's `hashlib`/`hmac`
//! (digests, HMAC, PBKDF2) and OpenBSD's bcrypt test vector.
use super::*;
use serde_json::json;

const PW: &str = "correct horse battery";

fn secret(s: &str) -> Secret<String> {
    Secret::new(s.to_owned())
}

fn stored(custom: Value) -> String {
    from_import(None, Some(&custom)).unwrap().unwrap()
}

fn refusal(password_hash: Option<Value>, custom: Option<Value>) -> (&'static str, String) {
    let e = from_import(password_hash.as_ref(), custom.as_ref()).unwrap_err();
    (e.code, e.path)
}

#[test]
fn bcrypt_hashes_import_as_given_and_verify() {
    // OpenBSD's bcrypt test vector ("U*U", cost 5).
    let h = "$2a$05$CCCCCCCCCCCCCCCCCCCCC.E5YPO9kmyuRGyh0XouQYb4YMJKvyOeW";
    let s = from_import(Some(&json!(h)), None).unwrap().unwrap();
    assert_eq!(s, h);
    assert!(verify(&secret("U*U"), &s));
    assert!(!verify(&secret("U*V"), &s));
    let custom = stored(json!({"algorithm": "bcrypt", "hash": {"value": h}}));
    assert!(crate::password::verify(&secret("U*U"), &custom));
    assert!(crate::password::needs_rehash(&custom));
}

#[test]
fn plain_digests_with_salts_and_encodings_verify() {
    let cases = [
        json!({"algorithm": "md5", "hash": {"value": "88e4ddd2402d92d50e1879d6ecd9ffd4", "encoding": "hex"}}),
        json!({"algorithm": "sha1", "hash": {"value": "PhSmSnoPFGgIKQQLlg+r9tCkQVw=", "encoding": "base64"},
               "salt": {"value": "pepper-salt", "position": "suffix"}}),
        json!({"algorithm": "sha256", "hash": {"value": "b3dbd2fa9dfd4922b6b7fe6ee431b9bf0cc581513ce4365303b499df55d37b51", "encoding": "hex"},
               "salt": {"value": "pepper-salt", "encoding": "utf8", "position": "prefix"}}),
        json!({"algorithm": "sha512", "hash": {"value": "mMNk5FMtgjihxTUb1QQOdOLU2KqNqAX8NQZoX/nwB8D+/eeGQ7Yo2Ct31m5lrDbtRn/Kn6SEDPHX24cxN8YPcg==", "encoding": "base64"},
               "salt": {"value": "cGVwcGVyLXNhbHQ=", "encoding": "base64", "position": "suffix"}}),
        json!({"algorithm": "hmac", "hash": {"value": "a1b2d30593a84b97d6b656ce93cc30c959b6fc4f63cd8a494edb4ec98d34a584", "encoding": "hex",
               "digest": "sha256", "key": {"value": "secret-key", "encoding": "utf8"}}}),
        json!({"algorithm": "pbkdf2", "hash": {"value": "$pbkdf2-sha512$i=10000,l=64$cGVwcGVyLXNhbHQ$AqKrtlLsuU+msxdn9A6dm+uCmcgN4Nh0sf6Jv5Ay5t3vB4XKQ6Xm6gA9AalTXtCiq5AWtH+E7kmH1RV6J/ufjQ", "encoding": "utf8"}}),
        json!({"algorithm": "pbkdf2", "hash": {"value": "$pbkdf2-sha1$i=1000,l=20$cGVwcGVyLXNhbHQ$6HrBYy2EgH6xbRgOtPOG5U4rkg4"}}),
    ];
    for case in cases {
        let s = stored(case.clone());
        assert!(crate::password::verify(&secret(PW), &s), "{case}");
        assert!(
            !crate::password::verify(&secret("correct horse batterY"), &s),
            "{case}"
        );
        assert!(!crate::password::verify(&secret(""), &s), "{case}");
        assert!(crate::password::needs_rehash(&s));
    }
    // The password's own encoding (UTF-16LE, as .NET systems hash).
    let s = stored(
        json!({"algorithm": "sha1", "hash": {"value": "abc0ad4a961eafe8ca6e6f93f1b9d88aa44e53ee", "encoding": "hex"},
        "password": {"encoding": "utf16le"}}),
    );
    assert!(verify(&secret("pässword"), &s));
    assert!(!verify(&secret("password"), &s));
}

#[test]
fn imported_argon2_of_other_parameters_verifies_and_is_rehashed() {
    use argon2::password_hash::{PasswordHasher, SaltString};
    let salt = SaltString::encode_b64(b"sixteen byte salt").unwrap();
    let params = argon2::Params::new(4096, 3, 1, None).unwrap();
    let h = argon2::Argon2::new(argon2::Algorithm::Argon2i, argon2::Version::V0x13, params)
        .hash_password(PW.as_bytes(), &salt)
        .unwrap()
        .to_string();
    let s = stored(json!({"algorithm": "argon2", "hash": {"value": h}}));
    assert!(crate::password::verify(&secret(PW), &s));
    assert!(!crate::password::verify(&secret("nope"), &s));
    assert!(crate::password::needs_rehash(&s));
    let ours = crate::password::hash(&secret(PW)).unwrap();
    assert!(!crate::password::needs_rehash(&ours));
}

#[test]
fn what_auth0_refuses_is_refused_per_property() {
    let bcrypt = "$2a$05$CCCCCCCCCCCCCCCCCCCCC.E5YPO9kmyuRGyh0XouQYb4YMJKvyOeW";
    let md5 = json!({"algorithm": "md5", "hash": {"value": "88e4ddd2402d92d50e1879d6ecd9ffd4", "encoding": "hex"}});
    let path = |p: &str| format!("#/{p}");
    assert_eq!(
        refusal(Some(json!(bcrypt)), Some(md5.clone())),
        ("CONFLICTING_PROPERTIES", path("custom_password_hash"))
    );
    assert_eq!(
        refusal(Some(json!(12)), None),
        ("INVALID_TYPE", path("password_hash"))
    );
    assert_eq!(
        refusal(Some(json!("$1$abc")), None),
        ("INVALID_FORMAT", path("password_hash"))
    );
    // Cost 31 would make each login take days; cost 3 is not bcrypt.
    let cost31 = bcrypt.replace("$05$", "$31$");
    assert_eq!(refusal(Some(json!(cost31)), None).0, "INVALID_FORMAT");
    assert_eq!(
        refusal(Some(json!(bcrypt.replace("$05$", "$03$"))), None).0,
        "INVALID_FORMAT"
    );
    for (custom, code, at) in [
        (
            json!({"algorithm": "rot13", "hash": {"value": "x"}}),
            "ENUM_MISMATCH",
            "custom_password_hash/algorithm",
        ),
        (
            json!({"algorithm": "scrypt", "hash": {"value": "x"}, "keylen": 64}),
            "UNSUPPORTED_ALGORITHM",
            "custom_password_hash/algorithm",
        ),
        (
            json!({"algorithm": "md5", "hash": {"value": "zz", "encoding": "hex"}}),
            "INVALID_FORMAT",
            "custom_password_hash/hash/value",
        ),
        (
            json!({"algorithm": "md5", "hash": {"value": "abcd", "encoding": "hex"}}),
            "INVALID_FORMAT",
            "custom_password_hash/hash/value",
        ),
        (
            json!({"algorithm": "sha256", "hash": {"value": "!!", "encoding": "base64"}}),
            "INVALID_FORMAT",
            "custom_password_hash/hash/value",
        ),
        (
            json!({"algorithm": "sha256", "hash": {"value": "ab", "encoding": "utf8"}}),
            "INVALID_FORMAT",
            "custom_password_hash/hash/encoding",
        ),
        (
            json!({"algorithm": "md5", "hash": {"value": "88e4ddd2402d92d50e1879d6ecd9ffd4"}, "salt": {"value": "s", "position": "middle"}}),
            "ENUM_MISMATCH",
            "custom_password_hash/salt/position",
        ),
        (
            json!({"algorithm": "md5", "hash": {"value": "88e4ddd2402d92d50e1879d6ecd9ffd4"}, "password": {"encoding": "ebcdic"}}),
            "ENUM_MISMATCH",
            "custom_password_hash/password/encoding",
        ),
        (
            json!({"algorithm": "hmac", "hash": {"value": "88e4ddd2402d92d50e1879d6ecd9ffd4", "digest": "sha256", "key": {"value": "k"}}}),
            "INVALID_FORMAT",
            "custom_password_hash/hash/value",
        ),
        (
            json!({"algorithm": "hmac", "hash": {"value": "a1b2d30593a84b97d6b656ce93cc30c959b6fc4f63cd8a494edb4ec98d34a584", "digest": "sha256"}}),
            "OBJECT_MISSING_REQUIRED_PROPERTY",
            "custom_password_hash/hash/key",
        ),
        (
            json!({"algorithm": "hmac", "hash": {"value": "x", "digest": "whirlpool", "key": {"value": "k"}}}),
            "ENUM_MISMATCH",
            "custom_password_hash/hash/digest",
        ),
        (
            json!({"algorithm": "bcrypt", "hash": {"value": bcrypt}, "salt": {"value": "s"}}),
            "INVALID_FORMAT",
            "custom_password_hash/salt",
        ),
        (
            json!({"algorithm": "bcrypt", "hash": {"value": bcrypt, "encoding": "hex"}}),
            "INVALID_FORMAT",
            "custom_password_hash/hash/encoding",
        ),
        (
            json!({"algorithm": "argon2", "hash": {"value": "$argon2id$v=19$m=4194304,t=2,p=1$c2FsdHNhbHQ$aGFzaGhhc2hoYXNoaGFzaA"}}),
            "INVALID_FORMAT",
            "custom_password_hash/hash/value",
        ),
        (
            json!({"algorithm": "argon2", "hash": {"value": "$5$rounds=5000$x"}}),
            "INVALID_FORMAT",
            "custom_password_hash/hash/value",
        ),
        (
            json!({"algorithm": "pbkdf2", "hash": {"value": "$pbkdf2-md5$i=1000,l=20$cGVwcGVy$6HrBYy2EgH6xbRgOtPOG5U4rkg4"}}),
            "INVALID_FORMAT",
            "custom_password_hash/hash/value",
        ),
        (
            json!({"algorithm": "pbkdf2", "hash": {"value": "$pbkdf2-sha1$i=0,l=20$cGVwcGVy$6HrBYy2EgH6xbRgOtPOG5U4rkg4"}}),
            "INVALID_FORMAT",
            "custom_password_hash/hash/value",
        ),
        (
            json!({"algorithm": "pbkdf2", "hash": {"value": "$pbkdf2-sha1$i=99999999,l=20$cGVwcGVy$6HrBYy2EgH6xbRgOtPOG5U4rkg4"}}),
            "INVALID_FORMAT",
            "custom_password_hash/hash/value",
        ),
        (
            json!({"algorithm": "pbkdf2", "hash": {"value": "$pbkdf2-sha1$i=1000,l=64$cGVwcGVy$6HrBYy2EgH6xbRgOtPOG5U4rkg4"}}),
            "INVALID_FORMAT",
            "custom_password_hash/hash/value",
        ),
        (
            json!({"algorithm": "md5"}),
            "INVALID_FORMAT",
            "custom_password_hash",
        ),
        (
            json!({"algorithm": "md5", "hash": {"value": "x"}, "colour": 1}),
            "INVALID_FORMAT",
            "custom_password_hash",
        ),
    ] {
        assert_eq!(
            refusal(None, Some(custom.clone())),
            (code, path(at)),
            "{custom}"
        );
    }
    // No hash at all is fine (the user sets a password later).
    assert_eq!(from_import(None, None).unwrap(), None);
}

#[test]
fn garbage_stored_values_never_verify() {
    for s in [
        "",
        "$2a$",
        "$pbkdf2-sha1$",
        "$tessera-digest$",
        "$tessera-digest$e30",
        "plain",
    ] {
        assert!(!crate::password::verify(&secret(""), s), "{s}");
        assert!(!verify(&secret("x"), s), "{s}");
    }
}
