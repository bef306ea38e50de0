//! The tunables shared by both verifiers, set through [`Options::builder`].
//! The fields are private so that every [`Options`] has passed the checks of
//! [`OptionsBuilder::build`].

use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use crate::clock::{Clock, SystemClock};

/// Leeway, accepted `typ`s, JWKS refetch policy, size cap and clock. Build one
/// with [`Options::builder`]; [`Options::default`] is the builder's defaults.
///
/// ```
/// use std::time::Duration;
/// use tessera_verify::Options;
///
/// let options = Options::builder()
///     .leeway(Duration::from_secs(30))
///     .accept_plain_jwt_typ(true)
///     .build()?;
/// assert_eq!(options.leeway(), Duration::from_secs(30));
/// # Ok::<(), tessera_verify::OptionsError>(())
/// ```
#[derive(Clone)]
pub struct Options {
    leeway: Duration,
    accept_plain_jwt_typ: bool,
    refetch_interval: Duration,
    default_ttl: Duration,
    max_token_bytes: usize,
    clock: Arc<dyn Clock>,
}

impl Options {
    pub fn builder() -> OptionsBuilder {
        OptionsBuilder(Self::default())
    }

    /// Clock skew allowed on `exp`, `nbf`, `iat` and `auth_time`.
    pub fn leeway(&self) -> Duration {
        self.leeway
    }

    /// Whether `typ: JWT` access tokens (older issuers) are accepted too.
    pub fn accept_plain_jwt_typ(&self) -> bool {
        self.accept_plain_jwt_typ
    }

    /// At most one JWKS fetch per interval for unknown `kid`s; also the
    /// shortest cache lifetime and the wait after a failed fetch.
    pub fn refetch_interval(&self) -> Duration {
        self.refetch_interval
    }

    /// How long a JWKS is kept when its answer has no `Cache-Control: max-age`.
    pub fn default_ttl(&self) -> Duration {
        self.default_ttl
    }

    /// Tokens longer than this are refused before any parsing.
    pub fn max_token_bytes(&self) -> usize {
        self.max_token_bytes
    }

    /// The current time (seconds since 1970) from the configured clock.
    pub(crate) fn now(&self) -> i64 {
        self.clock.now()
    }

    /// The leeway in whole seconds, as the time checks compare it.
    pub(crate) fn leeway_secs(&self) -> i64 {
        i64::try_from(self.leeway.as_secs()).unwrap_or(i64::MAX)
    }
}

impl Default for Options {
    /// Leeway 60 s, `at+jwt` only, refetch interval 30 s, default JWKS
    /// lifetime 300 s, tokens up to 16 KiB, the system clock.
    fn default() -> Self {
        Self {
            leeway: Duration::from_secs(60),
            accept_plain_jwt_typ: false,
            refetch_interval: Duration::from_secs(30),
            default_ttl: Duration::from_secs(300),
            max_token_bytes: 16 * 1024,
            clock: Arc::new(SystemClock),
        }
    }
}

impl fmt::Debug for Options {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Options")
            .field("leeway", &self.leeway)
            .field("accept_plain_jwt_typ", &self.accept_plain_jwt_typ)
            .field("refetch_interval", &self.refetch_interval)
            .field("default_ttl", &self.default_ttl)
            .field("max_token_bytes", &self.max_token_bytes)
            .finish_non_exhaustive()
    }
}

/// Builds [`Options`]; every setter is optional (see [`Options::default`]).
#[derive(Clone, Debug)]
#[must_use = "call .build() to get the Options"]
pub struct OptionsBuilder(Options);

impl OptionsBuilder {
    /// Clock skew allowed on `exp`, `nbf`, `iat` and `auth_time` (default 60 s;
    /// whole seconds count).
    pub fn leeway(mut self, leeway: Duration) -> Self {
        self.0.leeway = leeway;
        self
    }

    /// Also accept `typ: JWT` access tokens (older issuers). Default false.
    pub fn accept_plain_jwt_typ(mut self, accept: bool) -> Self {
        self.0.accept_plain_jwt_typ = accept;
        self
    }

    /// At most one JWKS fetch per interval for unknown `kid`s (default 30 s);
    /// also the shortest cache lifetime and the wait after a failed fetch.
    /// Must not be zero.
    pub fn refetch_interval(mut self, interval: Duration) -> Self {
        self.0.refetch_interval = interval;
        self
    }

    /// How long a JWKS is kept when its answer has no `Cache-Control: max-age`
    /// (default 300 s; never less than the refetch interval).
    pub fn default_ttl(mut self, ttl: Duration) -> Self {
        self.0.default_ttl = ttl;
        self
    }

    /// Tokens longer than this are refused before any parsing (default
    /// 16 KiB). Must not be zero.
    pub fn max_token_bytes(mut self, bytes: usize) -> Self {
        self.0.max_token_bytes = bytes;
        self
    }

    /// Where the time checks read the current time (default [`SystemClock`]).
    /// An `Arc<FixedClock>` shared with a test can be moved afterwards.
    pub fn clock(mut self, clock: impl Clock + 'static) -> Self {
        self.0.clock = Arc::new(clock);
        self
    }

    /// The options, or the first setting that cannot work.
    pub fn build(self) -> Result<Options, OptionsError> {
        let o = self.0;
        if o.refetch_interval.is_zero() {
            return Err(OptionsError::ZeroRefetchInterval);
        }
        if o.max_token_bytes == 0 {
            return Err(OptionsError::ZeroMaxTokenBytes);
        }
        Ok(o)
    }
}

/// A setting that [`OptionsBuilder::build`] refuses.
#[derive(Debug, thiserror::Error, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum OptionsError {
    #[error(
        "refetch_interval must be longer than zero: each unknown kid would fetch the JWKS again"
    )]
    ZeroRefetchInterval,
    #[error("max_token_bytes must be at least 1: every token would be refused as too large")]
    ZeroMaxTokenBytes,
}
