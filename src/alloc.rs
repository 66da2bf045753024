//! The process's allocator: jemalloc, and what it says about the memory it holds.
//!
//! Why not the system allocator: glibc's malloc keeps freed memory of large, short-lived
//! buffers (1-4 MiB files read, cached and evicted by many worker threads) in per-thread arenas
//! and rarely gives it back. Measured with `scripts/soak.sh 2 add-read` (issue #11): the heap
//! (heaptrack) peaked at 339 MiB while RSS stood at 521 MiB, about 180 MiB of retained free
//! memory. jemalloc returns dirty pages to the OS after `dirty_decay_ms` from a background
//! thread, and reports its own figures (allocated, resident) for `/health`'s memory breakdown.

#[global_allocator]
static GLOBAL: tikv_jemallocator::Jemalloc = tikv_jemallocator::Jemalloc;

/// jemalloc's options, read at its first allocation: purge freed pages from a background thread
/// after one second (the default is ten, with purging only on allocation calls).
#[allow(non_upper_case_globals)]
#[unsafe(export_name = "_rjem_malloc_conf")]
pub static malloc_conf: &[u8; 60] =
    b"background_thread:true,dirty_decay_ms:1000,muzzy_decay_ms:0\0";

/// The allocator's own figures, in bytes.
#[derive(Debug, Clone, Copy, Default, serde::Serialize)]
pub struct AllocatorStats {
    /// Live allocations.
    pub allocated: u64,
    /// Pages backing live allocations.
    pub active: u64,
    /// Physically resident pages the allocator maps (live, metadata and not yet purged).
    pub resident: u64,
}

impl AllocatorStats {
    /// Current figures (jemalloc caches them per epoch; this advances the epoch first).
    pub fn read() -> Option<Self> {
        use tikv_jemalloc_ctl::{epoch, stats};
        epoch::advance().ok()?;
        Some(Self {
            allocated: stats::allocated::read().ok()? as u64,
            active: stats::active::read().ok()? as u64,
            resident: stats::resident::read().ok()? as u64,
        })
    }
}
