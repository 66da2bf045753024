//! The IPFS model: owns the backend handle, the cache and the service-wide bookkeeping (stats,
//! recent operations, uptime), and holds the logic controllers must not: read planning for
//! ranges, content-type sniffing, health, and keeping the CID metadata (adds, reads, pins) up
//! to date.

use super::health::{HealthStatus, status_of};
use super::memory::{DISK_INDEX_ENTRY_BYTES, METADATA_ROW_BYTES, MemoryReport, Part};
use super::operations::OperationLog;
use super::range::{self, ByteRange, RangePlan};
pub use super::sniff::{ContentTypes, SNIFF_LEN, sniff_content_type};
use super::stats::OperationStats;
use crate::backend::{
    AddOptions, Added, Backend, BackendError, BackendHealth, ByteStream, ContentPath,
};
use crate::persistence::metadata::MetadataStore;
use crate::persistence::tiered::{Tier, TieredError, TieredStore};
use bytes::Bytes;
use cid::Cid;
use futures_util::{StreamExt, TryStreamExt};
use parking_lot::Mutex;
use serde::Serialize;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant};

/// Cache failures surface as storage errors (a 500: a broken disk or a bug, never the client).
impl From<crate::persistence::PersistenceError> for BackendError {
    fn from(e: crate::persistence::PersistenceError) -> Self {
        BackendError::Storage(e.to_string())
    }
}

impl From<TieredError<BackendError>> for BackendError {
    fn from(e: TieredError<BackendError>) -> Self {
        match e {
            TieredError::Fetch(e) => e,
            TieredError::Cache(m) => BackendError::Storage(m),
        }
    }
}

pub struct IpfsModel {
    backend: Arc<dyn Backend>,
    /// Whole small files by CID, in memory and on disk.
    pub cache: TieredStore<BackendError>,
    /// One row per CID: sizes, types, pins, heat.
    pub metadata: Arc<MetadataStore>,
    pub prewarm: Mutex<PrewarmReport>,
    pub stats: OperationStats,
    pub operations: OperationLog,
    /// Sniffed content types by CID.
    pub content_types: ContentTypes,
    started: Instant,
    /// `None` when isolated in memory.
    data_dir: Option<PathBuf>,
}

/// What start-up pre-warming did.
#[derive(Debug, Clone, Default, Serialize)]
pub struct PrewarmReport {
    pub done: bool,
    pub objects: u64,
    pub bytes: u64,
    pub failed: u64,
    pub seconds: f64,
}

/// How to answer a read with an optional `Range`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ReadPlan {
    Full { size: u64 },
    Partial { range: ByteRange, size: u64 },
    Unsatisfiable { size: u64 },
}

/// One link of a UnixFS directory.
#[derive(Debug, Clone)]
pub struct DirEntry {
    pub name: String,
    pub cid: Cid,
    /// Cumulative size of the linked DAG (`Tsize`).
    pub size: u64,
}

/// A file ready to be read.
#[derive(Debug, Clone)]
pub struct OpenFile {
    pub path: ContentPath,
    /// The CID the path resolves to (the ETag).
    pub cid: cid::Cid,
    pub size: u64,
}

impl IpfsModel {
    pub fn new(
        backend: Arc<dyn Backend>,
        cache: TieredStore<BackendError>,
        metadata: Arc<MetadataStore>,
        operations_capacity: usize,
        data_dir: Option<PathBuf>,
    ) -> Self {
        Self {
            backend,
            cache,
            metadata,
            prewarm: Mutex::new(PrewarmReport::default()),
            stats: OperationStats::default(),
            operations: OperationLog::new(operations_capacity),
            content_types: ContentTypes::default(),
            started: Instant::now(),
            data_dir,
        }
    }

    /// A shared handle on the node, for work that outlives a request (CAR export streams).
    pub fn backend(&self) -> Arc<dyn Backend> {
        self.backend.clone()
    }

    /// The node. Operations with no logic beyond the backend's are called on it directly.
    pub fn node(&self) -> &dyn Backend {
        &*self.backend
    }

    pub fn simulated(&self) -> bool {
        self.backend.kind().simulated()
    }

    pub fn uptime(&self) -> Duration {
        self.started.elapsed()
    }

    pub fn data_dir(&self) -> Option<&PathBuf> {
        self.data_dir.as_ref()
    }

