//! The tiered store: memory, then disk, then a fetch from the backend.
//!
//! * A disk hit is promoted to memory; whatever memory evicts is demoted to disk; what disk
//!   evicts is dropped.
//! * Objects over `max_object_bytes` are returned but not cached (the model does not even ask:
//!   it streams large files from the backend, see the design note in [`super`]).
//! * Every move is reported to a [`TierObserver`] (the metadata cache keeps each CID's tier).
//! * Stampede prevention: concurrent misses for one CID share a single fetch; the others wait
//!   for its result (a `tokio::sync::OnceCell` per in-flight CID).

use super::{CacheTier, Evicted, PersistenceError, TierUsage};
use bytes::Bytes;
use cid::Cid;
use parking_lot::Mutex;
use serde::Serialize;
use std::collections::HashMap;
use std::future::Future;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

/// Where an object was found.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Tier {
    Memory,
    Disk,
    Backend,
}

impl Tier {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Memory => "memory",
            Self::Disk => "disk",
            Self::Backend => "backend",
        }
    }
}

#[derive(Default)]
struct Counters {
    hits: AtomicU64,
    misses: AtomicU64,
    evictions: AtomicU64,
    promotions: AtomicU64,
    demotions: AtomicU64,
}

/// Per-tier figures for `cache/stats`.
#[derive(Debug, Clone, Serialize)]
pub struct TierStats {
    pub tier: &'static str,
    #[serde(flatten)]
    pub usage: TierUsage,
    pub hits: u64,
    pub misses: u64,
    pub hit_rate: f64,
    pub evictions: u64,
    pub promotions: u64,
    pub demotions: u64,
}

/// Why a tiered read failed: the fetch's own error, or the cache's.
#[derive(Debug, Clone, thiserror::Error)]
pub enum TieredError<E> {
    #[error(transparent)]
    Fetch(E),
    #[error("{0}")]
    Cache(String),
}

/// Told where content went, so per-CID metadata can say which tier holds it.
pub trait TierObserver: Send + Sync {
    /// `cid` (of `size` bytes) is now held by `tier` (`Backend`: no longer cached).
    fn moved(&self, cid: &Cid, tier: Tier, size: u64);
    /// A tier (or all, `None`) was emptied.
    fn cleared(&self, tier: Option<Tier>);
}

type Inflight<E> = Arc<tokio::sync::OnceCell<Result<Bytes, E>>>;

pub struct TieredStore<E> {
    memory: Arc<dyn CacheTier>,
    disk: Option<Arc<dyn CacheTier>>,
    /// Changed at run time by [`TieredStore::set_limits`].
    max_object_bytes: AtomicU64,
    memory_counters: Counters,
    disk_counters: Counters,
    fetches: AtomicU64,
    inflight: Mutex<HashMap<Cid, Inflight<E>>>,
    observer: Option<Arc<dyn TierObserver>>,
}

