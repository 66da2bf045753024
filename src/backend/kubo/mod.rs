//! A real IPFS node behind the [`Backend`] trait, over Kubo's RPC API (`POST /api/v0/...`).
//!
//! Content streams both ways: `add` uploads the caller's stream as a multipart body while it
//! arrives, and `cat` hands the node's chunks on as they come (with `offset`/`length`, so a
//! range read fetches only what it needs). Answers and errors are parsed in [`wire`], the
//! transport (timeouts, retries, concurrency limit, stream trailers, auth) lives in [`client`].
//!
//! Where js-ipfs (the node the tests run) differs from Kubo, both are handled: the dialect is
//! read from the node's `AgentVersion` once; `block/put` then uses js-ipfs's `format`/`version`
//! instead of Kubo's `cid-codec`, and `routing/*` falls back to `dht/*` when the node does
//! not know it. `dag get`/`dag resolve` use the trait's default walk over the node's blocks
//! ([`crate::backend::ipld`]), because js-ipfs's own `dag/get` fails on dag-pb nodes.
//! Every CID the node returns for `block put` is checked against the one computed here.
//!
//! Why not `ipfs-api-backend-hyper`: version 0.5.0 (the one that builds) hard-codes its HTTP
//! client (`HyperBackend::build_with_base_uri`: no connect or read timeouts, and
//! `pool_max_idle_per_host(0)`, so a new TCP connection per call), offers no way to add an
//! `Authorization` header (`build_base_request` is fixed, fields private), ignores the
//! `X-Stream-Error` trailer on byte streams (`response_to_byte_stream` maps the body only),
//! parses `add` as one JSON object (wrapping prints several lines), has no `routing/*`
//! commands, and its response types reject js-ipfs's string numbers (`StatsBwResponse` wants
//! `u64`, the node sends `"TotalIn":"0"`, see `fixtures/kubo-rpc/`). So the transport is
//! `reqwest`, already a dependency of this project.

pub mod client;
pub mod options;
mod upload;
pub mod wire;

use super::*;
use crate::unixfs::{DAG_PB, cid_of};
use async_trait::async_trait;
use bytes::Bytes;
use cid::Cid;
use client::{Answer, CallError, Retry, RpcClient};
use futures_util::StreamExt;
use options::KuboOptions;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use tokio::sync::OnceCell;

/// Which implementation of the RPC API is on the other side.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Dialect {
    Kubo,
    JsIpfs,
}

pub struct KuboBackend {
    rpc: RpcClient,
    dialect: OnceCell<Dialect>,
    /// Set once the node answered 404 to `routing/*` (js-ipfs, Kubo before 0.16).
    dht_only: AtomicBool,
    /// Bytes uploaded by `add` (for `ipfs/stats`).
    uploaded: AtomicU64,
}

impl KuboBackend {
    /// Builds the client; does not contact the node (see [`Backend::health`]).
    pub fn new(options: KuboOptions) -> Result<Self, BackendError> {
        Ok(Self {
            rpc: RpcClient::new(options)?,
            dialect: OnceCell::new(),
            dht_only: AtomicBool::new(false),
            uploaded: AtomicU64::new(0),
        })
    }

    pub fn url(&self) -> &str {
        self.rpc.url()
    }

    async fn dialect(&self) -> Result<Dialect, BackendError> {
        self.dialect
            .get_or_try_init(|| async {
                let id = self.id().await?;
                Ok(if id.agent_version.starts_with("js-ipfs") {
                    Dialect::JsIpfs
                } else {
                    Dialect::Kubo
                })
            })
            .await
            .copied()
    }

    async fn json<T: for<'de> serde::Deserialize<'de>>(
        &self,
        command: &str,
        query: &[(&str, String)],
        retry: Retry,
    ) -> Result<T, BackendError> {
        Ok(self.rpc.json(command, query, retry).await?)
    }

    /// A routing query, on `routing/*` or (older nodes) `dht/*`; all its events.
    async fn routing(
        &self,
        command: &str,
        query: &[(&str, String)],
    ) -> Result<Vec<wire::RoutingEvent>, BackendError> {
        if !self.dht_only.load(Ordering::Relaxed) {
            let path = format!("routing/{command}");
            match self.rpc.call_whole(&path, query, Retry::Idempotent).await {
                Ok(body) => return wire::parse_lines(&path, &body),
                Err(CallError::NoSuchCommand(_)) => {
                    tracing::info!(command, "the node has no routing/*; using dht/*");
                    self.dht_only.store(true, Ordering::Relaxed);
                }
                Err(e) => return Err(e.into()),
            }
        }
        let path = format!("dht/{command}");
        let body = self.rpc.call_whole(&path, query, Retry::Idempotent).await?;
        wire::parse_lines(&path, &body)
    }

