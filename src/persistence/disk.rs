//! The disk tier: one file per object under `<cache dir>/objects/`, bounded by bytes, the
//! coldest of the least recently used evicted first.
//!
//! Why files and not sled (the first version kept the objects in a sled tree): sled 0.34 keeps
//! inserted values in its in-memory page cache far beyond `cache_capacity` (sled issues #986,
//! #1036, #1093). Under a workload that demotes new 64 KiB-4 MiB objects continuously, heaptrack
//! attributed 2.86 GiB of live heap to `sled::Tree::insert` after 40 s, and the server's RSS
//! went from 290 MiB to 3.3 GiB (issue #11). With files the page cache is the kernel's: it is
//! reclaimable, not the process's anonymous memory, and our own heap holds only the index.
//!
//! * File layout: a 16-byte header (`MAGIC`, CRC32 of the data, data length) and the data. A
//!   read checks the magic, the length and the CRC; a file that fails is removed and reported
//!   as a miss: the cache is never wrong, only absent (a CRC32 catches every torn write and
//!   short file, and random corruption but for 1 in 2^32).
//! * Writes go to `tmp/` and are renamed into place, so a crash never leaves a half-written file
//!   under an object's name; `tmp/` is emptied at open. There is no fsync: this is a cache, and a
//!   `put` acknowledges nothing to a client.
//! * Names: the CID's string form under a fan-out directory named by its second-to-last two
//!   characters (as Kubo's flatfs), so no directory holds more than a few thousand files.
//! * The index (CID -> size, in recency order) lives in memory and is rebuilt at open by
//!   scanning the files, oldest modification first, so recency survives a restart.
//!   Without a [`Ranker`] reads promote in the index and the least recently used goes first.
//!   With one (as the service runs it), reads do not touch the index: the heat score already
//!   weighs every read by recency. Eviction compares the [`EVICTION_SAMPLE`] entries at the old
//!   end of the index, evicts the coldest, and moves the survivors to the young end (a second
//!   chance, as in CLOCK).
//! * Every entry is charged at least [`MIN_CHARGE`] bytes against the limit, which bounds the
//!   index (about 200 bytes an entry) to `limit / MIN_CHARGE` entries whatever the object sizes.

use super::{
    CacheTier, EVICTION_SAMPLE, Evicted, PersistenceError, Ranker, TierUsage, pick_victim,
};
use bytes::Bytes;
use cid::Cid;
use lru::LruCache;
use parking_lot::Mutex;
use std::fs::{self, File};
use std::io::{self, Read, Write};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};

const MAGIC: [u8; 4] = *b"IMC1";
const HEADER: usize = 16;
/// The least an entry counts for: a file takes a 4 KiB block on most filesystems anyway.
pub const MIN_CHARGE: u64 = 4096;

pub struct DiskTier {
    /// Changed at run time by `set_limit`; read under the index lock.
    limit: AtomicU64,
    objects: PathBuf,
    tmp: PathBuf,
    index: Mutex<Index>,
    ranker: Option<Ranker>,
}

struct Index {
    min_charge: u64,
    /// CID -> data size in bytes, in recency order.
    recency: LruCache<Cid, u64>,
    /// Sum of the entries' charges.
    charged: u64,
    /// Sum of the entries' data sizes.
    bytes: u64,
}

impl Index {
    fn charge(&self, size: u64) -> u64 {
        size.max(self.min_charge)
    }
    fn insert(&mut self, cid: Cid, size: u64) {
        self.charged += self.charge(size);
        self.bytes += size;
        self.recency.put(cid, size);
    }
    fn forget(&mut self, cid: &Cid) -> Option<u64> {
        let size = self.recency.pop(cid)?;
        self.charged -= self.charge(size);
        self.bytes -= size;
        Some(size)
    }
}

fn io_err(what: &str, path: &Path, e: io::Error) -> PersistenceError {
    PersistenceError::Storage(format!("{what} {}: {e}", path.display()))
}

