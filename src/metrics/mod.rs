//! Prometheus metrics (issue #13), served at `GET /metrics` in the text exposition format.
//!
//! The machinery is the `prometheus` crate's; what is ours is what is counted and how it is
//! named (`ipfs_mcp_` prefix, `_total` counters, `_seconds` and `_bytes` units):
//! * per request, in the `observe` middleware: requests by route, method and status, latency
//!   histograms, bytes in and bytes actually sent (a HEAD sends none);
//! * per backend call, in `backend::breaker::GuardedBackend`: calls, errors by kind, latency;
//! * refusals: authentication failures by reason, rate-limit and overload rejections;
//! * read at scrape time from the models ([`state::StateCollector`]): every cache tier's hits,
//!   misses, bytes, items, evictions, promotions and demotions, the metadata's rows and
//!   flushes, the breaker's state, requests in flight;
//! * the process (`process_*`: RSS, CPU seconds, open fds), the crate's collector.
//!
//! `route` is the operation name (`ipfs/cat`, `gateway/ipfs`), never a raw path: its values are
//! the route table's, so the label's cardinality is bounded.
//!
//! Hot path: the labelled children of one route, method and status are looked up once per
//! worker thread and kept (`HANDLES`), so a request costs a few atomic increments, not a hash
//! of its label strings in every vector.

pub mod state;

use crate::backend::BackendError;
use actix_web::http::Method;
use hashbrown::HashMap;
use prometheus::{
    Histogram, HistogramOpts, HistogramVec, IntCounter, IntCounterVec, Opts, Registry, TextEncoder,
};
use std::cell::RefCell;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

/// Latency buckets, in seconds: 100 µs (a cached read) to a minute (a large add).
const LATENCY_BUCKETS: &[f64] = &[
    0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5,
    5.0, 10.0, 30.0, 60.0,
];

/// A registry that remembers the names of what it holds (a family without samples yet, such
/// as a counter of failures that never happened, is declared though not served).
pub struct Names {
    pub registry: Registry,
    declared: parking_lot::Mutex<Vec<String>>,
}

impl Names {
    pub fn register(&self, c: Box<dyn prometheus::core::Collector>) {
        let names = c
            .desc()
            .iter()
            .map(|d| d.fq_name.clone())
            .collect::<Vec<_>>();
        self.registry.register(c).expect("unique metric");
        self.declared.lock().extend(names);
    }
}

fn counter_vec(names: &Names, name: &str, help: &str, labels: &[&str]) -> IntCounterVec {
    let v = IntCounterVec::new(Opts::new(name, help), labels).expect("valid metric");
    names.register(Box::new(v.clone()));
    v
}

fn histogram_vec(names: &Names, name: &str, help: &str, labels: &[&str]) -> HistogramVec {
    let opts = HistogramOpts::new(name, help).buckets(LATENCY_BUCKETS.to_vec());
    let v = HistogramVec::new(opts, labels).expect("valid metric");
    names.register(Box::new(v.clone()));
    v
}

/// The backend's calls, by operation (`cat`, `pin_add`, ...).
pub struct BackendMetrics {
    calls: IntCounterVec,
    errors: IntCounterVec,
    duration: HistogramVec,
}

impl BackendMetrics {
    fn new(registry: &Names) -> Self {
        Self {
            calls: counter_vec(
                registry,
                "ipfs_mcp_backend_calls_total",
                "Calls to the IPFS backend, by operation.",
                &["operation"],
            ),
            errors: counter_vec(
                registry,
                "ipfs_mcp_backend_errors_total",
                "Backend calls that failed, by operation and error kind.",
                &["operation", "kind"],
            ),
            duration: histogram_vec(
                registry,
                "ipfs_mcp_backend_call_duration_seconds",
                "Latency of backend calls, by operation (until the call returns; a stream's \
                 body is read after).",
                &["operation"],
            ),
        }
    }

    pub fn observe(&self, operation: &str, took: Duration, error: Option<&BackendError>) {
        self.calls.with_label_values(&[operation]).inc();
        self.duration
            .with_label_values(&[operation])
            .observe(took.as_secs_f64());
        if let Some(e) = error {
            self.errors.with_label_values(&[operation, e.kind()]).inc();
        }
    }
}

/// The labelled children of one (route, method, status).
struct Handles {
    requests: IntCounter,
    duration: Histogram,
    bytes_in: IntCounter,
    bytes_out: IntCounter,
}

/// Metrics instance, status, method.
type HandleKey = (u64, u16, &'static str);

thread_local! {
    /// Per metrics instance (several run in one test process), status and method: route ->
    /// handles.
    static HANDLES: RefCell<HashMap<HandleKey, HashMap<String, Handles>>> =
        RefCell::new(HashMap::new());
}

/// The `error_type`s an authentication or authorization refusal can have.
const AUTH_FAILURE_REASONS: [&str; 5] = [
    "unauthenticated",
    "invalid_credentials",
    "credentials_expired",
    "credentials_revoked",
    "insufficient_scope",
];

static NEXT_ID: AtomicU64 = AtomicU64::new(0);

/// The method as a label: the standard ones by name, any other as `OTHER` (a client may send
/// any token as a method; the label must stay bounded).
fn method_label(m: &Method) -> &'static str {
    const KNOWN: [(Method, &str); 9] = [
        (Method::GET, "GET"),
        (Method::HEAD, "HEAD"),
        (Method::POST, "POST"),
        (Method::PUT, "PUT"),
        (Method::DELETE, "DELETE"),
        (Method::OPTIONS, "OPTIONS"),
        (Method::PATCH, "PATCH"),
        (Method::CONNECT, "CONNECT"),
        (Method::TRACE, "TRACE"),
    ];
    KNOWN
        .iter()
        .find(|(k, _)| k == m)
        .map_or("OTHER", |(_, name)| name)
}

