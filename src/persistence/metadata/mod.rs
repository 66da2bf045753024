//! The CID metadata cache: one row per CID (size, MIME type, pin state, first and last access,
//! access count, heat score, cache tier, backend), queryable like a table and kept in Parquet.
//!
//! # Design
//! * **The table lives in memory** ([`table::Table`]); every query and update works there, so
//!   queries see rows not yet flushed and a filtered top-100 over a million rows is one scan.
//! * **Parquet is the durable log.** Changed rows are marked dirty and written in batches, at
//!   most [`MetadataOptions::rows_per_partition`] rows per file, every
//!   [`MetadataOptions::flush_interval_ms`] (sooner when a partition's worth is waiting) and on
//!   shutdown. Files are `metadata/part-<seq>.parquet`; at start-up they are read in sequence
//!   order and a later copy of a row replaces an earlier one. When there are more than
//!   [`MetadataOptions::max_partitions`] files, the whole table is rewritten as fresh partitions
//!   and the old files are deleted (a crash in between leaves duplicates that loading resolves).
//! * **Durability.** Each file is written to a temporary name, fsynced and renamed
//!   ([`partition::write`]): after `kill -9` the files are whole or absent, so at most the last
//!   flush interval is lost. A file that still fails to read (disk corruption, a truncated copy)
//!   is moved to `metadata/quarantine/`, reported in `/health`, and the service keeps running.
//! * **Heat** ([`heat`]) ranks CIDs by decayed access frequency. The tiers ask
//!   [`MetadataStore::rank`] to evict the coldest, and start-up pre-warms the hottest
//!   ([`MetadataStore::hottest`]).
//!
//! Invariant: the metadata lock is never held while calling into a tier or the backend (tiers
//! call [`MetadataStore::rank`] under their own locks).

pub mod flush;
pub mod heat;
pub mod partition;
pub mod prune;
pub mod query;
pub mod table;

use super::PersistenceError;
use super::tiered::Tier;
use cid::Cid;
use heat::Heat;
use parking_lot::Mutex;
use query::{Query, QueryError, QueryResult, RowView};
use serde::{Deserialize, Serialize};
use std::path::{Path, PathBuf};
use std::sync::atomic::AtomicU64;
use std::sync::mpsc;
use table::{NONE, Row, Table};

pub use flush::FlusherHandle;

/// How the metadata cache keeps and scores its rows.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default)]
pub struct MetadataOptions {
    /// Half-life of an access's contribution to the heat score, in seconds.
    pub heat_half_life_secs: f64,
    /// How often changed rows are written to Parquet (the most a crash can lose).
    pub flush_interval_ms: u64,
    /// Most rows in one Parquet file; a full partition's worth of changes flushes early.
    pub rows_per_partition: usize,
    /// Above this many files the table is compacted into fresh partitions.
    pub max_partitions: usize,
    /// Pre-warm the memory tier with the hottest CIDs at start-up.
    pub prewarm: bool,
    /// Most rows kept (about 160 bytes of memory each); past it the coldest rows of content
    /// that is neither pinned nor cached are dropped (see [`prune`]).
    pub max_rows: usize,
}

impl Default for MetadataOptions {
    fn default() -> Self {
        Self {
            heat_half_life_secs: 3600.0,
            flush_interval_ms: 5000,
            rows_per_partition: 100_000,
            max_partitions: 64,
            prewarm: true,
            max_rows: 250_000,
        }
    }
}

/// A whole row for bulk loading ([`MetadataStore::insert_rows`]).
#[derive(Debug, Clone)]
pub struct NewRow {
    pub cid: Cid,
    pub size_bytes: Option<u64>,
    pub mime_type: Option<String>,
    pub pinned: bool,
    pub first_seen_ms: i64,
    pub last_access_ms: Option<i64>,
    pub access_count: u64,
    pub heat: Heat,
    pub tier: Tier,
}

/// A partition that failed to load and was moved aside.
#[derive(Debug, Clone, Serialize)]
pub struct Quarantined {
    pub file: String,
    pub moved_to: String,
    pub reason: String,
}

