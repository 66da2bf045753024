//! The one interface between models and an IPFS node.
//!
//! Two implementations: [`simulation`] (an embedded, offline node that computes Kubo's CIDs)
//! and [`kubo`] (a real node over its RPC API). A shared test suite in `tests/backend_suite/`
//! runs against each. [`breaker::GuardedBackend`] wraps a backend that can fail (the Kubo one)
//! in a circuit breaker; it implements the same trait, so models never know it is there.
//!
//! Invariants:
//! * No HTTP (actix) types cross this boundary; errors are [`BackendError`].
//! * Content flows as streams ([`ByteStream`]) in both directions, never as whole files.
//! * A backend never invents data: anything it cannot answer is an error.

pub mod breaker;
pub mod error;
pub mod ipld;
pub mod ipns_record;
pub mod kubo;
pub mod resolve;
pub mod simulation;
pub mod types;

pub use error::BackendError;
pub use types::*;

use async_trait::async_trait;
use bytes::Bytes;
use cid::Cid;
use futures_util::StreamExt;
use futures_util::stream::BoxStream;

/// A stream of content bytes.
pub type ByteStream = BoxStream<'static, Result<Bytes, BackendError>>;

/// What every backend can do. Paths are IPFS paths without the `/ipfs/` prefix handled by the
/// caller: a CID followed by optional `/segments`.
#[async_trait]
pub trait Backend: Send + Sync + 'static {
    /// `simulation` or `kubo`.
    fn kind(&self) -> BackendKind;

    /// Current state of the node, cheap enough for `/health`.
    async fn health(&self) -> BackendHealth;

    /// The circuit breaker's state and counters, when the backend has one (no I/O).
    fn breaker(&self) -> Option<breaker::BreakerSnapshot> {
        None
    }

    /// Imports a stream as one UnixFS file (Kubo's `add` of one part), named
    /// `options.import.file_name`.
    async fn add(&self, input: ByteStream, options: AddOptions) -> Result<Added, BackendError> {
        let part = AddPart::single(input, &options)?;
        self.add_parts(futures_util::stream::iter([Ok(part)]).boxed(), options)
            .await
    }

    /// Imports files, directories and symlinks as one tree (Kubo's `add` of many parts): one
    /// entry per file and directory, the root last. A part that cannot be placed (a
    /// duplicate path, a path under a file) is an `InvalidInput` error, never dropped.
    async fn add_parts(&self, parts: AddParts, options: AddOptions) -> Result<Added, BackendError>;

    /// Resolves `cid[/path]` to the node it names and describes it.
    async fn stat(&self, path: &ContentPath) -> Result<NodeStat, BackendError>;

    /// Streams `length` bytes of a file from `offset` (`length: None` reads to the end).
    async fn cat(
        &self,
        path: &ContentPath,
        offset: u64,
        length: Option<u64>,
    ) -> Result<ByteStream, BackendError>;

    async fn pin_add(&self, cid: &Cid, recursive: bool) -> Result<Vec<Cid>, BackendError>;
    async fn pin_rm(&self, cid: &Cid, recursive: bool) -> Result<Vec<Cid>, BackendError>;
    async fn pin_ls(&self, cid: Option<&Cid>, kind: PinFilter) -> Result<Vec<Pin>, BackendError>;

    async fn block_put(
        &self,
        data: Bytes,
        options: BlockPutOptions,
    ) -> Result<BlockStat, BackendError>;
    async fn block_get(&self, cid: &Cid) -> Result<Bytes, BackendError>;
    async fn block_stat(&self, cid: &Cid) -> Result<BlockStat, BackendError>;
    /// Removes a block the node holds (Kubo's `block rm`). A block that is pinned (directly,
    /// recursively, or inside a recursive pin's DAG) is a `Conflict`, never removed; one the
    /// node does not hold is `NotFound`.
    async fn block_rm(&self, cid: &Cid) -> Result<(), BackendError>;
    /// Whether the node holds `cid` itself, without asking the network (the gateway's
    /// `Cache-Control: only-if-cached`).
    async fn has_local(&self, cid: &Cid) -> bool {
        self.block_stat(cid).await.is_ok()
    }

    /// Stores a dag-json document under `store_codec`; returns its CID.
    async fn dag_put(&self, dag_json: Bytes, options: DagPutOptions) -> Result<Cid, BackendError>;
    /// The node at `path`, rendered as dag-json. By default walked over [`Self::block_get`]
    /// ([`ipld::walk_path`]), so the path semantics are the same on every backend.
    async fn dag_get(&self, path: &ContentPath) -> Result<serde_json::Value, BackendError> {
        ipld::dag_get(path, |cid| async move { self.block_get(&cid).await }).await
    }
    /// The last CID on `path` and the path left inside that node (walked like `dag_get`).
    async fn dag_resolve(&self, path: &ContentPath) -> Result<DagResolved, BackendError> {
        ipld::dag_resolve(path, |cid| async move { self.block_get(&cid).await }).await
    }

    async fn name_publish(
        &self,
        value: &str,
        options: NamePublishOptions,
    ) -> Result<NamePublished, BackendError>;
    /// Resolves an IPNS name to the path it points to (`/ipfs/...`).
    async fn name_resolve(&self, name: &str) -> Result<String, BackendError>;
    /// [`Self::name_resolve`] with the record's TTL when the backend can see it (Kubo's RPC
    /// API does not report it).
    async fn name_resolve_ttl(
        &self,
        name: &str,
    ) -> Result<(String, Option<std::time::Duration>), BackendError> {
        Ok((self.name_resolve(name).await?, None))
    }

    /// The signed record behind an IPNS name (`routing get /ipns/<name>`).
    async fn name_record(&self, name: &str) -> Result<Bytes, BackendError>;

    /// Stores a signed record for `name` (`routing put /ipns/<name>`), so a name this
    /// service did not publish resolves. The record is verified first
    /// ([`ipns_record::verify`]): a bad one is an `InvalidInput`, never stored.
    async fn name_put(&self, name: &str, record: Bytes) -> Result<(), BackendError>;

    async fn find_providers(&self, cid: &Cid, limit: usize) -> Result<Vec<PeerInfo>, BackendError>;
    async fn find_peer(&self, peer_id: &str) -> Result<PeerInfo, BackendError>;

    async fn id(&self) -> Result<NodeIdentity, BackendError>;

    /// Stores every block of a CAR this process wrote and verified (a spooled file, at its
    /// start), then pins `roots` recursively when `pin`. The default stores block by block;
    /// its reads are of a local temp file, short enough to do on the calling thread.
    async fn import_car(
        &self,
        car: std::fs::File,
        roots: &[Cid],
        pin: bool,
    ) -> Result<(), BackendError> {
        use crate::unixfs::car::{read_frame, skip_header};
        let mut car = std::io::BufReader::new(car);
        skip_header(&mut car)?;
        while let Some((cid, data)) = read_frame(&mut car)? {
            let options = BlockPutOptions {
                codec: cid.codec(),
                cid_v0: cid.version() == cid::Version::V0,
                pin: false,
            };
            let stored = self.block_put(data, options).await?;
            if stored.cid != cid {
                return Err(BackendError::Internal(format!(
                    "{cid} was stored as {}",
                    stored.cid
                )));
            }
        }
        if pin {
            for root in roots {
                self.pin_add(root, true).await?;
            }
        }
        Ok(())
    }
    /// Repository size and bandwidth counters.
    async fn stats(&self) -> Result<NodeStats, BackendError>;
    async fn version(&self) -> Result<NodeVersion, BackendError>;
}
