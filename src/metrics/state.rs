//! Figures the models already keep, read when Prometheus scrapes (nothing on the request
//! path): the cache tiers, the metadata cache, the breaker, requests in flight.

use crate::backend::breaker::BreakerState;
use crate::models::IpfsModel;
use prometheus::core::{Collector, Desc};
use prometheus::proto::MetricFamily;
use prometheus::{IntCounterVec, IntGauge, IntGaugeVec, Opts};
use std::sync::Arc;

pub struct StateCollector {
    model: Arc<IpfsModel>,
    /// Concurrent scrapes take turns: each resets and refills the vectors below.
    lock: parking_lot::Mutex<()>,
    /// hits, misses, evictions, promotions, demotions (in that order), by tier.
    tier_counters: Vec<IntCounterVec>,
    /// items, bytes, charged_bytes, limit_bytes (in that order), by tier.
    tier_gauges: Vec<IntGaugeVec>,
    metadata_rows: IntGauge,
    metadata_dirty: IntGauge,
    metadata_flushes: IntCounterVec,
    breaker: IntGaugeVec,
    in_flight: IntGauge,
    descs: Vec<Desc>,
}

fn gauge(name: &str, help: &str) -> IntGauge {
    IntGauge::new(name, help).expect("valid metric")
}

impl StateCollector {
    pub fn new(model: Arc<IpfsModel>) -> Self {
        let tier_counters = [
            ("hits", "Reads answered by the tier."),
            ("misses", "Reads the tier could not answer."),
            ("evictions", "Objects evicted from the tier."),
            ("promotions", "Objects copied up into the tier on a read."),
            (
                "demotions",
                "Objects moved down into the tier on an eviction above.",
            ),
        ]
        .map(|(what, help)| {
            IntCounterVec::new(
                Opts::new(format!("ipfs_mcp_cache_{what}_total"), help),
                &["tier"],
            )
            .expect("valid metric")
        })
        .to_vec();
        let tier_gauges = [
            ("items", "Objects in the tier."),
            ("bytes", "The objects' own bytes in the tier."),
            (
                "charged_bytes",
                "Bytes counted against the tier's limit (objects plus per-entry overhead).",
            ),
            ("limit_bytes", "The tier's limit in bytes."),
        ]
        .map(|(what, help)| {
            IntGaugeVec::new(Opts::new(format!("ipfs_mcp_cache_{what}"), help), &["tier"])
                .expect("valid metric")
        })
        .to_vec();
        let metadata_flushes = IntCounterVec::new(
            Opts::new(
                "ipfs_mcp_metadata_flushes_total",
                "Flushes of the CID metadata to Parquet, by outcome.",
            ),
            &["outcome"],
        )
        .expect("valid metric");
        let breaker = IntGaugeVec::new(
            Opts::new(
                "ipfs_mcp_backend_breaker_state",
                "The circuit breaker in front of the node: 1 for its current state.",
            ),
            &["state"],
        )
        .expect("valid metric");
        let metadata_rows = gauge("ipfs_mcp_metadata_rows", "Rows in the CID metadata cache.");
        let metadata_dirty = gauge(
            "ipfs_mcp_metadata_dirty_rows",
            "Metadata rows changed since the last flush.",
        );
        let in_flight = gauge(
            "ipfs_mcp_http_requests_in_flight",
            "Requests being handled now.",
        );
        let mut collector = Self {
            model,
            lock: parking_lot::Mutex::new(()),
            tier_counters,
            tier_gauges,
            metadata_rows,
            metadata_dirty,
            metadata_flushes,
            breaker,
            in_flight,
            descs: Vec::new(),
        };
        collector.descs = collector
            .parts()
            .iter()
            .flat_map(|c| c.desc().into_iter().cloned())
            .collect();
        collector
    }

    /// Every vector and gauge this collector fills.
    fn parts(&self) -> Vec<&dyn Collector> {
        let mut parts: Vec<&dyn Collector> = Vec::new();
        parts.extend(self.tier_counters.iter().map(|c| c as &dyn Collector));
        parts.extend(self.tier_gauges.iter().map(|g| g as &dyn Collector));
        parts.extend([
            &self.metadata_rows as &dyn Collector,
            &self.metadata_dirty,
            &self.metadata_flushes,
            &self.breaker,
            &self.in_flight,
        ]);
        parts
    }
}

impl Collector for StateCollector {
    fn desc(&self) -> Vec<&Desc> {
        self.descs.iter().collect()
    }

    fn collect(&self) -> Vec<MetricFamily> {
        let _turn = self.lock.lock();
        self.tier_counters.iter().for_each(IntCounterVec::reset);
        self.tier_gauges.iter().for_each(IntGaugeVec::reset);
        for t in self.model.cache.stats() {
            let events = [t.hits, t.misses, t.evictions, t.promotions, t.demotions];
            for (counter, n) in self.tier_counters.iter().zip(events) {
                counter.with_label_values(&[t.tier]).inc_by(n);
            }
            let u = &t.usage;
            let usage = [u.items, u.bytes, u.charged_bytes, u.limit_bytes];
            for (gauge, n) in self.tier_gauges.iter().zip(usage) {
                gauge.with_label_values(&[t.tier]).set(n as i64);
            }
        }
        let meta = self.model.metadata.status();
        self.metadata_rows.set(meta.rows as i64);
        self.metadata_dirty.set(meta.dirty_rows as i64);
        self.metadata_flushes.reset();
        self.metadata_flushes
            .with_label_values(&["ok"])
            .inc_by(meta.flushes);
        self.metadata_flushes
            .with_label_values(&["failed"])
            .inc_by(meta.flush_failures);
        self.breaker.reset();
        if let Some(b) = self.model.node().breaker() {
            for (state, name) in [
                (BreakerState::Closed, "closed"),
                (BreakerState::Open, "open"),
                (BreakerState::HalfOpen, "half_open"),
            ] {
                self.breaker
                    .with_label_values(&[name])
                    .set(i64::from(b.state == state));
            }
        }
        self.in_flight.set(self.model.stats.in_flight() as i64);
        let mut out = Vec::new();
        for c in self.parts() {
            out.extend(c.collect());
        }
        out
    }
}
