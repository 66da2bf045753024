//! Path walks over blocks, shared by both backends, the CAR exporter and the gateway: one
//! implementation of "what does `cid/a/b` name, and which blocks prove it".
//!
//! A segment is resolved in the block it starts from:
//! * dag-pb UnixFS directory: the link of that name;
//! * HAMT shard: the name is hashed and one shard per level is read ([`crate::unixfs::hamt`]),
//!   never the whole directory;
//! * dag-cbor / dag-json: a map key or list index ([`super::ipld::step`]); a value that is not
//!   a link leaves the rest of the path inside that block (`remainder`);
//! * anything else (raw, a file): nothing under it.
//!
//! Every block read on the way is reported in order ([`Walked::blocks`]: path nodes and the
//! shards between them), which is exactly what a trustless CAR of the path must carry first.

use super::{BackendError, ContentPath, ipld};
use crate::unixfs::hamt::{Lookup, Shard, ShardLink, is_shard};
use crate::unixfs::{DAG_CBOR, DAG_JSON, DAG_PB};
use bytes::Bytes;
use cid::Cid;
use ipld_core::ipld::Ipld;

/// The end of a walk.
#[derive(Debug, Clone)]
pub struct Walked {
    /// The last CID reached and its block.
    pub cid: Cid,
    pub block: Bytes,
    /// Every block read before `cid`'s, in order (the root first, shards included).
    pub blocks: Vec<(Cid, Bytes)>,
    /// The CID each path element names: the root, then one per segment that crossed a link
    /// (`X-Ipfs-Roots`).
    pub nodes: Vec<Cid>,
    /// Segments left inside `cid`'s block (dag-cbor/dag-json values that are not links).
    pub remainder: Vec<String>,
}

/// Multihash code of the identity "hash": the digest is the data itself.
pub const IDENTITY: u64 = 0x00;

/// The block of an identity CID (its digest), which no store holds and no CAR carries.
pub fn identity_block(cid: &Cid) -> Option<Bytes> {
    (cid.hash().code() == IDENTITY).then(|| Bytes::copy_from_slice(cid.hash().digest()))
}

/// A block from `backend`, identity CIDs answered from the CID itself.
pub async fn load(backend: &dyn super::Backend, cid: Cid) -> Result<Bytes, BackendError> {
    match identity_block(&cid) {
        Some(data) => Ok(data),
        None => backend.block_get(&cid).await,
    }
}

fn not_found(segment: &str, cid: &Cid) -> BackendError {
    BackendError::NotFound(format!("no link named {segment:?} under {cid}"))
}

fn hamt_error(e: crate::unixfs::hamt::HamtError) -> BackendError {
    BackendError::BadGateway(e.to_string())
}

/// Walks `path`, reading blocks with `load`.
pub async fn walk<F, Fut>(path: &ContentPath, load: F) -> Result<Walked, BackendError>
where
    F: Fn(Cid) -> Fut,
    Fut: std::future::Future<Output = Result<Bytes, BackendError>>,
{
    let mut cid = path.root;
    let mut block = load(cid).await?;
    let mut blocks = Vec::new();
    let mut nodes = vec![cid];
    let mut remainder: Vec<String> = Vec::new();
    // inside a dag-cbor/dag-json block: the value reached so far
    let mut inner: Option<Ipld> = None;
    // sub-shards read while resolving the current segment
    let mut shards = Vec::new();
    for segment in &path.segments {
        let next = if let Some(value) = inner.take() {
            step_value(value, segment, &cid)?
        } else {
            match cid.codec() {
                DAG_PB if is_shard(&cid, &block) => {
                    let found = shard_lookup(cid, &block, segment, &load, &mut shards).await?;
                    Step::Link(found.ok_or_else(|| not_found(segment, &cid))?)
                }
                DAG_PB => Step::Link(dag_pb_link(&cid, &block, segment)?),
                DAG_CBOR | DAG_JSON => step_value(ipld::decode(&cid, &block)?, segment, &cid)?,
                _ => return Err(not_found(segment, &cid)),
            }
        };
        match next {
            Step::Link(target) => {
                blocks.push((cid, std::mem::take(&mut block)));
                blocks.append(&mut shards);
                cid = target;
                block = load(cid).await?;
                nodes.push(cid);
                remainder.clear();
            }
            Step::Value(value) => {
                remainder.push(segment.clone());
                inner = Some(value);
            }
        }
    }
    Ok(Walked {
        cid,
        block,
        blocks,
        nodes,
        remainder,
    })
}

enum Step {
    Link(Cid),
    Value(Ipld),
}

fn step_value(value: Ipld, segment: &str, cid: &Cid) -> Result<Step, BackendError> {
    match ipld::step(&value, false, segment) {
        Some(Ipld::Link(target)) => Ok(Step::Link(target)),
        Some(other) => Ok(Step::Value(other)),
        None => Err(not_found(segment, cid)),
    }
}

fn dag_pb_link(cid: &Cid, block: &Bytes, segment: &str) -> Result<Cid, BackendError> {
    let node = ipld_dagpb::PbNode::from_bytes(block.clone())
        .map_err(|e| BackendError::BadGateway(format!("{cid} is not valid dag-pb: {e}")))?;
    node.links
        .into_iter()
        .find(|l| l.name.as_deref() == Some(segment))
        .map(|l| l.cid)
        .ok_or_else(|| not_found(segment, cid))
}

