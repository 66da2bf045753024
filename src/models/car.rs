//! CAR (v1) out of and into any backend: the trustless gateway's `?format=car`, and
//! `dag/export` / `dag/import` on the MCP API.
//!
//! **Export** walks the DAG through `Backend::block_get` and streams frames as blocks arrive
//! (one block in memory at a time): first the blocks that resolve the path, then the target in
//! depth-first pre-order without duplicates, limited by the `dag-scope` (`all`, `entity`,
//! `block`) and, for a UnixFS file, `entity-bytes` (only the blocks covering those bytes). A
//! block that cannot be fetched ends the stream with an error, so a client never receives a
//! short CAR as a success.
//!
//! **Import** reads the upload as it arrives (`iroh-car`, 4 MiB bound per block), checks every
//! block against its CID, and spools the verified frames to an anonymous temp file. Only when
//! the whole CAR verified is the spool handed to the backend (`Backend::import_car`: the
//! simulation stores block by block, a Kubo node gets it whole through its own `dag/import`),
//! so a bad block rejects the import and stores nothing of it.

use crate::backend::{Backend, BackendError, ByteStream, ContentPath, ipld, resolve};
use crate::unixfs::car::{frame, header};
use crate::unixfs::{RAW, cid_of};
use bytes::Bytes;
use cid::Cid;
use futures_util::StreamExt;
use std::collections::HashSet;
use std::io::{Seek, Write};
use std::sync::Arc;

/// `dag-scope` of the trustless gateway spec.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DagScope {
    /// The whole DAG under the target.
    All,
    /// What is needed to use the target: a file's blocks, a directory's own block(s).
    Entity,
    /// The target's block only.
    Block,
}

impl std::str::FromStr for DagScope {
    type Err = BackendError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "all" => Ok(Self::All),
            "entity" => Ok(Self::Entity),
            "block" => Ok(Self::Block),
            other => Err(BackendError::InvalidInput(format!(
                "invalid dag-scope {other:?}: expected all, entity or block"
            ))),
        }
    }
}

impl DagScope {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::All => "all",
            Self::Entity => "entity",
            Self::Block => "block",
        }
    }
}

/// `entity-bytes=from:to` (inclusive; `to` may be `*`; negatives count from the end).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct EntityBytes {
    pub from: i64,
    pub to: Option<i64>,
}

impl std::str::FromStr for EntityBytes {
    type Err = BackendError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let bad = || BackendError::InvalidInput(format!("invalid entity-bytes {s:?}"));
        let (from, to) = s.split_once(':').ok_or_else(bad)?;
        let from: i64 = from.parse().map_err(|_| bad())?;
        let to = match to {
            "*" => None,
            t => Some(t.parse::<i64>().map_err(|_| bad())?),
        };
        if let Some(to) = to
            && from >= 0
            && to >= 0
            && to < from
        {
            return Err(bad());
        }
        Ok(Self { from, to })
    }
}

impl EntityBytes {
    /// The half-open byte range of a `size`-byte file it names (possibly empty).
    fn resolve(self, size: u64) -> std::ops::Range<u64> {
        let at = |v: i64| {
            if v < 0 {
                size.saturating_sub(v.unsigned_abs())
            } else {
                (v as u64).min(size)
            }
        };
        let start = at(self.from);
        let end = match self.to {
            None => size,
            Some(t) => at(t).saturating_add(1).min(size),
        };
        start..end.max(start)
    }
}

#[derive(Debug, Clone, Copy)]
pub struct ExportOptions {
    pub scope: DagScope,
    pub entity_bytes: Option<EntityBytes>,
    /// `dups=y`: every block as the depth-first walk meets it, repeats included (the
    /// trustless spec's IPIP-412); `dups=n` (default): each block once.
    pub dups: bool,
}

impl Default for ExportOptions {
    fn default() -> Self {
        Self {
            scope: DagScope::All,
            entity_bytes: None,
            dups: false,
        }
    }
}

/// Decides which blocks go out: identity CIDs never (their data is the CID), repeats only
/// with `dups=y`.
struct Emitter {
    seen: HashSet<Cid>,
    dups: bool,
}

impl Emitter {
    /// Whether `cid`'s block is to be sent now (and, without dups, remembers it).
    fn first_time(&mut self, cid: &Cid) -> bool {
        if resolve::identity_block(cid).is_some() {
            return false;
        }
        self.seen.insert(*cid) || self.dups
    }

