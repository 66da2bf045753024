//! A circuit breaker around a backend that can fail (the Kubo node).
//!
//! States: **closed** (calls go through; consecutive failures are counted), **open** (after
//! `failure_threshold` consecutive failures: every call fails at once with 503 for
//! `recovery_ms`), **half-open** (after that time one trial call goes through; its success
//! closes the circuit, its failure opens it again). Only failures that say the node is sick
//! count: unreachable ([`BackendError::Unavailable`]) and too slow ([`BackendError::Timeout`]).
//! A "not found" or a bad argument is the node answering, so it counts as a success.
//!
//! [`GuardedBackend`] applies the breaker to every call of the [`Backend`] trait and reports
//! its state through `health()` (the same wrapper, without a breaker, times and traces every
//! call of any backend), so `/health` and `ipfs/stats` show it without knowing it
//! exists. The cache sits above the backend: while the circuit is open, cached content is
//! still served (content is immutable) and only misses fail fast.
//!
//! Invariant: a trial call that is dropped unfinished (the client went away) releases its
//! slot, so the breaker can never stay stuck half-open.

use super::*;
use crate::metrics::BackendMetrics;
use async_trait::async_trait;
use bytes::Bytes;
use cid::Cid;
use futures_util::StreamExt;
use parking_lot::Mutex;
use serde::{Deserialize, Serialize};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

/// Settings of the circuit breaker (`[backend.breaker]`).
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default)]
pub struct BreakerOptions {
    /// Consecutive failures that open the circuit.
    pub failure_threshold: u32,
    /// How long the circuit stays open before a trial call is let through, in milliseconds.
    pub recovery_ms: u64,
}

impl Default for BreakerOptions {
    fn default() -> Self {
        Self {
            failure_threshold: 5,
            recovery_ms: 10_000,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum BreakerState {
    Closed,
    Open,
    HalfOpen,
}

/// What `/health` and `ipfs/stats` show of the breaker.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct BreakerSnapshot {
    pub state: BreakerState,
    pub consecutive_failures: u32,
    pub failure_threshold: u32,
    pub recovery_ms: u64,
    /// Until the next trial call, while open.
    pub retry_in_ms: Option<u64>,
    /// Seconds since the last state change.
    pub in_state_seconds: f64,
    pub times_opened: u64,
    /// Calls answered at once with 503 because the circuit was open.
    pub rejected: u64,
    pub failures: u64,
    pub successes: u64,
    pub last_error: Option<String>,
}

struct State {
    state: BreakerState,
    consecutive_failures: u32,
    changed_at: Instant,
    trial_in_flight: bool,
    last_error: Option<String>,
}

pub struct CircuitBreaker {
    options: BreakerOptions,
    state: Mutex<State>,
    times_opened: AtomicU64,
    rejected: AtomicU64,
    failures: AtomicU64,
    successes: AtomicU64,
}

/// Leave to make one call; must be settled with [`CircuitBreaker::settle`]. Dropping it
/// unsettled frees a half-open trial slot without judging the node.
pub struct Admission<'a> {
    breaker: &'a CircuitBreaker,
    trial: bool,
    settled: bool,
}

impl Drop for Admission<'_> {
    fn drop(&mut self) {
        if self.trial && !self.settled {
            self.breaker.state.lock().trial_in_flight = false;
        }
    }
}

/// Whether an error says the node itself is failing.
pub fn is_node_failure(e: &BackendError) -> bool {
    matches!(e, BackendError::Unavailable(_) | BackendError::Timeout(_))
}

impl CircuitBreaker {
    pub fn new(options: BreakerOptions) -> Self {
        Self {
            options,
            state: Mutex::new(State {
                state: BreakerState::Closed,
                consecutive_failures: 0,
                changed_at: Instant::now(),
                trial_in_flight: false,
                last_error: None,
            }),
            times_opened: AtomicU64::new(0),
            rejected: AtomicU64::new(0),
            failures: AtomicU64::new(0),
            successes: AtomicU64::new(0),
        }
    }

    fn recovery(&self) -> Duration {
        Duration::from_millis(self.options.recovery_ms)
    }