/// What the last flush did.
#[derive(Debug, Clone, Default, Serialize)]
pub struct FlushReport {
    pub rows: usize,
    pub files: usize,
    pub at: Option<String>,
    pub compacted: bool,
}

/// Figures for `cache/stats` and `/health`.
#[derive(Debug, Clone, Serialize)]
pub struct MetadataStatus {
    pub rows: usize,
    pub dirty_rows: usize,
    pub partitions: usize,
    pub persistent: bool,
    pub last_flush: FlushReport,
    pub last_flush_error: Option<String>,
    pub flushes: u64,
    pub flush_failures: u64,
    pub quarantined: Vec<Quarantined>,
    pub heat_half_life_secs: f64,
}

struct State {
    table: Table,
    dirty: hashbrown::HashSet<u32>,
    backend: u16,
    /// Bumped by every prune: row indices taken before it are stale.
    generation: u64,
    /// A prune dropped rows the files still hold: the next flush rewrites the table.
    compact_pending: bool,
}

struct Files {
    dir: PathBuf,
    /// Sequence numbers of the partitions on disk, ascending.
    partitions: Vec<u64>,
    next_seq: u64,
}

pub struct MetadataStore {
    options: MetadataOptions,
    half_life_ms: f64,
    state: Mutex<State>,
    /// `None`: in memory only (`--isolation`). The lock also serialises flushes.
    files: Option<Mutex<Files>>,
    quarantined: Vec<Quarantined>,
    last_flush: Mutex<(FlushReport, Option<String>)>,
    /// Flushes that wrote something, and flushes that failed.
    flush_counts: (AtomicU64, AtomicU64),
    wake: Mutex<Option<mpsc::Sender<()>>>,
}

/// Milliseconds since the Unix epoch, from the system clock without a calendar conversion
/// (chrono's `Utc::now` builds a date: measured at 0.7% of a cached 4 KiB cat, which asks twice).
pub fn now_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as i64)
}

fn storage(e: impl std::fmt::Display) -> PersistenceError {
    PersistenceError::Storage(e.to_string())
}

fn partition_path(dir: &Path, seq: u64) -> PathBuf {
    dir.join(format!("part-{seq:010}.parquet"))
}

fn partition_seq(name: &str) -> Option<u64> {
    name.strip_prefix("part-")?
        .strip_suffix(".parquet")?
        .parse()
        .ok()
}

impl MetadataStore {
    /// Opens (or creates) the store under `dir`, or in memory only when `dir` is `None`.
    /// Unreadable partitions are quarantined, not fatal.
    pub fn open(
        dir: Option<&Path>,
        options: MetadataOptions,
        backend: &str,
    ) -> Result<Self, PersistenceError> {
        let mut table = Table::default();
        let backend = table.backends.intern(backend);
        let mut quarantined = Vec::new();
        let files = match dir {
            None => None,
            Some(dir) => {
                std::fs::create_dir_all(dir).map_err(storage)?;
                let mut seqs = Vec::new();
                for entry in std::fs::read_dir(dir).map_err(storage)? {
                    let entry = entry.map_err(storage)?;
                    let name = entry.file_name().to_string_lossy().into_owned();
                    if name.ends_with(".parquet.tmp") {
                        // a flush interrupted before its rename: never acknowledged
                        let _ = std::fs::remove_file(entry.path());
                    } else if let Some(seq) = partition_seq(&name) {
                        seqs.push(seq);
                    }
                }
                seqs.sort_unstable();
                let mut partitions = Vec::new();
                for seq in seqs {
                    let path = partition_path(dir, seq);
                    match partition::read_into(&path, &mut table) {
                        Ok(_) => partitions.push(seq),
                        Err(reason) => quarantined.push(quarantine(dir, &path, reason)?),
                    }
                }
                let next_seq = partitions.last().map_or(1, |s| s + 1);
                Some(Mutex::new(Files {
                    dir: dir.to_path_buf(),
                    partitions,
                    next_seq,
                }))
            }
        };
        Ok(Self {
            half_life_ms: options.heat_half_life_secs.max(0.001) * 1000.0,
            options,
            state: Mutex::new(State {
                table,
                dirty: Default::default(),
                backend,
                generation: 0,
                compact_pending: false,
            }),
            files,
            quarantined,
            last_flush: Mutex::new((FlushReport::default(), None)),
            flush_counts: Default::default(),
            wake: Mutex::new(None),
        })
    }

