//! Plain data exchanged with a backend. Serializable so models can embed them in responses.

use crate::unixfs::{DAG_CBOR, DAG_JSON, DAG_PB, ImportOptions, RAW};
use cid::Cid;
use serde::Serialize;
use std::fmt;
use std::str::FromStr;

use super::BackendError;

/// Which kind of node is behind the trait.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum BackendKind {
    Simulation,
    Kubo,
}

impl BackendKind {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Simulation => "simulation",
            Self::Kubo => "kubo",
        }
    }
    /// Whether responses from this backend are marked `"simulated": true`.
    pub fn simulated(self) -> bool {
        self == Self::Simulation
    }
}

/// `cid[/seg/...]`, parsed once. Accepts an optional `/ipfs/` prefix.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ContentPath {
    pub root: Cid,
    pub segments: Vec<String>,
}

impl ContentPath {
    pub fn new(root: Cid) -> Self {
        Self {
            root,
            segments: Vec::new(),
        }
    }

    /// A path from a URL: split on `/`, then each segment percent-decoded once (`%2F` is a
    /// slash inside a name, `%25` a percent sign), so names with any character survive.
    pub fn from_url(tail: &str) -> Result<Self, BackendError> {
        let mut path: Self = tail.parse()?;
        for segment in &mut path.segments {
            let decoded = percent_encoding::percent_decode_str(segment)
                .decode_utf8()
                .map_err(|_| {
                    BackendError::InvalidInput(format!("path segment {segment:?} is not UTF-8"))
                })?;
            *segment = decoded.into_owned();
        }
        Ok(path)
    }

    /// The path as a URL path (`/ipfs/cid/seg...`, each segment percent-encoded): what
    /// `X-Ipfs-Path` and redirects carry.
    pub fn to_url(&self) -> String {
        let mut out = format!("/ipfs/{}", self.root);
        for s in &self.segments {
            out.push('/');
            out.push_str(&url_segment(s));
        }
        out
    }
}

/// What may stand raw in a URL path segment: RFC 3986 unreserved characters, sub-delims
/// but `&`, and `:@`; everything else (`/`, `%`, spaces, non-ASCII) is percent-encoded.
const URL_SEGMENT: &percent_encoding::AsciiSet = &percent_encoding::NON_ALPHANUMERIC
    .remove(b'-')
    .remove(b'.')
    .remove(b'_')
    .remove(b'~')
    .remove(b'!')
    .remove(b'$')
    .remove(b'\'')
    .remove(b'(')
    .remove(b')')
    .remove(b'*')
    .remove(b'+')
    .remove(b',')
    .remove(b';')
    .remove(b'=')
    .remove(b':')
    .remove(b'@');

/// One name as a URL path segment (the inverse of [`ContentPath::from_url`]'s decoding).
pub fn url_segment(name: &str) -> String {
    percent_encoding::utf8_percent_encode(name, URL_SEGMENT).to_string()
}

impl FromStr for ContentPath {
    type Err = BackendError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let s = s.trim();
        let s = s
            .strip_prefix("/ipfs/")
            .unwrap_or(s)
            .trim_start_matches('/');
        let mut parts = s.split('/');
        let root = parts.next().unwrap_or_default();
        let root = parse_cid(root)?;
        let segments = parts.filter(|p| !p.is_empty()).map(str::to_owned).collect();
        Ok(Self { root, segments })
    }
}

impl fmt::Display for ContentPath {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "/ipfs/{}", self.root)?;
        for s in &self.segments {
            write!(f, "/{s}")?;
        }
        Ok(())
    }
}

/// CID strings remembered per thread by [`parse_cid`]; past this the memory starts over.
const PARSED_CIDS: usize = 1024;

thread_local! {
    /// Recently parsed CID strings. A hot object is asked for by the same string again and
    /// again, and base58 decoding is quadratic in its length: measured at 2-3% of a cached
    /// 4 KiB cat, against a hash lookup here.
    static PARSED: std::cell::RefCell<std::collections::HashMap<Box<str>, Cid>> =
        Default::default();
}

/// Parses a CID with a caller-facing error message.
pub fn parse_cid(s: &str) -> Result<Cid, BackendError> {
    if s.is_empty() {
        return Err(BackendError::InvalidInput("missing CID".into()));
    }
    if let Some(cid) = PARSED.with(|p| p.borrow().get(s).copied()) {
        return Ok(cid);
    }
    let cid = Cid::try_from(s)
        .map_err(|e| BackendError::InvalidInput(format!("invalid CID {s:?}: {e}")))?;
    PARSED.with(|p| {
        let mut parsed = p.borrow_mut();
        if parsed.len() >= PARSED_CIDS {
            parsed.clear();
        }
        parsed.insert(s.into(), cid);
    });
    Ok(cid)
}