    /// A one-file multipart form streaming `input`; counts its bytes, keeps the caller's own
    /// input error (so a 413 stays a 413), and signals when the upload ended.
    fn form_of(
        &self,
        input: ByteStream,
        file_name: String,
    ) -> ((reqwest::Body, String), UploadWatch) {
        let watch = UploadWatch::default();
        let done = watch.done.clone();
        let body = watch
            .counted(input)
            .chain(futures_util::stream::once(async move {
                done.notify_one();
                Ok(Bytes::new())
            }));
        let part = reqwest::multipart::Part::stream(reqwest::Body::wrap_stream(body))
            .file_name(file_name)
            .mime_str("application/octet-stream")
            .expect("a valid mime type");
        let form = reqwest::multipart::Form::new().part("file", part);
        let content_type = format!("multipart/form-data; boundary={}", form.boundary());
        let body = reqwest::Body::wrap_stream(form.into_stream());
        ((body, content_type), watch)
    }

    /// Uploads one block-sized body (`block/put`, `dag/put`).
    async fn upload_small(
        &self,
        command: &str,
        query: &[(&str, String)],
        data: Bytes,
    ) -> Result<Bytes, BackendError> {
        let input = futures_util::stream::once(async move { Ok(data) }).boxed();
        let (form, watch) = self.form_of(input, "data".into());
        let answer = self
            .rpc
            .upload(command, query, form, watch.done.clone())
            .await;
        Ok(watch.prefer_input_error(answer)?.whole().await?)
    }
}

/// What an upload's body stream reports back.
#[derive(Default, Clone)]
struct UploadWatch {
    bytes: Arc<AtomicU64>,
    input_error: Arc<parking_lot::Mutex<Option<BackendError>>>,
    done: Arc<tokio::sync::Notify>,
}

impl UploadWatch {
    /// `data`, its bytes counted and its first error kept for the caller (the node sees a
    /// broken upload).
    fn counted(
        &self,
        data: ByteStream,
    ) -> futures_util::stream::BoxStream<'static, Result<Bytes, std::io::Error>> {
        let (counted, failure) = (self.bytes.clone(), self.input_error.clone());
        data.map(move |item| match item {
            Ok(bytes) => {
                counted.fetch_add(bytes.len() as u64, Ordering::Relaxed);
                Ok(bytes)
            }
            Err(e) => {
                let message = e.to_string();
                *failure.lock() = Some(e);
                Err(std::io::Error::other(message))
            }
        })
        .boxed()
    }

    /// When the caller's stream failed, that is the error, not the broken upload it caused.
    fn prefer_input_error(&self, answer: Result<Answer, CallError>) -> Result<Answer, CallError> {
        match (answer, self.input_error.lock().take()) {
            (_, Some(input)) => Err(input.into()),
            (answer, None) => answer,
        }
    }
}

fn arg(value: impl ToString) -> (&'static str, String) {
    ("arg", value.to_string())
}

fn flag(name: &'static str, on: bool) -> (&'static str, String) {
    (name, on.to_string())
}

#[async_trait]
impl Backend for KuboBackend {
    fn kind(&self) -> BackendKind {
        BackendKind::Kubo
    }

    /// One quick `version` call, never retried.
    async fn health(&self) -> BackendHealth {
        let probe = tokio::time::timeout(
            std::time::Duration::from_secs(2),
            self.rpc.call_whole("version", &[], Retry::Never),
        )
        .await;
        let (state, detail) = match probe {
            Ok(Ok(body)) => match wire::parse::<wire::Version>("version", &body) {
                Ok(v) => (
                    BackendState::Up,
                    format!(
                        "node {} at {}, {} requests in flight",
                        v.version,
                        self.url(),
                        self.rpc.in_flight().saturating_sub(1)
                    ),
                ),
                Err(e) => (BackendState::Down, e.to_string()),
            },
            Ok(Err(e)) => (BackendState::Down, BackendError::from(e).to_string()),
            Err(_) => (
                BackendState::Down,
                format!("the node at {} did not answer within 2s", self.url()),
            ),
        };
        // a node that is down still leaves the cache serving: degraded, not dead
        let state = match state {
            BackendState::Down => BackendState::Degraded,
            s => s,
        };
        BackendHealth {
            state,
            detail: if state == BackendState::Up {
                detail
            } else {
                format!("{detail}; cached content is still served")
            },
            breaker: None,
        }
    }

