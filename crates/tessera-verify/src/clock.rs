//! The current time, passed in: every `exp`, `nbf`, `iat` and `auth_time`
//! check reads it from the [`Clock`] set with
//! [`OptionsBuilder::clock`](crate::OptionsBuilder::clock), never from the
//! system directly. Tests fix it; production uses [`SystemClock`].
//!
//! The JWKS cache does not use it: its lifetimes are spans measured on the
//! monotonic clock (`std::time::Instant`), so a wall clock set back or forward
//! neither freezes nor flushes the cached keys.

use std::sync::Arc;
use std::sync::atomic::{AtomicI64, Ordering};
use std::time::{SystemTime, UNIX_EPOCH};

/// Wall-clock time as a JWT NumericDate: seconds since 1970-01-01T00:00:00Z.
pub trait Clock: Send + Sync {
    fn now(&self) -> i64;
}

/// The system's clock (the default).
#[derive(Clone, Copy, Debug, Default)]
pub struct SystemClock;

impl Clock for SystemClock {
    fn now(&self) -> i64 {
        SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map(|d| i64::try_from(d.as_secs()).unwrap_or(i64::MAX))
            .unwrap_or(0)
    }
}

/// A clock that stands still until moved (tests). Share it through an `Arc`
/// to move it after the verifier is built.
#[derive(Debug, Default)]
pub struct FixedClock(AtomicI64);

impl FixedClock {
    pub fn new(at: i64) -> Self {
        Self(AtomicI64::new(at))
    }

    pub fn set(&self, at: i64) {
        self.0.store(at, Ordering::SeqCst);
    }

    pub fn advance(&self, seconds: i64) {
        self.0.fetch_add(seconds, Ordering::SeqCst);
    }
}

impl Clock for FixedClock {
    fn now(&self) -> i64 {
        self.0.load(Ordering::SeqCst)
    }
}

impl<C: Clock + ?Sized> Clock for Arc<C> {
    fn now(&self) -> i64 {
        (**self).now()
    }
}

/// Any `Fn() -> i64` is a clock: `.clock(|| 1_700_000_000)`.
impl<F: Fn() -> i64 + Send + Sync> Clock for F {
    fn now(&self) -> i64 {
        self()
    }
}