    /// Lets a call through, or refuses it at once while the circuit is open.
    pub fn admit(&self) -> Result<Admission<'_>, BackendError> {
        let mut s = self.state.lock();
        let trial = match s.state {
            BreakerState::Closed => false,
            BreakerState::Open if s.changed_at.elapsed() >= self.recovery() => {
                s.state = BreakerState::HalfOpen;
                s.changed_at = Instant::now();
                s.trial_in_flight = true;
                true
            }
            BreakerState::HalfOpen if !s.trial_in_flight => {
                s.trial_in_flight = true;
                true
            }
            BreakerState::Open | BreakerState::HalfOpen => {
                self.rejected.fetch_add(1, Ordering::Relaxed);
                let retry_in = self.recovery().saturating_sub(s.changed_at.elapsed());
                return Err(BackendError::Unavailable(format!(
                    "circuit open: the node failed {} times in a row (last error: {}); \
                     uncached requests fail fast, next try in {:.1}s",
                    s.consecutive_failures,
                    s.last_error.as_deref().unwrap_or("unknown"),
                    retry_in.as_secs_f64()
                )));
            }
        };
        Ok(Admission {
            breaker: self,
            trial,
            settled: false,
        })
    }

    /// Records how an admitted call went.
    pub fn settle<T>(&self, mut admission: Admission<'_>, outcome: &Result<T, BackendError>) {
        admission.settled = true;
        match outcome {
            Err(e) if is_node_failure(e) => self.on_failure(e),
            _ => self.on_success(),
        }
    }

    pub fn on_success(&self) {
        self.successes.fetch_add(1, Ordering::Relaxed);
        let mut s = self.state.lock();
        s.consecutive_failures = 0;
        s.trial_in_flight = false;
        if s.state != BreakerState::Closed {
            tracing::info!("circuit closed: the node answers again");
            s.state = BreakerState::Closed;
            s.changed_at = Instant::now();
        }
    }

    /// A node failure, also one seen in the middle of a stream.
    pub fn on_failure(&self, e: &BackendError) {
        self.failures.fetch_add(1, Ordering::Relaxed);
        let mut s = self.state.lock();
        s.consecutive_failures = s.consecutive_failures.saturating_add(1);
        s.last_error = Some(e.to_string());
        s.trial_in_flight = false;
        let open = match s.state {
            BreakerState::HalfOpen => true,
            BreakerState::Closed => s.consecutive_failures >= self.options.failure_threshold,
            BreakerState::Open => false,
        };
        if open {
            tracing::warn!(failures = s.consecutive_failures, error = %e,
                recovery_ms = self.options.recovery_ms, "circuit opened: the node is failing");
            s.state = BreakerState::Open;
            s.changed_at = Instant::now();
            self.times_opened.fetch_add(1, Ordering::Relaxed);
        }
    }

    pub fn snapshot(&self) -> BreakerSnapshot {
        let s = self.state.lock();
        let retry_in_ms = (s.state == BreakerState::Open).then(|| {
            self.recovery()
                .saturating_sub(s.changed_at.elapsed())
                .as_millis() as u64
        });
        BreakerSnapshot {
            state: s.state,
            consecutive_failures: s.consecutive_failures,
            failure_threshold: self.options.failure_threshold,
            recovery_ms: self.options.recovery_ms,
            retry_in_ms,
            in_state_seconds: s.changed_at.elapsed().as_secs_f64(),
            times_opened: self.times_opened.load(Ordering::Relaxed),
            rejected: self.rejected.load(Ordering::Relaxed),
            failures: self.failures.load(Ordering::Relaxed),
            successes: self.successes.load(Ordering::Relaxed),
            last_error: s.last_error.clone(),
        }
    }
}

/// Any backend with its calls measured (`crate::metrics`) and traced (a client span per call,
/// `crate::telemetry::traces`), and, for one that can fail (the Kubo node), behind a circuit
/// breaker. One wrapper, so a call is timed, traced and judged once.
pub struct GuardedBackend {
    inner: Arc<dyn Backend>,
    breaker: Option<Arc<CircuitBreaker>>,
    metrics: Arc<BackendMetrics>,
}

impl GuardedBackend {
    /// `inner` with every call counted and timed by operation; behind a breaker when
    /// `breaker` is given.
    pub fn new(
        inner: Arc<dyn Backend>,
        breaker: Option<BreakerOptions>,
        metrics: Arc<BackendMetrics>,
    ) -> Self {
        Self {
            inner,
            breaker: breaker.map(|o| Arc::new(CircuitBreaker::new(o))),
            metrics,
        }
    }

