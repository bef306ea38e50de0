//! The `q` search syntax and the `sort` of `GET /api/v2/users`.

use super::Invalid;
use crate::store::{UserField, UserFilter};

/// At most this many `field:value` terms in one search.
pub const MAX_SEARCH_TERMS: usize = 16;
/// The longest value of one search term.
pub const MAX_SEARCH_VALUE_LEN: usize = 512;

fn bad_query(problem: impl Into<String>) -> Invalid {
    Invalid::new("q", problem)
}

/// Parses the subset of Auth0's (Lucene) user search syntax Tessera supports:
/// `field:value` and `field:"quoted value"` terms joined by white space or
/// `AND` (`&&`), all of which must match. `*` in a value is a wildcard (zero or
/// more characters) whether quoted or not; `\` escapes the next character.
/// Fields are those of [`UserField::parse`] that are [`UserField::searchable`].
/// Anything else (`OR`, `NOT`, `-`/`+` prefixes, grouping, ranges, `?`, fuzzy
/// and proximity operators, terms without a field) is refused with the reason.
/// An empty or blank query has no terms.
pub fn parse_search(q: &str) -> Result<Vec<UserFilter>, Invalid> {
    let chars: Vec<char> = q.chars().collect();
    let mut i = 0;
    let mut filters = Vec::new();
    // After a term an `AND` may follow; after an `AND` a term must.
    let mut pending_and = false;
    loop {
        while i < chars.len() && chars[i].is_whitespace() {
            i += 1;
        }
        if i >= chars.len() {
            break;
        }
        let start = i;
        // A field name, an operator, or a bare word.
        while i < chars.len() && !chars[i].is_whitespace() && chars[i] != ':' {
            i += 1;
        }
        let word: String = chars[start..i].iter().collect();
        if i >= chars.len() || chars[i] != ':' {
            match word.as_str() {
                "AND" | "&&" => {
                    if filters.is_empty() || pending_and {
                        return Err(bad_query("AND must join two field:value terms"));
                    }
                    pending_and = true;
                    continue;
                }
                "OR" | "||" => {
                    return Err(bad_query(
                        "OR is not supported: every term must match (use several requests)",
                    ));
                }
                "NOT" | "!" => return Err(bad_query("NOT is not supported")),
                _ => {
                    return Err(bad_query(format!(
                        "'{word}' has no field: write terms as field:value (for example email:\"jane@example.com\")"
                    )));
                }
            }
        }
        // `word` is the field.
        if let Some(first) = word.chars().next() {
            match first {
                '-' | '!' => return Err(bad_query("NOT (a leading - or !) is not supported")),
                '+' => {
                    return Err(bad_query(
                        "a leading + is not supported: every term must match already",
                    ));
                }
                '(' => return Err(bad_query("grouping with parentheses is not supported")),
                _ => {}
            }
        }
        if word.is_empty() {
            return Err(bad_query("a term has no field before ':'"));
        }
        let field = UserField::parse(&word).ok_or_else(|| {
            bad_query(format!(
                "field '{word}' is not supported; search by user_id, email, name, given_name, family_name, nickname, username, phone_number or connection"
            ))
        })?;
        if !field.searchable() {
            return Err(bad_query(format!(
                "field '{word}' cannot be searched (only sorted by); search by user_id, email, name, given_name, family_name, nickname, username, phone_number or connection"
            )));
        }
        i += 1; // the ':'
        let value = if i < chars.len() && chars[i] == '"' {
            quoted_value(&chars, &mut i, &word)?
        } else {
            bare_value(&chars, &mut i, &word)?
        };
        if value.is_empty() {
            return Err(bad_query(format!("field '{word}' has an empty value")));
        }
        if value.chars().count() > MAX_SEARCH_VALUE_LEN {
            return Err(bad_query(format!(
                "the value of '{word}' is longer than {MAX_SEARCH_VALUE_LEN} characters"
            )));
        }
        if filters.len() == MAX_SEARCH_TERMS {
            return Err(bad_query(format!(
                "at most {MAX_SEARCH_TERMS} terms are supported"
            )));
        }
        filters.push(UserFilter {
            field,
            pattern: value,
        });
        pending_and = false;
    }
    if pending_and {
        return Err(bad_query("AND must join two field:value terms"));
    }
    Ok(filters)
}