    pub async fn health(&self) -> (HealthStatus, BackendHealth) {
        let backend = self.backend.health().await;
        (status_of(&backend), backend)
    }

    /// What the process's memory is made of (see [`super::memory`]).
    pub fn memory(&self) -> MemoryReport {
        let tiers = self.cache.stats();
        let of = |name: &str| tiers.iter().find(|t| t.tier == name).map(|t| t.usage);
        let memory = of("memory").unwrap_or_default();
        let disk_items = of("disk").map_or(0, |u| u.items);
        let fetches = self.cache.inflight_fetches() as u64;
        MemoryReport::new(
            memory,
            Part::of(disk_items, DISK_INDEX_ENTRY_BYTES),
            Part::of(self.metadata.len() as u64, METADATA_ROW_BYTES),
            Part::of(fetches, self.cache.max_object_bytes()),
            self.stats.in_flight(),
        )
    }

    /// Opens a file for reading. A bare CID already cached is answered without the backend;
    /// a file up to the cache's object limit is fetched whole once and cached; a larger one is
    /// left to stream (`None`, tier `Backend`). A directory is an error here.
    pub async fn open_cached(
        &self,
        path: &str,
    ) -> Result<(OpenFile, Option<Bytes>, Tier), BackendError> {
        let parsed: ContentPath = path.parse()?;
        if parsed.segments.is_empty()
            && let Some((data, tier)) = self.cache.get(&parsed.root)?
        {
            let file = OpenFile {
                cid: parsed.root,
                size: data.len() as u64,
                path: parsed,
            };
            return Ok((file, Some(data), tier));
        }
        let file = self.open_parsed(parsed).await?;
        self.open_resolved(file.path, file.cid, None, file.size, true)
            .await
    }

    /// A whole file from the cache tiers, or read once from the backend and cached (concurrent
    /// misses share the read). `known`: the bytes already in hand (a raw leaf's block).
    async fn cache_whole(
        &self,
        cid: Cid,
        known: Option<Bytes>,
    ) -> Result<(Bytes, Tier), BackendError> {
        let node = self.backend.clone();
        Ok(self
            .cache
            .get_or_fetch(&cid, || async move {
                if let Some(data) = known {
                    return Ok(data);
                }
                let parts: Vec<Bytes> = node
                    .cat(&ContentPath::new(cid), 0, None)
                    .await?
                    .try_collect()
                    .await?;
                Ok(Bytes::from(parts.concat()))
            })
            .await?)
    }

    /// The entries of the UnixFS directory `cid` whose (root) block is `block`, plain or
    /// HAMT-sharded (names, CIDs, cumulative sizes); sub-shards read block by block.
    pub async fn list_directory(
        &self,
        cid: &Cid,
        block: &Bytes,
    ) -> Result<Vec<DirEntry>, BackendError> {
        let listed = crate::backend::resolve::list(*cid, block, |c| self.block_owned(c))
            .await?
            .ok_or_else(|| BackendError::InvalidInput(format!("{cid} is not a directory")))?;
        Ok(listed
            .into_iter()
            .map(|l| DirEntry {
                name: l.name,
                cid: l.cid,
                size: l.size,
            })
            .collect())
    }

    /// A block by CID (identity CIDs answered from the CID itself).
    pub async fn block(&self, cid: &Cid) -> Result<Bytes, BackendError> {
        crate::backend::resolve::load(&*self.backend, *cid).await
    }

    /// Walks `path` over blocks ([`crate::backend::resolve::walk`]): what it names, its
    /// block, the CIDs along it and the blocks read. One resolve serves a whole gateway
    /// answer (its headers, its kind, its bytes).
    pub async fn resolve(
        &self,
        path: &ContentPath,
    ) -> Result<crate::backend::resolve::Walked, BackendError> {
        crate::backend::resolve::walk(path, |c| self.block_owned(c)).await
    }

    async fn block_owned(&self, cid: Cid) -> Result<Bytes, BackendError> {
        self.block(&cid).await
    }