impl DiskTier {
    /// Opens (or creates) the tier in `dir`, indexing the objects already there.
    pub fn open(dir: &Path, limit_bytes: u64) -> Result<Self, PersistenceError> {
        let objects = dir.join("objects");
        let tmp = dir.join("tmp");
        let _ = fs::remove_dir_all(&tmp);
        for d in [&objects, &tmp] {
            fs::create_dir_all(d).map_err(|e| io_err("creating", d, e))?;
        }
        let mut found: Vec<(std::time::SystemTime, Cid, u64)> = Vec::new();
        for fan in fs::read_dir(&objects).map_err(|e| io_err("reading", &objects, e))? {
            let fan = fan.map_err(|e| io_err("reading", &objects, e))?.path();
            let Ok(files) = fs::read_dir(&fan) else {
                continue;
            };
            for file in files.flatten() {
                let path = file.path();
                let parsed = file
                    .file_name()
                    .to_str()
                    .and_then(|n| n.parse::<Cid>().ok());
                let meta = file.metadata().ok();
                match (parsed, meta) {
                    (Some(cid), Some(m))
                        if m.len() >= HEADER as u64 && path == object_path(&objects, &cid) =>
                    {
                        let mtime = m.modified().unwrap_or(std::time::UNIX_EPOCH);
                        found.push((mtime, cid, m.len() - HEADER as u64));
                    }
                    // not ours, or torn: a cache may drop it
                    _ => {
                        let _ = fs::remove_file(&path);
                    }
                }
            }
        }
        found.sort_by_key(|f| f.0);
        let mut index = Index {
            min_charge: MIN_CHARGE,
            recency: LruCache::unbounded(),
            charged: 0,
            bytes: 0,
        };
        for (_, cid, size) in found {
            index.insert(cid, size);
        }
        Ok(Self {
            limit: AtomicU64::new(limit_bytes),
            objects,
            tmp,
            index: Mutex::new(index),
            ranker: None,
        })
    }

    /// Evict by heat (coldest of the least recently used) instead of recency alone.
    pub fn with_ranker(mut self, ranker: Ranker) -> Self {
        self.ranker = Some(ranker);
        self
    }

    /// Charges every entry at least `bytes` (default [`MIN_CHARGE`]; tests use small tiers).
    pub fn with_min_charge(self, bytes: u64) -> Self {
        let mut index = self.index.lock();
        index.min_charge = bytes;
        let charged = index.recency.iter().map(|(_, s)| (*s).max(bytes)).sum();
        index.charged = charged;
        drop(index);
        self
    }

    fn limit(&self) -> u64 {
        self.limit.load(Ordering::Relaxed)
    }

    /// Evicts until `room` more bytes fit under the limit (or nothing is left): the coldest of
    /// the [`EVICTION_SAMPLE`] oldest entries, survivors moved to the young end.
    fn evict_for(&self, index: &mut Index, room: u64) -> Vec<Evicted> {
        let mut evicted = Vec::new();
        while index.charged + room > self.limit() {
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
            let Some((old, old_size)) = victim.and_then(|v| index.forget(&v).map(|s| (v, s)))
            else {
                break;
            };
            let _ = fs::remove_file(object_path(&self.objects, &old));
            evicted.push(Evicted {
                cid: old,
                size: old_size,
                data: None,
            });
        }
        evicted
    }

    /// Where `cid`'s file lives (for benches that compare with a raw file read).
    pub fn path_of(&self, cid: &Cid) -> PathBuf {
        object_path(&self.objects, cid)
    }

    /// Writes `data` under a temporary name and renames it into place.
    fn write(&self, cid: &Cid, data: &[u8]) -> Result<(), PersistenceError> {
        let path = object_path(&self.objects, cid);
        let tmp = self.tmp.join(format!(
            "{}.{}",
            uuid::Uuid::new_v4().simple(),
            std::process::id()
        ));
        let mut header = [0u8; HEADER];
        header[..4].copy_from_slice(&MAGIC);
        header[4..8].copy_from_slice(&crc32fast::hash(data).to_le_bytes());
        header[8..].copy_from_slice(&(data.len() as u64).to_le_bytes());
        let written = File::create(&tmp).and_then(|mut f| {
            f.write_all(&header)?;
            f.write_all(data)
        });
        // the fan-out directory is made the first time a rename into it fails, not on every put
        let moved = written.and_then(|()| match fs::rename(&tmp, &path) {
            Err(e) if e.kind() == io::ErrorKind::NotFound => {
                if let Some(parent) = path.parent() {
                    fs::create_dir_all(parent)?;
                }
                fs::rename(&tmp, &path)
            }
            other => other,
        });
        moved.map_err(|e| {
            let _ = fs::remove_file(&tmp);
            io_err("writing", &path, e)
        })
    }

