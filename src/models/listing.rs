//! What a path names, described for listing and stat answers (Kubo's `ls` and `files stat`,
//! the MCP tools' `ls` and `stat`): one walk of the path, then the root block (and, for a
//! listing, each entry's root block, for its type and size).

use super::ipfs::IpfsModel;
use crate::backend::{BackendError, ContentPath};
use crate::unixfs::reader::{NodeKind, describe};
use cid::Cid;

/// Kubo's UnixFS type numbers (`unixfs.pb` `DataType`), as `ls` prints them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EntryType {
    Raw = 0,
    Directory = 1,
    File = 2,
    HamtShard = 5,
}

impl EntryType {
    fn of(cid: &Cid, block: &[u8]) -> Self {
        match describe(cid, block) {
            NodeKind::Directory if crate::unixfs::hamt::is_shard(cid, block) => Self::HamtShard,
            NodeKind::Directory => Self::Directory,
            NodeKind::File { .. } => Self::File,
            NodeKind::Other => Self::Raw,
        }
    }

    pub fn is_directory(self) -> bool {
        matches!(self, Self::Directory | Self::HamtShard)
    }

    pub fn name(self) -> &'static str {
        match self {
            Self::Directory | Self::HamtShard => "directory",
            Self::File => "file",
            Self::Raw => "other",
        }
    }
}

/// One entry of a directory.
#[derive(Debug, Clone)]
pub struct Entry {
    pub name: String,
    pub cid: Cid,
    pub kind: EntryType,
    /// A file's size; 0 for anything else (as Kubo's `ls`).
    pub size: u64,
}

/// What a path names.
#[derive(Debug, Clone)]
pub struct PathStat {
    pub cid: Cid,
    pub kind: EntryType,
    /// A file's size; 0 for anything else.
    pub size: u64,
    /// The DAG's size: the root block and its links' sizes.
    pub cumulative_size: u64,
    /// Links from the root block.
    pub blocks: usize,
}

fn file_size(cid: &Cid, block: &[u8]) -> u64 {
    match describe(cid, block) {
        NodeKind::File { size } => size,
        _ => 0,
    }
}

/// The entries of the directory `path` names (none for a file).
pub async fn list(model: &IpfsModel, path: &ContentPath) -> Result<Vec<Entry>, BackendError> {
    let walked = model.resolve(path).await?;
    if !EntryType::of(&walked.cid, &walked.block).is_directory() {
        return Ok(Vec::new());
    }
    let mut out = Vec::new();
    for entry in model.list_directory(&walked.cid, &walked.block).await? {
        let block = model.block(&entry.cid).await?;
        out.push(Entry {
            kind: EntryType::of(&entry.cid, &block),
            size: file_size(&entry.cid, &block),
            name: entry.name,
            cid: entry.cid,
        });
    }
    Ok(out)
}

/// What `path` names, from its root block.
pub async fn stat(model: &IpfsModel, path: &ContentPath) -> Result<PathStat, BackendError> {
    let walked = model.resolve(path).await?;
    let (cid, block) = (walked.cid, walked.block);
    let (blocks, links) = match ipld_dagpb::PbNode::from_bytes(block.clone()) {
        Ok(node) if cid.codec() == crate::unixfs::DAG_PB => (
            node.links.len(),
            node.links.iter().filter_map(|l| l.size).sum::<u64>(),
        ),
        _ => (0, 0),
    };
    Ok(PathStat {
        cid,
        kind: EntryType::of(&cid, &block),
        size: file_size(&cid, &block),
        cumulative_size: block.len() as u64 + links,
        blocks,
    })
}
