//! The embedded, offline IPFS node used by default and for local development.
//!
//! Not a fake: it imports content with the same UnixFS code path that yields Kubo's CIDs
//! ([`add`]: the pipeline from upload parts to stored blocks),
//! stores every block ([`blockstore`]), keeps pins ([`pins`]) and signed IPNS records
//! ([`ipns`]) in sled, and answers DAG queries by decoding the stored blocks (`backend::ipld`).
//! What it cannot know offline (other peers, the DHT) it reports as absent, never invented.
//!
//! Layout of the data dir: `blocks/` (pack segments and their index) and `meta.sled/` (pins,
//! keys, IPNS records).
//! With no data dir (`--isolation`), blocks live in memory and sled in a temporary file.

mod add;
pub mod blockstore;
pub mod ipns;
pub mod pins;
mod segment;

use crate::backend::*;
use crate::unixfs::reader::{self, BlockSource, ReadError};
use crate::unixfs::{DAG_PB, RAW};
use async_trait::async_trait;
pub use blockstore::SyncPolicy;
use blockstore::{BlockStore, MemoryStore, PackStore};
use bytes::Bytes;
use cid::Cid;
use futures_util::{StreamExt, TryStreamExt};
use libp2p_identity::Keypair;
use std::collections::HashSet;
use std::path::Path;
use std::sync::Arc;

/// Kubo refuses blocks over 1 MiB (`SoftBlockLimit`); so does the simulation.
pub const MAX_BLOCK_SIZE: u64 = 1024 * 1024;

/// The embedded node. Cheap to clone.
#[derive(Clone)]
pub struct SimulationBackend {
    inner: Arc<Inner>,
}

/// How the simulation stores data.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(default)]
pub struct StorageOptions {
    /// When writes are acknowledged (see [`SyncPolicy`]).
    pub sync: SyncPolicy,
    /// Period of the background `fdatasync` under [`SyncPolicy::Periodic`].
    pub sync_interval_ms: u64,
}

impl Default for StorageOptions {
    fn default() -> Self {
        Self {
            sync: SyncPolicy::Periodic,
            sync_interval_ms: 1000,
        }
    }
}

struct Inner {
    store: Arc<dyn BlockStore>,
    /// The same store, seen as its read counter.
    counted: Arc<blockstore::Counted>,
    policy: SyncPolicy,
    pins: pins::PinStore,
    ipns: ipns::Ipns,
    identity: Keypair,
}

/// Reads blocks for the UnixFS reader on the blocking pool.
struct StoreSource(Arc<dyn BlockStore>);

#[async_trait]
impl BlockSource for StoreSource {
    type Error = BackendError;
    async fn block(&self, cid: &Cid) -> Result<Bytes, BackendError> {
        let store = self.0.clone();
        let cid = *cid;
        blocking(move || get_block(&*store, &cid)).await
    }
}

fn get_block(store: &dyn BlockStore, cid: &Cid) -> Result<Bytes, BackendError> {
    if let Some(data) = resolve::identity_block(cid) {
        return Ok(data);
    }
    store
        .get(cid)?
        .ok_or_else(|| BackendError::NotFound(format!("block {cid} not found on this node")))
}

async fn blocking<T: Send + 'static>(
    f: impl FnOnce() -> Result<T, BackendError> + Send + 'static,
) -> Result<T, BackendError> {
    tokio::task::spawn_blocking(f)
        .await
        .map_err(|e| BackendError::Internal(format!("blocking task failed: {e}")))?
}

fn read_error(e: ReadError<BackendError>) -> BackendError {
    match e {
        ReadError::Source(e) => e,
        ReadError::NotAFile(m) => BackendError::InvalidInput(m),
        ReadError::Malformed(m) => BackendError::Storage(format!("malformed UnixFS node: {m}")),
    }
}

/// A message from the HTTP side to the importer thread.
impl SimulationBackend {
    /// Opens (or creates) the node under `data_dir`; `None` keeps everything in memory.
    pub fn open(data_dir: Option<&Path>) -> Result<Self, BackendError> {
        Self::open_with(data_dir, StorageOptions::default())
    }

