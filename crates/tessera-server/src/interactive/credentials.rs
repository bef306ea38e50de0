//! The email and password posted by the hosted login and signup forms. The
//! password is a [`Secret`] from the form to the hash: it is moved out of the
//! form's pairs, and `Debug` never shows it.

use tessera_core::Secret;

use super::param;

#[derive(Debug)]
pub(crate) struct Credentials {
    /// Trimmed; empty when not given.
    pub email: String,
    /// The first `password` of the form; `None` when absent or empty.
    pub password: Option<Secret<String>>,
}

impl Credentials {
    /// Reads the form's credentials, taking the password out of `pairs`.
    pub(crate) fn take(pairs: &mut [(String, String)]) -> Self {
        let email = param(pairs, "email")
            .map(str::trim)
            .unwrap_or("")
            .to_owned();
        let password = pairs
            .iter_mut()
            .find(|(k, _)| k == "password")
            .map(|(_, v)| std::mem::take(v))
            .filter(|v| !v.is_empty())
            .map(Secret::new);
        Self { email, password }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pairs(list: &[(&str, &str)]) -> Vec<(String, String)> {
        list.iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect()
    }

    #[test]
    fn the_password_leaves_the_form_and_never_shows() {
        let mut form = pairs(&[
            ("email", "  Ann@Example.com "),
            ("password", "s3cret-pw-value"),
            ("password", "second"),
        ]);
        let c = Credentials::take(&mut form);
        assert_eq!(c.email, "Ann@Example.com");
        assert_eq!(c.password.as_ref().unwrap().expose(), "s3cret-pw-value");
        let shown = format!("{c:?}");
        assert!(!shown.contains("s3cret"), "{shown}");
        assert!(form.iter().all(|(_, v)| !v.contains("s3cret")), "{form:?}");
    }

    #[test]
    fn missing_or_empty_values_are_absent() {
        for list in [
            &[("email", "a@b.c")][..],
            &[("email", "a@b.c"), ("password", "")],
            // As `param` reads: the first value counts, even if empty.
            &[("email", "a@b.c"), ("password", ""), ("password", "later")],
            &[("email", "  "), ("password", "pw")],
            &[("password", "pw")],
        ] {
            let c = Credentials::take(&mut pairs(list));
            assert!(c.email.is_empty() || c.password.is_none(), "{list:?}");
        }
    }
}
