//! Request rates (issue #13): a token bucket per API key (its own rate, else the configured
//! default) and per client address for anonymous callers, and a cap on requests in flight.
//! The buckets are `governor`'s (GCRA); what is ours is whom they count and what a caller is
//! told: how many requests remain, when the bucket is full again, how long to wait.
//!
//! Rates apply while authentication is on (keys carry them); on a loopback service with auth
//! off only the in-flight cap applies. The default can be changed at run time
//! ([`RateLimits::set_default`]): buckets built on the old default start over, keys with a
//! rate of their own keep theirs, and no connection is dropped.

use crate::models::auth::scope::Rate;
use crate::models::worker_memo;
use governor::clock::{Clock, DefaultClock};
use governor::middleware::{StateInformationMiddleware, StateSnapshot};
use governor::state::keyed::DefaultKeyedStateStore;
use governor::state::{InMemoryState, NotKeyed};
use governor::{NotUntil, Quota, RateLimiter};
use parking_lot::{Mutex, RwLock};
use std::net::IpAddr;
use std::num::NonZeroU32;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::time::{Duration, Instant};

type Direct = RateLimiter<NotKeyed, InMemoryState, DefaultClock, StateInformationMiddleware>;
type ByAddress =
    RateLimiter<IpAddr, DefaultKeyedStateStore<IpAddr>, DefaultClock, StateInformationMiddleware>;

/// Anonymous buckets untouched this long are dropped (memory stays bounded by active clients).
const SWEEP_EVERY: Duration = Duration::from_secs(60);

/// The answer for one request: the bucket's size, what is left, seconds until it is full;
/// `retry_after` (seconds) when the request is refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Verdict {
    pub limit: u32,
    pub remaining: u32,
    pub reset_secs: u64,
    pub retry_after: Option<u64>,
}

/// A rate and burst as a GCRA quota (`count` per `per`, bursts up to `burst`).
pub fn quota(rate: Rate, burst: u32) -> Quota {
    let period = (rate.per / rate.count).max(Duration::from_nanos(1));
    let burst = NonZeroU32::new(burst.max(1)).expect("at least 1");
    Quota::with_period(period)
        .expect("a positive period")
        .allow_burst(burst)
}

fn secs_ceil(d: Duration) -> u64 {
    d.as_secs() + u64::from(d.subsec_nanos() > 0)
}

fn verdict(outcome: Result<StateSnapshot, NotUntil<<DefaultClock as Clock>::Instant>>) -> Verdict {
    match outcome {
        Ok(state) => {
            let q = state.quota();
            let limit = q.burst_size().get();
            let remaining = state.remaining_burst_capacity();
            let refill = q.replenish_interval() * (limit - remaining.min(limit));
            Verdict {
                limit,
                remaining,
                reset_secs: secs_ceil(refill),
                retry_after: None,
            }
        }
        Err(not_until) => {
            let q = not_until.quota();
            let limit = q.burst_size().get();
            let wait = not_until.wait_time_from(DefaultClock::default().now());
            Verdict {
                limit,
                remaining: 0,
                reset_secs: secs_ceil(q.replenish_interval() * limit),
                retry_after: Some(secs_ceil(wait).max(1)),
            }
        }
    }
}

struct Defaults {
    rate: Rate,
    burst: u32,
    anonymous: Arc<ByAddress>,
}

/// A key's bucket as this worker last found it (a [`worker_memo`] entry): the next request by the same key goes
/// straight to the bucket, without the two locks of the shared tables (their lock words were
/// bounced between the two cores on every request). Good while the set's `generation` and the
/// key's own rate are the ones it was found with.
struct Remembered {
    set: u64,
    generation: u64,
    key: Box<str>,
    own: (Option<Rate>, Option<u32>),
    bucket: Arc<Direct>,
}

thread_local! {
    static BUCKETS: std::cell::RefCell<Vec<Remembered>> = const { std::cell::RefCell::new(Vec::new()) };
}

pub struct RateLimits {
    id: u64,
    /// Bumped when the default changes (the buckets built on it are dropped).
    generation: AtomicU64,
    defaults: RwLock<Defaults>,
    max_in_flight: AtomicUsize,
    /// One bucket per key id, with the quota it was built for.
    keys: RwLock<hashbrown::HashMap<String, (Quota, Arc<Direct>)>>,
    swept: Mutex<Instant>,
}

impl RateLimits {
    pub fn new(rate: Rate, burst: u32, max_in_flight: usize) -> Self {
        Self {
            id: worker_memo::instance_id(),
            generation: AtomicU64::new(0),
            max_in_flight: AtomicUsize::new(max_in_flight),
            defaults: RwLock::new(Defaults {
                rate,
                burst,
                anonymous: Arc::new(RateLimiter::keyed(quota(rate, burst)).with_middleware()),
            }),
            keys: RwLock::new(hashbrown::HashMap::new()),
            swept: Mutex::new(Instant::now()),
        }
    }

