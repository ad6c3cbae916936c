//! Abuse resistance: the HTTP server's tunables (timeouts, connection caps,
//! body limit, proxy trust) and in-process token-bucket rate limits.
//!
//! Each API instance limits on its own: behind a balancer with N instances a
//! client can get up to N times the configured rate. The buckets hold at most
//! [`MAX_KEYS`] keys each, so an attacker rotating addresses cannot grow
//! memory without bound.

use std::collections::HashMap;
use std::net::{IpAddr, SocketAddr};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use axum::extract::ConnectInfo;
use axum::http::HeaderMap;

/// Keys per limiter before idle (fully refilled) buckets are dropped.
pub const MAX_KEYS: usize = 65_536;

/// `amount` events per `per`, with bursts up to `amount`. `amount == 0` disables the limit.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RateLimit {
    pub amount: u32,
    pub per: Duration,
}

impl RateLimit {
    pub const fn new(amount: u32, per_seconds: u64) -> RateLimit {
        RateLimit {
            amount,
            per: Duration::from_secs(per_seconds),
        }
    }

    pub const fn disabled() -> RateLimit {
        RateLimit::new(0, 1)
    }

    fn enabled(&self) -> bool {
        self.amount > 0 && !self.per.is_zero()
    }

    /// Tokens regained per second.
    fn refill_per_second(&self) -> f64 {
        self.amount as f64 / self.per.as_secs_f64()
    }

    /// Parses `AMOUNT/SECONDS` (e.g. `10/60`: ten per minute) or `0` (off).
    pub fn parse(text: &str) -> Result<RateLimit, String> {
        if text.trim() == "0" {
            return Ok(RateLimit::disabled());
        }
        let (amount, seconds) = text
            .split_once('/')
            .ok_or_else(|| format!("{text:?}: expected AMOUNT/SECONDS, e.g. 10/60, or 0"))?;
        let amount: u32 = amount
            .trim()
            .parse()
            .map_err(|_| format!("{text:?}: {amount:?} is not a whole number"))?;
        let seconds: u64 = seconds
            .trim()
            .parse()
            .map_err(|_| format!("{text:?}: {seconds:?} is not a whole number of seconds"))?;
        if seconds == 0 {
            return Err(format!("{text:?}: the period must be at least 1 second"));
        }
        Ok(RateLimit::new(amount, seconds))
    }
}

impl std::fmt::Display for RateLimit {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        if self.enabled() {
            write!(f, "{}/{}", self.amount, self.per.as_secs())
        } else {
            f.write_str("0")
        }
    }
}

/// The HTTP server's hygiene settings. The defaults are production values,
/// generous for normal use; tests shrink some.
#[derive(Debug, Clone)]
pub struct HttpSettings {
    /// A connection must send a request's complete headers within this time
    /// (also the longest a kept-alive connection may sit idle).
    pub header_read_timeout: Duration,
    /// A request (reading its body, doing the work, answering) must finish
    /// within this time, else 503 `request_timeout`.
    pub request_timeout: Duration,
    /// Open connections across all clients; more are accepted and closed at once.
    pub max_connections: usize,
    /// Open connections from one client address.
    pub max_connections_per_address: usize,
    /// Request bodies above this are answered 413 on every route.
    pub max_body_bytes: usize,
    /// Take the client address from the last `X-Forwarded-For` entry (only
    /// behind a proxy or balancer that sets it; otherwise clients could pick
    /// their own address and dodge the limits).
    pub trust_proxy: bool,
    /// Serve `/metrics` without the admin token (e.g. when only a private
    /// network reaches the instance).
    pub metrics_public: bool,
    /// `POST /v1/devices/pair` attempts per client address.
    pub pairing_attempts: RateLimit,
    /// Failed authentications (bad, unknown or revoked tokens) per client address.
    pub failed_auth: RateLimit,
    /// `POST /v1/pairing-codes` per device.
    pub pairing_codes: RateLimit,
}