impl<E: Clone + Send + Sync + 'static> TieredStore<E> {
    pub fn new(
        memory: Arc<dyn CacheTier>,
        disk: Option<Arc<dyn CacheTier>>,
        max_object_bytes: u64,
    ) -> Self {
        Self {
            memory,
            disk,
            max_object_bytes: AtomicU64::new(max_object_bytes),
            memory_counters: Counters::default(),
            disk_counters: Counters::default(),
            fetches: AtomicU64::new(0),
            inflight: Mutex::new(HashMap::new()),
            observer: None,
        }
    }

    pub fn with_observer(mut self, observer: Arc<dyn TierObserver>) -> Self {
        self.observer = Some(observer);
        self
    }

    fn moved(&self, cid: &Cid, tier: Tier, size: usize) {
        if let Some(o) = &self.observer {
            o.moved(cid, tier, size as u64);
        }
    }

    /// Makes the disk tier durable (shutdown).
    pub fn flush(&self) -> Result<(), PersistenceError> {
        self.memory.flush()?;
        if let Some(disk) = &self.disk {
            disk.flush()?;
        }
        Ok(())
    }

    pub fn has_disk(&self) -> bool {
        self.disk.is_some()
    }

    /// Objects above this size are not cached whole.
    pub fn max_object_bytes(&self) -> u64 {
        self.max_object_bytes.load(Ordering::Relaxed)
    }

    /// Changes the limits while serving (`cli/config/update`, SIGHUP): each tier evicts down
    /// to its new limit, the disk first, so that what memory gives up is demoted into the
    /// disk's new room as on any eviction. `disk` is ignored without a disk tier.
    pub fn set_limits(
        &self,
        memory: u64,
        disk: Option<u64>,
        max_object_bytes: u64,
    ) -> Result<(), PersistenceError> {
        self.max_object_bytes
            .store(max_object_bytes, Ordering::Relaxed);
        if let (Some(tier), Some(limit)) = (&self.disk, disk) {
            let dropped = tier.set_limit(limit)?;
            self.dropped_from_disk(dropped);
        }
        let evicted = self.memory.set_limit(memory)?;
        self.demote(evicted)
    }

    /// Objects being fetched right now (each held in memory until its readers have it).
    pub fn inflight_fetches(&self) -> usize {
        self.inflight.lock().len()
    }

    /// How many times the backend was asked (for stampede checks and stats).
    pub fn backend_fetches(&self) -> u64 {
        self.fetches.load(Ordering::Relaxed)
    }

    /// The object from the nearest tier, or from `fetch` (run at most once per CID at a time).
    pub async fn get_or_fetch<F, Fut>(
        &self,
        cid: &Cid,
        fetch: F,
    ) -> Result<(Bytes, Tier), TieredError<E>>
    where
        F: FnOnce() -> Fut,
        Fut: Future<Output = Result<Bytes, E>>,
    {
        if let Some(hit) = self.get(cid).map_err(cache_err)? {
            return Ok(hit);
        }
        let cell = self.inflight.lock().entry(*cid).or_default().clone();
        let result = cell
            .get_or_init(|| async {
                self.fetches.fetch_add(1, Ordering::Relaxed);
                let fetched = fetch().await;
                if let Ok(data) = &fetched {
                    // caching failures must not fail the read
                    if let Err(e) = self.insert(*cid, data.clone()) {
                        tracing::warn!(%cid, error = %e, "caching a fetched object failed");
                    }
                }
                fetched
            })
            .await
            .clone();
        {
            // Only our own cell: a newer fetch for the same CID may have started meanwhile.
            let mut inflight = self.inflight.lock();
            if inflight.get(cid).is_some_and(|c| Arc::ptr_eq(c, &cell)) {
                inflight.remove(cid);
            }
        }
        result
            .map(|data| (data, Tier::Backend))
            .map_err(TieredError::Fetch)
    }

    /// The object from the nearest tier, without fetching; a `cache.get` span (with the tier
    /// that answered, or `miss`) when the request is traced.
    pub fn get(&self, cid: &Cid) -> Result<Option<(Bytes, Tier)>, PersistenceError> {
        use crate::telemetry::traces;
        let Some(cx) = traces::child(
            || "cache.get".into(),
            opentelemetry::trace::SpanKind::Internal,
            || vec![opentelemetry::KeyValue::new("ipfs.cid", cid.to_string())],
        ) else {
            return self.lookup(cid);
        };
        let found = self.lookup(cid);
        let tier = match &found {
            Ok(Some((_, tier))) => tier.as_str(),
            Ok(None) => "miss",
            Err(_) => "error",
        };
        traces::annotate(&cx, [opentelemetry::KeyValue::new("cache.tier", tier)]);
        let error = found.as_ref().err();
        traces::end(&cx, error.map(|e| e as &dyn std::fmt::Display));
        found
    }

    fn lookup(&self, cid: &Cid) -> Result<Option<(Bytes, Tier)>, PersistenceError> {
        if let Some(data) = self.memory.get(cid)? {
            self.memory_counters.hits.fetch_add(1, Ordering::Relaxed);
            return Ok(Some((data, Tier::Memory)));
        }
        self.memory_counters.misses.fetch_add(1, Ordering::Relaxed);
        let Some(disk) = &self.disk else {
            return Ok(None);
        };
        match disk.get(cid)? {
            Some(data) => {
                self.disk_counters.hits.fetch_add(1, Ordering::Relaxed);
                self.disk_counters
                    .promotions
                    .fetch_add(1, Ordering::Relaxed);
                self.put_memory(*cid, data.clone())?;
                Ok(Some((data, Tier::Disk)))
            }
            None => {
                self.disk_counters.misses.fetch_add(1, Ordering::Relaxed);
                Ok(None)
            }
        }
    }

    /// Caches a fetched object in memory (demoting evictions to disk).
    pub fn insert(&self, cid: Cid, data: Bytes) -> Result<(), PersistenceError> {
        if data.len() as u64 > self.max_object_bytes() {
            return Ok(());
        }
        self.put_memory(cid, data)
    }

    fn put_memory(&self, cid: Cid, data: Bytes) -> Result<(), PersistenceError> {
        let size = data.len();
        let evicted = self.memory.put(cid, data)?;
        if self.memory.contains(&cid)? {
            self.moved(&cid, Tier::Memory, size);
        }
        self.demote(evicted)
    }

    /// What memory evicted goes to disk (or, without one, out of the cache).
    fn demote(&self, evicted: Vec<Evicted>) -> Result<(), PersistenceError> {
        self.memory_counters
            .evictions
            .fetch_add(evicted.len() as u64, Ordering::Relaxed);
        for old in evicted {
            let (Some(disk), Some(old_data)) = (&self.disk, old.data) else {
                self.moved(&old.cid, Tier::Backend, old.size as usize);
                continue;
            };
            self.memory_counters
                .demotions
                .fetch_add(1, Ordering::Relaxed);
            let dropped = disk.put(old.cid, old_data)?;
            if disk.contains(&old.cid)? {
                self.moved(&old.cid, Tier::Disk, old.size as usize);
            } else {
                self.moved(&old.cid, Tier::Backend, old.size as usize);
            }
            self.dropped_from_disk(dropped);
        }
        Ok(())
    }

    fn dropped_from_disk(&self, dropped: Vec<Evicted>) {
        self.disk_counters
            .evictions
            .fetch_add(dropped.len() as u64, Ordering::Relaxed);
        for gone in dropped {
            self.moved(&gone.cid, Tier::Backend, gone.size as usize);
        }
    }

    /// Empties every tier, or one (`memory` / `disk`).
    pub fn clear(&self, tier: Option<Tier>) -> Result<(), PersistenceError> {
        if matches!(tier, None | Some(Tier::Memory)) {
            self.memory.clear()?;
        }
        if let (Some(disk), None | Some(Tier::Disk)) = (&self.disk, tier) {
            disk.clear()?;
        }
        if let Some(o) = &self.observer {
            o.cleared(tier);
        }
        Ok(())
    }

    pub fn stats(&self) -> Vec<TierStats> {
        let mut out = vec![snapshot(&*self.memory, &self.memory_counters)];
        if let Some(disk) = &self.disk {
            out.push(snapshot(&**disk, &self.disk_counters));
        }
        out
    }
}