    /// Kubo's multipart `add`: every part goes to the node as it arrives (directories as
    /// `application/x-directory`, symlinks as `application/symlink`, paths percent-encoded),
    /// and the node's lines become the entries.
    async fn add_parts(&self, parts: AddParts, options: AddOptions) -> Result<Added, BackendError> {
        let import = &options.import;
        let query = [
            ("cid-version", (import.cid_version as u64).to_string()),
            flag("raw-leaves", import.raw_leaves),
            ("chunker", format!("size-{}", import.chunk_size)),
            flag("wrap-with-directory", import.wrap_with_directory),
            flag("only-hash", options.only_hash),
            flag("pin", options.pin && !options.only_hash),
            ("hash", "sha2-256".into()),
            flag("trickle", false),
            flag("progress", false),
        ];
        let watch = UploadWatch::default();
        let unnamed = Arc::new(std::sync::atomic::AtomicBool::new(false));
        let directories = match self.dialect().await? {
            Dialect::Kubo => upload::Directories::Declared,
            Dialect::JsIpfs => upload::Directories::AfterAFile,
        };
        let upload = upload::multipart(parts, watch.clone(), unnamed.clone(), directories);
        let answer = self
            .rpc
            .upload("add", &query, upload, watch.done.clone())
            .await;
        let body = watch.prefer_input_error(answer)?.whole().await?;
        let content_size = watch.bytes.load(Ordering::Relaxed);
        self.uploaded.fetch_add(content_size, Ordering::Relaxed);
        let unnamed = unnamed.load(Ordering::Relaxed);
        if unnamed && import.wrap_with_directory {
            return Err(BackendError::InvalidInput(
                "wrap-with-directory needs a file name (the multipart file name or `filename`)"
                    .into(),
            ));
        }
        let lines: Vec<wire::AddLine> = wire::parse_lines("add", &body)?;
        let mut entries = Vec::new();
        for line in lines {
            let Some(hash) = line.hash else { continue }; // progress report
            let cid = wire::cid("add", &hash)?;
            // without a file name the node prints ours; Kubo's CLI prints the CID
            let name = if unnamed { cid.to_string() } else { line.name };
            entries.push((name, cid, line.size));
        }
        let (root_name, root, dag_size) = entries
            .last()
            .cloned()
            .ok_or_else(|| BackendError::BadGateway("add returned no entries".into()))?;
        let roots = if import.wrap_with_directory {
            vec![root]
        } else {
            entries
                .iter()
                .filter(|(name, ..)| !name.contains('/'))
                .map(|(_, cid, _)| *cid)
                .collect()
        };
        let entries = entries
            .into_iter()
            .map(|(name, cid, size)| AddedEntry {
                name,
                hash: cid.to_string(),
                size: size.to_string(),
            })
            .collect::<Vec<_>>();
        Ok(Added {
            root,
            name: root_name,
            dag_size,
            content_size,
            entries,
            roots,
            pinned: options.pin && !options.only_hash,
        })
    }

    async fn stat(&self, path: &ContentPath) -> Result<NodeStat, BackendError> {
        let stat: wire::FilesStat = self
            .json("files/stat", &[arg(path)], Retry::Idempotent)
            .await?;
        let cid = wire::cid("files/stat", &stat.hash)?;
        let kind = match stat.kind.as_str() {
            "file" => NodeKind::File { size: stat.size },
            "directory" => NodeKind::Directory,
            _ => NodeKind::Other,
        };
        Ok(NodeStat { cid, kind })
    }

    async fn cat(
        &self,
        path: &ContentPath,
        offset: u64,
        length: Option<u64>,
    ) -> Result<ByteStream, BackendError> {
        let mut query = vec![arg(path), ("offset", offset.to_string())];
        if let Some(length) = length {
            if length == 0 {
                return Ok(futures_util::stream::empty().boxed());
            }
            query.push(("length", length.to_string()));
        }
        Ok(self
            .rpc
            .call("cat", &query, Retry::Idempotent)
            .await?
            .stream())
    }

