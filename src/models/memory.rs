//! What the process's memory is made of, for `/health` and `cache/stats` (issue #11).
//!
//! The budget an operator can plan with is `cache.memory_limit` plus a fixed overhead
//! (documented in the README, measured by `scripts/soak.sh`). This report puts figures on both
//! sides: the process as the OS sees it (RSS) and as the allocator sees it, and the parts the
//! service knows it holds. Every part is bounded by a setting:
//! * the memory tier: at most `cache.memory_limit`, objects and per-entry charge together;
//! * objects being fetched into the cache: at most `cache.max_object_bytes` each, one per CID;
//! * metadata rows: about [`METADATA_ROW_BYTES`] each, at most `metadata.max_rows`;
//! * the disk tier's index: about [`DISK_INDEX_ENTRY_BYTES`] per entry, at most
//!   `cache.disk_limit / 4096` entries;
//! * the operations ring: `server.operations_capacity` records of bounded size.

use crate::alloc::AllocatorStats;
use crate::persistence::TierUsage;
use serde::Serialize;

/// Heap bytes per metadata row (the row, its hash-index slot, dirty-set slot), measured.
pub const METADATA_ROW_BYTES: u64 = 160;
/// Heap bytes per disk-tier index entry (CID key, size, list node, hash slot).
pub const DISK_INDEX_ENTRY_BYTES: u64 = 200;

#[derive(Debug, Clone, Serialize)]
pub struct MemoryReport {
    /// Resident set of the process (`VmRSS`), when the OS tells.
    pub rss_bytes: Option<u64>,
    /// jemalloc's own figures.
    pub allocator: Option<AllocatorStats>,
    /// Items, bytes, bytes plus per-entry overhead (what counts against the limit), limit.
    pub memory_tier: TierUsage,
    pub disk_tier_index: Part,
    pub metadata_rows: Part,
    pub inflight_fetches: Part,
    pub requests_in_flight: u64,
    /// Sum of the known parts.
    pub known_bytes: u64,
}

#[derive(Debug, Clone, Copy, Serialize)]
pub struct Part {
    pub count: u64,
    /// An estimate from the count (or an upper bound, for fetches).
    pub bytes: u64,
}

impl Part {
    pub fn of(count: u64, each: u64) -> Self {
        Self {
            count,
            bytes: count * each,
        }
    }
}

/// Resident memory of this process, from /proc (Linux only).
pub fn rss_bytes() -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with("VmRSS:"))?;
    let kb: u64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kb * 1024)
}

impl MemoryReport {
    pub fn new(
        memory_tier: TierUsage,
        disk_tier_index: Part,
        metadata_rows: Part,
        inflight_fetches: Part,
        requests_in_flight: u64,
    ) -> Self {
        let known_bytes = memory_tier.charged_bytes
            + disk_tier_index.bytes
            + metadata_rows.bytes
            + inflight_fetches.bytes;
        Self {
            rss_bytes: rss_bytes(),
            allocator: AllocatorStats::read(),
            memory_tier,
            disk_tier_index,
            metadata_rows,
            inflight_fetches,
            requests_in_flight,
            known_bytes,
        }
    }
}