impl Default for HttpSettings {
    fn default() -> HttpSettings {
        HttpSettings {
            header_read_timeout: Duration::from_secs(20),
            request_timeout: Duration::from_secs(300),
            max_connections: 4096,
            max_connections_per_address: 256,
            max_body_bytes: 2 << 20,
            trust_proxy: false,
            metrics_public: false,
            pairing_attempts: RateLimit::new(10, 60),
            failed_auth: RateLimit::new(60, 60),
            pairing_codes: RateLimit::new(20, 3600),
        }
    }
}

/// The address a request is attributed to for limits and logs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct ClientAddr(pub Option<IpAddr>);

impl ClientAddr {
    /// The peer address, or the last `X-Forwarded-For` entry when the proxy is trusted.
    pub fn of(
        connect_info: Option<&ConnectInfo<SocketAddr>>,
        headers: &HeaderMap,
        trust_proxy: bool,
    ) -> ClientAddr {
        if trust_proxy {
            // Only the last entry (the one our balancer appended) is trusted;
            // earlier ones are whatever the client sent.
            let forwarded = headers
                .get_all("x-forwarded-for")
                .iter()
                .next_back()
                .and_then(|value| value.to_str().ok())
                .and_then(|value| value.rsplit(',').next())
                .and_then(|entry| entry.trim().parse::<IpAddr>().ok());
            if forwarded.is_some() {
                return ClientAddr(forwarded);
            }
        }
        ClientAddr(connect_info.map(|info| info.0.ip()))
    }

    pub fn key(&self) -> String {
        match self.0 {
            Some(ip) => ip.to_string(),
            None => "unknown".to_string(),
        }
    }
}

#[derive(Debug)]
struct Bucket {
    tokens: f64,
    updated: Instant,
}

/// A token bucket per key (client address or device), bounded in memory.
#[derive(Debug)]
pub struct Limiter {
    limit: RateLimit,
    buckets: Mutex<HashMap<String, Bucket>>,
}

impl Limiter {
    pub fn new(limit: RateLimit) -> Limiter {
        Limiter {
            limit,
            buckets: Mutex::new(HashMap::new()),
        }
    }

    fn refreshed(&self, bucket: &mut Bucket, now: Instant) {
        let elapsed = now.saturating_duration_since(bucket.updated).as_secs_f64();
        bucket.tokens = (bucket.tokens + elapsed * self.limit.refill_per_second())
            .min(self.limit.amount as f64);
        bucket.updated = now;
    }

    fn retry_after(&self, tokens: f64) -> Duration {
        let missing = (1.0 - tokens).max(0.0);
        Duration::from_secs_f64(missing / self.limit.refill_per_second())
    }

    /// Runs `f` on the key's bucket (created full), dropping idle buckets when full.
    fn with_bucket<T>(&self, key: &str, f: impl FnOnce(&mut Bucket) -> T) -> T {
        let now = Instant::now();
        let mut buckets = self.buckets.lock().unwrap_or_else(|e| e.into_inner());
        if !buckets.contains_key(key) && buckets.len() >= MAX_KEYS {
            let full = self.limit.amount as f64;
            let refill = self.limit.refill_per_second();
            buckets.retain(|_, bucket| {
                bucket.tokens + now.saturating_duration_since(bucket.updated).as_secs_f64() * refill
                    < full
            });
            if buckets.len() >= MAX_KEYS {
                // Every key is mid-burst: forget the one closest to full.
                if let Some(victim) = buckets
                    .iter()
                    .max_by(|a, b| a.1.tokens.total_cmp(&b.1.tokens))
                    .map(|(key, _)| key.clone())
                {
                    buckets.remove(&victim);
                }
            }
        }
        let bucket = buckets.entry(key.to_string()).or_insert(Bucket {
            tokens: self.limit.amount as f64,
            updated: now,
        });
        self.refreshed(bucket, now);
        f(bucket)
    }

    /// Takes one token, or says how long until one is available.
    pub fn acquire(&self, key: &str) -> Result<(), Duration> {
        if !self.limit.enabled() {
            return Ok(());
        }
        self.with_bucket(key, |bucket| {
            if bucket.tokens >= 1.0 {
                bucket.tokens -= 1.0;
                Ok(())
            } else {
                Err(self.retry_after(bucket.tokens))
            }
        })
    }

