//! Persistence: cache tiers in front of the backend (issue #3, in progress).
//!
//! Every tier implements [`CacheTier`], keyed by CID, bounded by bytes (not item count):
//! * [`memory::MemoryTier`]: the `lru` crate, least recently used evicted first.
//! * [`disk::DiskTier`]: sled, with an in-memory recency index over its keys.
//! * [`tiered::TieredStore`]: memory -> disk -> fetch, with promotion, demotion and stampede
//!   prevention.
//!
//! Content is immutable (a CID names its bytes), so a cache never needs invalidation, only
//! eviction. A `put` returns what it evicted so a composing store can demote it to the next tier.
//! One conformance suite (`tests` below) runs against every tier.
//!
//! Not yet here (tracked in #3): wiring into the models, the Parquet metadata cache with heat
//! scores, the HTTP routes, migrations and the benches.

pub mod disk;
pub mod memory;
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

/// Size and limits of a tier.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct TierUsage {
    pub items: u64,
    pub bytes: u64,
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
    fn put(&self, cid: Cid, data: Bytes) -> Result<Vec<(Cid, Bytes)>, PersistenceError>;
    fn remove(&self, cid: &Cid) -> Result<bool, PersistenceError>;
    fn clear(&self) -> Result<(), PersistenceError>;
    fn usage(&self) -> TierUsage;
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

    /// `tier` must be empty with a limit of exactly 1000 bytes.
    pub fn run(tier: &dyn CacheTier) {
        assert_eq!(
            tier.usage(),
            TierUsage {
                items: 0,
                bytes: 0,
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
        assert_eq!(evicted, vec![(b, db.clone())]);
        assert!(!tier.contains(&b).unwrap());
        assert!(tier.contains(&a).unwrap() && tier.contains(&c).unwrap());
        assert_eq!(
            tier.usage(),
            TierUsage {
                items: 2,
                bytes: 800,
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
                limit_bytes: 1000
            }
        );
        assert!(tier.get(&c).unwrap().is_none());
    }
}
