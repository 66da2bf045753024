//! The memory tier: an `lru::LruCache` bounded by the bytes it holds; evicts the coldest of
//! its least recently used entries when given a [`Ranker`].

use super::{CacheTier, PersistenceError, Ranker, TierUsage, pick_victim};
use bytes::Bytes;
use cid::Cid;
use lru::LruCache;
use parking_lot::Mutex;

pub struct MemoryTier {
    limit: u64,
    inner: Mutex<State>,
    ranker: Option<Ranker>,
}

struct State {
    cache: LruCache<Cid, Bytes>,
    bytes: u64,
}

impl MemoryTier {
    pub fn new(limit_bytes: u64) -> Self {
        Self {
            limit: limit_bytes,
            inner: Mutex::new(State {
                // the byte limit, not an item count, bounds it
                cache: LruCache::unbounded(),
                bytes: 0,
            }),
            ranker: None,
        }
    }

    /// Evict by heat (coldest of the least recently used) instead of recency alone.
    pub fn with_ranker(mut self, ranker: Ranker) -> Self {
        self.ranker = Some(ranker);
        self
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

    fn put(&self, cid: Cid, data: Bytes) -> Result<Vec<(Cid, Bytes)>, PersistenceError> {
        let size = data.len() as u64;
        if size > self.limit {
            return Ok(Vec::new());
        }
        let mut state = self.inner.lock();
        if state.cache.contains(&cid) {
            state.cache.promote(&cid);
            return Ok(Vec::new());
        }
        let mut evicted = Vec::new();
        while state.bytes + size > self.limit {
            let victim = pick_victim(
                state.cache.iter().rev().map(|(k, _)| k),
                self.ranker.as_ref(),
            );
            let Some((old, old_data)) = victim.and_then(|v| state.cache.pop_entry(&v)) else {
                break;
            };
            state.bytes -= old_data.len() as u64;
            evicted.push((old, old_data));
        }
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
            limit_bytes: self.limit,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::super::conformance;

    #[test]
    fn memory_tier_conforms() {
        conformance::run(&super::MemoryTier::new(1000));
    }

    #[test]
    fn memory_tier_evicts_the_coldest() {
        let heat = std::sync::Arc::new(parking_lot::Mutex::new(Vec::new()));
        let tier = super::MemoryTier::new(1000).with_ranker(conformance::ranker(heat.clone()));
        conformance::run_with_heat(&tier, &heat);
    }
}
