//! Range reads over a UnixFS file DAG that fetch only the blocks covering the range.
//!
//! Walks branch nodes itself (`parse_file_branch` gives each child's byte span) and lets
//! `rust-unixfs` decode leaves. Content is returned as zero-copy slices of the fetched blocks.

use async_trait::async_trait;
use bytes::Bytes;
use cid::Cid;
use futures_util::Stream;
use rust_unixfs::file::adder::parse_file_branch;
use rust_unixfs::file::visit::{FileVisit, IdleFileVisit};
use std::ops::Range;

/// Where the reader gets blocks from.
#[async_trait]
pub trait BlockSource: Send + Sync + 'static {
    type Error: Send + 'static;
    async fn block(&self, cid: &Cid) -> Result<Bytes, Self::Error>;
}

/// Why a read failed.
#[derive(Debug)]
pub enum ReadError<E> {
    /// The block source failed (missing block, I/O, network).
    Source(E),
    /// The root is not a UnixFS file (a directory, a dag-cbor node, ...).
    NotAFile(String),
    /// A block did not parse as the UnixFS node its parent promised.
    Malformed(String),
}

/// Size and kind of a UnixFS node, from its root block alone.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NodeKind {
    File { size: u64 },
    Directory,
    Other,
}

/// Classifies a root block without fetching anything else.
pub fn describe(cid: &Cid, block: &[u8]) -> NodeKind {
    use rust_unixfs::dir::NodeDescription;
    if cid.codec() == super::RAW {
        return NodeKind::File {
            size: block.len() as u64,
        };
    }
    if cid.codec() != super::DAG_PB {
        return NodeKind::Other;
    }
    match rust_unixfs::dir::describe(block) {
        NodeDescription::File { size } => NodeKind::File { size },
        NodeDescription::Directory { .. } | NodeDescription::HamtShard { .. } => {
            NodeKind::Directory
        }
        NodeDescription::Symlink | NodeDescription::Other => NodeKind::Other,
    }
}

/// Where the walk stands.
struct Walk {
    /// Nodes still to visit, next last: (cid, byte offset of the node in the file).
    stack: Vec<(Cid, u64)>,
    /// A subtree the library walks for us (branch nodes carrying metadata), and its offset.
    library: Option<(FileVisit, u64)>,
    range: Range<u64>,
    root_checked: bool,
}

/// Streams `range` of the file rooted at `root` (clamped to the file's end).
///
/// Branch nodes are pruned with a strict half-open overlap test, so only blocks holding bytes
/// of the range are fetched (rust-unixfs's own visitor also fetches a neighbour when the range
/// starts or ends exactly on a block boundary).
pub fn read_range<S: BlockSource>(
    source: std::sync::Arc<S>,
    root: Cid,
    range: Range<u64>,
) -> impl Stream<Item = Result<Bytes, ReadError<S::Error>>> + Send + 'static {
    let walk = Walk {
        stack: vec![(root, 0)],
        library: None,
        range,
        root_checked: false,
    };
    futures_util::stream::try_unfold(walk, move |mut walk| {
        let source = source.clone();
        async move {
            loop {
                let chunk = if let Some((visit, base)) = walk.library.take() {
                    let next_cid = *visit.pending_links().0;
                    let block = source.block(&next_cid).await.map_err(ReadError::Source)?;
                    let (content, visit) = visit
                        .continue_walk(&block, &mut None)
                        .map_err(|e| ReadError::Malformed(format!("{next_cid}: {e}")))?;
                    walk.library = visit.map(|v| (v, base));
                    slice_of(&block, content)
                } else if let Some((cid, offset)) = walk.stack.pop() {
                    let block = source.block(&cid).await.map_err(ReadError::Source)?;
                    if !walk.root_checked {
                        walk.root_checked = true;
                        check_is_file(&cid, &block)?;
                    }
                    visit_node(&mut walk, cid, offset, block)?
                } else {
                    return Ok(None);
                };
                if !chunk.is_empty() {
                    return Ok(Some((chunk, walk)));
                }
            }
        }
    })
}

fn check_is_file<E>(root: &Cid, block: &[u8]) -> Result<(), ReadError<E>> {
    match describe(root, block) {
        NodeKind::File { .. } => Ok(()),
        NodeKind::Directory => Err(ReadError::NotAFile(format!("{root} is a directory"))),
        NodeKind::Other => Err(ReadError::NotAFile(format!("{root} is not a UnixFS file"))),
    }
}

/// Handles one fetched node: returns its bytes in range, or queues its children in range.
fn visit_node<E>(
    walk: &mut Walk,
    cid: Cid,
    offset: u64,
    block: Bytes,
) -> Result<Bytes, ReadError<E>> {
    let local = walk.range.start.saturating_sub(offset)..walk.range.end.saturating_sub(offset);
    if cid.codec() == super::RAW {
        let (content, ..) = IdleFileVisit::default()
            .with_target_range(local)
            .start_from_raw(&block);
        return Ok(slice_of(&block, content));
    }
    if let Some(branch) = parse_file_branch(&block) {
        let mut child_offset = offset;
        let mut children = Vec::new();
        for link in branch.links {
            // sizes come from the content: a crafted branch must not wrap the offsets
            let end = child_offset.saturating_add(link.blocksize);
            if child_offset < walk.range.end && end > walk.range.start {
                children.push((link.cid, child_offset));
            }
            child_offset = end;
        }
        walk.stack.extend(children.into_iter().rev());
        return Ok(Bytes::new());
    }
    // A leaf, or a node parse_file_branch does not cover: let the library read it.
    let (content, _size, _meta, visit) = IdleFileVisit::default()
        .with_target_range(local)
        .start(&block)
        .map_err(|e| ReadError::Malformed(format!("{cid}: {e}")))?;
    walk.library = visit.map(|v| (v, offset));
    Ok(slice_of(&block, content))
}

