//! Streaming UnixFS importer, byte-identical to Kubo's `ipfs add` with the balanced layout.
//!
//! Leaves are encoded here, branches by `rust-unixfs` (`rebuild_file_branch`, byte-identical
//! to its `FileAdder`); directories, wrapping ones included, are [`super::tree`]'s. Owning the
//! leaves removes every copy of content: a leaf is a [`Block`] of its dag-pb header, the
//! received pieces (slices, not copies) and its trailer, hashed where the pieces lie.
//! Profiling `FileAdder` had shown `memmove` at 39% of import time (a copy into its chunk
//! buffer, another into the rendered block); the one copy left after that went too
//! ([`super::block`]).
//!
//! Memory: one chunk being filled, plus the pending links of each tree level.
//!
//! Layout (Kubo's "balanced" builder): leaves are collected in layers; when a layer holds more
//! than 174 links, its first 174 become one branch node whose link moves up a layer. At the
//! end, layers are closed bottom-up until one node remains: the root. A file of one chunk is
//! its own root.

use super::options::{ImportOptions, MAX_LINKS};
use super::{Block, DAG_PB, RAW, cid_of_block, varint};
use bytes::Bytes;
use cid::{Cid, Version};
use multihash_codetable::Code;
use rust_unixfs::file::adder::{FileBranchLink, rebuild_file_branch};

/// What an import produced.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ImportSummary {
    /// The file's root CID.
    pub root: Cid,
    /// Kubo's `Size`: cumulative size of all blocks under `root`.
    pub dag_size: u64,
    /// Bytes of content read.
    pub content_size: u64,
}

/// Feeds bytes in, gets blocks out through a sink.
pub struct Importer {
    options: ImportOptions,
    /// The chunk being filled, as received.
    pieces: Vec<Bytes>,
    /// Bytes in `pieces`.
    filled: usize,
    /// Pending links per tree level, leaves at 0.
    layers: Vec<Vec<FileBranchLink>>,
    leaves: u64,
    content_size: u64,
    dag_size: u64,
}

impl Importer {
    pub fn new(options: ImportOptions) -> Self {
        Self {
            options,
            pieces: Vec::new(),
            filled: 0,
            layers: Vec::new(),
            leaves: 0,
            content_size: 0,
            dag_size: 0,
        }
    }

    /// Pushes content (copied once; [`Self::push_bytes`] keeps received buffers instead).
    pub fn push<E>(
        &mut self,
        data: &[u8],
        sink: &mut impl FnMut(Cid, Block) -> Result<(), E>,
    ) -> Result<(), E> {
        self.push_bytes(Bytes::copy_from_slice(data), sink)
    }

    /// Pushes content; every block completed by it goes to `sink` in creation order. The
    /// leaves hold slices of `data`, not copies.
    pub fn push_bytes<E>(
        &mut self,
        mut data: Bytes,
        sink: &mut impl FnMut(Cid, Block) -> Result<(), E>,
    ) -> Result<(), E> {
        self.content_size += data.len() as u64;
        while !data.is_empty() {
            let take = (self.options.chunk_size - self.filled).min(data.len());
            self.pieces.push(data.split_to(take));
            self.filled += take;
            if self.filled == self.options.chunk_size {
                self.flush_leaf(sink)?;
            }
        }
        Ok(())
    }

    /// Turns the filled chunk into a leaf block.
    fn flush_leaf<E>(
        &mut self,
        sink: &mut impl FnMut(Cid, Block) -> Result<(), E>,
    ) -> Result<(), E> {
        let pieces = std::mem::take(&mut self.pieces);
        let len = std::mem::take(&mut self.filled) as u64;
        let (cid, block) = if self.options.raw_leaves {
            let block = Block::from_parts(pieces);
            (cid_of_block(Version::V1, RAW, &block), block)
        } else {
            // PBNode { Data (1): UnixFS { Type (1): File, Data (2): chunk, filesize (3): len } }
            // An empty file has no Data field, as in Kubo.
            let mut unixfs_head = vec![0x08, 0x02];
            if len > 0 {
                unixfs_head.push(0x12);
                varint(&mut unixfs_head, len);
            }
            let mut trailer = vec![0x18];
            varint(&mut trailer, len);
            let mut head = vec![0x0a];
            varint(
                &mut head,
                unixfs_head.len() as u64 + len + trailer.len() as u64,
            );
            head.extend_from_slice(&unixfs_head);
            let mut parts = Vec::with_capacity(pieces.len() + 2);
            parts.push(Bytes::from(head));
            parts.extend(pieces);
            parts.push(Bytes::from(trailer));
            let block = Block::from_parts(parts);
            (
                cid_of_block(self.options.cid_version, DAG_PB, &block),
                block,
            )
        };
        self.leaves += 1;
        self.push_link(
            FileBranchLink {
                cid,
                blocksize: len,
                tsize: block.len() as u64,
            },
            cid,
            block,
            sink,
        )
    }

