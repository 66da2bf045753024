//! Persistence: cache tiers in front of the backend.
//!
//! Every tier implements [`CacheTier`], keyed by CID, bounded by bytes (not item count):
//! * [`memory::MemoryTier`]: the `lru` crate, least recently used evicted first.
//! * [`disk::DiskTier`]: one file per object, with an in-memory recency index over them.
//! * [`tiered::TieredStore`]: memory -> disk -> fetch, with promotion, demotion and stampede
//!   prevention.
//!
//! Large objects: a file over `cache.max_object_bytes` (4 MiB by default) is not cached at all;
//! every read streams it from the backend block by block, so memory stays flat whatever the file
//! size, and the tiers hold many small hot objects instead of a few large ones. The backend's
//! own block store serves large files: for the simulation it *is* the data; for Kubo it costs one
//! local RPC hop per read. Caching blocks here too would save that hop at the price of a second
//! copy of every large file and a second key space; not done in this version.
//!
//! Content is immutable (a CID names its bytes), so a cache never needs invalidation, only
//! eviction. A `put` returns what it evicted so a composing store can demote it to the next tier.
//! One conformance suite (`tests` below) runs against every tier.
//!
//! Eviction takes the coldest first: with a [`Ranker`] (the metadata cache's heat), a tier
//! evicts the coldest of its [`EVICTION_SAMPLE`] least recently used entries; without one, the
//! least recently used. Sampling keeps a hit as cheap as a raw `lru` lookup (heat changes on
//! every read and would otherwise have to be re-sorted on every read).
//! * [`metadata`]: the Parquet CID metadata cache with heat scores.
//! * [`migrations`]: the data dir's layout version, and upgrades from older ones.
//! * [`credentials`]: the files behind authentication (hashed keys, revocations, audit).

pub mod credentials;
pub mod disk;
pub mod memory;
pub mod metadata;
pub mod migrations;
pub mod tiered;

use bytes::Bytes;
use cid::Cid;
use serde::Serialize;

/// The persistence layer's one error type.
#[derive(Debug, thiserror::Error)]
pub enum PersistenceError {
    #[error("cache storage failed: {0}")]
    Storage(String),
}

impl From<sled::Error> for PersistenceError {
    fn from(e: sled::Error) -> Self {
        Self::Storage(e.to_string())
    }
}

/// Heat of CIDs for eviction, one rank per CID, larger is hotter (see
/// [`metadata::heat::Heat::rank`]). Asked for a whole sample at once: one lock, not one per CID.
pub type Ranker = std::sync::Arc<dyn Fn(&[Cid]) -> Vec<f64> + Send + Sync>;

/// How many least-recently-used entries an eviction compares by heat (Redis samples 5; more
/// is closer to exact, and costs a metadata lookup each on every eviction).
pub const EVICTION_SAMPLE: usize = 8;

/// The entry to evict: the coldest of the first [`EVICTION_SAMPLE`] of `lru_first` (least
/// recently used first; ties go to the least recently used), or simply the first.
pub(crate) fn pick_victim<'a>(
    mut lru_first: impl Iterator<Item = &'a Cid>,
    ranker: Option<&Ranker>,
) -> Option<Cid> {
    match ranker {
        None => lru_first.next().copied(),
        Some(rank) => {
            let sample: Vec<Cid> = lru_first.take(EVICTION_SAMPLE).copied().collect();
            let ranks = rank(&sample);
            ranks
                .into_iter()
                .zip(sample)
                .min_by(|a, b| a.0.total_cmp(&b.0))
                .map(|(_, c)| c)
        }
    }
}

/// What a `put` pushed out of a tier.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Evicted {
    pub cid: Cid,
    /// Bytes of the object.
    pub size: u64,
    /// The object itself when the tier had it in memory anyway (the memory tier, so a tiered
    /// store can demote it); `None` from tiers that would have to read it back (disk).
    pub data: Option<Bytes>,
}

/// Size and limits of a tier.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize)]
pub struct TierUsage {
    pub items: u64,
    /// The objects' own bytes.
    pub bytes: u64,
    /// What counts against the limit: the bytes plus each entry's fixed charge (its index
    /// overhead in memory, a filesystem block on disk).
    pub charged_bytes: u64,
    pub limit_bytes: u64,
}

/// A byte-bounded cache of immutable objects keyed by CID.
pub trait CacheTier: Send + Sync + 'static {
    /// `memory` or `disk`.
    fn name(&self) -> &'static str;
    /// The object, marking it recently used.
    fn get(&self, cid: &Cid) -> Result<Option<Bytes>, PersistenceError>;
    fn contains(&self, cid: &Cid) -> Result<bool, PersistenceError>;
    /// Stores an object and returns what had to be evicted to make room. An object larger
    /// than the whole tier is not stored (and nothing is evicted for it).
    fn put(&self, cid: Cid, data: Bytes) -> Result<Vec<Evicted>, PersistenceError>;
    fn remove(&self, cid: &Cid) -> Result<bool, PersistenceError>;
    fn clear(&self) -> Result<(), PersistenceError>;
    fn usage(&self) -> TierUsage;
    /// Changes the tier's byte limit while it serves, evicting (coldest first, as `put` does)
    /// until what it holds fits; returns what was evicted.
    fn set_limit(&self, limit_bytes: u64) -> Result<Vec<Evicted>, PersistenceError>;
    /// Makes everything stored so far durable (a no-op for memory).
    fn flush(&self) -> Result<(), PersistenceError> {
        Ok(())
    }
}

#[cfg(test)]
pub(crate) mod conformance {
    //! The suite every tier must pass.
    use super::*;
    use crate::unixfs::{RAW, cid_of};