    pub fn open_with(
        data_dir: Option<&Path>,
        storage: StorageOptions,
    ) -> Result<Self, BackendError> {
        let (store, db): (Arc<dyn BlockStore>, sled::Db) = match data_dir {
            Some(dir) => (
                Arc::new(PackStore::open(&dir.join("blocks"))?),
                sled::Config::new()
                    .path(dir.join("meta.sled"))
                    // Only small metadata lives here; sled's 1 GiB default cache is far too big.
                    .cache_capacity(8 * 1024 * 1024)
                    .open()?,
            ),
            None => (
                Arc::new(MemoryStore::default()),
                sled::Config::new()
                    .temporary(true)
                    .cache_capacity(8 * 1024 * 1024)
                    .open()?,
            ),
        };
        let ipns = ipns::Ipns::open(&db)?;
        let identity = ipns.key("self")?;
        if storage.sync == SyncPolicy::Periodic && data_dir.is_some() {
            spawn_syncer(
                &store,
                std::time::Duration::from_millis(storage.sync_interval_ms.max(10)),
            );
        }
        let counted = Arc::new(blockstore::Counted::new(store));
        Ok(Self {
            inner: Arc::new(Inner {
                policy: storage.sync,
                store: counted.clone(),
                counted,
                pins: pins::PinStore::open(&db)?,
                ipns,
                identity,
            }),
        })
    }

    /// Blocks read from the store since it opened (every cat, stat, dag walk, block get).
    pub fn blocks_read(&self) -> u64 {
        self.inner.counted.reads()
    }

    fn peer_id(&self) -> String {
        self.inner.identity.public().to_peer_id().to_string()
    }

    fn self_info(&self) -> PeerInfo {
        PeerInfo {
            id: self.peer_id(),
            addrs: Vec::new(),
        }
    }

    async fn run<T: Send + 'static>(
        &self,
        f: impl FnOnce(&Inner) -> Result<T, BackendError> + Send + 'static,
    ) -> Result<T, BackendError> {
        let inner = self.inner.clone();
        blocking(move || f(&inner)).await
    }

    /// Follows the path from its root ([`resolve::walk`]: directories, HAMT shards,
    /// dag-cbor/dag-json links) to the node it names, with that node's block.
    async fn resolve_path(&self, path: &ContentPath) -> Result<resolve::Walked, BackendError> {
        let source = StoreSource(self.inner.store.clone());
        resolve::walk(path, |cid| {
            let source = &source;
            async move { source.block(&cid).await }
        })
        .await
    }
}

impl Inner {
    /// Every block reachable from `root` (including it), erroring on the first missing one.
    fn walk_dag(&self, root: &Cid, mut visit: impl FnMut(&Cid)) -> Result<(), BackendError> {
        let mut seen = HashSet::new();
        let mut stack = vec![*root];
        while let Some(cid) = stack.pop() {
            if !seen.insert(cid) {
                continue;
            }
            visit(&cid);
            if cid.codec() == RAW {
                if !self.store.has(&cid)? {
                    return Err(missing(&cid));
                }
                continue;
            }
            let block = self.store.get(&cid)?.ok_or_else(|| missing(&cid))?;
            stack.extend(ipld::links(&cid, &block)?);
        }
        Ok(())
    }

    fn indirect_pins(&self) -> Result<HashSet<Cid>, BackendError> {
        let mut out = HashSet::new();
        for pin in self.pins.list()? {
            if pin.kind == PinKind::Recursive {
                self.walk_dag(&pin.cid, |c| {
                    if *c != pin.cid {
                        out.insert(*c);
                    }
                })?;
            }
        }
        Ok(out)
    }

    fn put_and_commit(&self, cid: &Cid, data: &[u8]) -> Result<(), BackendError> {
        self.store.put(cid, data)?;
        commit(&*self.store, self.policy)
    }
}