    fn emit<E>(
        &mut self,
        cid: Cid,
        block: Block,
        sink: &mut impl FnMut(Cid, Block) -> Result<(), E>,
    ) -> Result<(), E> {
        self.dag_size += block.len() as u64;
        sink(cid, block)
    }

    /// Emits a leaf and adds its link, compacting full layers upwards.
    fn push_link<E>(
        &mut self,
        link: FileBranchLink,
        cid: Cid,
        block: Block,
        sink: &mut impl FnMut(Cid, Block) -> Result<(), E>,
    ) -> Result<(), E> {
        self.emit(cid, block, sink)?;
        if self.layers.is_empty() {
            self.layers.push(Vec::new());
        }
        self.layers[0].push(link);
        let mut depth = 0;
        while self.layers[depth].len() > MAX_LINKS {
            self.compact(depth, MAX_LINKS, sink)?;
            depth += 1;
        }
        Ok(())
    }

    /// Renders the first `count` links of a layer into a branch node, linked from the layer above.
    fn compact<E>(
        &mut self,
        depth: usize,
        count: usize,
        sink: &mut impl FnMut(Cid, Block) -> Result<(), E>,
    ) -> Result<(), E> {
        let links: Vec<FileBranchLink> = self.layers[depth].drain(..count).collect();
        let filesize = links.iter().map(|l| l.blocksize).sum();
        let nested: u64 = links.iter().map(|l| l.tsize).sum();
        let (cid, block) =
            rebuild_file_branch(filesize, &links, self.options.cid_version, Code::Sha2_256);
        let promoted = FileBranchLink {
            cid,
            blocksize: filesize,
            tsize: nested + block.len() as u64,
        };
        if depth + 1 == self.layers.len() {
            self.layers.push(Vec::new());
        }
        self.layers[depth + 1].push(promoted);
        self.emit(cid, Block::from(block), sink)
    }

    /// Completes the file's DAG (`wrap_with_directory` is [`super::tree::TreeImport`]'s).
    pub fn finish<E>(
        mut self,
        sink: &mut impl FnMut(Cid, Block) -> Result<(), E>,
    ) -> Result<ImportSummary, E> {
        // The last partial chunk; or the only, empty one of an empty file.
        if self.filled > 0 || self.leaves == 0 {
            self.flush_leaf(sink)?;
        }
        loop {
            let total: usize = self.layers.iter().map(Vec::len).sum();
            if total <= 1 {
                break;
            }
            let depth = self
                .layers
                .iter()
                .position(|l| !l.is_empty())
                .expect("total > 1, so a layer has links");
            let count = self.layers[depth].len().min(MAX_LINKS);
            self.compact(depth, count, sink)?;
        }
        let root = self
            .layers
            .iter()
            .find_map(|l| l.first())
            .expect("one link remains: the root")
            .cid;
        Ok(ImportSummary {
            root,
            dag_size: self.dag_size,
            content_size: self.content_size,
        })
    }
}

