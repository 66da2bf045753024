//! The simulation's add pipeline: the parts of an upload into a [`TreeImport`], blocks into
//! the store.
//!
//! Three stages overlap: the calling task receives (handing chunks over in batches: one
//! wake-up of the importer per batch of ready chunks, not per network read), a blocking
//! thread hashes and builds the DAG, a writer thread appends blocks. Both hand-offs are
//! bounded channels, so memory per add is bounded by [`ADD_QUEUE_DEPTH`] × [`FEED_BATCH`]
//! chunks plus [`WRITE_QUEUE_DEPTH`] blocks. Nothing is committed unless the whole upload
//! arrived: a feed that stops without its end is an aborted upload.

use super::SyncPolicy;
use super::blockstore::BlockStore;
use crate::backend::*;
use crate::unixfs::Block;
use crate::unixfs::tree::{EntryPath, TreeError, TreeImport, TreeSummary};
use bytes::Bytes;
use cid::Cid;
use futures_util::StreamExt;
use std::sync::Arc;

/// How many batches of received chunks may wait for the importer thread (each at most
/// [`FEED_BATCH`] chunks); bounds memory per add.
const ADD_QUEUE_DEPTH: usize = 2;
/// Most chunks handed to the importer thread at once (those already received).
const FEED_BATCH: usize = 64;
/// How many finished blocks may wait for the writer thread (at most ~1 MiB each).
const WRITE_QUEUE_DEPTH: usize = 16;

/// What the receiving task hands the importer thread, in upload order.
enum Feed {
    File(Option<EntryPath>),
    /// The chunks that were ready together: one hand-off (one wake-up of the importer
    /// thread) per batch, not per network read.
    Data(Vec<Bytes>),
    EndFile,
    Directory(EntryPath),
    Symlink(EntryPath, String),
    End,
}

/// Moves the parts (and each file's bytes) into the importer's channel; the input's error,
/// if it failed. A closed channel means the importer failed: its own error is reported.
async fn feed_parts(
    parts: &mut AddParts,
    tx: &tokio::sync::mpsc::Sender<Feed>,
) -> Option<BackendError> {
    while let Some(part) = parts.next().await {
        let feed = match part {
            Err(e) => return Some(e),
            Ok(AddPart::Directory { path }) => Feed::Directory(path),
            Ok(AddPart::Symlink { path, target }) => Feed::Symlink(path, target),
            Ok(AddPart::File { path, data }) => {
                if tx.send(Feed::File(path)).await.is_err() {
                    return None;
                }
                let mut batches = data.ready_chunks(FEED_BATCH);
                while let Some(batch) = batches.next().await {
                    let batch: Result<Vec<Bytes>, BackendError> = batch.into_iter().collect();
                    match batch {
                        Ok(chunks) => {
                            if tx.send(Feed::Data(chunks)).await.is_err() {
                                return None;
                            }
                        }
                        Err(e) => return Some(e),
                    }
                }
                Feed::EndFile
            }
        };
        if tx.send(feed).await.is_err() {
            return None;
        }
    }
    None
}

/// The importer thread's loop: the feed into a [`TreeImport`], blocks to `sink`. A feed that
/// stops without `End` is an aborted upload: nothing truncated is finished.
fn import_tree(
    rx: &mut tokio::sync::mpsc::Receiver<Feed>,
    mut tree: TreeImport,
    sink: &mut impl FnMut(Cid, Block) -> Result<(), BackendError>,
) -> Result<TreeSummary, BackendError> {
    let placed =
        |r: Result<(), TreeError>| r.map_err(|e| BackendError::InvalidInput(e.to_string()));
    loop {
        match rx.blocking_recv() {
            Some(Feed::File(path)) => placed(tree.begin_file(path))?,
            Some(Feed::Data(chunks)) => {
                for bytes in chunks {
                    tree.push_bytes(bytes, sink)?;
                }
            }
            Some(Feed::EndFile) => placed(tree.end_file(sink)?)?,
            Some(Feed::Directory(path)) => placed(tree.directory(path))?,
            Some(Feed::Symlink(path, target)) => placed(tree.symlink(path, &target, sink)?)?,
            Some(Feed::End) => break,
            None => return Err(BackendError::Input("upload aborted".into())),
        }
    }
    let summary = tree
        .finish(sink)?
        .map_err(|e| BackendError::InvalidInput(e.to_string()))?;
    if summary.entries.is_empty() {
        return Err(BackendError::InvalidInput(
            "the upload has no file or directory part".into(),
        ));
    }
    Ok(summary)
}

/// Kubo's answer to an add, from the tree's output.
pub(super) fn added_from(summary: TreeSummary, pinned: bool) -> Added {
    let entries: Vec<AddedEntry> = summary
        .entries
        .iter()
        .map(|e| AddedEntry {
            name: e.path.clone(),
            hash: e.cid.to_string(),
            size: e.tsize.to_string(),
        })
        .collect();
    let last = summary
        .entries
        .last()
        .expect("import_tree refuses empty uploads");
    Added {
        root: last.cid,
        name: last.path.clone(),
        dag_size: last.tsize,
        content_size: summary.content_size,
        entries,
        roots: summary.roots,
        pinned,
    }
}

/// Imports `parts` into `store` (nothing stored with `only_hash`); committed per `policy`.
pub(super) async fn import(
    store: Arc<dyn BlockStore>,
    policy: SyncPolicy,
    parts: &mut AddParts,
    options: &AddOptions,
) -> Result<TreeSummary, BackendError> {
    let (tx, mut rx) = tokio::sync::mpsc::channel::<Feed>(ADD_QUEUE_DEPTH);
    let only_hash = options.only_hash;
    let import = options.import.clone();
    let job = tokio::task::spawn_blocking(move || {
        let (blocks_tx, blocks_rx) =
            std::sync::mpsc::sync_channel::<(Cid, Block)>(WRITE_QUEUE_DEPTH);
        let writer_store = store.clone();
        let writer = std::thread::Builder::new()
            .name("block-writer".into())
            .spawn(move || -> Result<(), BackendError> {
                for (cid, block) in blocks_rx {
                    writer_store.put_parts(&cid, block.parts())?;
                }
                Ok(())
            })
            .map_err(|e| BackendError::Internal(format!("spawning the block writer: {e}")))?;
        let mut sink = |cid: Cid, block: Block| -> Result<(), BackendError> {
            if !only_hash {
                // A closed channel means the writer failed; its error is reported below.
                let _ = blocks_tx.send((cid, block));
            }
            Ok(())
        };
        let imported = import_tree(&mut rx, TreeImport::new(import), &mut sink);
        drop(blocks_tx);
        let written = writer
            .join()
            .map_err(|_| BackendError::Internal("block writer panicked".into()))?;
        let summary = imported?;
        written?;
        if !only_hash {
            super::commit(&*store, policy)?;
        }
        Ok::<_, BackendError>(summary)
    });
    let input_error = feed_parts(parts, &tx).await;
    if input_error.is_none() {
        let _ = tx.send(Feed::End).await;
    }
    drop(tx);
    let result = job
        .await
        .map_err(|e| BackendError::Internal(format!("importer task failed: {e}")));
    if let Some(e) = input_error {
        return Err(e);
    }
    result?
}