/// Background `fdatasync` for [`SyncPolicy::Periodic`]: each round syncs what was acknowledged
/// since the last one. Ends when the store is dropped.
fn spawn_syncer(store: &Arc<dyn BlockStore>, every: std::time::Duration) {
    let weak = Arc::downgrade(store);
    std::thread::Builder::new()
        .name("block-syncer".into())
        .spawn(move || {
            loop {
                std::thread::sleep(every);
                let Some(store) = weak.upgrade() else { return };
                if let Err(e) = store.sync_acknowledged() {
                    tracing::error!(error = %e, "periodic block sync failed");
                }
            }
        })
        .expect("spawning a thread");
}

/// Makes completed writes as durable as the policy promises, before acknowledging them.
fn commit(store: &dyn BlockStore, policy: SyncPolicy) -> Result<(), BackendError> {
    match policy {
        SyncPolicy::Always => store.sync()?,
        SyncPolicy::Periodic => store.flush()?,
    }
    Ok(())
}

fn missing(cid: &Cid) -> BackendError {
    BackendError::NotFound(format!(
        "block {cid} not found on this node (the simulation node cannot fetch from the network)"
    ))
}

#[async_trait]
impl Backend for SimulationBackend {
    fn kind(&self) -> BackendKind {
        BackendKind::Simulation
    }

    async fn health(&self) -> BackendHealth {
        BackendHealth {
            state: BackendState::Up,
            detail: "embedded simulation node (offline)".into(),
            breaker: None,
        }
    }

    async fn add_parts(
        &self,
        mut parts: AddParts,
        options: AddOptions,
    ) -> Result<Added, BackendError> {
        let only_hash = options.only_hash;
        let summary = add::import(
            self.inner.store.clone(),
            self.inner.policy,
            &mut parts,
            &options,
        )
        .await?;
        let pinned = options.pin && !only_hash;
        if pinned {
            let roots = summary.roots.clone();
            self.run(move |inner| {
                roots
                    .iter()
                    .try_for_each(|root| inner.pins.set(root, PinKind::Recursive))
            })
            .await?;
        }
        Ok(add::added_from(summary, pinned))
    }

    async fn stat(&self, path: &ContentPath) -> Result<NodeStat, BackendError> {
        let walked = self.resolve_path(path).await?;
        let (cid, block) = (walked.cid, walked.block);
        let kind = match reader::describe(&cid, &block) {
            _ if !walked.remainder.is_empty() => NodeKind::Other,
            reader::NodeKind::File { size } => NodeKind::File { size },
            reader::NodeKind::Directory => NodeKind::Directory,
            reader::NodeKind::Other => NodeKind::Other,
        };
        Ok(NodeStat { cid, kind })
    }

    async fn cat(
        &self,
        path: &ContentPath,
        offset: u64,
        length: Option<u64>,
    ) -> Result<ByteStream, BackendError> {
        let stat = self.stat(path).await?;
        match stat.kind {
            NodeKind::File { .. } => {}
            NodeKind::Directory => {
                return Err(BackendError::InvalidInput(format!(
                    "{} is a directory, not a file",
                    stat.cid
                )));
            }
            NodeKind::Other => {
                return Err(BackendError::InvalidInput(format!(
                    "{} is not a UnixFS file",
                    stat.cid
                )));
            }
        }
        let end = length.map_or(u64::MAX, |l| offset.saturating_add(l));
        let source = Arc::new(StoreSource(self.inner.store.clone()));
        Ok(reader::read_range(source, stat.cid, offset..end)
            .map_err(read_error)
            .boxed())
    }

    async fn pin_add(&self, cid: &Cid, recursive: bool) -> Result<Vec<Cid>, BackendError> {
        let cid = *cid;
        self.run(move |inner| {
            let existing = inner.pins.get(&cid)?;
            if recursive {
                inner.walk_dag(&cid, |_| {})?;
                if existing != Some(PinKind::Recursive) {
                    inner.pins.set(&cid, PinKind::Recursive)?;
                }
            } else {
                if !inner.store.has(&cid)? {
                    return Err(missing(&cid));
                }
                match existing {
                    Some(PinKind::Recursive) => {
                        return Err(BackendError::Conflict(format!(
                            "{cid} is already pinned recursively"
                        )));
                    }
                    Some(_) => {}
                    None => inner.pins.set(&cid, PinKind::Direct)?,
                }
            }
            Ok(vec![cid])
        })
        .await
    }

