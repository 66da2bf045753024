//! Streaming UnixFS importer, byte-identical to Kubo's `ipfs add` with the balanced layout.
//!
//! Built on `rust-unixfs`'s `FileAdder` (configured for Kubo's defaults: CIDv0, dag-pb leaves,
//! 174 links) and `BufferingTreeBuilder` for `wrap-with-directory`. Blocks are handed to a sink
//! as soon as they exist, so memory stays at one chunk plus the pending links of each level.

use super::options::{ImportOptions, MAX_LINKS};
use cid::Cid;
use rust_unixfs::dir::builder::{BufferingTreeBuilder, TreeOptions};
use rust_unixfs::file::adder::{BalancedCollector, Chunker, FileAdder};

/// What an import produced.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ImportSummary {
    /// The root: the file, or the wrapping directory.
    pub root: Cid,
    /// The file's own root CID (equal to `root` unless wrapped).
    pub file: Cid,
    /// Entry name: the given file name, or the file CID as Kubo does for nameless input.
    pub name: String,
    /// Kubo's `Size`: cumulative size of all blocks under `root`.
    pub dag_size: u64,
    /// Kubo's `Size` for the file entry itself.
    pub file_dag_size: u64,
    /// Bytes of content read.
    pub content_size: u64,
}

/// Feeds bytes in, gets blocks out through a sink.
pub struct Importer {
    adder: FileAdder,
    options: ImportOptions,
    content_size: u64,
    dag_size: u64,
    last_block: Option<Cid>,
}

impl Importer {
    pub fn new(options: ImportOptions) -> Self {
        let adder = FileAdder::builder()
            .with_chunker(Chunker::Size(options.chunk_size))
            .with_collector(BalancedCollector::with_branching_factor(MAX_LINKS))
            .with_cid_version(options.cid_version)
            .with_raw_leaves(options.raw_leaves)
            .build();
        Self {
            adder,
            options,
            content_size: 0,
            dag_size: 0,
            last_block: None,
        }
    }

    /// Bytes pushed so far.
    pub fn content_size(&self) -> u64 {
        self.content_size
    }

    /// Pushes content; every block completed by it goes to `sink` in creation order.
    pub fn push<E>(
        &mut self,
        mut data: &[u8],
        sink: &mut impl FnMut(Cid, Vec<u8>) -> Result<(), E>,
    ) -> Result<(), E> {
        self.content_size += data.len() as u64;
        while !data.is_empty() {
            let (blocks, consumed) = self.adder.push(data);
            for (cid, block) in blocks {
                self.emit(cid, block, sink)?;
            }
            data = &data[consumed..];
        }
        Ok(())
    }

    /// Completes the DAG (and the wrapping directory, if asked for).
    pub fn finish<E>(
        mut self,
        sink: &mut impl FnMut(Cid, Vec<u8>) -> Result<(), E>,
    ) -> Result<ImportSummary, E> {
        let adder = std::mem::take(&mut self.adder);
        for (cid, block) in adder.finish() {
            self.emit(cid, block, sink)?;
        }
        // The last block FileAdder emits is always the file's root.
        let file = self
            .last_block
            .expect("finish always yields at least one block");
        let name = self
            .options
            .file_name
            .clone()
            .unwrap_or_else(|| file.to_string());
        let file_dag_size = self.dag_size;
        let mut summary = ImportSummary {
            root: file,
            file,
            name,
            dag_size: file_dag_size,
            file_dag_size,
            content_size: self.content_size,
        };
        if self.options.wrap_with_directory {
            let mut tree = TreeOptions::default();
            tree.wrap_with_directory();
            tree.cid_version(self.options.cid_version);
            let mut builder = BufferingTreeBuilder::new(tree);
            builder
                .put_link(&summary.name, file, file_dag_size)
                .expect("a single validated name always fits an empty directory");
            for node in builder.build() {
                let node = node.expect("a one-entry directory always renders");
                summary.root = node.cid;
                summary.dag_size = node.total_size;
                sink(node.cid, node.block.into_vec())?;
            }
        }
        Ok(summary)
    }

    fn emit<E>(
        &mut self,
        cid: Cid,
        block: Vec<u8>,
        sink: &mut impl FnMut(Cid, Vec<u8>) -> Result<(), E>,
    ) -> Result<(), E> {
        self.dag_size += block.len() as u64;
        self.last_block = Some(cid);
        sink(cid, block)
    }
}

/// Imports a whole slice; convenient for small inputs and tests.
pub fn import_bytes(
    data: &[u8],
    options: ImportOptions,
    mut sink: impl FnMut(Cid, Vec<u8>),
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
    fn split_pushes_give_same_cid() {
        let data: Vec<u8> = (0..700_000u32).map(|i| (i % 251) as u8).collect();
        let whole = import_bytes(&data, ImportOptions::default(), |_, _| {}).root;
        let mut importer = Importer::new(ImportOptions::default());
        let mut sink = |_: Cid, _: Vec<u8>| Ok::<(), ()>(());
        for piece in data.chunks(12_345) {
            importer.push(piece, &mut sink).unwrap();
        }
        assert_eq!(importer.finish(&mut sink).unwrap().root, whole);
    }
}