    /// A resolved file's bytes: from a cache tier, or (`whole`, and small enough to cache)
    /// read once and cached; otherwise `None`, to be streamed from the backend. A ranged
    /// read passes `whole: false`, so a file with blocks missing outside the range is
    /// still served. `root_block` is the file's root block when the caller has read it: a
    /// raw leaf is its own content, so it is never read twice.
    pub async fn open_resolved(
        &self,
        path: ContentPath,
        cid: Cid,
        root_block: Option<&Bytes>,
        size: u64,
        whole: bool,
    ) -> Result<(OpenFile, Option<Bytes>, Tier), BackendError> {
        let file = OpenFile { path, cid, size };
        if let Some((data, tier)) = self.cache.get(&cid)? {
            return Ok((file, Some(data), tier));
        }
        let raw = root_block
            .filter(|_| cid.codec() == crate::unixfs::RAW)
            .cloned();
        if !whole || size > self.cache.max_object_bytes() {
            return Ok((file, raw, Tier::Backend));
        }
        let (data, tier) = self.cache_whole(cid, raw).await?;
        Ok((file, Some(data), tier))
    }

    /// Adds the parts of a directory add through the backend, and records every entry in the
    /// metadata (the top-level ones as pinned when pinning; a lone file with its content size
    /// and sniffed type). Streams: only the first file's first bytes are kept, for sniffing.
    pub async fn add_parts(
        &self,
        parts: crate::backend::AddParts,
        opts: AddOptions,
    ) -> Result<Added, BackendError> {
        use crate::backend::AddPart;
        let only_hash = opts.only_hash;
        let head = Arc::new(Mutex::new(Vec::<u8>::new()));
        let files = Arc::new(std::sync::atomic::AtomicUsize::new(0));
        let (seen, counted) = (head.clone(), files.clone());
        let parts = parts
            .map(move |part| match part {
                Ok(AddPart::File { path, data }) => {
                    let first = counted.fetch_add(1, std::sync::atomic::Ordering::Relaxed) == 0;
                    let data = if first {
                        sniffed(data, seen.clone())
                    } else {
                        data
                    };
                    Ok(AddPart::File { path, data })
                }
                other => other,
            })
            .boxed();
        let added = self.backend.add_parts(parts, opts).await?;
        if !only_hash {
            let lone_file = files.load(std::sync::atomic::Ordering::Relaxed) == 1;
            for (i, entry) in added.entries.iter().enumerate() {
                let Ok(cid) = entry.hash.parse::<Cid>() else {
                    continue;
                };
                // a lone file is recorded with its content size and type, pinned with its
                // root; other entries with their DAG size, pinned when they are a root
                let (size, mime, pinned) = if lone_file && i == 0 {
                    let mime = self
                        .content_types
                        .of(&cid, added.content_size, &head.lock());
                    (added.content_size, Some(mime), added.pinned)
                } else {
                    let size = entry.size.parse().unwrap_or(0);
                    (size, None, added.pinned && added.roots.contains(&cid))
                };
                self.metadata.record_add(&cid, size, mime, pinned);
            }
        }
        Ok(added)
    }

    /// Adds one stream as a file ([`Self::add_parts`] with one part).
    pub async fn add(&self, input: ByteStream, opts: AddOptions) -> Result<Added, BackendError> {
        let part = crate::backend::AddPart::single(input, &opts)?;
        self.add_parts(futures_util::stream::iter([Ok(part)]).boxed(), opts)
            .await
    }

    /// Pins or unpins, and records the new state.
    pub async fn pin_change(
        &self,
        cid: &Cid,
        recursive: bool,
        pin: bool,
    ) -> Result<Vec<Cid>, BackendError> {
        let changed = if pin {
            self.backend.pin_add(cid, recursive).await?
        } else {
            self.backend.pin_rm(cid, recursive).await?
        };
        self.metadata.set_pinned(cid, pin);
        Ok(changed)
    }

    /// A file was read (or revalidated): counts towards its heat.
    pub fn record_read(&self, file: &OpenFile, tier: Tier, content_type: Option<&str>) {
        self.metadata
            .record_access(&file.cid, file.size, content_type, tier);
    }