    /// Runs `call` (not yet polled) as operation `operation`: in a `backend <operation>` span
    /// when the request is traced, so the Kubo client sends that span on as `traceparent`.
    async fn guard<T>(
        &self,
        operation: &'static str,
        call: impl std::future::Future<Output = Result<T, BackendError>>,
    ) -> Result<T, BackendError> {
        use crate::telemetry::traces;
        use opentelemetry::context::FutureExt as _;
        let started = std::time::Instant::now();
        let span = traces::child(
            || format!("backend {operation}").into(),
            opentelemetry::trace::SpanKind::Client,
            || vec![opentelemetry::KeyValue::new("backend.operation", operation)],
        );
        let judged = async {
            match &self.breaker {
                Some(breaker) => {
                    let admission = breaker.admit()?;
                    let outcome = call.await;
                    breaker.settle(admission, &outcome);
                    outcome
                }
                None => call.await,
            }
        };
        let outcome = match &span {
            Some(cx) => judged.with_context(cx.clone()).await,
            None => judged.await,
        };
        if let Some(cx) = &span {
            let error = outcome.as_ref().err();
            traces::end(cx, error.map(|e| e as &dyn std::fmt::Display));
        }
        self.metrics
            .observe(operation, started.elapsed(), outcome.as_ref().err());
        outcome
    }
}

#[async_trait]
impl Backend for GuardedBackend {
    fn kind(&self) -> BackendKind {
        self.inner.kind()
    }

    fn breaker(&self) -> Option<BreakerSnapshot> {
        match &self.breaker {
            Some(b) => Some(b.snapshot()),
            None => self.inner.breaker(),
        }
    }

    /// The node's own answer (probed directly, so it shows recovery before any trial call),
    /// degraded while the circuit is not closed.
    async fn health(&self) -> BackendHealth {
        let mut health = self.inner.health().await;
        let Some(breaker) = &self.breaker else {
            return health;
        };
        let snapshot = breaker.snapshot();
        if snapshot.state != BreakerState::Closed && health.state == BackendState::Up {
            health.state = BackendState::Degraded;
            health.detail = format!(
                "{}; circuit {:?}: uncached requests fail fast",
                health.detail, snapshot.state
            );
        }
        health.breaker = Some(snapshot);
        health
    }

    async fn add_parts(&self, parts: AddParts, options: AddOptions) -> Result<Added, BackendError> {
        self.guard("add_parts", self.inner.add_parts(parts, options))
            .await
    }

    async fn stat(&self, path: &ContentPath) -> Result<NodeStat, BackendError> {
        self.guard("stat", self.inner.stat(path)).await
    }

    async fn has_local(&self, cid: &Cid) -> bool {
        self.guard("has_local", async { Ok(self.inner.has_local(cid).await) })
            .await
            .unwrap_or(false)
    }

    /// Failures in the middle of the stream count too.
    async fn cat(
        &self,
        path: &ContentPath,
        offset: u64,
        length: Option<u64>,
    ) -> Result<ByteStream, BackendError> {
        let stream = self
            .guard("cat", self.inner.cat(path, offset, length))
            .await?;
        let Some(breaker) = self.breaker.clone() else {
            return Ok(stream);
        };
        Ok(stream
            .inspect(move |item| {
                if let Err(e) = item
                    && is_node_failure(e)
                {
                    breaker.on_failure(e);
                }
            })
            .boxed())
    }

