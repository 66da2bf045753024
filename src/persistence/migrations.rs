//! The data dir's layout version, and the steps that bring an older layout up to date.
//!
//! The version is the one number in `<data dir>/layout-version`; each step is described in
//! `migrations/NNNN-*.md`. Opening a data dir:
//! * empty or new: stamped with [`CURRENT`];
//! * older: each missing step runs in order, then the new version is written (last, by rename,
//!   so an interrupted migration simply runs again: every step is idempotent);
//! * newer than this build: refused, nothing touched.
//!
//! Versions:
//! 1. Issue #2's layout, which had no version file: `blocks/` (pack segments and sled index),
//!    `meta.sled/` (pins, keys, IPNS records), `cache/` (the disk tier's sled db).
//! 2. Adds `metadata/`: the Parquet CID metadata (schema [`super::metadata::partition::SCHEMA_VERSION`]).
//!    The step seeds it from the old store: one row per pinned CID and per object in the disk
//!    cache, so heat-driven eviction and `cache/metadata` know what the store already holds.
//! 3. The disk tier keeps one file per object under `cache/objects/` instead of a sled db in
//!    `cache/` (sled held inserted values in memory without bound; see [`super::disk`]). The
//!    step moves every cached object into the new layout.

use super::PersistenceError;
use super::metadata::{MetadataOptions, MetadataStore};
use super::tiered::Tier;
use cid::Cid;
use std::path::Path;

/// The layout this build writes.
pub const CURRENT: u32 = 3;
pub const VERSION_FILE: &str = "layout-version";

#[derive(Debug, thiserror::Error)]
pub enum MigrationError {
    #[error(
        "data dir {dir} has layout version {found}, newer than this build of ipfs-mcp understands \
         (up to {CURRENT}); upgrade ipfs-mcp or point --data-dir elsewhere. Nothing was changed."
    )]
    Newer { dir: String, found: u32 },
    #[error("data dir {dir}: unreadable {VERSION_FILE}: {detail}")]
    BadVersion { dir: String, detail: String },
    #[error("migrating data dir {dir} from layout {from} to {to} failed: {source}")]
    Step {
        dir: String,
        from: u32,
        to: u32,
        source: PersistenceError,
    },
}

/// What opening did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Migrated {
    /// The version found (`None`: a new data dir).
    pub from: Option<u32>,
    pub to: u32,
}

/// The version recorded in `dir` (`None` for a new, empty dir).
pub fn detect(dir: &Path) -> Result<Option<u32>, MigrationError> {
    let file = dir.join(VERSION_FILE);
    match std::fs::read_to_string(&file) {
        Ok(text) => text
            .trim()
            .parse::<u32>()
            .map(Some)
            .map_err(|e| MigrationError::BadVersion {
                dir: dir.display().to_string(),
                detail: format!("{:?}: {e}", text.trim()),
            }),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            // Version 1 wrote no version file; recognise it by its contents.
            let v1 = ["blocks", "meta.sled", "cache"]
                .iter()
                .any(|d| dir.join(d).exists());
            Ok(v1.then_some(1))
        }
        Err(e) => Err(MigrationError::BadVersion {
            dir: dir.display().to_string(),
            detail: e.to_string(),
        }),
    }
}

/// Brings `dir` to [`CURRENT`], or refuses if it is newer.
pub fn open(dir: &Path, backend: &str) -> Result<Migrated, MigrationError> {
    let found = detect(dir)?;
    let show = || dir.display().to_string();
    if let Some(v) = found
        && v > CURRENT
    {
        return Err(MigrationError::Newer {
            dir: show(),
            found: v,
        });
    }
    let mut version = found.unwrap_or(CURRENT);
    while version < CURRENT {
        let step = |e| MigrationError::Step {
            dir: show(),
            from: version,
            to: version + 1,
            source: e,
        };
        match version {
            1 => v1_to_v2(dir, backend).map_err(step)?,
            2 => v2_to_v3(dir).map_err(step)?,
            _ => unreachable!("every version below CURRENT has a step"),
        }
        version += 1;
        tracing::info!(dir = %dir.display(), version, "data dir migrated");
    }
    write_version(dir, CURRENT).map_err(|e| MigrationError::Step {
        dir: show(),
        from: found.unwrap_or(CURRENT),
        to: CURRENT,
        source: e,
    })?;
    Ok(Migrated {
        from: found,
        to: CURRENT,
    })
}