    /// Loads the hottest CIDs (by the metadata's heat) into the memory tier, coldest of them
    /// first so recency agrees with heat. Reads from the disk tier where it has them, else
    /// from the backend; a failure skips the object.
    pub async fn prewarm(&self, memory_limit: u64) {
        let started = Instant::now();
        let hottest = self
            .metadata
            .hottest(memory_limit, self.cache.max_object_bytes());
        let mut report = PrewarmReport::default();
        for (cid, size) in hottest.into_iter().rev() {
            let fetched = self.cache_whole(cid, None).await;
            match fetched {
                Ok((_, Tier::Memory)) => {}
                Ok(_) => {
                    report.objects += 1;
                    report.bytes += size;
                }
                Err(e) => {
                    report.failed += 1;
                    tracing::warn!(%cid, error = %e, "pre-warm skipped a CID");
                }
            }
        }
        report.done = true;
        report.seconds = started.elapsed().as_secs_f64();
        tracing::info!(
            objects = report.objects,
            bytes = report.bytes,
            failed = report.failed,
            seconds = report.seconds,
            "memory tier pre-warmed"
        );
        *self.prewarm.lock() = report;
    }

    /// Resolves a path and checks it names a file.
    pub async fn open_file(&self, path: &str) -> Result<OpenFile, BackendError> {
        self.open_parsed(path.parse()?).await
    }

    /// The file `path` names: a bare CID by the backend's `stat` (no block moves: a raw
    /// leaf can be a MiB), a path resolved once over blocks ([`Self::resolve`]).
    async fn open_parsed(&self, path: ContentPath) -> Result<OpenFile, BackendError> {
        use crate::unixfs::reader::{NodeKind, describe};
        if path.segments.is_empty() {
            let stat = self.backend.stat(&path).await?;
            return match stat.kind {
                crate::backend::NodeKind::File { size } => Ok(OpenFile {
                    path,
                    cid: stat.cid,
                    size,
                }),
                crate::backend::NodeKind::Directory => Err(BackendError::InvalidInput(format!(
                    "{path} is a directory, not a file"
                ))),
                crate::backend::NodeKind::Other => Err(BackendError::InvalidInput(format!(
                    "{path} is not a UnixFS file"
                ))),
            };
        }
        let walked = self.resolve(&path).await?;
        match describe(&walked.cid, &walked.block) {
            NodeKind::File { size } if walked.remainder.is_empty() => Ok(OpenFile {
                path,
                cid: walked.cid,
                size,
            }),
            NodeKind::Directory => Err(BackendError::InvalidInput(format!(
                "{path} is a directory, not a file"
            ))),
            _ => Err(BackendError::InvalidInput(format!(
                "{path} is not a UnixFS file"
            ))),
        }
    }

    /// Decides full, partial or 416 for a `Range` header value. Several ranges are answered in
    /// full (RFC 9110 allows ignoring `Range`); the path gateway sends multipart instead.
    pub fn plan_read(size: u64, range_header: Option<&str>) -> ReadPlan {
        match range::plan(range_header, size) {
            RangePlan::Single(range) => ReadPlan::Partial { range, size },
            RangePlan::Unsatisfiable => ReadPlan::Unsatisfiable { size },
            RangePlan::Full | RangePlan::Multi(_) => ReadPlan::Full { size },
        }
    }
}

/// `input`, keeping its first [`SNIFF_LEN`] bytes in `head` as they pass.
fn sniffed(input: ByteStream, head: Arc<Mutex<Vec<u8>>>) -> ByteStream {
    input
        .inspect(move |chunk| {
            if let Ok(chunk) = chunk {
                let mut h = head.lock();
                if h.len() < SNIFF_LEN {
                    let take = (SNIFF_LEN - h.len()).min(chunk.len());
                    h.extend_from_slice(&chunk[..take]);
                }
            }
        })
        .boxed()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plans_ranges() {
        assert_eq!(IpfsModel::plan_read(10, None), ReadPlan::Full { size: 10 });
        assert_eq!(
            IpfsModel::plan_read(10, Some("bytes=20-")),
            ReadPlan::Unsatisfiable { size: 10 }
        );
        assert!(matches!(
            IpfsModel::plan_read(10, Some("bytes=2-3")),
            ReadPlan::Partial { .. }
        ));
        // touching ranges coalesce into one part
        assert_eq!(
            IpfsModel::plan_read(10, Some("bytes=0-1,2-4")),
            ReadPlan::Partial {
                range: ByteRange { start: 0, end: 4 },
                size: 10
            }
        );
        // parts far apart: answered whole (ipfs/cat sends no multipart)
        assert_eq!(
            IpfsModel::plan_read(1000, Some("bytes=0-1,500-501")),
            ReadPlan::Full { size: 1000 }
        );
    }
}