/// Options of [`super::Backend::add`].
#[derive(Debug, Clone, Default)]
pub struct AddOptions {
    pub import: ImportOptions,
    /// Pin the root recursively (Kubo's default is true).
    pub pin: bool,
    /// Compute CIDs only; store nothing.
    pub only_hash: bool,
}

/// One part of an add, in upload order (Kubo's multipart `file` parts).
pub enum AddPart {
    /// A file: its path in the upload (`None`: one unnamed file, named by its CID), and its
    /// bytes, read to the end before the next part is asked for.
    File {
        path: Option<crate::unixfs::tree::EntryPath>,
        data: super::ByteStream,
    },
    /// A directory (`application/x-directory`), possibly empty.
    Directory {
        path: crate::unixfs::tree::EntryPath,
    },
    /// A symlink (`application/symlink`): a UnixFS symlink to `target`, never followed.
    Symlink {
        path: crate::unixfs::tree::EntryPath,
        target: String,
    },
}

impl AddPart {
    /// The one file of a single-stream add, named `options.import.file_name` (none: named
    /// by its CID, as Kubo's CLI does).
    pub fn single(data: super::ByteStream, options: &AddOptions) -> Result<Self, BackendError> {
        let path = match options.import.file_name.as_deref() {
            Some(name) => Some(
                crate::unixfs::tree::EntryPath::parse(name)
                    .map_err(|e| BackendError::InvalidInput(e.to_string()))?,
            ),
            None => None,
        };
        Ok(AddPart::File { path, data })
    }
}

/// The parts of one add, as they arrive.
pub type AddParts = futures_util::stream::BoxStream<'static, Result<AddPart, BackendError>>;

/// One entry of an add: each file and directory, the root last.
#[derive(Debug, Clone, Serialize)]
pub struct AddedEntry {
    #[serde(rename = "Name")]
    pub name: String,
    #[serde(rename = "Hash")]
    pub hash: String,
    /// Kubo prints sizes as strings.
    #[serde(rename = "Size")]
    pub size: String,
}

/// Result of [`super::Backend::add`].
#[derive(Debug, Clone)]
pub struct Added {
    /// Root CID (the directory when wrapped).
    pub root: Cid,
    /// Name of the root entry as Kubo prints it ("" for a wrapping directory).
    pub name: String,
    /// Cumulative DAG size of the root.
    pub dag_size: u64,
    /// Bytes of content read.
    pub content_size: u64,
    /// Every entry Kubo would print: files, then directories, the root last.
    pub entries: Vec<AddedEntry>,
    /// The top-level entries (each pinned when pinning): the root alone when wrapped.
    pub roots: Vec<Cid>,
    pub pinned: bool,
}

/// What a path points to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(tag = "type", rename_all = "lowercase")]
pub enum NodeKind {
    File { size: u64 },
    Directory,
    Other,
}

/// Result of [`super::Backend::stat`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct NodeStat {
    pub cid: Cid,
    pub kind: NodeKind,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum PinKind {
    Recursive,
    Direct,
    Indirect,
}

impl PinKind {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Recursive => "recursive",
            Self::Direct => "direct",
            Self::Indirect => "indirect",
        }
    }
}

/// `type` of `pin ls`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum PinFilter {
    #[default]
    All,
    Only(PinKind),
}