    /// `len` bytes of `tag`, keyed by their raw CID.
    pub fn object(tag: u8, len: usize) -> (Cid, Bytes) {
        let data = Bytes::from(vec![tag; len]);
        (cid_of(cid::Version::V1, RAW, &data), data)
    }

    /// `tier` must be empty, limited to 1000 bytes, and ranked by `heat` (higher is hotter):
    /// it must evict the coldest of its least recently used entries.
    pub fn run_with_heat(tier: &dyn CacheTier, heat: &parking_lot::Mutex<Vec<(Cid, f64)>>) {
        let (a, da) = object(11, 300);
        let (b, db) = object(12, 300);
        let (c, dc) = object(13, 300);
        let (d, dd) = object(14, 300);
        *heat.lock() = vec![(a, 1.0), (b, 9.0), (c, 5.0), (d, 0.0)];
        for (cid, data) in [(a, da.clone()), (b, db), (c, dc)] {
            assert!(tier.put(cid, data).unwrap().is_empty());
        }
        // a is both the coldest and the least recently used
        let evicted = tier.put(d, dd).unwrap();
        assert_eq!(
            (evicted.len(), evicted[0].cid, evicted[0].size),
            (1, a, 300)
        );
        assert!(evicted[0].data.as_ref().is_none_or(|data| *data == da));
        // now d (coldest, most recently used) goes before b and c
        let (e, de) = object(15, 300);
        heat.lock().push((e, 3.0));
        let evicted: Vec<Cid> = tier
            .put(e, de)
            .unwrap()
            .into_iter()
            .map(|x| x.cid)
            .collect();
        assert_eq!(evicted, vec![d]);
        assert!(tier.contains(&b).unwrap() && tier.contains(&c).unwrap());
    }

    /// A ranker reading `heat` (unknown CIDs are coldest).
    pub fn ranker(heat: std::sync::Arc<parking_lot::Mutex<Vec<(Cid, f64)>>>) -> Ranker {
        std::sync::Arc::new(move |cids: &[Cid]| {
            let heat = heat.lock();
            cids.iter()
                .map(|cid| {
                    heat.iter()
                        .find(|(c, _)| c == cid)
                        .map_or(f64::NEG_INFINITY, |x| x.1)
                })
                .collect()
        })
    }

    /// `tier` must be empty with a limit of exactly 1000 bytes.
    pub fn run(tier: &dyn CacheTier) {
        assert_eq!(
            tier.usage(),
            TierUsage {
                items: 0,
                bytes: 0,
                charged_bytes: 0,
                limit_bytes: 1000
            }
        );
        let (a, da) = object(1, 400);
        let (b, db) = object(2, 400);
        let (c, dc) = object(3, 400);
        assert!(tier.get(&a).unwrap().is_none());
        assert!(tier.put(a, da.clone()).unwrap().is_empty());
        assert!(tier.put(b, db.clone()).unwrap().is_empty());
        assert_eq!(tier.get(&a).unwrap(), Some(da.clone()));
        assert_eq!(tier.usage().bytes, 800);
        // a was used after b, so b is the least recently used and goes first
        let evicted = tier.put(c, dc.clone()).unwrap();
        assert_eq!(
            (evicted.len(), evicted[0].cid, evicted[0].size),
            (1, b, 400)
        );
        assert!(evicted[0].data.as_ref().is_none_or(|data| *data == db));
        assert!(!tier.contains(&b).unwrap());
        assert!(tier.contains(&a).unwrap() && tier.contains(&c).unwrap());
        assert_eq!(
            tier.usage(),
            TierUsage {
                items: 2,
                bytes: 800,
                charged_bytes: 800,
                limit_bytes: 1000
            }
        );
        // putting the same object again changes nothing
        assert!(tier.put(c, dc.clone()).unwrap().is_empty());
        assert_eq!(tier.usage().bytes, 800);
        // larger than the tier: refused without evicting anything
        let (big, dbig) = object(4, 1001);
        assert!(tier.put(big, dbig).unwrap().is_empty());
        assert!(!tier.contains(&big).unwrap());
        assert_eq!(tier.usage().items, 2);
        assert!(tier.remove(&a).unwrap());
        assert!(!tier.remove(&a).unwrap());
        assert_eq!(tier.usage().bytes, 400);
        tier.clear().unwrap();
        assert_eq!(
            tier.usage(),
            TierUsage {
                items: 0,
                bytes: 0,
                charged_bytes: 0,
                limit_bytes: 1000
            }
        );
        assert!(tier.get(&c).unwrap().is_none());

        // a smaller limit at run time evicts down to it, least recently used first
        for (cid, data) in [(a, da.clone()), (b, db.clone())] {
            tier.put(cid, data).unwrap();
        }
        tier.get(&a).unwrap();
        let evicted: Vec<Cid> = tier
            .set_limit(500)
            .unwrap()
            .into_iter()
            .map(|e| e.cid)
            .collect();
        assert_eq!(evicted, vec![b]);
        assert_eq!((tier.usage().items, tier.usage().limit_bytes), (1, 500));
        assert!(tier.contains(&a).unwrap());
        let (d, dd) = object(5, 400);
        assert_eq!(
            tier.put(d, dd).unwrap()[0].cid,
            a,
            "puts obey the new limit"
        );
        // a larger one evicts nothing and makes room
        assert!(tier.set_limit(1000).unwrap().is_empty());
        assert!(tier.put(a, da).unwrap().is_empty());
        assert_eq!(tier.usage().items, 2);
        tier.clear().unwrap();
    }
}