/// Looks `name` up in the shard `root`; the sub-shards read go to `visited`.
async fn shard_lookup<F, Fut>(
    root: Cid,
    root_block: &Bytes,
    name: &str,
    load: &F,
    visited: &mut Vec<(Cid, Bytes)>,
) -> Result<Option<Cid>, BackendError>
where
    F: Fn(Cid) -> Fut,
    Fut: std::future::Future<Output = Result<Bytes, BackendError>>,
{
    let mut shard = Shard::parse(&root, root_block).map_err(hamt_error)?;
    for depth in 0.. {
        match shard.find(name, depth).map_err(hamt_error)? {
            Lookup::Found(cid) => return Ok(Some(cid)),
            Lookup::Missing => return Ok(None),
            Lookup::Descend(next) => {
                let block = load(next).await?;
                shard = Shard::parse(&next, &block).map_err(hamt_error)?;
                visited.push((next, block));
            }
        }
    }
    unreachable!("Shard::find fails past the hash's last level")
}

/// One entry of a directory listing.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Listed {
    pub name: String,
    pub cid: Cid,
    /// Cumulative size from the link (Tsize).
    pub size: u64,
}

/// The entries of a UnixFS directory, plain or sharded (every sub-shard read through `load`,
/// in shard order), or `None` if `cid` is not a directory.
pub async fn list<F, Fut>(
    cid: Cid,
    block: &Bytes,
    load: F,
) -> Result<Option<Vec<Listed>>, BackendError>
where
    F: Fn(Cid) -> Fut,
    Fut: std::future::Future<Output = Result<Bytes, BackendError>>,
{
    use crate::unixfs::reader::{NodeKind, describe};
    if describe(&cid, block) != NodeKind::Directory {
        return Ok(None);
    }
    if !is_shard(&cid, block) {
        let node = ipld_dagpb::PbNode::from_bytes(block.clone())
            .map_err(|e| BackendError::BadGateway(format!("{cid} is not valid dag-pb: {e}")))?;
        return Ok(Some(
            node.links
                .into_iter()
                .map(|l| Listed {
                    name: l.name.unwrap_or_default(),
                    cid: l.cid,
                    size: l.size.unwrap_or(0),
                })
                .collect(),
        ));
    }
    let mut out = Vec::new();
    // depth-first in slot order: a sub-shard's entries come where its slot is
    let mut stack = vec![
        Shard::parse(&cid, block)
            .map_err(hamt_error)?
            .links
            .into_iter(),
    ];
    while let Some(links) = stack.last_mut() {
        match links.next() {
            None => {
                stack.pop();
            }
            Some((_, ShardLink::Entry { name, cid, size })) => out.push(Listed { name, cid, size }),
            Some((_, ShardLink::Shard(sub))) => {
                let block = load(sub).await?;
                stack.push(
                    Shard::parse(&sub, &block)
                        .map_err(hamt_error)?
                        .links
                        .into_iter(),
                );
            }
        }
    }
    Ok(Some(out))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::unixfs::hamt::{self, Link};
    use std::collections::HashMap;
    use std::sync::Arc;

    #[tokio::test]
    async fn walks_and_lists_through_a_sharded_directory() {
        let file = crate::unixfs::cid_of(cid::Version::V0, DAG_PB, b"x");
        let links: Vec<Link> = (0..2000)
            .map(|i| Link {
                name: format!("entry-{i}"),
                cid: file,
                tsize: 10,
            })
            .collect();
        let mut blocks = HashMap::new();
        blocks.insert(file, Bytes::from_static(b"x"));
        let root = hamt::write(links, cid::Version::V0, &mut |cid, b| {
            blocks.insert(cid, b.to_bytes());
            Ok::<(), ()>(())
        })
        .unwrap()
        .unwrap();
        let blocks = Arc::new(blocks);
        let load = |cid: Cid| {
            let blocks = blocks.clone();
            async move {
                blocks
                    .get(&cid)
                    .cloned()
                    .ok_or_else(|| BackendError::NotFound(cid.to_string()))
            }
        };
        for i in [0, 1, 999, 1999] {
            let path: ContentPath = format!("{}/entry-{i}", root.cid).parse().unwrap();
            let walked = walk(&path, load).await.unwrap();
            assert_eq!(walked.cid, file);
            assert_eq!(walked.nodes, vec![root.cid, file]);
            // the root shard, then one sub-shard per level crossed
            assert_eq!(walked.blocks[0].0, root.cid);
            assert!(walked.blocks.len() >= 2, "2000 names need a second level");
        }
        let missing: ContentPath = format!("{}/absent", root.cid).parse().unwrap();
        assert!(matches!(
            walk(&missing, load).await,
            Err(BackendError::NotFound(_))
        ));
        let listed = list(root.cid, &blocks[&root.cid], load)
            .await
            .unwrap()
            .unwrap();
        assert_eq!(listed.len(), 2000);
        let mut names: Vec<_> = listed.iter().map(|l| l.name.clone()).collect();
        names.sort();
        names.dedup();
        assert_eq!(names.len(), 2000);
    }
}
