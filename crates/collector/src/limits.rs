//! Rate limits on what arrives without a credential: a token bucket per client address (IPv6
//! by its /64, the block one subscriber holds) and one per page origin. A request over either
//! is answered 429 with the seconds to wait. Also each client's share of the body bytes held
//! at once.

use std::net::IpAddr;
use std::num::NonZeroU32;
use std::time::Duration;

use governor::clock::{Clock, DefaultClock};
use governor::{DefaultKeyedRateLimiter, Quota, RateLimiter};

/// A rate: requests per second, and how many may come at once.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Rate {
    /// Sustained requests per second.
    pub per_second: u32,
    /// Burst size.
    pub burst: u32,
}

impl Rate {
    fn quota(self) -> Quota {
        let one = NonZeroU32::MIN;
        Quota::per_second(NonZeroU32::new(self.per_second).unwrap_or(one))
            .allow_burst(NonZeroU32::new(self.burst).unwrap_or(one))
    }
}

/// The buckets of unauthenticated ingestion.
pub struct Limiter {
    by_client: DefaultKeyedRateLimiter<IpAddr>,
    by_origin: DefaultKeyedRateLimiter<String>,
    configured_origins: Vec<String>,
}

/// The key of a client address: IPv4 as is, IPv6 by its /64.
fn client_key(ip: IpAddr) -> IpAddr {
    match ip {
        IpAddr::V4(_) => ip,
        IpAddr::V6(v6) => {
            let mut segments = v6.segments();
            for s in segments.iter_mut().skip(4) {
                *s = 0;
            }
            IpAddr::from(segments)
        }
    }
}

impl Limiter {
    /// Buckets with these rates; origins not in `configured_origins` share one bucket, so made
    /// up `Origin` values earn no fresh buckets.
    pub fn new(client: Rate, origin: Rate, configured_origins: Vec<String>) -> Limiter {
        Limiter {
            by_client: RateLimiter::keyed(client.quota()),
            by_origin: RateLimiter::keyed(origin.quota()),
            configured_origins,
        }
    }

    /// `Ok` if a request from `ip` with `origin` may pass now, else how long to wait.
    pub fn check(&self, ip: IpAddr, origin: Option<&str>) -> Result<(), Duration> {
        let now = DefaultClock::default().now();
        let origin_key = match origin {
            Some(o) if self.configured_origins.iter().any(|c| c == o) => o.to_owned(),
            Some(_) => "(other origin)".to_owned(),
            None => "(no origin)".to_owned(),
        };
        self.by_client
            .check_key(&client_key(ip))
            .map_err(|n| n.wait_time_from(now))?;
        self.by_origin
            .check_key(&origin_key)
            .map_err(|n| n.wait_time_from(now))
    }

    /// Forgets buckets that are full again (run now and then, to keep memory bounded).
    pub fn forget_idle(&self) {
        self.by_client.retain_recent();
        self.by_origin.retain_recent();
    }
}

/// Seconds for a `Retry-After` header: the wait rounded up, at least 1.
pub fn retry_after_seconds(wait: Duration) -> u64 {
    wait.as_secs() + u64::from(wait.subsec_nanos() > 0).max(u64::from(wait.as_secs() == 0))
}

/// Body bytes each client address holds in unfinished requests, capped per client so that one
/// client's slow bodies cannot spend the whole shared budget.
pub struct BodyShares {
    held: std::sync::Mutex<std::collections::HashMap<IpAddr, usize>>,
    cap: usize,
}

/// One request's part of its client's share; given back when dropped.
pub struct BodyShare {
    shares: std::sync::Arc<BodyShares>,
    ip: IpAddr,
    bytes: usize,
}

impl BodyShares {
    /// Shares of at most `cap` bytes per client.
    pub fn new(cap: usize) -> std::sync::Arc<BodyShares> {
        std::sync::Arc::new(BodyShares {
            held: std::sync::Mutex::new(std::collections::HashMap::new()),
            cap,
        })
    }

    /// An empty part for a request from `ip`.
    pub fn open(shares: &std::sync::Arc<BodyShares>, ip: IpAddr) -> BodyShare {
        BodyShare {
            shares: shares.clone(),
            ip: client_key(ip),
            bytes: 0,
        }
    }
}

impl BodyShare {
    /// Adds `bytes` to the client's share if it stays within the cap.
    pub fn take(&mut self, bytes: usize) -> bool {
        let Ok(mut held) = self.shares.held.lock() else {
            return false;
        };
        let now = held.entry(self.ip).or_insert(0);
        if *now + bytes > self.shares.cap {
            return false;
        }
        *now += bytes;
        self.bytes += bytes;
        true
    }
}

impl Drop for BodyShare {
    fn drop(&mut self) {
        if let Ok(mut held) = self.shares.held.lock() {
            if let Some(now) = held.get_mut(&self.ip) {
                *now = now.saturating_sub(self.bytes);
                if *now == 0 {
                    held.remove(&self.ip);
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_client_past_its_burst_waits_and_others_do_not() {
        let limiter = Limiter::new(
            Rate {
                per_second: 1,
                burst: 3,
            },
            Rate {
                per_second: 1000,
                burst: 1000,
            },
            vec!["https://shop.test".into()],
        );
        let a: IpAddr = "10.0.0.1".parse().unwrap();
        for _ in 0..3 {
            assert!(limiter.check(a, Some("https://shop.test")).is_ok());
        }
        let wait = limiter.check(a, None).unwrap_err();
        assert!(wait <= Duration::from_secs(1));
        assert_eq!(retry_after_seconds(wait), 1);
        assert!(limiter.check("10.0.0.2".parse().unwrap(), None).is_ok());
        let v6a: IpAddr = "2001:db8::1".parse().unwrap();
        let v6b: IpAddr = "2001:db8::ffff:2".parse().unwrap();
        for _ in 0..3 {
            assert!(limiter.check(v6a, None).is_ok());
        }
        assert!(limiter.check(v6b, None).is_err(), "one /64 shares a bucket");
        assert_eq!(retry_after_seconds(Duration::from_millis(1500)), 2);
    }

    #[test]
    fn a_client_share_is_capped_and_given_back() {
        let shares = BodyShares::new(100);
        let ip: IpAddr = "10.0.0.1".parse().unwrap();
        let mut first = BodyShares::open(&shares, ip);
        assert!(first.take(60));
        let mut second = BodyShares::open(&shares, ip);
        assert!(
            !second.take(50),
            "the client's two bodies together pass the cap"
        );
        assert!(BodyShares::open(&shares, "10.0.0.2".parse().unwrap()).take(100));
        drop(first);
        assert!(second.take(100), "given back when the first request ends");
    }
}