    /// Whether a token is available, without taking it.
    pub fn check(&self, key: &str) -> Result<(), Duration> {
        if !self.limit.enabled() {
            return Ok(());
        }
        self.with_bucket(key, |bucket| {
            if bucket.tokens >= 1.0 {
                Ok(())
            } else {
                Err(self.retry_after(bucket.tokens))
            }
        })
    }

    /// Takes a token if one is left (a failure that happened anyway).
    pub fn record(&self, key: &str) {
        if self.limit.enabled() {
            self.with_bucket(key, |bucket| bucket.tokens = (bucket.tokens - 1.0).max(0.0));
        }
    }

    pub fn keys(&self) -> usize {
        self.buckets.lock().map(|b| b.len()).unwrap_or(0)
    }
}

tokio::task_local! {
    /// The body limit of the request being handled (set by the HTTP middleware).
    pub static BODY_LIMIT: usize;
}

/// The body limit in force for the current request.
pub fn current_body_limit() -> usize {
    BODY_LIMIT
        .try_with(|limit| *limit)
        .unwrap_or_else(|_| HttpSettings::default().max_body_bytes)
}

/// Whole seconds for `Retry-After`, never 0 (a client retrying at once would be refused again).
pub fn retry_after_seconds(wait: Duration) -> u64 {
    wait.as_secs_f64().ceil().max(1.0) as u64
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bursts_then_refuses_with_a_wait() {
        let limiter = Limiter::new(RateLimit::new(3, 60));
        for _ in 0..3 {
            limiter.acquire("a").unwrap();
        }
        let wait = limiter.acquire("a").unwrap_err();
        assert!(wait > Duration::from_secs(15) && wait <= Duration::from_secs(20));
        assert_eq!(retry_after_seconds(wait), wait.as_secs_f64().ceil() as u64);
        // Another key is unaffected.
        limiter.acquire("b").unwrap();
    }

    #[test]
    fn check_and_record_count_only_failures() {
        let limiter = Limiter::new(RateLimit::new(2, 60));
        limiter.check("a").unwrap();
        limiter.check("a").unwrap();
        limiter.check("a").unwrap();
        limiter.record("a");
        limiter.record("a");
        assert!(limiter.check("a").is_err());
    }

    #[test]
    fn disabled_never_refuses() {
        let limiter = Limiter::new(RateLimit::disabled());
        for _ in 0..1000 {
            limiter.acquire("a").unwrap();
        }
        assert_eq!(limiter.keys(), 0);
    }

    #[test]
    fn memory_is_bounded() {
        let limiter = Limiter::new(RateLimit::new(1, 3600));
        for i in 0..(MAX_KEYS + 100) {
            let _ = limiter.acquire(&i.to_string());
        }
        assert!(limiter.keys() <= MAX_KEYS);
    }

    #[test]
    fn parses_rates() {
        assert_eq!(RateLimit::parse("10/60").unwrap(), RateLimit::new(10, 60));
        assert_eq!(RateLimit::parse("0").unwrap(), RateLimit::disabled());
        assert!(RateLimit::parse("10").is_err());
        assert!(RateLimit::parse("10/0").is_err());
        assert_eq!(RateLimit::new(5, 30).to_string(), "5/30");
    }

    #[test]
    fn forwarded_for_only_when_trusted() {
        let mut headers = HeaderMap::new();
        headers.insert(
            "x-forwarded-for",
            "203.0.113.9, 198.51.100.7".parse().unwrap(),
        );
        let peer = ConnectInfo("127.0.0.1:5000".parse::<SocketAddr>().unwrap());
        assert_eq!(
            ClientAddr::of(Some(&peer), &headers, false).key(),
            "127.0.0.1"
        );
        assert_eq!(
            ClientAddr::of(Some(&peer), &headers, true).key(),
            "198.51.100.7"
        );
        assert_eq!(
            ClientAddr::of(None, &HeaderMap::new(), false).key(),
            "unknown"
        );
    }
}