impl FromStr for PinFilter {
    type Err = BackendError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Ok(match s {
            "" | "all" => Self::All,
            "recursive" => Self::Only(PinKind::Recursive),
            "direct" => Self::Only(PinKind::Direct),
            "indirect" => Self::Only(PinKind::Indirect),
            other => {
                return Err(BackendError::InvalidInput(format!(
                    "invalid pin type {other:?}: expected all, recursive, direct or indirect"
                )));
            }
        })
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Pin {
    pub cid: Cid,
    pub kind: PinKind,
}

/// Options of [`super::Backend::block_put`].
#[derive(Debug, Clone)]
pub struct BlockPutOptions {
    /// Multicodec of the block (`raw` by default, as Kubo).
    pub codec: u64,
    /// Produce a CIDv0 (only for dag-pb), Kubo's legacy `format=v0`.
    pub cid_v0: bool,
    pub pin: bool,
}

impl Default for BlockPutOptions {
    fn default() -> Self {
        Self {
            codec: crate::unixfs::RAW,
            cid_v0: false,
            pin: false,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BlockStat {
    pub cid: Cid,
    pub size: u64,
}

/// Options of [`super::Backend::dag_put`].
#[derive(Debug, Clone)]
pub struct DagPutOptions {
    pub store_codec: u64,
    pub pin: bool,
}

impl Default for DagPutOptions {
    fn default() -> Self {
        Self {
            store_codec: crate::unixfs::DAG_CBOR,
            pin: false,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DagResolved {
    pub cid: Cid,
    pub rem_path: String,
}

/// Options of [`super::Backend::name_publish`].
#[derive(Debug, Clone)]
pub struct NamePublishOptions {
    /// Key name (`self` is the node's own key).
    pub key: String,
    /// How long the record is valid.
    pub lifetime: std::time::Duration,
    /// Cache hint for resolvers.
    pub ttl: std::time::Duration,
}

impl Default for NamePublishOptions {
    fn default() -> Self {
        Self {
            key: "self".into(),
            lifetime: std::time::Duration::from_secs(48 * 3600),
            ttl: std::time::Duration::from_secs(3600),
        }
    }
}

#[derive(Debug, Clone, Serialize)]
pub struct NamePublished {
    #[serde(rename = "Name")]
    pub name: String,
    #[serde(rename = "Value")]
    pub value: String,
}

#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct PeerInfo {
    #[serde(rename = "ID")]
    pub id: String,
    #[serde(rename = "Addrs")]
    pub addrs: Vec<String>,
}

#[derive(Debug, Clone, Serialize)]
pub struct NodeIdentity {
    #[serde(rename = "ID")]
    pub id: String,
    #[serde(rename = "PublicKey")]
    pub public_key: String,
    #[serde(rename = "Addresses")]
    pub addresses: Vec<String>,
    #[serde(rename = "AgentVersion")]
    pub agent_version: String,
    #[serde(rename = "ProtocolVersion")]
    pub protocol_version: String,
}

#[derive(Debug, Clone, Serialize)]
pub struct NodeVersion {
    #[serde(rename = "Version")]
    pub version: String,
    #[serde(rename = "Commit")]
    pub commit: String,
    #[serde(rename = "Repo")]
    pub repo: String,
    #[serde(rename = "System")]
    pub system: String,
}

/// What the node says about its repository and traffic (`repo/stat`, `stats/bw`).
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct NodeStats {
    pub repo: RepoStats,
    /// `None` when the node has no network (the simulation).
    pub bandwidth: Option<BandwidthStats>,
}

#[derive(Debug, Clone, Copy, Serialize, PartialEq, Eq)]
pub struct RepoStats {
    pub num_objects: u64,
    pub repo_size: u64,
    /// `None` when the node sets no limit.
    pub storage_max: Option<u64>,
}

#[derive(Debug, Clone, Copy, Serialize, PartialEq)]
pub struct BandwidthStats {
    pub total_in: u64,
    pub total_out: u64,
    pub rate_in: f64,
    pub rate_out: f64,
}

/// Coarse state of the node.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum BackendState {
    Up,
    Degraded,
    Down,
}

#[derive(Debug, Clone, Serialize)]
pub struct BackendHealth {
    pub state: BackendState,
    pub detail: String,
    /// The circuit breaker in front of the node, when there is one.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub breaker: Option<super::breaker::BreakerSnapshot>,
}

/// Multicodec names Kubo accepts for `--cid-codec` / `--store-codec`.
pub fn codec_from_name(name: &str) -> Result<u64, BackendError> {
    Ok(match name {
        "raw" => RAW,
        "dag-pb" | "protobuf" => DAG_PB,
        "dag-cbor" => DAG_CBOR,
        "dag-json" => DAG_JSON,
        "json" => crate::unixfs::JSON,
        "cbor" => crate::unixfs::CBOR,
        other => {
            return Err(BackendError::InvalidInput(format!(
                "unsupported codec {other:?}: expected raw, dag-pb, dag-cbor, dag-json, json \
                 or cbor"
            )));
        }
    })
}

pub fn codec_name(code: u64) -> &'static str {
    match code {
        RAW => "raw",
        DAG_PB => "dag-pb",
        DAG_CBOR => "dag-cbor",
        DAG_JSON => "dag-json",
        crate::unixfs::JSON => "json",
        crate::unixfs::CBOR => "cbor",
        _ => "unknown",
    }
}