/// Zero-copy view of `content`, which borrows from `block`.
fn slice_of(block: &Bytes, content: &[u8]) -> Bytes {
    if content.is_empty() {
        Bytes::new()
    } else {
        block.slice_ref(content)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::unixfs::{ImportOptions, importer::import_bytes};
    use futures_util::TryStreamExt;
    use std::collections::HashMap;
    use std::sync::Mutex;

    #[derive(Default)]
    struct MapSource {
        blocks: HashMap<Cid, Bytes>,
        reads: Mutex<usize>,
    }

    #[async_trait]
    impl BlockSource for MapSource {
        type Error = String;
        async fn block(&self, cid: &Cid) -> Result<Bytes, String> {
            *self.reads.lock().unwrap() += 1;
            self.blocks
                .get(cid)
                .cloned()
                .ok_or_else(|| format!("missing {cid}"))
        }
    }

    fn imported(data: &[u8], opts: ImportOptions) -> (Cid, std::sync::Arc<MapSource>) {
        let mut src = MapSource::default();
        let s = import_bytes(data, opts, |cid, b| {
            src.blocks.insert(cid, b.to_bytes());
        });
        (s.root, std::sync::Arc::new(src))
    }

    async fn read(src: &std::sync::Arc<MapSource>, root: Cid, r: Range<u64>) -> Vec<u8> {
        let parts: Vec<Bytes> = read_range(src.clone(), root, r)
            .try_collect()
            .await
            .unwrap();
        parts.concat()
    }

    #[tokio::test]
    async fn ranges_match_the_source_bytes() {
        let data: Vec<u8> = (0..200_000u32).map(|i| (i * 7 % 256) as u8).collect();
        for raw in [false, true] {
            let opts = ImportOptions::from_params(None, Some(raw), Some("size-1000"), false, None)
                .unwrap();
            let (root, src) = imported(&data, opts);
            assert_eq!(read(&src, root, 0..u64::MAX).await, data);
            assert_eq!(read(&src, root, 999..1001).await, &data[999..1001]);
            assert_eq!(read(&src, root, 150_000..u64::MAX).await, &data[150_000..]);
        }
    }

    #[tokio::test]
    async fn roots_with_metadata_are_read_through_the_library_walk() {
        // parse_file_branch declines nodes carrying mode/mtime; the fallback must still be exact.
        use rust_unixfs::file::adder::{BalancedCollector, Chunker, FileAdder};
        let data: Vec<u8> = (0..50_000u32).map(|i| (i % 241) as u8).collect();
        let mut adder = FileAdder::builder()
            .with_chunker(Chunker::Size(1000))
            .with_collector(BalancedCollector::with_branching_factor(174))
            .with_cid_version(cid::Version::V0)
            .with_raw_leaves(false)
            .with_metadata(rust_unixfs::Metadata::new(
                Some(0o644),
                Some((1_700_000_000, 0)),
            ))
            .build();
        let mut src = MapSource::default();
        let mut rest = &data[..];
        while !rest.is_empty() {
            let (blocks, n) = adder.push(rest);
            for (cid, b) in blocks {
                src.blocks.insert(cid, Bytes::from(b));
            }
            rest = &rest[n..];
        }
        let mut root = None;
        for (cid, b) in adder.finish() {
            root = Some(cid);
            src.blocks.insert(cid, Bytes::from(b));
        }
        let (root, src) = (root.unwrap(), std::sync::Arc::new(src));
        assert!(
            parse_file_branch(&src.blocks[&root]).is_none(),
            "the root carries metadata"
        );
        assert_eq!(read(&src, root, 0..u64::MAX).await, data);
        assert_eq!(
            read(&src, root, 12_345..23_456).await,
            &data[12_345..23_456]
        );
    }

    #[tokio::test]
    async fn small_range_reads_only_covering_blocks() {
        let data = vec![1u8; 174 * 1000 * 2];
        let opts = ImportOptions::from_params(None, None, Some("size-1000"), false, None).unwrap();
        let (root, src) = imported(&data, opts);
        // root + one intermediate node + one leaf, also when the range starts or ends exactly
        // on a block boundary
        for (range, reads) in [
            (5_100..5_110, 3),
            (5_000..6_000, 3),
            (0..1_000, 3),
            (999..1_001, 4),
        ] {
            *src.reads.lock().unwrap() = 0;
            let expect = (range.end - range.start) as usize;
            assert_eq!(read(&src, root, range.clone()).await.len(), expect);
            assert_eq!(*src.reads.lock().unwrap(), reads, "{range:?}");
        }
    }
}
