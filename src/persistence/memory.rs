//! The memory tier: an `lru::LruCache` bounded by the bytes it holds; evicts the coldest of
//! its least recently used entries when given a [`Ranker`].
//!
//! The limit bounds what the process really holds: every stored object owns an allocation of
//! exactly its length (a `Bytes` that is a slice of a larger buffer, or owned by another store,
//! is copied first, so a small slice can never keep a large buffer alive), and each entry is
//! charged [`ENTRY_OVERHEAD`] on top of its bytes for the key, the list node and the hash slot.

use super::{CacheTier, Evicted, PersistenceError, Ranker, TierUsage, pick_victim};
use bytes::Bytes;
use cid::Cid;
use lru::LruCache;
use parking_lot::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};

/// Bytes charged per entry beyond the object: the CID key (up to 96 bytes), the `Bytes`
/// handle, the LRU list node and its hash-table slot, measured with heaptrack at about 200.
pub const ENTRY_OVERHEAD: u64 = 256;

/// `data` as an allocation of exactly its own length.
fn owned_exactly(data: Bytes) -> Bytes {
    match data.try_into_mut() {
        Ok(unique) if unique.capacity() == unique.len() => unique.freeze(),
        Ok(unique) => Bytes::copy_from_slice(&unique),
        Err(shared) => Bytes::copy_from_slice(&shared),
    }
}

pub struct MemoryTier {
    /// Changed at run time by `set_limit`; read under the state lock.
    limit: AtomicU64,
    overhead: u64,
    inner: Mutex<State>,
    ranker: Option<Ranker>,
}

struct State {
    cache: LruCache<Cid, Bytes>,
    /// The objects' bytes.
    bytes: u64,
}

impl MemoryTier {
    pub fn new(limit_bytes: u64) -> Self {
        Self {
            limit: AtomicU64::new(limit_bytes),
            overhead: ENTRY_OVERHEAD,
            inner: Mutex::new(State {
                // the byte limit, not an item count, bounds it
                cache: LruCache::unbounded(),
                bytes: 0,
            }),
            ranker: None,
        }
    }

    /// Charges `bytes` per entry instead of [`ENTRY_OVERHEAD`] (tests use tiny tiers).
    pub fn with_entry_overhead(mut self, bytes: u64) -> Self {
        self.overhead = bytes;
        self
    }

    fn charged(&self, state: &State) -> u64 {
        state.bytes + state.cache.len() as u64 * self.overhead
    }

    /// Evict by heat (coldest of the least recently used) instead of recency alone.
    pub fn with_ranker(mut self, ranker: Ranker) -> Self {
        self.ranker = Some(ranker);
        self
    }

    fn limit(&self) -> u64 {
        self.limit.load(Ordering::Relaxed)
    }

    /// Evicts until `room` more bytes fit under the limit (or nothing is left).
    fn evict_for(&self, state: &mut State, room: u64) -> Vec<Evicted> {
        let mut evicted = Vec::new();
        while self.charged(state) + room > self.limit() {
            let victim = pick_victim(
                state.cache.iter().rev().map(|(k, _)| k),
                self.ranker.as_ref(),
            );
            let Some((old, old_data)) = victim.and_then(|v| state.cache.pop_entry(&v)) else {
                break;
            };
            state.bytes -= old_data.len() as u64;
            evicted.push(Evicted {
                cid: old,
                size: old_data.len() as u64,
                data: Some(old_data),
            });
        }
        evicted
    }
}

impl CacheTier for MemoryTier {
    fn name(&self) -> &'static str {
        "memory"
    }

    fn get(&self, cid: &Cid) -> Result<Option<Bytes>, PersistenceError> {
        Ok(self.inner.lock().cache.get(cid).cloned())
    }

    fn contains(&self, cid: &Cid) -> Result<bool, PersistenceError> {
        Ok(self.inner.lock().cache.contains(cid))
    }

    fn put(&self, cid: Cid, data: Bytes) -> Result<Vec<Evicted>, PersistenceError> {
        let size = data.len() as u64;
        if size + self.overhead > self.limit() {
            return Ok(Vec::new());
        }
        if self.inner.lock().cache.promote(&cid) {
            return Ok(Vec::new());
        }
        // copied (if at all) outside the lock
        let data = owned_exactly(data);
        let mut state = self.inner.lock();
        if state.cache.promote(&cid) {
            return Ok(Vec::new());
        }
        let evicted = self.evict_for(&mut state, size + self.overhead);
        state.bytes += size;
        state.cache.put(cid, data);
        Ok(evicted)
    }

    fn remove(&self, cid: &Cid) -> Result<bool, PersistenceError> {
        let mut state = self.inner.lock();
        match state.cache.pop(cid) {
            Some(data) => {
                state.bytes -= data.len() as u64;
                Ok(true)
            }
            None => Ok(false),
        }
    }

    fn clear(&self) -> Result<(), PersistenceError> {
        let mut state = self.inner.lock();
        state.cache.clear();
        state.bytes = 0;
        Ok(())
    }

    fn usage(&self) -> TierUsage {
        let state = self.inner.lock();
        TierUsage {
            items: state.cache.len() as u64,
            bytes: state.bytes,
            charged_bytes: self.charged(&state),
            limit_bytes: self.limit(),
        }
    }

    fn set_limit(&self, limit_bytes: u64) -> Result<Vec<Evicted>, PersistenceError> {
        let mut state = self.inner.lock();
        self.limit.store(limit_bytes, Ordering::Relaxed);
        Ok(self.evict_for(&mut state, 0))
    }
}

#[cfg(test)]
mod tests {
    use super::super::conformance;

    #[test]
    fn memory_tier_conforms() {
        conformance::run(&super::MemoryTier::new(1000).with_entry_overhead(0));
    }

    #[test]
    fn memory_tier_evicts_the_coldest() {
        let heat = std::sync::Arc::new(parking_lot::Mutex::new(Vec::new()));
        let tier = super::MemoryTier::new(1000)
            .with_entry_overhead(0)
            .with_ranker(conformance::ranker(heat.clone()));
        conformance::run_with_heat(&tier, &heat);
    }

    #[test]
    fn entries_are_charged_their_overhead_and_own_exactly_their_bytes() {
        use super::super::CacheTier;
        let tier = super::MemoryTier::new(10 * (100 + super::ENTRY_OVERHEAD));
        for i in 0..20u8 {
            let (c, d) = super::super::conformance::object(i, 100);
            tier.put(c, d).unwrap();
        }
        let usage = tier.usage();
        assert_eq!((usage.items, usage.bytes), (10, 1000));
        assert_eq!(usage.charged_bytes, 10 * (100 + super::ENTRY_OVERHEAD));
        // a 10-byte slice of a 1 MiB buffer is stored as 10 bytes of its own
        let big = bytes::Bytes::from(vec![1u8; 1 << 20]);
        let small = super::owned_exactly(big.slice(..10));
        assert_eq!(small.len(), 10);
        drop(big);
        assert_eq!(small.try_into_mut().map(|m| m.capacity()).ok(), Some(10));
    }
}