    async fn pin_add(&self, cid: &Cid, recursive: bool) -> Result<Vec<Cid>, BackendError> {
        let query = [arg(cid), flag("recursive", recursive)];
        let pins: wire::Pins = self.json("pin/add", &query, Retry::Never).await?;
        pins.pins.iter().map(|c| wire::cid("pin/add", c)).collect()
    }

    async fn pin_rm(&self, cid: &Cid, recursive: bool) -> Result<Vec<Cid>, BackendError> {
        let query = [arg(cid), flag("recursive", recursive)];
        let pins: wire::Pins = self.json("pin/rm", &query, Retry::Never).await?;
        pins.pins.iter().map(|c| wire::cid("pin/rm", c)).collect()
    }

    async fn pin_ls(&self, cid: Option<&Cid>, kind: PinFilter) -> Result<Vec<Pin>, BackendError> {
        let mut query = vec![(
            "type",
            match kind {
                PinFilter::All => "all",
                PinFilter::Only(k) => k.as_str(),
            }
            .to_string(),
        )];
        if let Some(cid) = cid {
            query.push(arg(cid));
        }
        let ls: wire::PinLs = self.json("pin/ls", &query, Retry::Idempotent).await?;
        ls.keys
            .iter()
            .map(|(c, entry)| {
                Ok(Pin {
                    cid: wire::cid("pin/ls", c)?,
                    kind: wire::pin_kind(&entry.kind)?,
                })
            })
            .collect()
    }

    async fn block_put(
        &self,
        data: Bytes,
        options: BlockPutOptions,
    ) -> Result<BlockStat, BackendError> {
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
        let expected = cid_of(version, options.codec, &data);
        // a block that does not decode in its codec is refused here, as the simulation does
        // (js-ipfs would store it)
        ipld::links(&expected, &data)?;
        let mut query = vec![("mhtype", "sha2-256".to_string()), flag("pin", options.pin)];
        match (self.dialect().await?, options.cid_v0) {
            (Dialect::Kubo, true) => query.push(("format", "v0".into())),
            (Dialect::Kubo, false) => query.push(("cid-codec", codec_name(options.codec).into())),
            (Dialect::JsIpfs, v0) => {
                query.push(("format", codec_name(options.codec).into()));
                query.push(("version", if v0 { "0" } else { "1" }.into()));
            }
        }
        let size = data.len() as u64;
        let body = self.upload_small("block/put", &query, data).await?;
        let stat: wire::BlockStat = wire::parse("block/put", &body)?;
        let cid = wire::cid("block/put", &stat.key)?;
        if cid != expected {
            return Err(BackendError::BadGateway(format!(
                "the node stored the block as {cid}, expected {expected}"
            )));
        }
        Ok(BlockStat { cid, size })
    }

    async fn block_get(&self, cid: &Cid) -> Result<Bytes, BackendError> {
        let body = self
            .rpc
            .call_whole("block/get", &[arg(cid)], Retry::Idempotent)
            .await?;
        // the node's bytes must be the block the CID names
        if cid_of(cid.version(), cid.codec(), &body).hash() != cid.hash() {
            return Err(BackendError::BadGateway(format!(
                "the node returned bytes that do not hash to {cid}"
            )));
        }
        Ok(body)
    }

    async fn block_stat(&self, cid: &Cid) -> Result<BlockStat, BackendError> {
        let stat: wire::BlockStat = self
            .json("block/stat", &[arg(cid)], Retry::Idempotent)
            .await?;
        Ok(BlockStat {
            cid: *cid,
            size: stat.size,
        })
    }

    /// `block/rm`: one line per block, its failure in `Error` (the answer itself is a 200).
    async fn block_rm(&self, cid: &Cid) -> Result<(), BackendError> {
        let body = self
            .rpc
            .call_whole("block/rm", &[arg(cid)], Retry::Never)
            .await?;
        let lines: Vec<wire::BlockRm> = wire::parse_lines("block/rm", &body)?;
        match lines
            .into_iter()
            .find_map(|l| l.error.filter(|e| !e.is_empty()))
        {
            None => Ok(()),
            Some(e) if e.to_ascii_lowercase().contains("pinned") => Err(BackendError::Conflict(e)),
            Some(e) => Err(wire::map_error(
                "block/rm",
                500,
                &serde_json::to_vec(&serde_json::json!({ "Message": e })).unwrap_or_default(),
            )),
        }
    }

