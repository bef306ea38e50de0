//! Auth0's paging of the Management API's listings, declared and ruled in one
//! place: [`list_query!`] adds the paging parameters (offset paging, `page`,
//! `per_page`, `include_totals`, on every listing; checkpoint paging, `from`,
//! `take`, where the listing offers it) to a listing's query parameters,
//! [`ListParams::paging`] applies Auth0's rules and answers to them, and
//! [`paged_listing`] answers in the shape the paging asks for.

use tessera_core::store::Page;

use super::error::MgmtError;

/// Declares the query parameters of a listing (a struct read with
/// [`super::extract::QueryOf`]): its own fields, and Auth0's paging parameters
/// where `..paging` (`page`, `per_page`, `include_totals`) or
/// `..paging_and_checkpoint` (those, `from` and `take`) stands. One struct
/// reads the whole query string in one pass, so an unknown or mistyped
/// parameter is answered as for any query string (naming every known one), and
/// the OpenAPI document lists the paging parameters where they stand. The
/// paging fields are private: the listing reads them only through
/// [`ListParams::paging`], which this implements, and calls it where the
/// bounds are to be checked (after its scope).
macro_rules! list_query {
    (
        $(#[$attr:meta])*
        pub struct $name:ident {
            $( $(#[$before_attr:meta])* pub $before:ident : $before_ty:ty, )*
            ..paging,
            $( $(#[$after_attr:meta])* pub $after:ident : $after_ty:ty, )*
        }
    ) => {
        $crate::management::paging::list_query! { @emit [$(#[$attr])*] $name
            [$( $(#[$before_attr])* pub $before: $before_ty, )*]
            []
            [$( $(#[$after_attr])* pub $after: $after_ty, )*]
        }
    };
    (
        $(#[$attr:meta])*
        pub struct $name:ident {
            $( $(#[$before_attr:meta])* pub $before:ident : $before_ty:ty, )*
            ..paging_and_checkpoint,
            $( $(#[$after_attr:meta])* pub $after:ident : $after_ty:ty, )*
        }
    ) => {
        $crate::management::paging::list_query! { @emit [$(#[$attr])*] $name
            [$( $(#[$before_attr])* pub $before: $before_ty, )*]
            [
                /// Checkpoint paging: the `next` of the previous answer.
                from: Option<String>,
                /// Checkpoint paging: results per page, 1 to 100 (default 50).
                take: Option<i64>,
            ]
            [$( $(#[$after_attr])* pub $after: $after_ty, )*]
        }
    };
    (@emit [$($attr:tt)*] $name:ident [$($before:tt)*] [$($checkpoint:tt)*] [$($after:tt)*]) => {
        $($attr)*
        pub struct $name {
            $($before)*
            /// Page index, from 0.
            page: Option<i64>,
            /// Results per page, 1 to 100 (default 50).
            per_page: Option<i64>,
            /// Wrap the results with `start`, `limit`, `length` and `total`.
            include_totals: Option<bool>,
            $($checkpoint)*
            $($after)*
        }

        impl $crate::management::paging::ListParams for $name {
            fn paging(
                &self,
            ) -> Result<$crate::management::paging::Paging, $crate::management::error::MgmtError>
            {
                let (from, take) =
                    $crate::management::paging::list_query!(@cursor self [$($checkpoint)*]);
                $crate::management::paging::paging(
                    self.page,
                    self.per_page,
                    self.include_totals,
                    from,
                    take,
                )
            }
        }
    };
    // `from` and `take`, where the listing has them.
    (@cursor $query:ident []) => {
        (None, None)
    };
    (@cursor $query:ident [$($checkpoint:tt)+]) => {
        ($query.from.as_deref(), $query.take)
    };
}
pub(crate) use list_query;

/// The query parameters of a listing, declared with [`list_query!`].
pub trait ListParams {
    /// The paging the request asks for, under Auth0's rules; otherwise Auth0's
    /// 400 `invalid_query_string`, naming the parameter.
    fn paging(&self) -> Result<Paging, MgmtError>;
}

/// Auth0's paging bounds ([`Page::checked`]), answered as Auth0 does.
fn page(page: Option<i64>, per_page: Option<i64>) -> Result<Page, MgmtError> {
    Page::checked(page, per_page).map_err(|e| {
        MgmtError::bad_request(
            "invalid_query_string",
            format!("Query validation error: '{}' {}.", e.property, e.problem),
        )
    })
}

/// A listing: a plain array, or with `include_totals=true`
/// `{"start", "limit", "length", "total", "<key>": [...]}`.
fn listing<T: serde::Serialize>(
    key: &str,
    items: Vec<T>,
    total: i64,
    page: Page,
    include_totals: bool,
) -> axum::response::Response {
    use axum::response::IntoResponse;
    if include_totals {
        let mut body = serde_json::Map::new();
        body.insert("start".into(), page.offset().into());
        body.insert("limit".into(), page.per_page.into());
        body.insert("length".into(), (items.len() as i64).into());
        body.insert("total".into(), total.into());
        body.insert(key.into(), serde_json::to_value(items).unwrap_or_default());
        axum::Json(serde_json::Value::Object(body)).into_response()
    } else {
        axum::Json(items).into_response()
    }
}

/// Auth0's two ways of paging a listing: offset (`page`, `per_page`,
/// `include_totals`) and checkpoint (`from`, `take`; answered with `next`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Paging {
    Offset {
        page: Page,
        include_totals: bool,
    },
    /// `from` is the opaque `next` of the previous answer (here: a page index).
    Checkpoint {
        page: Page,
    },
}

impl Paging {
    pub fn page(&self) -> Page {
        match self {
            Self::Offset { page, .. } | Self::Checkpoint { page } => *page,
        }
    }
}

/// Auth0's paging rules: checkpoint paging when `from` or `take` is given
/// (`page`, `per_page` and `include_totals` are then ignored), offset paging
/// otherwise; a value out of bounds, or a `from` this server did not issue, is
/// a 400 `invalid_query_string` naming the parameter. Called by the
/// [`ListParams`] that [`list_query!`] implements.
pub fn paging(
    page_index: Option<i64>,
    per_page: Option<i64>,
    include_totals: Option<bool>,
    from: Option<&str>,
    take: Option<i64>,
) -> Result<Paging, MgmtError> {
    if from.is_none() && take.is_none() {
        return Ok(Paging::Offset {
            page: page(page_index, per_page)?,
            include_totals: include_totals.unwrap_or(false),
        });
    }
    let index = match from {
        None | Some("") => 0,
        Some(cursor) => cursor
            .parse::<i64>()
            .ok()
            .filter(|i| *i >= 0)
            .ok_or_else(|| {
                MgmtError::bad_request(
                    "invalid_query_string",
                    "Query validation error: 'from' is not a cursor this server issued.",
                )
            })?,
    };
    Ok(Paging::Checkpoint {
        page: page(Some(index), take)?,
    })
}

/// A listing in the shape the request's paging asks for.
pub fn paged_listing<T: serde::Serialize>(
    key: &str,
    items: Vec<T>,
    total: i64,
    paging: Paging,
) -> axum::response::Response {
    match paging {
        Paging::Offset {
            page,
            include_totals,
        } => listing(key, items, total, page, include_totals),
        Paging::Checkpoint { page } => {
            let mut body = serde_json::Map::new();
            let more = page.offset() + (items.len() as i64) < total;
            body.insert(key.into(), serde_json::to_value(items).unwrap_or_default());
            if more {
                body.insert("next".into(), (page.page + 1).to_string().into());
            }
            axum::response::IntoResponse::into_response(axum::Json(serde_json::Value::Object(body)))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::management::extract::parse_query;
    use axum::http::StatusCode;

    list_query! {
        #[derive(Debug, serde::Deserialize)]
        #[serde(deny_unknown_fields)]
        pub struct Offset {
            pub name: Option<String>,
            ..paging,
            pub fields: Option<String>,
        }
    }

    list_query! {
        #[derive(Debug, serde::Deserialize)]
        #[serde(deny_unknown_fields)]
        pub struct WithCheckpoint {
            ..paging_and_checkpoint,
            pub name: Option<String>,
        }
    }

    /// The paging of `query`, or the answer: 400 `invalid_query_string` and
    /// its message.
    fn paging_of<T: ListParams + serde::de::DeserializeOwned>(
        query: &str,
    ) -> Result<Paging, String> {
        let refused = |e: MgmtError| {
            assert_eq!(
                (e.status, e.error_code),
                (StatusCode::BAD_REQUEST, "invalid_query_string"),
                "{query}"
            );
            e.message
        };
        let params: T = parse_query(query).map_err(refused)?;
        params.paging().map_err(refused)
    }

    fn offset(page: i64, per_page: i64, include_totals: bool) -> Paging {
        Paging::Offset {
            page: Page { page, per_page },
            include_totals,
        }
    }

    #[test]
    fn offset_paging_has_auth0s_defaults_bounds_and_answers() {
        assert_eq!(paging_of::<Offset>(""), Ok(offset(0, 50, false)));
        assert_eq!(
            paging_of::<Offset>("name=a%2Bb&page=2&per_page=10&include_totals=true"),
            Ok(offset(2, 10, true))
        );
        let q: Offset = parse_query("name=a%2Bb&fields=x").unwrap();
        assert_eq!(
            (q.name.as_deref(), q.fields.as_deref()),
            (Some("a+b"), Some("x"))
        );
        for (query, message) in [
            (
                "page=-1",
                "Query validation error: 'page' must be between 0 and 100000.",
            ),
            (
                "page=999999999999999999",
                "Query validation error: 'page' must be between 0 and 100000.",
            ),
            (
                "per_page=0",
                "Query validation error: 'per_page' must be between 1 and 100.",
            ),
            (
                "per_page=101",
                "Query validation error: 'per_page' must be between 1 and 100.",
            ),
            // The page is checked first.
            (
                "per_page=0&page=-1",
                "Query validation error: 'page' must be between 0 and 100000.",
            ),
            (
                "per_page=ten",
                "Query validation error: 'invalid digit found in string' on property per_page.",
            ),
            (
                "include_totals=maybe",
                "Query validation error: 'provided string was not `true` or `false`' on property include_totals.",
            ),
            (
                "page=1&page=2",
                "Query validation error: 'duplicate field `page`' on property ..",
            ),
            // Unknown parameters are refused naming them, as Auth0 does;
            // without checkpoint paging, `from` and `take` are unknown.
            (
                "bogus=1",
                "Query validation error: 'Additional properties not allowed: bogus'.",
            ),
            (
                "from=1",
                "Query validation error: 'Additional properties not allowed: from'.",
            ),
            // The first bad parameter is named, as serde reads them in order;
            // bounds come after every type.
            (
                "page=x&bogus=1",
                "Query validation error: 'invalid digit found in string' on property page.",
            ),
            (
                "per_page=500&take=1",
                "Query validation error: 'Additional properties not allowed: take'.",
            ),
        ] {
            assert_eq!(
                paging_of::<Offset>(query),
                Err(message.to_owned()),
                "{query}"
            );
        }
    }

    #[test]
    fn checkpoint_paging_walks_by_next() {
        let checkpoint = |page, per_page| Paging::Checkpoint {
            page: Page { page, per_page },
        };
        // `include_totals` (and `page`, `per_page`) are ignored then.
        assert_eq!(
            paging_of::<WithCheckpoint>("include_totals=true&take=2"),
            Ok(checkpoint(0, 2))
        );
        assert_eq!(
            paging_of::<WithCheckpoint>("from=3&take=2&page=9&per_page=1"),
            Ok(checkpoint(3, 2))
        );
        assert_eq!(paging_of::<WithCheckpoint>("from="), Ok(checkpoint(0, 50)));
        let q: WithCheckpoint = parse_query("name=x&take=1").unwrap();
        assert_eq!(q.name.as_deref(), Some("x"));
        assert_eq!(
            paging_of::<WithCheckpoint>("page=1&per_page=10&include_totals=true"),
            Ok(offset(1, 10, true))
        );
        for (query, message) in [
            (
                "from=x",
                "Query validation error: 'from' is not a cursor this server issued.",
            ),
            (
                "from=-1",
                "Query validation error: 'from' is not a cursor this server issued.",
            ),
            (
                "take=0",
                "Query validation error: 'per_page' must be between 1 and 100.",
            ),
            (
                "from=100001",
                "Query validation error: 'page' must be between 0 and 100000.",
            ),
            (
                "take=1e9",
                "Query validation error: 'invalid digit found in string' on property take.",
            ),
            (
                "bogus=1",
                "Query validation error: 'Additional properties not allowed: bogus'.",
            ),
        ] {
            assert_eq!(
                paging_of::<WithCheckpoint>(query),
                Err(message.to_owned()),
                "{query}"
            );
        }
    }
}
