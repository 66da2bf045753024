//! Per-operation counters and latency percentiles (HdrHistogram), for `GET ipfs/stats`.

use hdrhistogram::Histogram;
use parking_lot::Mutex;
use serde::Serialize;
use std::collections::BTreeMap;
use std::time::Duration;

#[derive(Default)]
pub struct OperationStats {
    ops: Mutex<BTreeMap<String, OpCounters>>,
    in_flight: std::sync::atomic::AtomicU64,
}

/// Counts a request as in flight until dropped (also when its future is cancelled).
pub struct InFlight<'a>(&'a std::sync::atomic::AtomicU64);

impl Drop for InFlight<'_> {
    fn drop(&mut self) {
        self.0.fetch_sub(1, std::sync::atomic::Ordering::Relaxed);
    }
}

struct OpCounters {
    count: u64,
    errors: u64,
    bytes_in: u64,
    bytes_out: u64,
    latency_us: Histogram<u64>,
}

impl Default for OpCounters {
    fn default() -> Self {
        Self {
            count: 0,
            errors: 0,
            bytes_in: 0,
            bytes_out: 0,
            // 1 µs .. 1 h at 3 significant digits
            latency_us: Histogram::new_with_bounds(1, 3_600_000_000, 3).expect("valid bounds"),
        }
    }
}

#[derive(Debug, Serialize)]
pub struct OpSnapshot {
    pub count: u64,
    pub errors: u64,
    pub bytes_in: u64,
    pub bytes_out: u64,
    pub latency_ms: Percentiles,
}

#[derive(Debug, Serialize)]
pub struct Percentiles {
    pub p50: f64,
    pub p90: f64,
    pub p99: f64,
    pub max: f64,
}

impl OperationStats {
    /// Marks a request in flight for the guard's lifetime.
    pub fn start(&self) -> InFlight<'_> {
        self.in_flight
            .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        InFlight(&self.in_flight)
    }

    /// Requests being handled now (their handlers have not returned).
    pub fn in_flight(&self) -> u64 {
        self.in_flight.load(std::sync::atomic::Ordering::Relaxed)
    }

    pub fn record(&self, op: &str, failed: bool, bytes_in: u64, bytes_out: u64, took: Duration) {
        let mut ops = self.ops.lock();
        // the name is allocated once per operation, not once per request
        let c = match ops.get_mut(op) {
            Some(c) => c,
            None => ops.entry(op.to_string()).or_default(),
        };
        c.count += 1;
        c.errors += u64::from(failed);
        c.bytes_in += bytes_in;
        c.bytes_out += bytes_out;
        let us = (took.as_micros() as u64).clamp(1, 3_600_000_000);
        c.latency_us.saturating_record(us);
    }

    pub fn snapshot(&self) -> BTreeMap<String, OpSnapshot> {
        let ms = |h: &Histogram<u64>, q: f64| h.value_at_quantile(q) as f64 / 1000.0;
        self.ops
            .lock()
            .iter()
            .map(|(k, c)| {
                let h = &c.latency_us;
                (
                    k.clone(),
                    OpSnapshot {
                        count: c.count,
                        errors: c.errors,
                        bytes_in: c.bytes_in,
                        bytes_out: c.bytes_out,
                        latency_ms: Percentiles {
                            p50: ms(h, 0.5),
                            p90: ms(h, 0.9),
                            p99: ms(h, 0.99),
                            max: h.max() as f64 / 1000.0,
                        },
                    },
                )
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_errors_bytes_and_latency() {
        let s = OperationStats::default();
        s.record("ipfs/add", false, 10, 5, Duration::from_millis(2));
        s.record("ipfs/add", true, 0, 0, Duration::from_millis(4));
        let snap = s.snapshot();
        let add = &snap["ipfs/add"];
        assert_eq!(
            (add.count, add.errors, add.bytes_in, add.bytes_out),
            (2, 1, 10, 5)
        );
        assert!(add.latency_ms.max >= 3.9 && add.latency_ms.p50 >= 1.9);
    }
}