    /// `block/stat` with the node's global `offline` and `timeout` options: Kubo answers from
    /// its own blockstore; js-ipfs (no `offline` per request) gives up after the timeout
    /// instead of waiting for the network.
    async fn has_local(&self, cid: &Cid) -> bool {
        let query = [arg(cid), flag("offline", true), ("timeout", "1s".into())];
        self.json::<wire::BlockStat>("block/stat", &query, Retry::Never)
            .await
            .is_ok()
    }

    async fn dag_put(&self, dag_json: Bytes, options: DagPutOptions) -> Result<Cid, BackendError> {
        // refuse bad input here, with our message, rather than relaying the node's
        ipld::parse_dag_json(&dag_json)?;
        let query = [
            ("store-codec", codec_name(options.store_codec).to_string()),
            ("input-codec", "dag-json".into()),
            flag("pin", options.pin),
        ];
        let body = self.upload_small("dag/put", &query, dag_json).await?;
        let put: wire::DagPut = wire::parse("dag/put", &body)?;
        wire::cid("dag/put", &put.cid.cid)
    }

    async fn name_publish(
        &self,
        value: &str,
        options: NamePublishOptions,
    ) -> Result<NamePublished, BackendError> {
        let value = if value.starts_with("/ipns/") {
            value.to_string()
        } else {
            value.parse::<ContentPath>()?.to_string()
        };
        let query = [
            arg(&value),
            ("key", options.key.clone()),
            (
                "lifetime",
                format!("{}s", options.lifetime.as_secs().max(1)),
            ),
            ("ttl", format!("{}s", options.ttl.as_secs().max(1))),
            flag("allow-offline", true),
        ];
        let p: wire::NamePublish = self.json("name/publish", &query, Retry::Never).await?;
        Ok(NamePublished {
            name: p.name,
            value: p.value,
        })
    }

    async fn name_resolve(&self, name: &str) -> Result<String, BackendError> {
        let query = [arg(name), flag("recursive", true)];
        let r: wire::NameResolve = self.json("name/resolve", &query, Retry::Idempotent).await?;
        Ok(r.path)
    }

    /// `routing get /ipns/<name>`: the value event's bytes, verified before they are believed.
    async fn name_record(&self, name: &str) -> Result<Bytes, BackendError> {
        use base64::Engine;
        let peer = ipns_record::parse_name(name)?;
        let key = format!("/ipns/{}", ipns_record::ipns_name(&peer));
        for event in self.routing("get", &[arg(&key)]).await? {
            if event.kind != wire::VALUE {
                continue;
            }
            let Some(extra) = event.extra else { continue };
            let record = base64::engine::general_purpose::STANDARD
                .decode(extra.trim())
                .map_err(|e| BackendError::BadGateway(format!("routing get: {e}")))?;
            ipns_record::verify(&peer, &record, true)
                .map_err(|e| BackendError::BadGateway(format!("the node's record: {e}")))?;
            return Ok(Bytes::from(record));
        }
        Err(BackendError::NotFound(format!("no IPNS record for {key}")))
    }

    /// Verified here, then `routing put /ipns/<name>` (the record as the multipart file).
    async fn name_put(&self, name: &str, record: Bytes) -> Result<(), BackendError> {
        let peer = ipns_record::parse_name(name)?;
        ipns_record::verify(&peer, &record, true)?;
        let key = format!("/ipns/{}", ipns_record::ipns_name(&peer));
        let query = [arg(&key), flag("allow-offline", true)];
        let command = if self.dht_only.load(Ordering::Relaxed) {
            "dht/put"
        } else {
            "routing/put"
        };
        self.upload_small(command, &query, record).await?;
        Ok(())
    }

    async fn find_providers(&self, cid: &Cid, limit: usize) -> Result<Vec<PeerInfo>, BackendError> {
        if limit == 0 {
            return Ok(Vec::new());
        }
        let query = [arg(cid), ("num-providers", limit.to_string())];
        let mut out: Vec<PeerInfo> = Vec::new();
        for event in self.routing("findprovs", &query).await? {
            if event.kind != wire::PROVIDER {
                continue;
            }
            for peer in event.responses.unwrap_or_default() {
                if out.len() < limit && !out.iter().any(|p| p.id == peer.id) {
                    out.push(peer.into());
                }
            }
        }
        Ok(out)
    }

