//! Per-address request limits, held in memory by each node: a fixed one-minute
//! window per client address on the endpoints that check secrets (`POST
//! u/login`, `POST u/signup`, `POST oauth/token`, `POST oauth/revoke`, `POST
//! oauth/introspect`).
//!
//! The address is the TCP peer (axum's `ConnectInfo`); `X-Forwarded-For` is not
//! trusted. IPv6 addresses count per /64 (one host usually owns a whole /64).
//! A request without a known peer (the router used in-process, as benchmarks do)
//! is not limited. The map is bounded: expired windows are pruned once a minute,
//! and when it is full of live windows, new addresses go untracked rather than
//! evicting the busiest ones.

use std::collections::HashMap;
use std::convert::Infallible;
use std::net::{IpAddr, Ipv6Addr, SocketAddr};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::extract::connect_info::ConnectInfo;
use axum::extract::{FromRequestParts, Request, State};
use axum::http::request::Parts;
use axum::http::{Extensions, HeaderValue, Method, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

use super::html::{self, Branding};
use crate::error::{ApiError, HttpError};

const WINDOW: Duration = Duration::from_secs(60);
/// Most addresses tracked at once.
pub const MAX_TRACKED: usize = 100_000;

/// The client address a limit applies to: IPv4 as is (also when mapped into
/// IPv6), IPv6 reduced to its /64.
pub fn limit_key(ip: IpAddr) -> IpAddr {
    match ip {
        IpAddr::V4(v4) => IpAddr::V4(v4),
        IpAddr::V6(v6) => match v6.to_ipv4_mapped() {
            Some(v4) => IpAddr::V4(v4),
            None => {
                let s = v6.segments();
                IpAddr::V6(Ipv6Addr::new(s[0], s[1], s[2], s[3], 0, 0, 0, 0))
            }
        },
    }
}

/// The TCP peer of a request, when the server was started with connect info.
pub fn peer_ip(extensions: &Extensions) -> Option<IpAddr> {
    extensions
        .get::<ConnectInfo<SocketAddr>>()
        .map(|ConnectInfo(addr)| limit_key(addr.ip()))
}

/// Extractor for [`peer_ip`]; never rejects.
#[derive(Debug, Clone, Copy)]
pub struct PeerIp(pub Option<IpAddr>);

impl<S: Send + Sync> FromRequestParts<S> for PeerIp {
    type Rejection = Infallible;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, Self::Rejection> {
        Ok(Self(peer_ip(&parts.extensions)))
    }
}

impl PeerIp {
    /// For keys and logs: the address, or `unknown`.
    pub fn label(&self) -> String {
        self.0
            .map(|ip| ip.to_string())
            .unwrap_or_else(|| "unknown".into())
    }
}

#[derive(Debug, Clone, Copy)]
struct Window {
    started: Instant,
    count: u32,
}

#[derive(Debug)]
struct Inner {
    windows: HashMap<IpAddr, Window>,
    last_prune: Instant,
}

/// A fixed-window counter per address. `per_minute == 0` disables it.
#[derive(Debug)]
pub struct RateLimiter {
    per_minute: u32,
    max_tracked: usize,
    inner: Mutex<Inner>,
}

impl RateLimiter {
    pub fn new(per_minute: u32) -> Self {
        Self::with_capacity(per_minute, MAX_TRACKED)
    }

    pub fn with_capacity(per_minute: u32, max_tracked: usize) -> Self {
        Self {
            per_minute,
            max_tracked,
            inner: Mutex::new(Inner {
                windows: HashMap::new(),
                last_prune: Instant::now(),
            }),
        }
    }

    /// Counts a request from `ip` at `now`; `Err(seconds)` when over the limit,
    /// with the seconds until the window ends (at least 1).
    pub fn check_at(&self, ip: IpAddr, now: Instant) -> Result<(), u64> {
        if self.per_minute == 0 {
            return Ok(());
        }
        // A poisoned lock only means another request panicked mid-update; the
        // counters are still usable.
        let mut inner = match self.inner.lock() {
            Ok(g) => g,
            Err(poisoned) => poisoned.into_inner(),
        };
        if now.saturating_duration_since(inner.last_prune) >= WINDOW
            || inner.windows.len() >= self.max_tracked
        {
            inner
                .windows
                .retain(|_, w| now.saturating_duration_since(w.started) < WINDOW);
            inner.last_prune = now;
        }
        if !inner.windows.contains_key(&ip) {
            if inner.windows.len() >= self.max_tracked {
                return Ok(());
            }
            inner.windows.insert(
                ip,
                Window {
                    started: now,
                    count: 0,
                },
            );
        }
        let Some(window) = inner.windows.get_mut(&ip) else {
            return Ok(());
        };
        if now.saturating_duration_since(window.started) >= WINDOW {
            *window = Window {
                started: now,
                count: 0,
            };
        }
        if window.count >= self.per_minute {
            let left = WINDOW.saturating_sub(now.saturating_duration_since(window.started));
            return Err(left.as_secs_f64().ceil().max(1.0) as u64);
        }
        window.count += 1;
        Ok(())
    }

    pub fn check(&self, ip: IpAddr) -> Result<(), u64> {
        self.check_at(ip, Instant::now())
    }

    #[cfg(test)]
    fn tracked(&self) -> usize {
        self.inner.lock().map(|g| g.windows.len()).unwrap_or(0)
    }
}

fn retry_after(mut res: Response, seconds: u64) -> Response {
    if let Ok(v) = HeaderValue::from_str(&seconds.to_string()) {
        res.headers_mut().insert(header::RETRY_AFTER, v);
    }
    res
}

/// The limit on an OAuth JSON endpoint: 429 `too_many_requests` with
/// `Retry-After`.
pub async fn limit_json(
    State(limiter): State<Arc<RateLimiter>>,
    req: Request,
    next: Next,
) -> Response {
    if let Some(ip) = peer_ip(req.extensions())
        && let Err(seconds) = limiter.check(ip)
    {
        let res = ApiError::Http(HttpError::TooManyRequests).into_response();
        return retry_after(res, seconds);
    }
    next.run(req).await
}

/// The limit on the hosted pages' form posts and on `GET u/login/upstream`
/// (each makes a stored login and may fetch the provider's metadata): an
/// HTML 429 with `Retry-After`. Other page views (GET) are not counted.
pub async fn limit_pages(
    State((limiter, branding)): State<(Arc<RateLimiter>, Arc<Branding>)>,
    req: Request,
    next: Next,
) -> Response {
    if (req.method() == Method::POST || req.uri().path().ends_with("/u/login/upstream"))
        && let Some(ip) = peer_ip(req.extensions())
        && let Err(seconds) = limiter.check(ip)
    {
        let res = html::error_page(
            &branding,
            StatusCode::TOO_MANY_REQUESTS,
            "Too many requests",
            "Too many requests from your network. Wait a minute and try again.",
        );
        return retry_after(res, seconds);
    }
    next.run(req).await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_per_address_per_minute() {
        let l = RateLimiter::new(3);
        let a: IpAddr = "192.0.2.1".parse().unwrap();
        let b: IpAddr = "192.0.2.2".parse().unwrap();
        let t0 = Instant::now();
        for _ in 0..3 {
            assert_eq!(l.check_at(a, t0), Ok(()));
        }
        let wait = l.check_at(a, t0 + Duration::from_secs(20)).unwrap_err();
        assert_eq!(wait, 40);
        assert_eq!(
            l.check_at(b, t0),
            Ok(()),
            "another address has its own count"
        );
        assert_eq!(l.check_at(a, t0 + WINDOW), Ok(()), "a new window");
    }

    #[test]
    fn zero_disables() {
        let l = RateLimiter::new(0);
        let a: IpAddr = "192.0.2.1".parse().unwrap();
        for _ in 0..1000 {
            assert_eq!(l.check(a), Ok(()));
        }
    }

    #[test]
    fn the_map_is_bounded_and_pruned() {
        let l = RateLimiter::with_capacity(1, 4);
        let t0 = Instant::now();
        for i in 0..10u8 {
            let ip = IpAddr::from([198, 51, 100, i]);
            assert_eq!(l.check_at(ip, t0), Ok(()));
        }
        assert_eq!(
            l.tracked(),
            4,
            "new addresses beyond the bound go untracked"
        );
        let later = t0 + WINDOW + Duration::from_secs(1);
        assert_eq!(l.check_at(IpAddr::from([203, 0, 113, 1]), later), Ok(()));
        assert_eq!(l.tracked(), 1, "expired windows were pruned");
    }

    #[test]
    fn ipv6_counts_per_64() {
        let a: IpAddr = "2001:db8:1:2:aaaa::1".parse().unwrap();
        let b: IpAddr = "2001:db8:1:2:bbbb::2".parse().unwrap();
        assert_eq!(limit_key(a), limit_key(b));
        let mapped: IpAddr = "::ffff:192.0.2.7".parse().unwrap();
        assert_eq!(limit_key(mapped), "192.0.2.7".parse::<IpAddr>().unwrap());
    }
}