    async fn pin_rm(&self, cid: &Cid, recursive: bool) -> Result<Vec<Cid>, BackendError> {
        let cid = *cid;
        self.run(move |inner| match inner.pins.get(&cid)? {
            None => Err(BackendError::NotFound(format!(
                "{cid} is not pinned or pinned indirectly"
            ))),
            Some(PinKind::Recursive) if !recursive => Err(BackendError::Conflict(format!(
                "{cid} is pinned recursively"
            ))),
            Some(_) => {
                inner.pins.remove(&cid)?;
                Ok(vec![cid])
            }
        })
        .await
    }

    async fn pin_ls(&self, cid: Option<&Cid>, kind: PinFilter) -> Result<Vec<Pin>, BackendError> {
        let cid = cid.copied();
        self.run(move |inner| {
            let wants = |k: PinKind| kind == PinFilter::All || kind == PinFilter::Only(k);
            if let Some(cid) = cid {
                let found = match inner.pins.get(&cid)? {
                    Some(k) if wants(k) => Some(k),
                    _ if wants(PinKind::Indirect) && inner.indirect_pins()?.contains(&cid) => {
                        Some(PinKind::Indirect)
                    }
                    _ => None,
                };
                return found
                    .map(|kind| vec![Pin { cid, kind }])
                    .ok_or_else(|| BackendError::NotFound(format!("{cid} is not pinned")));
            }
            let mut out: Vec<Pin> = inner
                .pins
                .list()?
                .into_iter()
                .filter(|p| wants(p.kind))
                .collect();
            if wants(PinKind::Indirect) {
                let direct: HashSet<Cid> = out.iter().map(|p| p.cid).collect();
                out.extend(
                    inner
                        .indirect_pins()?
                        .into_iter()
                        .filter(|c| !direct.contains(c))
                        .map(|cid| Pin {
                            cid,
                            kind: PinKind::Indirect,
                        }),
                );
            }
            Ok(out)
        })
        .await
    }

    async fn block_put(
        &self,
        data: Bytes,
        options: BlockPutOptions,
    ) -> Result<BlockStat, BackendError> {
        if data.len() as u64 > MAX_BLOCK_SIZE {
            return Err(BackendError::TooLarge {
                limit: MAX_BLOCK_SIZE,
            });
        }
        if options.cid_v0 && options.codec != DAG_PB {
            return Err(BackendError::InvalidInput(
                "CIDv0 is only possible for dag-pb blocks".into(),
            ));
        }
        let version = if options.cid_v0 {
            cid::Version::V0
        } else {
            cid::Version::V1
        };
        let cid = crate::unixfs::cid_of(version, options.codec, &data);
        // Refuse a block that does not decode as the codec it claims.
        ipld::links(&cid, &data)?;
        self.run(move |inner| {
            inner.put_and_commit(&cid, &data)?;
            if options.pin {
                inner.pins.set(&cid, PinKind::Recursive)?;
            }
            Ok(BlockStat {
                cid,
                size: data.len() as u64,
            })
        })
        .await
    }

    async fn block_get(&self, cid: &Cid) -> Result<Bytes, BackendError> {
        StoreSource(self.inner.store.clone()).block(cid).await
    }

    async fn block_rm(&self, cid: &Cid) -> Result<(), BackendError> {
        let cid = *cid;
        self.run(move |inner| {
            let pinned = match inner.pins.get(&cid)? {
                Some(kind) => Some(kind),
                None if inner.indirect_pins()?.contains(&cid) => Some(PinKind::Indirect),
                None => None,
            };
            if let Some(kind) = pinned {
                return Err(BackendError::Conflict(format!(
                    "{cid} is pinned ({}): unpin it before removing the block",
                    kind.as_str()
                )));
            }
            if !inner.store.remove(&cid)? {
                return Err(missing(&cid));
            }
            inner.store.flush()?;
            Ok(())
        })
        .await
    }

    async fn block_stat(&self, cid: &Cid) -> Result<BlockStat, BackendError> {
        let cid = *cid;
        self.run(move |inner| {
            let size = inner.store.size(&cid)?.ok_or_else(|| missing(&cid))?;
            Ok(BlockStat { cid, size })
        })
        .await
    }

