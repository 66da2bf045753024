//! The simulation node's block store: content-addressed blocks keyed by multihash.
//!
//! Like Kubo's blockstore, the key is the multihash, not the CID, so one block is shared by every
//! CID version and codec that names the same bytes.
//!
//! Two implementations behind [`BlockStore`]:
//! * [`FlatFsStore`]: one file per block under `blocks/<2-char shard>/`, like Kubo's flatfs.
//!   Chosen over sled for bulk content because writes are a plain `write` + `rename` (no
//!   write amplification, no page cache of our own), which keeps a 1 GiB add fast and small.
//!   Writes land in a temp file and are renamed into place, so a crash never leaves a torn block
//!   under its real name. [`BlockStore::sync`] (one `syncfs`) is the durability barrier; callers
//!   invoke it before acknowledging a write.
//! * [`MemoryStore`]: for `--isolation` and tests.

use bytes::Bytes;
use cid::Cid;
use parking_lot::RwLock;
use std::collections::HashMap;
use std::fs;
use std::io::{self, Write};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};

/// Blocking block storage. Callers run it on a blocking thread.
pub trait BlockStore: Send + Sync + 'static {
    fn get(&self, cid: &Cid) -> io::Result<Option<Bytes>>;
    fn has(&self, cid: &Cid) -> io::Result<bool>;
    /// Size of the block, without reading it.
    fn size(&self, cid: &Cid) -> io::Result<Option<u64>>;
    /// Stores a block; storing an existing block is a cheap no-op.
    fn put(&self, cid: &Cid, data: &[u8]) -> io::Result<()>;
    /// Makes every completed `put` durable.
    fn sync(&self) -> io::Result<()>;
    /// Number of blocks and their total bytes.
    fn usage(&self) -> io::Result<(u64, u64)>;
}

fn key_of(cid: &Cid) -> String {
    let mh = cid.hash().to_bytes();
    let mut s = String::with_capacity(mh.len() * 2);
    for b in mh {
        s.push_str(&format!("{b:02x}"));
    }
    s
}

/// One file per block.
pub struct FlatFsStore {
    root: PathBuf,
    tmp: PathBuf,
    tmp_counter: AtomicU64,
}

impl FlatFsStore {
    pub fn open(dir: &Path) -> io::Result<Self> {
        let root = dir.to_path_buf();
        let tmp = root.join(".tmp");
        fs::create_dir_all(&tmp)?;
        // Leftovers of a crash mid-write are garbage by construction: never renamed into place.
        for entry in fs::read_dir(&tmp)? {
            let _ = fs::remove_file(entry?.path());
        }
        Ok(Self {
            root,
            tmp,
            tmp_counter: AtomicU64::new(0),
        })
    }

    fn path_of(&self, cid: &Cid) -> PathBuf {
        let key = key_of(cid);
        let shard = &key[key.len() - 3..key.len() - 1];
        self.root.join(shard).join(key)
    }
}

impl BlockStore for FlatFsStore {
    fn get(&self, cid: &Cid) -> io::Result<Option<Bytes>> {
        match fs::read(self.path_of(cid)) {
            Ok(data) => Ok(Some(Bytes::from(data))),
            Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(None),
            Err(e) => Err(e),
        }
    }

    fn has(&self, cid: &Cid) -> io::Result<bool> {
        Ok(self.size(cid)?.is_some())
    }

    fn size(&self, cid: &Cid) -> io::Result<Option<u64>> {
        match fs::metadata(self.path_of(cid)) {
            Ok(m) => Ok(Some(m.len())),
            Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(None),
            Err(e) => Err(e),
        }
    }

    fn put(&self, cid: &Cid, data: &[u8]) -> io::Result<()> {
        let path = self.path_of(cid);
        if path.exists() {
            return Ok(());
        }
        let n = self.tmp_counter.fetch_add(1, Ordering::Relaxed);
        let tmp = self.tmp.join(format!("{}-{n}", std::process::id()));
        let mut file = fs::File::create(&tmp)?;
        file.write_all(data)?;
        drop(file);
        let parent = path.parent().expect("block paths have a shard dir");
        if let Err(e) = fs::rename(&tmp, &path) {
            if e.kind() != io::ErrorKind::NotFound {
                return Err(e);
            }
            fs::create_dir_all(parent)?;
            fs::rename(&tmp, &path)?;
        }
        Ok(())
    }

    fn sync(&self) -> io::Result<()> {
        // One syscall flushes every file and rename of this filesystem; far cheaper than an
        // fsync per block for a many-block add.
        let dir = fs::File::open(&self.root)?;
        rustix::fs::syncfs(&dir)?;
        Ok(())
    }

    fn usage(&self) -> io::Result<(u64, u64)> {
        let (mut count, mut bytes) = (0, 0);
        for shard in fs::read_dir(&self.root)? {
            let shard = shard?;
            if shard.file_name() == ".tmp" || !shard.file_type()?.is_dir() {
                continue;
            }
            for block in fs::read_dir(shard.path())? {
                count += 1;
                bytes += block?.metadata()?.len();
            }
        }
        Ok((count, bytes))
    }
}

/// Blocks in a hash map; nothing survives the process.
#[derive(Default)]
pub struct MemoryStore {
    blocks: RwLock<HashMap<Vec<u8>, Bytes>>,
}

impl BlockStore for MemoryStore {
    fn get(&self, cid: &Cid) -> io::Result<Option<Bytes>> {
        Ok(self.blocks.read().get(&cid.hash().to_bytes()).cloned())
    }
    fn has(&self, cid: &Cid) -> io::Result<bool> {
        Ok(self.blocks.read().contains_key(&cid.hash().to_bytes()))
    }
    fn size(&self, cid: &Cid) -> io::Result<Option<u64>> {
        Ok(self.get(cid)?.map(|b| b.len() as u64))
    }
    fn put(&self, cid: &Cid, data: &[u8]) -> io::Result<()> {
        self.blocks
            .write()
            .entry(cid.hash().to_bytes())
            .or_insert_with(|| Bytes::copy_from_slice(data));
        Ok(())
    }
    fn sync(&self) -> io::Result<()> {
        Ok(())
    }
    fn usage(&self) -> io::Result<(u64, u64)> {
        let blocks = self.blocks.read();
        Ok((
            blocks.len() as u64,
            blocks.values().map(|b| b.len() as u64).sum(),
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::unixfs::{RAW, cid_of};

    fn conformance(store: &dyn BlockStore) {
        let data = b"some block";
        let cid = cid_of(cid::Version::V1, RAW, data);
        assert!(!store.has(&cid).unwrap());
        assert!(store.get(&cid).unwrap().is_none());
        store.put(&cid, data).unwrap();
        store.put(&cid, data).unwrap();
        store.sync().unwrap();
        assert!(store.has(&cid).unwrap());
        assert_eq!(store.size(&cid).unwrap(), Some(data.len() as u64));
        assert_eq!(&store.get(&cid).unwrap().unwrap()[..], data);
        // same multihash, other codec: same block, as in Kubo
        let other = Cid::new_v1(0x70, *cid.hash());
        assert!(store.has(&other).unwrap());
        assert_eq!(store.usage().unwrap(), (1, data.len() as u64));
    }

    #[test]
    fn memory_store_conforms() {
        conformance(&MemoryStore::default());
    }

    #[test]
    fn flatfs_store_conforms_and_persists() {
        let dir = tempfile::tempdir().unwrap();
        conformance(&FlatFsStore::open(dir.path()).unwrap());
        let reopened = FlatFsStore::open(dir.path()).unwrap();
        assert_eq!(reopened.usage().unwrap().0, 1);
    }
}