    async fn pin_add(&self, cid: &Cid, recursive: bool) -> Result<Vec<Cid>, BackendError> {
        self.guard("pin_add", self.inner.pin_add(cid, recursive))
            .await
    }
    async fn pin_rm(&self, cid: &Cid, recursive: bool) -> Result<Vec<Cid>, BackendError> {
        self.guard("pin_rm", self.inner.pin_rm(cid, recursive))
            .await
    }
    async fn pin_ls(&self, cid: Option<&Cid>, kind: PinFilter) -> Result<Vec<Pin>, BackendError> {
        self.guard("pin_ls", self.inner.pin_ls(cid, kind)).await
    }
    async fn block_put(
        &self,
        data: Bytes,
        options: BlockPutOptions,
    ) -> Result<BlockStat, BackendError> {
        self.guard("block_put", self.inner.block_put(data, options))
            .await
    }
    async fn block_get(&self, cid: &Cid) -> Result<Bytes, BackendError> {
        self.guard("block_get", self.inner.block_get(cid)).await
    }
    async fn block_rm(&self, cid: &Cid) -> Result<(), BackendError> {
        self.guard("block_rm", self.inner.block_rm(cid)).await
    }
    async fn block_stat(&self, cid: &Cid) -> Result<BlockStat, BackendError> {
        self.guard("block_stat", self.inner.block_stat(cid)).await
    }
    async fn dag_put(&self, dag_json: Bytes, options: DagPutOptions) -> Result<Cid, BackendError> {
        self.guard("dag_put", self.inner.dag_put(dag_json, options))
            .await
    }
    async fn dag_get(&self, path: &ContentPath) -> Result<serde_json::Value, BackendError> {
        self.guard("dag_get", self.inner.dag_get(path)).await
    }
    async fn dag_resolve(&self, path: &ContentPath) -> Result<DagResolved, BackendError> {
        self.guard("dag_resolve", self.inner.dag_resolve(path))
            .await
    }
    async fn name_publish(
        &self,
        value: &str,
        options: NamePublishOptions,
    ) -> Result<NamePublished, BackendError> {
        self.guard("name_publish", self.inner.name_publish(value, options))
            .await
    }
    async fn name_resolve(&self, name: &str) -> Result<String, BackendError> {
        self.guard("name_resolve", self.inner.name_resolve(name))
            .await
    }
    async fn name_resolve_ttl(
        &self,
        name: &str,
    ) -> Result<(String, Option<std::time::Duration>), BackendError> {
        self.guard("name_resolve_ttl", self.inner.name_resolve_ttl(name))
            .await
    }
    async fn name_record(&self, name: &str) -> Result<Bytes, BackendError> {
        self.guard("name_record", self.inner.name_record(name))
            .await
    }
    async fn name_put(&self, name: &str, record: Bytes) -> Result<(), BackendError> {
        self.guard("name_put", self.inner.name_put(name, record))
            .await
    }
    async fn find_providers(&self, cid: &Cid, limit: usize) -> Result<Vec<PeerInfo>, BackendError> {
        self.guard("find_providers", self.inner.find_providers(cid, limit))
            .await
    }
    async fn find_peer(&self, peer_id: &str) -> Result<PeerInfo, BackendError> {
        self.guard("find_peer", self.inner.find_peer(peer_id)).await
    }
    async fn id(&self) -> Result<NodeIdentity, BackendError> {
        self.guard("id", self.inner.id()).await
    }
    async fn import_car(
        &self,
        car: std::fs::File,
        roots: &[Cid],
        pin: bool,
    ) -> Result<(), BackendError> {
        self.guard("import_car", self.inner.import_car(car, roots, pin))
            .await
    }
    async fn stats(&self) -> Result<NodeStats, BackendError> {
        self.guard("stats", self.inner.stats()).await
    }
    async fn version(&self) -> Result<NodeVersion, BackendError> {
        self.guard("version", self.inner.version()).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn breaker(threshold: u32, recovery_ms: u64) -> CircuitBreaker {
        CircuitBreaker::new(BreakerOptions {
            failure_threshold: threshold,
            recovery_ms,
        })
    }

    fn down() -> Result<(), BackendError> {
        Err(BackendError::Unavailable("connection refused".into()))
    }

    #[test]
    fn opens_after_threshold_and_fails_fast() {
        let b = breaker(3, 60_000);
        for _ in 0..2 {
            let a = b.admit().unwrap();
            b.settle(a, &down());
        }
        assert_eq!(b.snapshot().state, BreakerState::Closed);
        let a = b.admit().unwrap();
        b.settle(a, &down());
        let snap = b.snapshot();
        assert_eq!((snap.state, snap.times_opened), (BreakerState::Open, 1));
        let Err(BackendError::Unavailable(msg)) = b.admit() else {
            panic!("an open circuit must refuse")
        };
        assert!(msg.contains("connection refused"), "{msg}");
        assert_eq!(b.snapshot().rejected, 1);
    }

    #[test]
    fn answers_that_are_not_node_failures_reset_the_count() {
        let b = breaker(2, 60_000);
        let a = b.admit().unwrap();
        b.settle(a, &down());
        let a = b.admit().unwrap();
        b.settle::<()>(a, &Err(BackendError::NotFound("no such block".into())));
        let a = b.admit().unwrap();
        b.settle(a, &down());
        assert_eq!(b.snapshot().state, BreakerState::Closed);
    }

    #[test]
    fn half_open_trial_closes_or_reopens() {
        let b = breaker(1, 20);
        let a = b.admit().unwrap();
        b.settle(a, &down());
        assert!(b.admit().is_err());
        std::thread::sleep(Duration::from_millis(30));
        let trial = b.admit().unwrap();
        assert_eq!(b.snapshot().state, BreakerState::HalfOpen);
        assert!(b.admit().is_err(), "one trial at a time");
        b.settle(trial, &down());
        assert_eq!(b.snapshot().state, BreakerState::Open);
        std::thread::sleep(Duration::from_millis(30));
        let trial = b.admit().unwrap();
        b.settle(trial, &Ok(()));
        assert_eq!(b.snapshot().state, BreakerState::Closed);
        assert!(b.admit().is_ok());
    }

    #[test]
    fn an_abandoned_trial_frees_its_slot() {
        let b = breaker(1, 10);
        let a = b.admit().unwrap();
        b.settle(a, &down());
        std::thread::sleep(Duration::from_millis(20));
        drop(b.admit().unwrap());
        assert!(b.admit().is_ok(), "the next call may try again");
    }
}