    async fn dag_put(&self, dag_json: Bytes, options: DagPutOptions) -> Result<Cid, BackendError> {
        let node = ipld::parse_dag_json(&dag_json)?;
        let block = ipld::encode(&node, options.store_codec)?;
        let cid = crate::unixfs::cid_of(cid::Version::V1, options.store_codec, &block);
        self.run(move |inner| {
            inner.put_and_commit(&cid, &block)?;
            if options.pin {
                inner.pins.set(&cid, PinKind::Recursive)?;
            }
            Ok(cid)
        })
        .await
    }

    async fn name_publish(
        &self,
        value: &str,
        options: NamePublishOptions,
    ) -> Result<NamePublished, BackendError> {
        let value = if value.starts_with("/ipns/") {
            value.to_string()
        } else {
            let path: ContentPath = value.parse()?;
            if !self.inner.store.has(&path.root)? {
                return Err(missing(&path.root));
            }
            path.to_string()
        };
        self.run(move |inner| {
            inner
                .ipns
                .publish(&options.key, &value, options.lifetime, options.ttl)
        })
        .await
    }

    async fn name_resolve(&self, name: &str) -> Result<String, BackendError> {
        let name = name.to_string();
        self.run(move |inner| inner.ipns.resolve(&name)).await
    }

    async fn name_resolve_ttl(
        &self,
        name: &str,
    ) -> Result<(String, Option<std::time::Duration>), BackendError> {
        let name = name.to_string();
        self.run(move |inner| inner.ipns.resolve_with_ttl(&name))
            .await
    }

    async fn name_record(&self, name: &str) -> Result<Bytes, BackendError> {
        let name = name.to_string();
        self.run(move |inner| Ok(Bytes::from(inner.ipns.record(&name)?)))
            .await
    }

    async fn name_put(&self, name: &str, record: Bytes) -> Result<(), BackendError> {
        let name = name.to_string();
        self.run(move |inner| inner.ipns.put(&name, &record)).await
    }

    async fn find_providers(&self, cid: &Cid, limit: usize) -> Result<Vec<PeerInfo>, BackendError> {
        let cid = *cid;
        let held = self.run(move |inner| Ok(inner.store.has(&cid)?)).await?;
        Ok(if held && limit > 0 {
            vec![self.self_info()]
        } else {
            Vec::new()
        })
    }

    async fn find_peer(&self, peer_id: &str) -> Result<PeerInfo, BackendError> {
        let peer: libp2p_identity::PeerId = peer_id
            .parse()
            .map_err(|e| BackendError::InvalidInput(format!("invalid peer ID {peer_id:?}: {e}")))?;
        if peer.to_string() == self.peer_id() {
            Ok(self.self_info())
        } else {
            Err(BackendError::NotFound(format!(
                "peer {peer} not found: the simulation node knows only itself"
            )))
        }
    }

    async fn id(&self) -> Result<NodeIdentity, BackendError> {
        use base64::Engine;
        let public = self.inner.identity.public().encode_protobuf();
        Ok(NodeIdentity {
            id: self.peer_id(),
            public_key: base64::engine::general_purpose::STANDARD.encode(public),
            addresses: Vec::new(),
            agent_version: format!("ipfs-mcp/{}/simulation", env!("CARGO_PKG_VERSION")),
            protocol_version: "ipfs/0.1.0".into(),
        })
    }

    async fn stats(&self) -> Result<NodeStats, BackendError> {
        let (num_objects, repo_size) = self.run(|inner| Ok(inner.store.usage()?)).await?;
        Ok(NodeStats {
            repo: RepoStats {
                num_objects,
                repo_size,
                storage_max: None,
            },
            bandwidth: None,
        })
    }

    async fn version(&self) -> Result<NodeVersion, BackendError> {
        Ok(NodeVersion {
            version: env!("CARGO_PKG_VERSION").into(),
            commit: String::new(),
            repo: "simulation-1".into(),
            system: format!("{}/{}", std::env::consts::ARCH, std::env::consts::OS),
        })
    }
}