/// `"..."` starting at `chars[*i]`; leaves `*i` after the closing quote, which
/// must end the term.
fn quoted_value(chars: &[char], i: &mut usize, field: &str) -> Result<String, Invalid> {
    *i += 1; // the opening quote
    let mut value = String::new();
    loop {
        let Some(&c) = chars.get(*i) else {
            return Err(bad_query(format!(
                "the quoted value of '{field}' has no closing quote"
            )));
        };
        *i += 1;
        match c {
            '"' => break,
            '\\' => value.push(escaped(chars, i, field)?),
            c => value.push(c),
        }
    }
    match chars.get(*i) {
        None => Ok(value),
        Some(c) if c.is_whitespace() => Ok(value),
        Some('~') => Err(bad_query(
            "proximity searches (\"...\"~N) are not supported",
        )),
        Some('^') => Err(bad_query("boosting (^) is not supported")),
        Some(_) => Err(bad_query(format!(
            "the quoted value of '{field}' must be followed by a space or the end of the query"
        ))),
    }
}

/// An unquoted value: up to the next white space.
fn bare_value(chars: &[char], i: &mut usize, field: &str) -> Result<String, Invalid> {
    let mut value = String::new();
    if matches!(chars.get(*i), Some('[' | '{')) {
        return Err(bad_query(format!(
            "range queries are not supported (field '{field}')"
        )));
    }
    while let Some(&c) = chars.get(*i) {
        if c.is_whitespace() {
            break;
        }
        *i += 1;
        match c {
            '\\' => value.push(escaped(chars, i, field)?),
            '?' => {
                return Err(bad_query(
                    "the ? wildcard is not supported: use * (zero or more characters)",
                ));
            }
            '~' => return Err(bad_query("fuzzy searches (~) are not supported")),
            '^' => return Err(bad_query("boosting (^) is not supported")),
            '(' | ')' => return Err(bad_query("grouping with parentheses is not supported")),
            '[' | ']' | '{' | '}' => {
                return Err(bad_query(format!(
                    "range queries are not supported (field '{field}')"
                )));
            }
            '"' => {
                return Err(bad_query(format!(
                    "a quote inside the value of '{field}': quote the whole value"
                )));
            }
            ':' => {
                return Err(bad_query(format!(
                    "a ':' inside the value of '{field}': quote the value or escape it as \\:"
                )));
            }
            c => value.push(c),
        }
    }
    Ok(value)
}

/// The character after a `\` (already consumed).
fn escaped(chars: &[char], i: &mut usize, field: &str) -> Result<char, Invalid> {
    match chars.get(*i) {
        None => Err(bad_query(format!(
            "the value of '{field}' ends with a lone backslash"
        ))),
        Some('*') => Err(bad_query(
            "an escaped \\* (a literal asterisk) cannot be searched for",
        )),
        Some(&c) => {
            *i += 1;
            Ok(c)
        }
    }
}