    pub fn options(&self) -> &MetadataOptions {
        &self.options
    }

    /// Partitions moved aside at start-up.
    pub fn quarantined(&self) -> &[Quarantined] {
        &self.quarantined
    }

    fn update(&self, cid: &Cid, change: impl FnOnce(&mut Row, &mut Table)) {
        self.update_at(now_ms(), cid, change)
    }

    /// `update` with the time already read.
    fn update_at(&self, now: i64, cid: &Cid, change: impl FnOnce(&mut Row, &mut Table)) {
        let mut guard = self.state.lock();
        let state = &mut *guard;
        let backend = state.backend;
        let i = state.table.upsert(cid, || Row {
            cid: *cid,
            size_bytes: None,
            mime: NONE,
            pinned: false,
            first_seen_ms: now,
            last_access_ms: None,
            access_count: 0,
            heat: Heat::ZERO,
            tier: Tier::Backend,
            backend,
        });
        let mut row = state.table.rows[i].clone();
        change(&mut row, &mut state.table);
        if row != state.table.rows[i] {
            state.table.rows[i] = row;
            state.dirty.insert(i as u32);
        }
        let dropped = prune::prune(
            &mut state.table,
            self.options.max_rows,
            self.half_life_ms,
            cid,
        );
        if dropped > 0 {
            // the rewrite of the whole table at the next flush carries every change
            state.dirty.clear();
            state.generation += 1;
            state.compact_pending = self.files.is_some();
        }
        let full = state.dirty.len() >= self.options.rows_per_partition || state.compact_pending;
        drop(guard);
        if full {
            self.wake_flusher();
        }
    }

    fn set_mime(row: &mut Row, table: &mut Table, mime: Option<&str>) {
        if let Some(m) = mime
            && row.mime == NONE
        {
            row.mime = table.mimes.intern(m);
        }
    }

    /// A read of `cid`: one more access, heat bumped, and what the read learnt.
    pub fn record_access(&self, cid: &Cid, size: u64, mime: Option<&str>, tier: Tier) {
        let now = now_ms();
        let h = self.half_life_ms;
        self.update_at(now, cid, |row, table| {
            row.size_bytes = Some(size);
            Self::set_mime(row, table, mime);
            row.access_count += 1;
            row.last_access_ms = Some(now);
            row.heat = row.heat.bump(now, h);
            // a read from the backend caches it only if small enough; the tiers say so
            if tier != Tier::Backend {
                row.tier = tier;
            }
        });
    }

    /// New content: its size and type; pinned if the add pinned it.
    pub fn record_add(&self, cid: &Cid, size: u64, mime: Option<&str>, pinned: bool) {
        self.update(cid, |row, table| {
            row.size_bytes = Some(size);
            Self::set_mime(row, table, mime);
            row.pinned |= pinned;
        });
    }

    pub fn set_pinned(&self, cid: &Cid, pinned: bool) {
        self.update(cid, |row, _| row.pinned = pinned);
    }

    /// The content moved between tiers (`Backend`: no longer cached).
    pub fn set_tier(&self, cid: &Cid, tier: Tier, size: u64) {
        self.update(cid, |row, _| {
            row.tier = tier;
            row.size_bytes = Some(size);
        });
    }

    /// Every row cached in a tier now says `Backend` (the tiers were cleared).
    pub fn tiers_cleared(&self, which: Option<Tier>) {
        let mut guard = self.state.lock();
        let state = &mut *guard;
        for (i, row) in state.table.rows.iter_mut().enumerate() {
            if row.tier != Tier::Backend && which.is_none_or(|t| t == row.tier) {
                row.tier = Tier::Backend;
                state.dirty.insert(i as u32);
            }
        }
    }