fn storage(e: impl std::fmt::Display) -> PersistenceError {
    PersistenceError::Storage(e.to_string())
}

fn write_version(dir: &Path, version: u32) -> Result<(), PersistenceError> {
    std::fs::create_dir_all(dir).map_err(storage)?;
    let tmp = dir.join(format!("{VERSION_FILE}.tmp"));
    std::fs::write(&tmp, format!("{version}\n")).map_err(storage)?;
    std::fs::File::open(&tmp)
        .and_then(|f| f.sync_all())
        .map_err(storage)?;
    std::fs::rename(&tmp, dir.join(VERSION_FILE)).map_err(storage)?;
    std::fs::File::open(dir)
        .and_then(|d| d.sync_all())
        .map_err(storage)
}

/// 1 -> 2: seed `metadata/` with the pins and the disk cache's objects.
fn v1_to_v2(dir: &Path, backend: &str) -> Result<(), PersistenceError> {
    let store = MetadataStore::open(
        Some(&dir.join("metadata")),
        MetadataOptions::default(),
        backend,
    )?;
    if dir.join("meta.sled").exists() {
        let db = sled::Config::new().path(dir.join("meta.sled")).open()?;
        for item in db.open_tree("pins")?.iter() {
            let (key, _) = item?;
            let cid = Cid::try_from(&key[..]).map_err(storage)?;
            store.set_pinned(&cid, true);
        }
    }
    if dir.join("cache").exists() {
        let db = sled::Config::new().path(dir.join("cache")).open()?;
        for item in db.open_tree("objects")?.iter() {
            let (key, value) = item?;
            let cid = Cid::try_from(&key[..]).map_err(storage)?;
            store.set_tier(&cid, Tier::Disk, value.len() as u64);
        }
    }
    store.flush()?;
    Ok(())
}

/// 2 -> 3: the disk tier's objects move from the sled db in `cache/` to files. Written into
/// `cache.v3/` first and swapped in by renames, so an interruption at any point leaves either
/// the old db (the step runs again) or the finished new layout.
fn v2_to_v3(dir: &Path) -> Result<(), PersistenceError> {
    let cache = dir.join("cache");
    let staging = dir.join("cache.v3");
    let retired = dir.join("cache.v2-retired");
    let is_sled = |d: &Path| d.join("conf").exists() && d.join("db").exists();
    if !cache.exists() && staging.exists() && retired.exists() {
        // interrupted between the two renames: the staging copy is complete
        std::fs::rename(&staging, &cache).map_err(storage)?;
    }
    if cache.exists() && is_sled(&cache) {
        let _ = std::fs::remove_dir_all(&staging);
        let tier = super::disk::DiskTier::open(&staging, u64::MAX)?;
        {
            let db = sled::Config::new().path(&cache).open()?;
            for item in db.open_tree("objects")?.iter() {
                let (key, value) = item?;
                let cid = Cid::try_from(&key[..]).map_err(storage)?;
                super::CacheTier::put(&tier, cid, bytes::Bytes::copy_from_slice(&value))?;
            }
        }
        drop(tier);
        std::fs::rename(&cache, &retired).map_err(storage)?;
        std::fs::rename(&staging, &cache).map_err(storage)?;
    }
    if retired.exists() {
        std::fs::remove_dir_all(&retired).map_err(storage)?;
    }
    Ok(())
}
