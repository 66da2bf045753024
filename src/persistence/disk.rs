//! The disk tier: objects in sled, bounded by bytes, least recently used evicted first.
//!
//! The index of keys and sizes lives in memory (an `lru::LruCache`), so a hit costs one sled
//! read and no write.
//!
//! * Without a [`Ranker`] the index is in recency order and the least recently used goes first.
//! * With one (as the service runs it), reads do not touch the index at all: the heat score
//!   already weighs every read by recency, and skipping the index lock keeps a hit close to a
//!   raw sled read. Eviction compares the [`EVICTION_SAMPLE`] entries at the old end of the
//!   index, evicts the coldest, and moves the survivors to the young end (a second chance, as in
//!   CLOCK), so the next eviction looks at fresh candidates and hot entries never pile up at the
//!   old end.
//!
//! Durability: this is a cache, and a `put` acknowledges nothing to a client, so it does not
//! fsync. sled flushes every 500 ms and at [`CacheTier::flush`] (shutdown); after `kill -9` the
//! last half second of demotions may be missing, never wrong (sled recovers a consistent prefix).

use super::{CacheTier, EVICTION_SAMPLE, PersistenceError, Ranker, TierUsage, pick_victim};
use bytes::Bytes;
use cid::Cid;
use lru::LruCache;
use parking_lot::Mutex;
use std::path::Path;

/// A CID's binary form on the stack: a hit allocates nothing for its key.
struct Key {
    buf: [u8; 96],
    len: usize,
}

impl Key {
    fn of(cid: &Cid) -> Key {
        let mut buf = [0u8; 96];
        let mut rest = &mut buf[..];
        // CIDs here hold at most a 64-byte digest: 4 varints plus 64 bytes fit in 96
        let len = cid.write_bytes(&mut rest).expect("a CID fits in 96 bytes");
        Key { buf, len }
    }
}

impl AsRef<[u8]> for Key {
    fn as_ref(&self) -> &[u8] {
        &self.buf[..self.len]
    }
}

pub struct DiskTier {
    limit: u64,
    tree: sled::Tree,
    index: Mutex<Index>,
    ranker: Option<Ranker>,
}

struct Index {
    /// CID -> size in bytes, in recency order.
    recency: LruCache<Cid, u64>,
    bytes: u64,
}

impl DiskTier {
    pub fn open(dir: &Path, limit_bytes: u64) -> Result<Self, PersistenceError> {
        let db = sled::Config::new()
            .path(dir)
            .cache_capacity(16 * 1024 * 1024)
            .open()?;
        Self::with_tree(db.open_tree("objects")?, limit_bytes)
    }

    fn with_tree(tree: sled::Tree, limit_bytes: u64) -> Result<Self, PersistenceError> {
        let mut index = Index {
            recency: LruCache::unbounded(),
            bytes: 0,
        };
        for item in tree.iter() {
            let (k, v) = item?;
            let cid = Cid::try_from(&k[..])
                .map_err(|e| PersistenceError::Storage(format!("corrupt cache key: {e}")))?;
            index.bytes += v.len() as u64;
            index.recency.put(cid, v.len() as u64);
        }
        Ok(Self {
            limit: limit_bytes,
            tree,
            index: Mutex::new(index),
            ranker: None,
        })
    }

    /// Evict by heat (coldest of the least recently used) instead of recency alone.
    pub fn with_ranker(mut self, ranker: Ranker) -> Self {
        self.ranker = Some(ranker);
        self
    }

    /// The sled tree (for migrations and benches that compare with raw sled).
    pub fn tree(&self) -> &sled::Tree {
        &self.tree
    }
}