    async fn emit(&mut self, tx: &Sink, cid: &Cid, block: &Bytes) -> Result<(), BackendError> {
        if self.first_time(cid) {
            send(tx, frame(cid, block)).await?;
        }
        Ok(())
    }
}

/// Streams the CAR of `path` (roots: the path's root CID).
pub fn export(backend: Arc<dyn Backend>, path: ContentPath, options: ExportOptions) -> ByteStream {
    let (tx, rx) = tokio::sync::mpsc::channel::<Result<Bytes, BackendError>>(4);
    tokio::spawn(async move {
        if let Err(e) = write_car(&*backend, &path, options, &tx).await {
            let _ = tx.send(Err(e)).await;
        }
    });
    let mut rx = rx;
    futures_util::stream::poll_fn(move |cx| rx.poll_recv(cx)).boxed()
}

type Sink = tokio::sync::mpsc::Sender<Result<Bytes, BackendError>>;

async fn send(tx: &Sink, bytes: Bytes) -> Result<(), BackendError> {
    // the client went away: stop walking
    tx.send(Ok(bytes))
        .await
        .map_err(|_| BackendError::Input("the client closed the connection".into()))
}

async fn write_car(
    backend: &dyn Backend,
    path: &ContentPath,
    options: ExportOptions,
    tx: &Sink,
) -> Result<(), BackendError> {
    send(tx, header(vec![path.root])?).await?;
    let mut out = Emitter {
        seen: HashSet::new(),
        dups: options.dups,
    };
    // the blocks that resolve the path (HAMT shards on the way included)
    let walked = resolve::walk(path, |cid| resolve::load(backend, cid)).await?;
    for (cid, block) in &walked.blocks {
        out.emit(tx, cid, block).await?;
    }
    let (cid, block) = (walked.cid, walked.block);
    match options.scope {
        DagScope::Block => out.emit(tx, &cid, &block).await,
        DagScope::All => walk(backend, cid, block, &mut out, tx).await,
        DagScope::Entity => entity(backend, cid, block, options.entity_bytes, &mut out, tx).await,
    }
}

/// Depth-first pre-order from `root`: every block under it.
async fn walk(
    backend: &dyn Backend,
    root: Cid,
    root_block: Bytes,
    out: &mut Emitter,
    tx: &Sink,
) -> Result<(), BackendError> {
    let mut stack = vec![(root, Some(root_block))];
    while let Some((cid, block)) = stack.pop() {
        if !out.first_time(&cid) {
            continue;
        }
        let block = match block {
            Some(b) => b,
            None => resolve::load(backend, cid).await?,
        };
        send(tx, frame(&cid, &block)).await?;
        let links = ipld::links(&cid, &block)?;
        stack.extend(links.into_iter().rev().map(|c| (c, None)));
    }
    Ok(())
}

/// `dag-scope=entity`: a UnixFS file's blocks (those covering `entity-bytes` when given), a
/// directory's own block (all of a HAMT's shards), or any other node's block.
async fn entity(
    backend: &dyn Backend,
    cid: Cid,
    block: Bytes,
    bytes: Option<EntityBytes>,
    out: &mut Emitter,
    tx: &Sink,
) -> Result<(), BackendError> {
    use crate::unixfs::hamt::is_shard;
    use crate::unixfs::reader::{NodeKind, describe};
    match describe(&cid, &block) {
        NodeKind::File { size } => {
            let range = bytes.map_or(0..size, |b| b.resolve(size));
            file_blocks(backend, cid, block, range, out, tx).await
        }
        NodeKind::Directory if is_shard(&cid, &block) => {
            // the shards only: each is a dag-pb node whose links named with two hex digits
            // alone lead to sub-shards
            let mut stack = vec![(cid, block)];
            while let Some((cid, block)) = stack.pop() {
                out.emit(tx, &cid, &block).await?;
                let shard = crate::unixfs::hamt::Shard::parse(&cid, &block)
                    .map_err(|e| BackendError::BadGateway(e.to_string()))?;
                let mut subs = Vec::new();
                for (_, link) in shard.links {
                    if let crate::unixfs::hamt::ShardLink::Shard(sub) = link {
                        subs.push(sub);
                    }
                }
                for sub in subs.into_iter().rev() {
                    stack.push((sub, resolve::load(backend, sub).await?));
                }
            }
            Ok(())
        }
        NodeKind::Directory | NodeKind::Other => out.emit(tx, &cid, &block).await,
    }
}