/// `field:1` (ascending) or `field:-1` (descending); any field of
/// [`UserField::parse`].
pub fn parse_sort(sort: &str) -> Result<(UserField, bool), Invalid> {
    let bad = || {
        Invalid::new(
            "sort",
            "must be field:1 (ascending) or field:-1 (descending), for example created_at:1",
        )
    };
    let (name, order) = sort.split_once(':').ok_or_else(bad)?;
    let ascending = match order {
        "1" => true,
        "-1" => false,
        _ => return Err(bad()),
    };
    let field = UserField::parse(name)
        .ok_or_else(|| Invalid::new("sort", format!("users cannot be sorted by '{name}'")))?;
    Ok((field, ascending))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn filter(field: UserField, pattern: &str) -> UserFilter {
        UserFilter {
            field,
            pattern: pattern.into(),
        }
    }

    #[test]
    fn search_terms_parse() {
        assert_eq!(parse_search("").unwrap(), vec![]);
        assert_eq!(parse_search("   ").unwrap(), vec![]);
        assert_eq!(
            parse_search("email:\"a@b.c\"").unwrap(),
            vec![filter(UserField::Email, "a@b.c")]
        );
        assert_eq!(
            parse_search("email:a@b.c").unwrap(),
            vec![filter(UserField::Email, "a@b.c")]
        );
        assert_eq!(
            parse_search("name:\"John Doe\" AND email:*@example.com nickname:jo\\:hn").unwrap(),
            vec![
                filter(UserField::Name, "John Doe"),
                filter(UserField::Email, "*@example.com"),
                filter(UserField::Nickname, "jo:hn"),
            ]
        );
        assert_eq!(
            parse_search(
                "identities.connection:\"Username-Password-Authentication\" && user_id:auth0|abc"
            )
            .unwrap(),
            vec![
                filter(UserField::Connection, "Username-Password-Authentication"),
                filter(UserField::UserId, "auth0|abc"),
            ]
        );
        assert_eq!(
            parse_search("username:jane_d AND phone_number:\"+15551234567\"").unwrap(),
            vec![
                filter(UserField::Username, "jane_d"),
                filter(UserField::PhoneNumber, "+15551234567"),
            ]
        );
        assert_eq!(
            parse_search("name:\"say \\\"hi\\\"\"").unwrap(),
            vec![filter(UserField::Name, "say \"hi\"")]
        );
    }

    #[test]
    fn unsupported_search_says_what() {
        let problem = |q: &str| {
            let e = parse_search(q).unwrap_err();
            assert_eq!(e.property, "q");
            e.problem
        };
        assert!(problem("john").contains("has no field"));
        assert!(problem("email:a OR email:b").contains("OR"));
        assert!(problem("NOT email:a").contains("NOT"));
        assert!(problem("-email:a").contains("NOT"));
        assert!(problem("+email:a").contains("+"));
        assert!(problem("(email:a)").contains("parentheses"));
        assert!(problem("email:(a b)").contains("parentheses"));
        assert!(problem("logins_count:[1 TO 5]").contains("cannot be searched"));
        assert!(problem("name:[a TO b]").contains("range"));
        assert!(problem("name:jo?n").contains("?"));
        assert!(problem("name:john~").contains("fuzzy"));
        assert!(problem("name:\"john doe\"~2").contains("proximity"));
        assert!(problem("name:\"john").contains("closing quote"));
        assert!(problem("name:").contains("empty"));
        assert!(problem("name:\"\"").contains("empty"));
        assert!(problem("phone:1").contains("not supported"));
        assert!(problem(":x").contains("no field"));
        assert!(problem("AND email:a").contains("AND"));
        assert!(problem("email:a AND").contains("AND"));
        assert!(problem("email:a AND AND email:b").contains("AND"));
        assert!(problem("name:a:b").contains("':'"));
        assert!(problem("name:\\*").contains("literal asterisk"));
        assert!(problem("name:ab\\").contains("backslash"));
        let many = vec!["name:x"; MAX_SEARCH_TERMS + 1].join(" ");
        assert!(problem(&many).contains("at most"));
        assert!(
            problem(&format!("name:{}", "x".repeat(MAX_SEARCH_VALUE_LEN + 1))).contains("longer")
        );
        // Never a panic, whatever the input.
        for q in [
            "\"",
            "\\",
            ":",
            "::",
            "a:\"\\",
            "é:é",
            "name:\u{0}",
            "\u{3000}name:x",
        ] {
            let _ = parse_search(q);
        }
    }

    #[test]
    fn sort_parses() {
        assert_eq!(
            parse_sort("created_at:1").unwrap(),
            (UserField::CreatedAt, true)
        );
        assert_eq!(parse_sort("email:-1").unwrap(), (UserField::Email, false));
        for bad in ["email", "email:0", "email:asc", "password:1", ":1", ""] {
            assert_eq!(parse_sort(bad).unwrap_err().property, "sort", "{bad}");
        }
    }
}