/// Imports a whole slice; convenient for small inputs and tests.
pub fn import_bytes(
    data: &[u8],
    options: ImportOptions,
    mut sink: impl FnMut(Cid, Block),
) -> ImportSummary {
    let mut sink = |cid, block| -> Result<(), std::convert::Infallible> {
        sink(cid, block);
        Ok(())
    };
    let mut importer = Importer::new(options);
    let Ok(()) = importer.push(data, &mut sink);
    let Ok(summary) = importer.finish(&mut sink);
    summary
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cid_for(data: &[u8], cid_version: Option<&str>, raw_leaves: Option<bool>) -> String {
        let opts = ImportOptions::from_params(cid_version, raw_leaves, None, false, None).unwrap();
        import_bytes(data, opts, |_, _| {}).root.to_string()
    }

    // Published Kubo vectors (issue #2).
    #[test]
    fn hello_world_defaults() {
        assert_eq!(
            cid_for(b"hello world", None, None),
            "Qmf412jQZiuVUtdgnB36FXFX7xg5V6KEbSJ4dpQuhkLyfD"
        );
    }

    #[test]
    fn hello_world_cid_v1_raw_leaves() {
        assert_eq!(
            cid_for(b"hello world", Some("1"), None),
            "bafkreifzjut3te2nhyekklss27nh3k72ysco7y32koao5eei66wof36n5e"
        );
    }

    #[test]
    fn hello_world_cid_v1_dag_pb_leaves() {
        assert_eq!(
            cid_for(b"hello world", Some("1"), Some(false)),
            "bafybeihykld7uyxzogax6vgyvag42y7464eywpf55gxi5qpoisibh3c5wa"
        );
    }

    #[test]
    fn empty_file() {
        assert_eq!(
            cid_for(b"", None, None),
            "QmbFMke1KXqnYyBBWxB74N4c5SBnJMVAiMNRcGu6x1AwQH"
        );
    }

    #[test]
    fn hello_worlds_newline() {
        assert_eq!(
            cid_for(b"Hello Worlds!\n", None, None),
            "QmVr26fY1tKyspEJBniVhqxQeEjhF78XerGiqWAwraVLQH"
        );
    }

    #[test]
    fn dag_size_is_sum_of_blocks() {
        let mut total = 0u64;
        let data = vec![7u8; 3 * 1024 + 5];
        let opts = ImportOptions::from_params(None, None, Some("size-1024"), false, None).unwrap();
        let s = import_bytes(&data, opts, |_, b| total += b.len() as u64);
        assert_eq!(s.dag_size, total);
        assert_eq!(s.content_size, data.len() as u64);
    }

    #[test]
    fn every_block_matches_rust_unixfs_file_adder() {
        use rust_unixfs::file::adder::{BalancedCollector, Chunker, FileAdder};
        for (len, chunk) in [
            (0, 100),
            (1, 100),
            (100, 100),
            (101, 100),
            (17_500, 100),
            (17_401, 100),
            (3_050_000, 100),
            (777, 1),
        ] {
            let data: Vec<u8> = (0..len as u32)
                .map(|i| (i.wrapping_mul(2_654_435_761) >> 13) as u8)
                .collect();
            for (version, raw) in [
                (Version::V0, false),
                (Version::V0, true),
                (Version::V1, true),
                (Version::V1, false),
            ] {
                let mut adder = FileAdder::builder()
                    .with_chunker(Chunker::Size(chunk))
                    .with_collector(BalancedCollector::with_branching_factor(MAX_LINKS))
                    .with_cid_version(version)
                    .with_raw_leaves(raw)
                    .build();
                let mut expected = Vec::new();
                let mut rest = &data[..];
                while !rest.is_empty() {
                    let (blocks, n) = adder.push(rest);
                    expected.extend(blocks);
                    rest = &rest[n..];
                }
                expected.extend(adder.finish());
                let opts = ImportOptions {
                    chunk_size: chunk,
                    cid_version: version,
                    raw_leaves: raw,
                    ..Default::default()
                };
                let mut got = Vec::new();
                import_bytes(&data, opts, |cid, b| got.push((cid, b.to_vec())));
                assert!(
                    got == expected,
                    "len {len} chunk {chunk} {version:?} raw={raw}"
                );
            }
        }
    }

    #[test]
    fn split_pushes_give_same_cid() {
        let data: Vec<u8> = (0..700_000u32).map(|i| (i % 251) as u8).collect();
        let whole = import_bytes(&data, ImportOptions::default(), |_, _| {}).root;
        let mut importer = Importer::new(ImportOptions::default());
        let mut sink = |_: Cid, _: Block| Ok::<(), ()>(());
        for piece in data.chunks(12_345) {
            importer.push(piece, &mut sink).unwrap();
        }
        assert_eq!(importer.finish(&mut sink).unwrap().root, whole);
    }
}