    /// Inserts or replaces whole rows (imports, benchmarks); they flush like any change.
    pub fn insert_rows(&self, rows: impl IntoIterator<Item = NewRow>) {
        let mut guard = self.state.lock();
        let state = &mut *guard;
        for r in rows {
            let mime = r
                .mime_type
                .as_deref()
                .map_or(NONE, |m| state.table.mimes.intern(m));
            state.table.put(Row {
                cid: r.cid,
                size_bytes: r.size_bytes,
                mime,
                pinned: r.pinned,
                first_seen_ms: r.first_seen_ms,
                last_access_ms: r.last_access_ms,
                access_count: r.access_count,
                heat: r.heat,
                tier: r.tier,
                backend: state.backend,
            });
            let i = state.table.position(&r.cid).expect("just put");
            state.dirty.insert(i as u32);
        }
    }

    /// The whole table as one Arrow batch, as a flush writes it (benchmark references).
    pub fn to_record_batch(&self) -> arrow::array::RecordBatch {
        let state = self.state.lock();
        let rows: Vec<&Row> = state.table.rows.iter().collect();
        partition::to_batch(&rows, &state.table, now_ms(), self.half_life_ms)
    }

    /// Marks every row changed, so the next flush writes the whole table (benchmarks).
    pub fn mark_all_dirty(&self) {
        let mut state = self.state.lock();
        let n = state.table.len() as u32;
        state.dirty.extend(0..n);
    }

    /// The time-free heat rank (larger is hotter; `-inf` for unknown or never read).
    pub fn rank(&self, cid: &Cid) -> f64 {
        self.ranks(std::slice::from_ref(cid))[0]
    }

    /// [`Self::rank`] of several CIDs under one lock (an eviction's sample).
    pub fn ranks(&self, cids: &[Cid]) -> Vec<f64> {
        let state = self.state.lock();
        cids.iter()
            .map(|cid| {
                state
                    .table
                    .get(cid)
                    .map_or(f64::NEG_INFINITY, |r| r.heat.rank(self.half_life_ms))
            })
            .collect()
    }

    /// The hottest read CIDs of known size, hottest first, at most `max_bytes` in all and each
    /// at most `max_object` bytes.
    pub fn hottest(&self, max_bytes: u64, max_object: u64) -> Vec<(Cid, u64)> {
        let state = self.state.lock();
        let mut ranked: Vec<(f64, Cid, u64)> = state
            .table
            .rows
            .iter()
            .filter(|r| r.access_count > 0)
            .filter_map(|r| {
                let size = r.size_bytes.filter(|&s| s <= max_object)?;
                Some((r.heat.rank(self.half_life_ms), r.cid, size))
            })
            .collect();
        drop(state);
        ranked.sort_unstable_by(|a, b| b.0.total_cmp(&a.0));
        let mut total = 0;
        ranked
            .into_iter()
            .take_while(|(_, _, size)| {
                total += size;
                total <= max_bytes
            })
            .map(|(_, cid, size)| (cid, size))
            .collect()
    }

    pub fn get(&self, cid: &Cid) -> Option<RowView> {
        let state = self.state.lock();
        let row = state.table.get(cid)?;
        Some(RowView::new(row, &state.table, now_ms(), self.half_life_ms))
    }

    pub fn query(&self, q: &Query) -> Result<QueryResult, QueryError> {
        let state = self.state.lock();
        query::run(q, &state.table, now_ms(), self.half_life_ms)
    }

    /// Rows in the table.
    pub fn len(&self) -> usize {
        self.state.lock().table.len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    pub fn status(&self) -> MetadataStatus {
        let (rows, dirty_rows) = {
            let s = self.state.lock();
            (s.table.len(), s.dirty.len())
        };
        let (last_flush, last_flush_error) = self.last_flush.lock().clone();
        MetadataStatus {
            rows,
            dirty_rows,
            partitions: self.files.as_ref().map_or(0, |f| f.lock().partitions.len()),
            persistent: self.files.is_some(),
            last_flush,
            last_flush_error,
            flushes: self
                .flush_counts
                .0
                .load(std::sync::atomic::Ordering::Relaxed),
            flush_failures: self
                .flush_counts
                .1
                .load(std::sync::atomic::Ordering::Relaxed),
            quarantined: self.quarantined.clone(),
            heat_half_life_secs: self.options.heat_half_life_secs,
        }
    }
}

impl super::tiered::TierObserver for MetadataStore {
    fn moved(&self, cid: &Cid, tier: Tier, size: u64) {
        self.set_tier(cid, tier, size);
    }

