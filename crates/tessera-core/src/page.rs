//! Auth0's paging of listings, shared by the storage traits.

use crate::error::Invalid;

/// A page of a listing (Auth0: `page` from 0, `per_page`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Page {
    pub page: i64,
    pub per_page: i64,
}

impl Page {
    /// The last page index Auth0 accepts; it also keeps `page * per_page` from
    /// overflowing.
    pub const MAX_PAGE: i64 = 100_000;
    /// The most results per page Auth0 returns.
    pub const MAX_PER_PAGE: i64 = 100;
    /// Results per page when the request does not say.
    pub const DEFAULT_PER_PAGE: i64 = 50;

    /// `page` from 0 to [`Page::MAX_PAGE`] (absent: 0) and `per_page` from 1 to
    /// [`Page::MAX_PER_PAGE`] (absent: [`Page::DEFAULT_PER_PAGE`]), Auth0's
    /// paging bounds, or the first property out of them.
    pub fn checked(page: Option<i64>, per_page: Option<i64>) -> Result<Self, Invalid> {
        let page = page.unwrap_or(0);
        let per_page = per_page.unwrap_or(Self::DEFAULT_PER_PAGE);
        if !(0..=Self::MAX_PAGE).contains(&page) {
            return Err(Invalid::new(
                "page",
                format!("must be between 0 and {}", Self::MAX_PAGE),
            ));
        }
        if !(1..=Self::MAX_PER_PAGE).contains(&per_page) {
            return Err(Invalid::new(
                "per_page",
                format!("must be between 1 and {}", Self::MAX_PER_PAGE),
            ));
        }
        Ok(Self { page, per_page })
    }

    pub fn offset(&self) -> i64 {
        self.page * self.per_page
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pages_keep_to_auth0s_bounds() {
        assert_eq!(
            Page::checked(None, None).unwrap(),
            Page {
                page: 0,
                per_page: 50
            }
        );
        let last = Page::checked(Some(Page::MAX_PAGE), Some(Page::MAX_PER_PAGE)).unwrap();
        assert_eq!(last.offset(), 10_000_000);
        assert_eq!(Page::checked(Some(0), Some(1)).unwrap().offset(), 0);
        for (page, per_page, property, problem) in [
            (Some(-1), None, "page", "must be between 0 and 100000"),
            (Some(100_001), None, "page", "must be between 0 and 100000"),
            (Some(i64::MAX), None, "page", "must be between 0 and 100000"),
            (None, Some(0), "per_page", "must be between 1 and 100"),
            (None, Some(101), "per_page", "must be between 1 and 100"),
            // The page is named first.
            (Some(-1), Some(0), "page", "must be between 0 and 100000"),
        ] {
            let e = Page::checked(page, per_page).unwrap_err();
            assert_eq!(
                (e.property.as_str(), e.problem.as_str()),
                (property, problem)
            );
        }
    }
}