    /// Requests handled at once before new ones get 503.
    pub fn max_in_flight(&self) -> usize {
        self.max_in_flight.load(Ordering::Relaxed)
    }

    pub fn set_max_in_flight(&self, n: usize) {
        self.max_in_flight.store(n, Ordering::Relaxed);
    }

    /// The default rate and burst now.
    pub fn default_rate(&self) -> (Rate, u32) {
        let d = self.defaults.read();
        (d.rate, d.burst)
    }

    /// Changes the default at run time.
    pub fn set_default(&self, rate: Rate, burst: u32) {
        let mut d = self.defaults.write();
        *d = Defaults {
            rate,
            burst,
            anonymous: Arc::new(RateLimiter::keyed(quota(rate, burst)).with_middleware()),
        };
        // buckets built on the old default are rebuilt on their next request
        self.keys.write().clear();
        self.generation.fetch_add(1, Ordering::Release);
    }

    /// One request by key `id`, whose own rate (if any) wins over the default.
    pub fn check_key(&self, id: &str, own: Option<Rate>, own_burst: Option<u32>) -> Verdict {
        // read before the tables: a change after this makes the memo entry stale, not wrong
        let generation = self.generation.load(Ordering::Acquire);
        let outcome = BUCKETS.with_borrow(|memo| {
            memo.iter()
                .find(|b| {
                    b.set == self.id
                        && b.generation == generation
                        && b.own == (own, own_burst)
                        && *b.key == *id
                })
                .map(|b| b.bucket.check())
        });
        if let Some(outcome) = outcome {
            return verdict(outcome);
        }
        let bucket = self.shared_bucket(id, own, own_burst);
        let entry = Remembered {
            set: self.id,
            generation,
            key: id.into(),
            own: (own, own_burst),
            bucket: bucket.clone(),
        };
        BUCKETS.with_borrow_mut(|memo| {
            worker_memo::remember(memo, entry, |b| b.set == self.id && *b.key == *id)
        });
        verdict(bucket.check())
    }

    /// The bucket of key `id` in the shared table, built (or rebuilt for a changed rate) here.
    fn shared_bucket(&self, id: &str, own: Option<Rate>, own_burst: Option<u32>) -> Arc<Direct> {
        let wanted = {
            let d = self.defaults.read();
            quota(own.unwrap_or(d.rate), own_burst.unwrap_or(d.burst))
        };
        if let Some((q, bucket)) = self.keys.read().get(id)
            && *q == wanted
        {
            return bucket.clone();
        }
        let fresh = || {
            (
                wanted,
                Arc::new(RateLimiter::direct(wanted).with_middleware()),
            )
        };
        let mut keys = self.keys.write();
        let entry = keys.entry(id.to_string()).or_insert_with(fresh);
        if entry.0 != wanted {
            *entry = fresh();
        }
        entry.1.clone()
    }

    /// One anonymous request from `addr`.
    pub fn check_address(&self, addr: IpAddr) -> Verdict {
        let anonymous = self.defaults.read().anonymous.clone();
        self.sweep(&anonymous);
        verdict(anonymous.check_key(&addr))
    }

    fn sweep(&self, anonymous: &ByAddress) {
        let Some(mut last) = self.swept.try_lock() else {
            return;
        };
        if last.elapsed() >= SWEEP_EVERY {
            *last = Instant::now();
            anonymous.retain_recent();
            anonymous.shrink_to_fit();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn buckets_refuse_past_the_burst_and_say_when_to_retry() {
        let limits = RateLimits::new(Rate::parse("60/min").unwrap(), 3, 10);
        let first = limits.check_key("k", None, None);
        assert_eq!(
            (first.limit, first.remaining, first.retry_after),
            (3, 2, None)
        );
        limits.check_key("k", None, None);
        limits.check_key("k", None, None);
        let refused = limits.check_key("k", None, None);
        assert_eq!(refused.remaining, 0);
        assert_eq!(
            refused.retry_after,
            Some(1),
            "one request per second comes back"
        );
        // another key, and a key with its own rate, have their own buckets
        assert!(limits.check_key("other", None, None).retry_after.is_none());
        let own = limits.check_key("own", Some(Rate::parse("10/s").unwrap()), Some(20));
        assert_eq!((own.limit, own.remaining), (20, 19));
        // anonymous callers by address
        let a: IpAddr = "127.0.0.1".parse().unwrap();
        for _ in 0..3 {
            assert!(limits.check_address(a).retry_after.is_none());
        }
        assert!(limits.check_address(a).retry_after.is_some());
        assert!(
            limits
                .check_address("::1".parse().unwrap())
                .retry_after
                .is_none()
        );
        // a new default starts the default buckets over
        limits.set_default(Rate::parse("600/min").unwrap(), 5);
        let after = limits.check_key("k", None, None);
        assert_eq!((after.limit, after.remaining), (5, 4));
        assert_eq!(limits.check_address(a).limit, 5);
    }
}