    fn cleared(&self, tier: Option<Tier>) {
        self.tiers_cleared(tier);
    }
}

/// Moves an unreadable partition to `quarantine/` so the next start does not trip on it again.
fn quarantine(dir: &Path, path: &Path, reason: String) -> Result<Quarantined, PersistenceError> {
    let qdir = dir.join("quarantine");
    std::fs::create_dir_all(&qdir).map_err(storage)?;
    let name = path
        .file_name()
        .unwrap_or_default()
        .to_string_lossy()
        .into_owned();
    let target = qdir.join(format!("{name}.{}", now_ms()));
    std::fs::rename(path, &target).map_err(storage)?;
    tracing::error!(file = %path.display(), moved_to = %target.display(), %reason,
        "unreadable metadata partition moved aside");
    Ok(Quarantined {
        file: name,
        moved_to: target.display().to_string(),
        reason,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::persistence::conformance::object;

    fn options() -> MetadataOptions {
        MetadataOptions {
            rows_per_partition: 3,
            max_partitions: 4,
            ..MetadataOptions::default()
        }
    }

    fn cids(n: u8) -> Vec<Cid> {
        (0..n).map(|i| object(i, 10).0).collect()
    }

    #[test]
    fn past_max_rows_the_coldest_unheld_rows_go_and_stay_gone_after_reopen() {
        let dir = tempfile::tempdir().unwrap();
        let opts = MetadataOptions {
            max_rows: 20,
            ..options()
        };
        let cids = cids(40);
        {
            let store = MetadataStore::open(Some(dir.path()), opts.clone(), "simulation").unwrap();
            store.record_add(&cids[0], 1, None, true);
            store.flush().unwrap();
            // later rows are read more often: hotter
            for (i, cid) in cids.iter().enumerate().skip(1) {
                store.record_add(cid, 1, None, false);
                for _ in 0..=i / 5 {
                    store.record_access(cid, 1, None, Tier::Backend);
                }
            }
            assert!(store.len() <= 20, "{} rows", store.len());
            assert!(store.get(&cids[0]).is_some(), "pinned rows stay");
            assert!(
                store.get(&cids[39]).is_some(),
                "the newest (hottest) row stays"
            );
            assert!(store.get(&cids[1]).is_none(), "an old cold row went");
            let report = store.flush().unwrap();
            assert!(
                report.compacted,
                "dropped rows leave the files by a rewrite"
            );
        }
        let store = MetadataStore::open(Some(dir.path()), opts, "simulation").unwrap();
        assert!(store.len() <= 20, "{} rows after reopen", store.len());
        assert!(store.get(&cids[1]).is_none());
    }

    #[test]
    fn queries_see_unflushed_rows_and_flushes_survive_reopen() {
        let dir = tempfile::tempdir().unwrap();
        let cids = cids(7);
        {
            let store = MetadataStore::open(Some(dir.path()), options(), "simulation").unwrap();
            for (i, cid) in cids.iter().enumerate() {
                store.record_add(cid, 100 + i as u64, Some("text/plain"), i == 0);
                for _ in 0..i {
                    store.record_access(cid, 100 + i as u64, None, Tier::Memory);
                }
            }
            // nothing flushed yet, and the query already sees everything
            assert_eq!(store.status().partitions, 0);
            let r = store.query(&Query::default()).unwrap();
            assert_eq!(r.matched, 7);
            assert_eq!(r.rows[0].cid, cids[6].to_string(), "hottest first");
            let report = store.flush().unwrap();
            assert_eq!((report.rows, report.files), (7, 3), "3 rows per partition");
            assert_eq!(store.status().dirty_rows, 0);
            store.set_pinned(&cids[3], true);
            store.flush().unwrap();
        }
        let store = MetadataStore::open(Some(dir.path()), options(), "simulation").unwrap();
        assert_eq!(store.status().rows, 7);
        assert!(store.quarantined().is_empty());
        let row = store.get(&cids[3]).unwrap();
        assert!(row.pinned, "the later partition's copy wins");
        assert_eq!((row.access_count, row.size_bytes), (3, Some(103)));
        assert_eq!(row.mime_type.as_deref(), Some("text/plain"));
        assert_eq!(row.tier, "memory");
        assert!((row.heat_score - 3.0).abs() < 0.01, "{}", row.heat_score);
        let r = store.query(&Query::default()).unwrap();
        assert_eq!(r.rows[0].cid, cids[6].to_string());
        assert!(store.rank(&cids[6]) > store.rank(&cids[5]));
    }

    #[test]
    fn many_flushes_compact_into_fresh_partitions() {
        let dir = tempfile::tempdir().unwrap();
        let store = MetadataStore::open(Some(dir.path()), options(), "simulation").unwrap();
        let cids = cids(5);
        for round in 0..6u64 {
            for cid in &cids {
                store.record_access(cid, round, None, Tier::Backend);
            }
            store.flush().unwrap();
        }
        // 5 rows -> 2 files per flush; compaction keeps it at ceil(5/3) = 2 after passing 4
        let files = std::fs::read_dir(dir.path()).unwrap().count();
        assert!(store.status().partitions <= 4, "{:?}", store.status());
        assert_eq!(files, store.status().partitions);
        drop(store);
        let store = MetadataStore::open(Some(dir.path()), options(), "simulation").unwrap();
        let row = store.get(&cids[2]).unwrap();
        assert_eq!((row.access_count, row.size_bytes), (6, Some(5)));
    }

    #[test]
    fn corrupt_or_truncated_partitions_are_moved_aside_not_fatal() {
        let dir = tempfile::tempdir().unwrap();
        let cids = cids(7);
        {
            let store = MetadataStore::open(Some(dir.path()), options(), "simulation").unwrap();
            for cid in &cids {
                store.record_access(cid, 1, None, Tier::Backend);
            }
            store.flush().unwrap();
        }
        let first = partition_path(dir.path(), 1);
        let len = std::fs::metadata(&first).unwrap().len();
        std::fs::OpenOptions::new()
            .write(true)
            .open(&first)
            .unwrap()
            .set_len(len / 2)
            .unwrap();
        std::fs::write(partition_path(dir.path(), 2), b"not parquet at all").unwrap();
        std::fs::write(dir.path().join("part-0000000009.parquet.tmp"), b"half").unwrap();
        let store = MetadataStore::open(Some(dir.path()), options(), "simulation").unwrap();
        let q = store.quarantined();
        assert_eq!(q.len(), 2, "{q:?}");
        assert!(q[0].file.ends_with("0001.parquet") && !q[0].reason.is_empty());
        assert!(std::path::Path::new(&q[1].moved_to).exists());
        // the third partition (one row) still loaded; the tmp leftover is gone
        assert_eq!(store.status().rows, 1);
        assert!(!dir.path().join("part-0000000009.parquet.tmp").exists());
        // and the store keeps working: new rows flush after the surviving partition (a CID
        // none of the partitions held: which row survived depends on the flush order)
        let fresh = object(200, 10).0;
        store.record_access(&fresh, 1, None, Tier::Backend);
        store.flush().unwrap();
        drop(store);
        let store = MetadataStore::open(Some(dir.path()), options(), "simulation").unwrap();
        assert_eq!((store.status().rows, store.quarantined().len()), (2, 0));
    }

    #[test]
    fn hottest_fits_the_budget_and_skips_unread_or_large_rows() {
        let store = MetadataStore::open(None, options(), "simulation").unwrap();
        let cids = cids(4);
        for (i, cid) in cids.iter().enumerate() {
            for _ in 0..=i {
                store.record_access(cid, 100, None, Tier::Backend);
            }
        }
        store.record_access(&cids[0], 5000, None, Tier::Backend); // now too large
        store.record_add(&object(9, 1).0, 10, None, false); // never read
        let hot: Vec<Cid> = store.hottest(250, 1000).into_iter().map(|x| x.0).collect();
        assert_eq!(hot, vec![cids[3], cids[2]]);
    }
}