    /// The object's bytes, checked; `Ok(None)` when the file is gone or fails a check.
    fn read(&self, cid: &Cid, size: u64) -> Result<Option<Bytes>, PersistenceError> {
        let path = object_path(&self.objects, cid);
        let mut file = match File::open(&path) {
            Ok(f) => f,
            Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(None),
            Err(e) => return Err(io_err("opening", &path, e)),
        };
        let mut header = [0u8; HEADER];
        let mut data = vec![0u8; size as usize];
        let read = file
            .read_exact(&mut header)
            .and_then(|()| file.read_exact(&mut data))
            .and_then(|()| {
                // nothing may follow the data
                let mut probe = [0u8; 1];
                Ok(file.read(&mut probe)? == 0)
            });
        let whole = match read {
            Ok(at_end) => at_end,
            Err(e) if e.kind() == io::ErrorKind::UnexpectedEof => false,
            Err(e) => return Err(io_err("reading", &path, e)),
        };
        let crc = u32::from_le_bytes(header[4..8].try_into().expect("4 bytes"));
        let len = u64::from_le_bytes(header[8..].try_into().expect("8 bytes"));
        if whole && header[..4] == MAGIC && len == size && crc32fast::hash(&data) == crc {
            return Ok(Some(Bytes::from(data)));
        }
        tracing::warn!(%cid, path = %path.display(), "disk cache object failed its check; dropped");
        let _ = fs::remove_file(&path);
        Ok(None)
    }
}

/// `objects/<2 chars>/<cid>`: the fan-out is the CID string's second-to-last two characters.
fn object_path(objects: &Path, cid: &Cid) -> PathBuf {
    let name = cid.to_string();
    let fan = &name[name.len().saturating_sub(3)..name.len().saturating_sub(1)];
    objects.join(fan).join(name)
}