fn cache_err<E>(e: PersistenceError) -> TieredError<E> {
    TieredError::Cache(e.to_string())
}

fn snapshot(tier: &dyn CacheTier, c: &Counters) -> TierStats {
    let hits = c.hits.load(Ordering::Relaxed);
    let misses = c.misses.load(Ordering::Relaxed);
    TierStats {
        tier: tier.name(),
        usage: tier.usage(),
        hits,
        misses,
        hit_rate: if hits + misses == 0 {
            0.0
        } else {
            hits as f64 / (hits + misses) as f64
        },
        evictions: c.evictions.load(Ordering::Relaxed),
        promotions: c.promotions.load(Ordering::Relaxed),
        demotions: c.demotions.load(Ordering::Relaxed),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::persistence::conformance::object;
    use crate::persistence::{disk::DiskTier, memory::MemoryTier};

    fn store(dir: &std::path::Path) -> TieredStore<String> {
        TieredStore::new(
            Arc::new(MemoryTier::new(1000).with_entry_overhead(0)),
            Some(Arc::new(
                DiskTier::open(dir, 2000).unwrap().with_min_charge(1),
            )),
            800,
        )
    }

    #[tokio::test]
    async fn reads_fall_through_and_promote_and_demote() {
        let dir = tempfile::tempdir().unwrap();
        let s = store(dir.path());
        let (a, da) = object(1, 600);
        let (b, db) = object(2, 600);
        let fetch = |d: Bytes| move || async move { Ok::<_, String>(d) };
        assert_eq!(
            s.get_or_fetch(&a, fetch(da.clone())).await.unwrap().1,
            Tier::Backend
        );
        assert_eq!(
            s.get_or_fetch(&a, fetch(da.clone())).await.unwrap().1,
            Tier::Memory
        );
        // b pushes a out of memory (1000 bytes) into disk
        s.get_or_fetch(&b, fetch(db.clone())).await.unwrap();
        let (data, tier) = s.get_or_fetch(&a, fetch(Bytes::new())).await.unwrap();
        assert_eq!((data, tier), (da.clone(), Tier::Disk));
        assert_eq!(s.backend_fetches(), 2);
        let stats = s.stats();
        assert_eq!(stats[0].demotions, 2, "a, then b when a was promoted back");
        assert_eq!(stats[1].promotions, 1);
        assert!(stats[0].hit_rate > 0.0);
    }

    #[tokio::test]
    async fn large_objects_are_served_not_cached_and_errors_are_not_cached() {
        let dir = tempfile::tempdir().unwrap();
        let s = store(dir.path());
        let (big, dbig) = object(3, 900);
        let d = dbig.clone();
        s.get_or_fetch(&big, move || async move { Ok::<_, String>(d) })
            .await
            .unwrap();
        assert_eq!(s.stats()[0].usage.items, 0);
        let (c, _) = object(4, 10);
        let err = s
            .get_or_fetch(&c, || async { Err::<Bytes, _>("down".to_string()) })
            .await;
        assert!(matches!(err, Err(TieredError::Fetch(e)) if e == "down"));
        assert!(
            s.get_or_fetch(&c, || async { Ok::<_, String>(Bytes::from_static(b"x")) })
                .await
                .is_ok()
        );
    }

    #[test]
    fn smaller_limits_at_run_time_demote_then_drop() {
        let dir = tempfile::tempdir().unwrap();
        let s = store(dir.path());
        let (a, da) = object(6, 400);
        let (b, db) = object(7, 400);
        s.insert(a, da).unwrap();
        s.insert(b, db.clone()).unwrap();
        // memory shrinks to one object: the other goes to disk, not away
        s.set_limits(500, Some(2000), 800).unwrap();
        let usage: Vec<u64> = s.stats().iter().map(|t| t.usage.items).collect();
        assert_eq!(usage, [1, 1]);
        assert_eq!(s.stats()[0].demotions, 1);
        // then the disk shrinks below it, and objects above the new size limit are not cached
        s.set_limits(500, Some(100), 300).unwrap();
        assert_eq!(s.stats()[1].usage.items, 0);
        assert_eq!(s.stats()[1].evictions, 1);
        assert_eq!(s.max_object_bytes(), 300);
        let (c, dc) = object(8, 301);
        s.insert(c, dc).unwrap();
        assert!(s.get(&c).unwrap().is_none());
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn concurrent_misses_fetch_once() {
        let dir = tempfile::tempdir().unwrap();
        let s = Arc::new(store(dir.path()));
        let (a, da) = object(5, 100);
        let calls = Arc::new(AtomicU64::new(0));
        let mut tasks = Vec::new();
        for _ in 0..32 {
            let (s, da, calls) = (s.clone(), da.clone(), calls.clone());
            tasks.push(tokio::spawn(async move {
                s.get_or_fetch(&a, move || async move {
                    calls.fetch_add(1, Ordering::SeqCst);
                    tokio::time::sleep(std::time::Duration::from_millis(50)).await;
                    Ok::<_, String>(da)
                })
                .await
                .unwrap()
                .0
            }));
        }
        for t in tasks {
            assert_eq!(t.await.unwrap(), da);
        }
        assert_eq!(calls.load(Ordering::SeqCst), 1);
    }
}
