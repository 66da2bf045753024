//! Range reads over a UnixFS file DAG that fetch only the blocks covering the range.
//!
//! Built on `rust-unixfs`'s `IdleFileVisit`/`FileVisit`, which prune links whose byte span lies
//! outside the target range. Content is returned as zero-copy slices of the fetched blocks.

use async_trait::async_trait;
use bytes::Bytes;
use cid::Cid;
use futures_util::Stream;
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

enum State {
    Start,
    Walking(FileVisit),
    Done,
}

/// Streams `range` of the file rooted at `root` (clamped to the file's end).
pub fn read_range<S: BlockSource>(
    source: std::sync::Arc<S>,
    root: Cid,
    range: Range<u64>,
) -> impl Stream<Item = Result<Bytes, ReadError<S::Error>>> + Send + 'static {
    futures_util::stream::try_unfold(State::Start, move |state| {
        let source = source.clone();
        let range = range.clone();
        async move {
            let mut state = state;
            loop {
                let (chunk, next) = match state {
                    State::Done => return Ok(None),
                    State::Start => {
                        let block = source.block(&root).await.map_err(ReadError::Source)?;
                        start(&root, block, range.clone())?
                    }
                    State::Walking(visit) => {
                        let next_cid = *visit.pending_links().0;
                        let block = source.block(&next_cid).await.map_err(ReadError::Source)?;
                        let mut cache = None;
                        let (content, visit) = visit
                            .continue_walk(&block, &mut cache)
                            .map_err(|e| ReadError::Malformed(format!("{next_cid}: {e}")))?;
                        let chunk = slice_of(&block, content);
                        (chunk, visit.map_or(State::Done, State::Walking))
                    }
                };
                state = next;
                if !chunk.is_empty() {
                    return Ok(Some((chunk, state)));
                }
            }
        }
    })
}

fn start<E>(root: &Cid, block: Bytes, range: Range<u64>) -> Result<(Bytes, State), ReadError<E>> {
    let visit = IdleFileVisit::default().with_target_range(range);
    if root.codec() == super::RAW {
        let (content, ..) = visit.start_from_raw(&block);
        return Ok((slice_of(&block, content), State::Done));
    }
    match describe(root, &block) {
        NodeKind::File { .. } => {}
        NodeKind::Directory => return Err(ReadError::NotAFile(format!("{root} is a directory"))),
        NodeKind::Other => {
            return Err(ReadError::NotAFile(format!("{root} is not a UnixFS file")));
        }
    }
    let (content, _size, _meta, visit) = visit
        .start(&block)
        .map_err(|e| ReadError::Malformed(format!("{root}: {e}")))?;
    let chunk = slice_of(&block, content);
    Ok((chunk, visit.map_or(State::Done, State::Walking)))
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
            src.blocks.insert(cid, Bytes::from(b));
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
    async fn small_range_reads_only_covering_blocks() {
        let data = vec![1u8; 174 * 1000 * 2];
        let opts = ImportOptions::from_params(None, None, Some("size-1000"), false, None).unwrap();
        let (root, src) = imported(&data, opts);
        // root + one intermediate node + one leaf. (A range starting exactly on a block
        // boundary also reads the previous leaf: rust-unixfs prunes with `<=` on half-open
        // ranges. Tracked for the gateway issue, which needs exact covering reads.)
        assert_eq!(read(&src, root, 5_100..5_110).await.len(), 10);
        assert_eq!(*src.reads.lock().unwrap(), 3);
    }
}