impl CacheTier for DiskTier {
    fn name(&self) -> &'static str {
        "disk"
    }

    fn get(&self, cid: &Cid) -> Result<Option<Bytes>, PersistenceError> {
        let size = {
            let mut index = self.index.lock();
            let size = if self.ranker.is_none() {
                index.recency.get(cid).copied()
            } else {
                index.recency.peek(cid).copied()
            };
            match size {
                Some(s) => s,
                None => return Ok(None),
            }
        };
        match self.read(cid, size)? {
            Some(data) => Ok(Some(data)),
            None => {
                self.index.lock().forget(cid);
                Ok(None)
            }
        }
    }

    fn contains(&self, cid: &Cid) -> Result<bool, PersistenceError> {
        Ok(self.index.lock().recency.contains(cid))
    }

    fn put(&self, cid: Cid, data: Bytes) -> Result<Vec<Evicted>, PersistenceError> {
        let size = data.len() as u64;
        let mut index = self.index.lock();
        if index.charge(size) > self.limit() {
            return Ok(Vec::new());
        }
        if index.recency.contains(&cid) {
            index.recency.promote(&cid);
            return Ok(Vec::new());
        }
        let room = index.charge(size);
        let evicted = self.evict_for(&mut index, room);
        self.write(&cid, &data)?;
        index.insert(cid, size);
        Ok(evicted)
    }

    fn remove(&self, cid: &Cid) -> Result<bool, PersistenceError> {
        let mut index = self.index.lock();
        match index.forget(cid) {
            Some(_) => {
                let _ = fs::remove_file(object_path(&self.objects, cid));
                Ok(true)
            }
            None => Ok(false),
        }
    }

    fn clear(&self) -> Result<(), PersistenceError> {
        let mut index = self.index.lock();
        for (cid, _) in index.recency.iter() {
            let _ = fs::remove_file(object_path(&self.objects, cid));
        }
        index.recency.clear();
        index.charged = 0;
        index.bytes = 0;
        Ok(())
    }

    fn usage(&self) -> TierUsage {
        let index = self.index.lock();
        TierUsage {
            items: index.recency.len() as u64,
            bytes: index.bytes,
            charged_bytes: index.charged,
            limit_bytes: self.limit(),
        }
    }

    fn set_limit(&self, limit_bytes: u64) -> Result<Vec<Evicted>, PersistenceError> {
        let mut index = self.index.lock();
        self.limit.store(limit_bytes, Ordering::Relaxed);
        Ok(self.evict_for(&mut index, 0))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn disk_tier_conforms() {
        let dir = tempfile::tempdir().unwrap();
        let tier = DiskTier::open(dir.path(), 1000).unwrap().with_min_charge(1);
        super::super::conformance::run(&tier);
    }

    #[test]
    fn disk_tier_evicts_the_coldest() {
        let dir = tempfile::tempdir().unwrap();
        let heat = std::sync::Arc::new(parking_lot::Mutex::new(Vec::new()));
        let tier = DiskTier::open(dir.path(), 1000)
            .unwrap()
            .with_min_charge(1)
            .with_ranker(super::super::conformance::ranker(heat.clone()));
        super::super::conformance::run_with_heat(&tier, &heat);
    }

    #[test]
    fn disk_tier_survives_reopen_in_recency_order() {
        let dir = tempfile::tempdir().unwrap();
        let (a, da) = super::super::conformance::object(1, 5000);
        let (b, db) = super::super::conformance::object(2, 5000);
        {
            let tier = DiskTier::open(dir.path(), 20_000).unwrap();
            tier.put(a, da.clone()).unwrap();
            std::thread::sleep(std::time::Duration::from_millis(20));
            tier.put(b, db.clone()).unwrap();
        }
        let tier = DiskTier::open(dir.path(), 20_000).unwrap();
        assert_eq!(tier.usage().bytes, 10_000);
        assert_eq!(tier.get(&b).unwrap(), Some(db));
        // a was written first, so it is the least recently used after the restart
        let (c, dc) = super::super::conformance::object(3, 12_000);
        let evicted: Vec<Cid> = tier
            .put(c, dc)
            .unwrap()
            .into_iter()
            .map(|e| e.cid)
            .collect();
        assert_eq!(evicted, vec![a]);
    }

    #[test]
    fn a_damaged_file_is_a_miss_not_wrong_bytes() {
        let dir = tempfile::tempdir().unwrap();
        let tier = DiskTier::open(dir.path(), 1 << 20).unwrap();
        let (a, da) = super::super::conformance::object(7, 10_000);
        let (b, db) = super::super::conformance::object(8, 10_000);
        tier.put(a, da).unwrap();
        tier.put(b, db).unwrap();
        // one byte flipped in a's data, b cut short
        let mut bytes = fs::read(tier.path_of(&a)).unwrap();
        bytes[HEADER + 100] ^= 1;
        fs::write(tier.path_of(&a), bytes).unwrap();
        let short = fs::read(tier.path_of(&b)).unwrap();
        fs::write(tier.path_of(&b), &short[..short.len() - 1]).unwrap();
        assert_eq!(tier.get(&a).unwrap(), None);
        assert_eq!(tier.get(&b).unwrap(), None);
        assert_eq!(tier.usage().items, 0, "failed entries are forgotten");
        assert!(!tier.path_of(&a).exists());
    }

    #[test]
    fn tiny_objects_are_charged_a_block_so_the_index_stays_bounded() {
        let dir = tempfile::tempdir().unwrap();
        let tier = DiskTier::open(dir.path(), 10 * MIN_CHARGE).unwrap();
        for i in 0..100u8 {
            let (c, d) = super::super::conformance::object(i, 1);
            tier.put(c, d).unwrap();
        }
        assert_eq!(tier.usage().items, 10);
        assert_eq!(tier.usage().bytes, 10);
    }
}