pub struct Metrics {
    id: u64,
    pub registry: Names,
    requests: IntCounterVec,
    duration: HistogramVec,
    bytes_in: IntCounterVec,
    bytes_out: IntCounterVec,
    pub backend: std::sync::Arc<BackendMetrics>,
    auth_failures: IntCounterVec,
    rate_limited: IntCounterVec,
    overloaded: IntCounter,
}

impl Default for Metrics {
    fn default() -> Self {
        Self::new()
    }
}

impl Metrics {
    pub fn new() -> Self {
        let registry = Names {
            registry: Registry::new(),
            declared: Default::default(),
        };
        #[cfg(target_os = "linux")]
        registry.register(Box::new(
            prometheus::process_collector::ProcessCollector::for_self(),
        ));
        let overloaded = IntCounter::new(
            "ipfs_mcp_overload_rejections_total",
            "Requests refused with 503 because too many were in flight.",
        )
        .expect("valid metric");
        registry.register(Box::new(overloaded.clone()));
        let auth_failures = counter_vec(
            &registry,
            "ipfs_mcp_auth_failures_total",
            "Requests refused by authentication or authorization, by reason.",
            &["reason"],
        );
        let rate_limited = counter_vec(
            &registry,
            "ipfs_mcp_rate_limit_rejections_total",
            "Requests refused with 429, by caller kind (key or address).",
            &["caller"],
        );
        // known label values start at 0, so a rate() over them exists before the first event
        for reason in AUTH_FAILURE_REASONS {
            auth_failures.with_label_values(&[reason]);
        }
        for caller in ["key", "address"] {
            rate_limited.with_label_values(&[caller]);
        }
        Self {
            id: NEXT_ID.fetch_add(1, Ordering::Relaxed),
            requests: counter_vec(
                &registry,
                "ipfs_mcp_http_requests_total",
                "HTTP requests answered, by route, method and status.",
                &["route", "method", "status"],
            ),
            duration: histogram_vec(
                &registry,
                "ipfs_mcp_http_request_duration_seconds",
                "Time to the response head (a streamed body is sent after), by route and method.",
                &["route", "method"],
            ),
            bytes_in: counter_vec(
                &registry,
                "ipfs_mcp_http_request_bytes_total",
                "Request body bytes declared by clients, by route.",
                &["route"],
            ),
            bytes_out: counter_vec(
                &registry,
                "ipfs_mcp_http_response_bytes_total",
                "Response body bytes sent, by route (HEAD answers send none).",
                &["route"],
            ),
            backend: std::sync::Arc::new(BackendMetrics::new(&registry)),
            auth_failures,
            rate_limited,
            overloaded,
            registry,
        }
    }

    /// Every family registered, served or not yet.
    pub fn declared(&self) -> Vec<String> {
        self.registry.declared.lock().clone()
    }

    /// One answered request.
    pub fn observe_request(
        &self,
        route: &str,
        method: &Method,
        status: u16,
        took: Duration,
        bytes_in: u64,
        bytes_out: u64,
    ) {
        let method = method_label(method);
        HANDLES.with(|cache| {
            let mut cache = cache.borrow_mut();
            let by_route = cache.entry((self.id, status, method)).or_default();
            // one lookup on the hot path; the route's name is copied only when first seen
            let h = by_route.entry_ref(route).or_insert_with(|| Handles {
                requests: self
                    .requests
                    .with_label_values(&[route, method, &status.to_string()]),
                duration: self.duration.with_label_values(&[route, method]),
                bytes_in: self.bytes_in.with_label_values(&[route]),
                bytes_out: self.bytes_out.with_label_values(&[route]),
            });
            // used in place: cloning the handles would cost an atomic reference count each
            h.requests.inc();
            h.duration.observe(took.as_secs_f64());
            if bytes_in > 0 {
                h.bytes_in.inc_by(bytes_in);
            }
            if bytes_out > 0 {
                h.bytes_out.inc_by(bytes_out);
            }
        });
    }

    pub fn auth_failure(&self, reason: &str) {
        self.auth_failures.with_label_values(&[reason]).inc();
    }

    pub fn rate_limited(&self, by_key: bool) {
        let caller = if by_key { "key" } else { "address" };
        self.rate_limited.with_label_values(&[caller]).inc();
    }

    pub fn overloaded(&self) {
        self.overloaded.inc();
    }

    /// Everything registered, in the text exposition format.
    pub fn render(&self) -> String {
        TextEncoder::new()
            .encode_to_string(&self.registry.registry.gather())
            .unwrap_or_default()
    }
}