/// The blocks of a file that hold bytes of `range` (the root always: it is the entity).
async fn file_blocks(
    backend: &dyn Backend,
    root: Cid,
    root_block: Bytes,
    range: std::ops::Range<u64>,
    out: &mut Emitter,
    tx: &Sink,
) -> Result<(), BackendError> {
    use rust_unixfs::file::adder::parse_file_branch;
    let mut stack = vec![(root, Some(root_block), 0u64)];
    while let Some((cid, block, offset)) = stack.pop() {
        let block = match block {
            Some(b) => b,
            None => resolve::load(backend, cid).await?,
        };
        out.emit(tx, &cid, &block).await?;
        if cid.codec() == RAW {
            continue;
        }
        if let Some(branch) = parse_file_branch(&block) {
            let mut child_offset = offset;
            let mut children = Vec::new();
            for link in branch.links {
                // sizes come from the content: a crafted branch must not wrap the offsets
                let end = child_offset.saturating_add(link.blocksize);
                if child_offset < range.end && end > range.start {
                    children.push((link.cid, None, child_offset));
                }
                child_offset = end;
            }
            stack.extend(children.into_iter().rev());
        }
    }
    Ok(())
}

/// What an import stored.
#[derive(Debug, Clone, serde::Serialize)]
pub struct Imported {
    pub roots: Vec<String>,
    pub blocks: u64,
    pub bytes: u64,
    pub pinned: Vec<String>,
}

/// Verifies and stores a CAR; pins its roots when `pin` (as Kubo's `dag import`).
pub async fn import(
    backend: &dyn Backend,
    car: ByteStream,
    pin: bool,
) -> Result<Imported, BackendError> {
    let reader = tokio_util::io::StreamReader::new(
        car.map(|r| r.map_err(|e| std::io::Error::other(BackendErrorBox(e)))),
    );
    let mut reader = iroh_car::CarReader::new(tokio::io::BufReader::new(reader))
        .await
        .map_err(|e| car_error(e, "header"))?;
    let roots = reader.header().roots().to_vec();
    if roots.is_empty() {
        return Err(BackendError::InvalidInput("the CAR names no root".into()));
    }
    // a valid CAR of the verified blocks only
    let mut spool = tempfile::tempfile()?;
    spool.write_all(&header(roots.clone())?)?;
    let (mut blocks, mut bytes) = (0u64, 0u64);
    while let Some((cid, data)) = reader
        .next_block()
        .await
        .map_err(|e| car_error(e, &format!("block {}", blocks + 1)))?
    {
        verify(&cid, &data, blocks + 1)?;
        spool.write_all(&frame(&cid, &data))?;
        blocks += 1;
        bytes += data.len() as u64;
    }
    // everything verified: now store
    spool.rewind()?;
    backend.import_car(spool, &roots, pin).await?;
    Ok(Imported {
        roots: roots.iter().map(Cid::to_string).collect(),
        blocks,
        bytes,
        pinned: if pin {
            roots.iter().map(Cid::to_string).collect()
        } else {
            Vec::new()
        },
    })
}

/// Carries our error through `std::io::Error` (the reader's error type) and back.
#[derive(Debug)]
struct BackendErrorBox(BackendError);

impl std::fmt::Display for BackendErrorBox {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        self.0.fmt(f)
    }
}

impl std::error::Error for BackendErrorBox {}

fn car_error(e: iroh_car::Error, at: &str) -> BackendError {
    // an upload error (too large, client gone) stays what it was
    if let iroh_car::Error::Io(io) = &e
        && let Some(inner) = io
            .get_ref()
            .and_then(|i| i.downcast_ref::<BackendErrorBox>())
    {
        return inner.0.clone();
    }
    BackendError::InvalidInput(format!("not a valid CARv1 ({at}): {e}"))
}