impl CacheTier for DiskTier {
    fn name(&self) -> &'static str {
        "disk"
    }

    fn get(&self, cid: &Cid) -> Result<Option<Bytes>, PersistenceError> {
        let Some(v) = self.tree.get(Key::of(cid))? else {
            return Ok(None);
        };
        if self.ranker.is_none() {
            self.index.lock().recency.promote(cid);
        }
        // zero-copy: the Bytes keeps sled's buffer alive
        Ok(Some(Bytes::from_owner(v)))
    }

    fn contains(&self, cid: &Cid) -> Result<bool, PersistenceError> {
        Ok(self.index.lock().recency.contains(cid))
    }

    fn put(&self, cid: Cid, data: Bytes) -> Result<Vec<(Cid, Bytes)>, PersistenceError> {
        let size = data.len() as u64;
        if size > self.limit {
            return Ok(Vec::new());
        }
        let mut index = self.index.lock();
        if index.recency.contains(&cid) {
            index.recency.promote(&cid);
            return Ok(Vec::new());
        }
        let mut evicted = Vec::new();
        while index.bytes + size > self.limit {
            let candidates: Vec<Cid> = index
                .recency
                .iter()
                .rev()
                .take(EVICTION_SAMPLE)
                .map(|(k, _)| *k)
                .collect();
            let victim = pick_victim(candidates.iter(), self.ranker.as_ref());
            if self.ranker.is_some() {
                for survivor in candidates.iter().filter(|c| Some(**c) != victim) {
                    index.recency.promote(survivor);
                }
            }
            let Some((old, old_size)) = victim.and_then(|v| index.recency.pop_entry(&v)) else {
                break;
            };
            index.bytes -= old_size;
            if let Some(v) = self.tree.remove(Key::of(&old))? {
                evicted.push((old, Bytes::from_owner(v)));
            }
        }
        self.tree.insert(Key::of(&cid), &data[..])?;
        index.bytes += size;
        index.recency.put(cid, size);
        Ok(evicted)
    }

    fn remove(&self, cid: &Cid) -> Result<bool, PersistenceError> {
        let mut index = self.index.lock();
        match index.recency.pop(cid) {
            Some(size) => {
                index.bytes -= size;
                self.tree.remove(Key::of(cid))?;
                Ok(true)
            }
            None => Ok(false),
        }
    }

    fn clear(&self) -> Result<(), PersistenceError> {
        let mut index = self.index.lock();
        self.tree.clear()?;
        index.recency.clear();
        index.bytes = 0;
        Ok(())
    }

    fn flush(&self) -> Result<(), PersistenceError> {
        self.tree.flush()?;
        Ok(())
    }

    fn usage(&self) -> TierUsage {
        let index = self.index.lock();
        TierUsage {
            items: index.recency.len() as u64,
            bytes: index.bytes,
            limit_bytes: self.limit,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn disk_tier_conforms() {
        let dir = tempfile::tempdir().unwrap();
        super::super::conformance::run(&DiskTier::open(dir.path(), 1000).unwrap());
    }

    #[test]
    fn disk_tier_evicts_the_coldest() {
        let dir = tempfile::tempdir().unwrap();
        let heat = std::sync::Arc::new(parking_lot::Mutex::new(Vec::new()));
        let tier = DiskTier::open(dir.path(), 1000)
            .unwrap()
            .with_ranker(super::super::conformance::ranker(heat.clone()));
        super::super::conformance::run_with_heat(&tier, &heat);
    }

    #[test]
    fn disk_tier_survives_reopen() {
        let dir = tempfile::tempdir().unwrap();
        let data = Bytes::from_static(b"kept across restarts");
        let cid = crate::unixfs::cid_of(cid::Version::V1, crate::unixfs::RAW, &data);
        {
            let tier = DiskTier::open(dir.path(), 1000).unwrap();
            tier.put(cid, data.clone()).unwrap();
            tier.tree.flush().unwrap();
        }
        let tier = DiskTier::open(dir.path(), 1000).unwrap();
        assert_eq!(tier.usage().bytes, data.len() as u64);
        assert_eq!(tier.get(&cid).unwrap(), Some(data));
    }
}