    async fn find_peer(&self, peer_id: &str) -> Result<PeerInfo, BackendError> {
        let peer: libp2p_identity::PeerId = peer_id
            .parse()
            .map_err(|e| BackendError::InvalidInput(format!("invalid peer ID {peer_id:?}: {e}")))?;
        let me = self.id().await?;
        if me.id == peer.to_string() {
            // nodes answer a query for themselves differently (or not at all); we know it
            return Ok(PeerInfo {
                id: me.id,
                addrs: me.addresses,
            });
        }
        let events = self.routing("findpeer", &[arg(peer)]).await?;
        events
            .into_iter()
            .filter(|e| e.kind == wire::FINAL_PEER)
            .flat_map(|e| e.responses.unwrap_or_default())
            .find(|p| p.id == peer.to_string())
            .map(PeerInfo::from)
            .ok_or_else(|| BackendError::NotFound(format!("peer {peer} not found")))
    }

    async fn id(&self) -> Result<NodeIdentity, BackendError> {
        let id: wire::Id = self.json("id", &[], Retry::Idempotent).await?;
        Ok(NodeIdentity {
            id: id.id,
            public_key: id.public_key,
            addresses: id.addresses.unwrap_or_default(),
            agent_version: id.agent_version,
            protocol_version: id.protocol_version,
        })
    }

    /// The verified CAR goes to the node whole, through its own `dag/import` (one request
    /// instead of one `block/put` per block).
    async fn import_car(
        &self,
        car: std::fs::File,
        roots: &[Cid],
        pin: bool,
    ) -> Result<(), BackendError> {
        let file = tokio::fs::File::from_std(car);
        let input = tokio_util::io::ReaderStream::new(file)
            .map(|r| r.map_err(BackendError::from))
            .boxed();
        let (form, watch) = self.form_of(input, "import.car".into());
        let query = [flag("pin-roots", pin)];
        let answer = self
            .rpc
            .upload("dag/import", &query, form, watch.done.clone())
            .await;
        let body = watch.prefer_input_error(answer)?.whole().await?;
        let lines: Vec<wire::DagImportLine> = wire::parse_lines("dag/import", &body)?;
        let mut reported = Vec::new();
        for root in lines.into_iter().filter_map(|l| l.root) {
            if !root.pin_error.is_empty() {
                return Err(BackendError::BadGateway(format!(
                    "dag/import: pinning {} failed: {}",
                    root.cid.cid, root.pin_error
                )));
            }
            reported.push(wire::cid("dag/import", &root.cid.cid)?);
        }
        if pin && let Some(missing) = roots.iter().find(|r| !reported.contains(r)) {
            return Err(BackendError::BadGateway(format!(
                "dag/import did not report the root {missing}"
            )));
        }
        Ok(())
    }

    async fn stats(&self) -> Result<NodeStats, BackendError> {
        let (repo, bw) = tokio::join!(
            self.json::<wire::RepoStat>("repo/stat", &[], Retry::Idempotent),
            self.json::<wire::BandwidthStat>("stats/bw", &[], Retry::Idempotent),
        );
        let repo = repo?;
        let bw = bw?;
        Ok(NodeStats {
            repo: RepoStats {
                num_objects: repo.num_objects,
                repo_size: repo.repo_size,
                // js-ipfs reports Number.MAX_SAFE_INTEGER for "no limit"
                storage_max: (repo.storage_max > 0 && repo.storage_max < (1 << 53) - 1)
                    .then_some(repo.storage_max),
            },
            bandwidth: Some(BandwidthStats {
                total_in: bw.total_in,
                total_out: bw.total_out,
                rate_in: bw.rate_in,
                rate_out: bw.rate_out,
            }),
        })
    }

    async fn version(&self) -> Result<NodeVersion, BackendError> {
        let v: wire::Version = self.json("version", &[], Retry::Idempotent).await?;
        Ok(NodeVersion {
            version: v.version,
            commit: v.commit,
            repo: v.repo,
            system: v.system,
        })
    }
}