/// The block must hash to its CID (sha2-256, the only hash this gateway computes).
fn verify(cid: &Cid, data: &[u8], index: u64) -> Result<(), BackendError> {
    if cid.hash().code() != 0x12 {
        return Err(BackendError::InvalidInput(format!(
            "block {index} ({cid}) uses multihash 0x{:x}; only sha2-256 is supported",
            cid.hash().code()
        )));
    }
    if cid_of(cid.version(), cid.codec(), data).hash() != cid.hash() {
        return Err(BackendError::InvalidInput(format!(
            "block {index} does not match its CID {cid}: the CAR is corrupt; nothing was imported"
        )));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::backend::simulation::SimulationBackend;
    use crate::backend::{AddOptions, Backend};
    use crate::unixfs::ImportOptions;
    use futures_util::TryStreamExt;

    async fn car_of(b: &Arc<dyn Backend>, path: &str, options: ExportOptions) -> Vec<u8> {
        let parts: Vec<Bytes> = export(b.clone(), path.parse().unwrap(), options)
            .try_collect()
            .await
            .unwrap();
        parts.concat()
    }

    async fn blocks_of(car: Vec<u8>) -> (Vec<Cid>, Vec<Cid>) {
        let mut r = iroh_car::CarReader::new(&car[..]).await.unwrap();
        let roots = r.header().roots().to_vec();
        let mut out = Vec::new();
        while let Some((cid, _)) = r.next_block().await.unwrap() {
            out.push(cid);
        }
        (roots, out)
    }

    async fn sim_with_file(len: usize) -> (Arc<dyn Backend>, Cid, Vec<u8>) {
        let b: Arc<dyn Backend> = Arc::new(SimulationBackend::open(None).unwrap());
        let data: Vec<u8> = (0..len).map(|i| (i * 7 % 256) as u8).collect();
        let import =
            ImportOptions::from_params(Some("1"), None, Some("size-1000"), false, None).unwrap();
        let input = futures_util::stream::once({
            let d = Bytes::from(data.clone());
            async move { Ok(d) }
        })
        .boxed();
        let added = b
            .add(
                input,
                AddOptions {
                    import,
                    pin: false,
                    only_hash: false,
                },
            )
            .await
            .unwrap();
        (b, added.root, data)
    }

    #[tokio::test]
    async fn scopes_and_entity_bytes_pick_the_right_blocks() {
        let (b, root, _) = sim_with_file(5500).await; // 6 leaves under one root
        let all = blocks_of(car_of(&b, &root.to_string(), ExportOptions::default()).await).await;
        assert_eq!(all.0, vec![root]);
        assert_eq!(all.1.len(), 7);
        assert_eq!(all.1[0], root, "pre-order: the root first");
        let block = ExportOptions {
            scope: DagScope::Block,
            entity_bytes: None,
            dups: false,
        };
        assert_eq!(
            blocks_of(car_of(&b, &root.to_string(), block).await)
                .await
                .1,
            vec![root]
        );
        let range = ExportOptions {
            scope: DagScope::Entity,
            entity_bytes: Some("1500:2500".parse().unwrap()),
            dups: false,
        };
        let got = blocks_of(car_of(&b, &root.to_string(), range).await)
            .await
            .1;
        assert_eq!(
            got,
            vec![root, all.1[2], all.1[3]],
            "leaves 1000..2000, 2000..3000"
        );
        let tail = ExportOptions {
            scope: DagScope::Entity,
            entity_bytes: Some("-10:*".parse().unwrap()),
            dups: false,
        };
        let got = blocks_of(car_of(&b, &root.to_string(), tail).await).await.1;
        assert_eq!(got, vec![root, all.1[6]]);
    }

    #[tokio::test]
    async fn import_roundtrips_and_rejects_a_corrupt_block() {
        let (src, root, data) = sim_with_file(3000).await;
        let car = car_of(&src, &root.to_string(), ExportOptions::default()).await;
        let dst: Arc<dyn Backend> = Arc::new(SimulationBackend::open(None).unwrap());
        let stream = |bytes: Vec<u8>| -> ByteStream {
            futures_util::stream::iter(
                bytes
                    .chunks(777)
                    .map(|c| Ok(Bytes::copy_from_slice(c)))
                    .collect::<Vec<_>>(),
            )
            .boxed()
        };
        // flip one byte inside the last block's data
        let mut bad = car.clone();
        let at = bad.len() - 5;
        bad[at] ^= 0xff;
        let err = import(&*dst, stream(bad), true).await.unwrap_err();
        assert!(matches!(&err, BackendError::InvalidInput(m) if m.contains("does not match")));
        assert!(dst.block_stat(&root).await.is_err(), "nothing stored");

        let imported = import(&*dst, stream(car), true).await.unwrap();
        assert_eq!(imported.roots, vec![root.to_string()]);
        assert_eq!(imported.blocks, 4);
        let read: Vec<Bytes> = dst
            .cat(&ContentPath::new(root), 0, None)
            .await
            .unwrap()
            .try_collect()
            .await
            .unwrap();
        assert_eq!(read.concat(), data);
        assert!(
            !dst.pin_ls(Some(&root), Default::default())
                .await
                .unwrap()
                .is_empty()
        );

        let err = import(&*dst, stream(b"not a car".to_vec()), true)
            .await
            .unwrap_err();
        assert!(matches!(err, BackendError::InvalidInput(_)));
    }
}
