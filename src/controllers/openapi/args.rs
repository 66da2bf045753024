//! The arguments of the routes that read them through [`crate::controllers::params::Args`]:
//! each is a query parameter (Kubo's style, `?arg=`), or, where the route takes a JSON body,
//! the same field of that body (the body wins). Aliases (`cid`/`arg`, `cid-version`/
//! `cid_version`) are listed under their first name; booleans take `true`/`false` (and
//! Python's `True`/`False`).
//!
//! These types describe, they are not parsed into: each says which handler reads it.
#![allow(dead_code)]

use serde::Deserialize;
use utoipa::{IntoParams, ToSchema};

/// `ipfs/add`, `ipfs/add/*`, `stream/to-ipfs` (`add::options`).
#[derive(IntoParams, ToSchema, Deserialize)]
#[serde(rename_all = "kebab-case")]
#[into_params(parameter_in = Query)]
pub struct AddArgs {
    /// 0 or 1 (default 0, as Kubo).
    #[param(minimum = 0, maximum = 1)]
    pub cid_version: Option<u8>,
    /// Raw leaves (default: true with CIDv1, else false).
    pub raw_leaves: Option<bool>,
    /// `size-<bytes>` (default `size-262144`).
    pub chunker: Option<String>,
    pub wrap_with_directory: Option<bool>,
    /// The file's name (a single-file add).
    pub filename: Option<String>,
    /// Pin the root (default true).
    pub pin: Option<bool>,
    /// Compute the CID without storing.
    pub only_hash: Option<bool>,
}

/// `ipfs/add/json`: the content, as text or base64, and the add's arguments.
#[derive(ToSchema)]
pub struct AddJsonBody {
    /// Text (or any JSON value, stored as its JSON text).
    pub content: Option<serde_json::Value>,
    pub content_base64: Option<String>,
    pub filename: Option<String>,
    pub cid_version: Option<u8>,
    pub pin: Option<bool>,
}

/// A multipart form: one `file` part, or (Kubo's directory add) many parts named by path.
#[derive(ToSchema)]
pub struct AddForm {
    #[schema(value_type = String, format = Binary)]
    pub file: Vec<u8>,
}

/// `POST ipfs/cat`: a small file inline.
#[derive(ToSchema)]
pub struct CatBody {
    /// A CID or `/ipfs/` path (also `arg`, `path`).
    #[schema(example = "bafkqaaa")]
    pub cid: String,
    pub offset: Option<u64>,
    pub length: Option<u64>,
}

/// `ipfs/cat/*`, `ipfs/get/*`: Kubo's offset and length, as a range.
#[derive(IntoParams)]
#[into_params(parameter_in = Query)]
pub struct CatArgs {
    pub offset: Option<u64>,
    pub length: Option<u64>,
}

/// `ipfs/pin/add`, `ipfs/pin/rm`.
#[derive(IntoParams, ToSchema)]
#[into_params(parameter_in = Query)]
pub struct PinArgs {
    /// The CID (also `arg`).
    #[param(example = "bafkqaaa")]
    #[schema(example = "bafkqaaa")]
    pub cid: Option<String>,
    /// Default true.
    pub recursive: Option<bool>,
}

/// `ipfs/pin/ls`.
#[derive(IntoParams)]
#[into_params(parameter_in = Query)]
pub struct PinLsArgs {
    /// Only this CID's pin (also `arg`).
    pub cid: Option<String>,
    /// `all` (default), `direct`, `recursive` or `indirect`.
    #[param(rename = "type")]
    pub kind: Option<String>,
}

/// `ipfs/block/put`: with a JSON body, `data` is the block in base64.
#[derive(IntoParams, ToSchema, Deserialize)]
#[serde(rename_all = "kebab-case")]
#[into_params(parameter_in = Query)]
pub struct BlockPutArgs {
    /// The CID codec (`raw`, `dag-pb`, `dag-cbor`, `dag-json`, ...; also `codec`).
    pub cid_codec: Option<String>,
    /// Kubo's legacy codec name (`v0`, `cbor`).
    pub format: Option<String>,
    /// Only `sha2-256`.
    pub mhtype: Option<String>,
    pub pin: Option<bool>,
    /// JSON bodies only: the block, base64.
    #[param(ignore)]
    pub data: Option<String>,
}

/// `ipfs/dag/put`: a dag-json document, stored as `format`.
#[derive(IntoParams, ToSchema, Deserialize)]
#[serde(rename_all = "kebab-case")]
#[into_params(parameter_in = Query)]
pub struct DagPutArgs {
    /// `dag-json` (default; also `input_codec`).
    pub input_codec: Option<String>,
    /// `dag-cbor` (default) or `dag-json` (also `store_codec`).
    pub format: Option<String>,
    pub pin: Option<bool>,
    /// JSON bodies only: the document.
    #[param(ignore)]
    pub object: Option<serde_json::Value>,
    /// The document under its seed-cookbook name (when `object` is absent).
    #[param(ignore)]
    pub obj: Option<serde_json::Value>,
}

/// `ipfs/dag/get/*`, `ipfs/dag/resolve/*`.
#[derive(IntoParams)]
#[into_params(parameter_in = Query)]
pub struct DagPathArgs {
    /// A path inside the node, appended to the one in the URL.
    pub path: Option<String>,
}

/// `ipfs/dag/import`.
#[derive(IntoParams, Deserialize)]
#[serde(rename_all = "kebab-case")]
#[into_params(parameter_in = Query)]
pub struct ImportArgs {
    /// Pin the CAR's roots (default true).
    pub pin_roots: Option<bool>,
}

/// `ipfs/name/publish`.
#[derive(IntoParams, ToSchema)]
#[into_params(parameter_in = Query)]
pub struct PublishArgs {
    /// What the name points to (also `arg`, `cid`, `value`).
    pub path: Option<String>,
    /// The key to publish under (default `self`).
    pub key: Option<String>,
    /// How long the record is valid, e.g. `24h`.
    pub lifetime: Option<String>,
    /// How long it may be cached, e.g. `1m`.
    pub ttl: Option<String>,
}

/// `ipfs/name/resolve`.
#[derive(IntoParams)]
#[into_params(parameter_in = Query)]
pub struct NameArgs {
    /// The IPNS name (also `arg`).
    pub name: Option<String>,
}

/// `ipfs/routing/put|get`.
#[derive(IntoParams)]
#[into_params(parameter_in = Query)]
pub struct RoutingArgs {
    /// `/ipns/<name>` (also `key`, `name`).
    pub arg: Option<String>,
}

/// `ipfs/dht/findprovs`.
#[derive(IntoParams, Deserialize)]
#[serde(rename_all = "kebab-case")]
#[into_params(parameter_in = Query)]
pub struct FindProvsArgs {
    /// The CID (also `arg`).
    #[param(example = "bafkqaaa")]
    pub cid: Option<String>,
    /// Most providers to return (default 20; also `limit`).
    pub num_providers: Option<u64>,
}

/// `ipfs/dht/findpeer`.
#[derive(IntoParams)]
#[into_params(parameter_in = Query)]
pub struct FindPeerArgs {
    /// The peer id (also `arg`).
    pub peer_id: Option<String>,
}

/// `cache/clear`.
#[derive(IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ClearArgs {
    /// `memory` or `disk` (default: every tier).
    pub tier: Option<String>,
}

/// `cache/metadata`.
#[derive(IntoParams)]
#[into_params(parameter_in = Query)]
pub struct MetadataArgs {
    /// `field op value`, repeatable: `size>1000`, `mime_type=image/png`, `pinned=true`.
    pub filter: Option<String>,
    /// A field (`heat_score`, `size`, `last_accessed`, ...).
    pub sort: Option<String>,
    /// `asc` or `desc`.
    pub order: Option<String>,
    #[param(maximum = 10000)]
    pub limit: Option<u64>,
}

/// `operations`.
#[derive(IntoParams)]
#[into_params(parameter_in = Query)]
pub struct OperationsArgs {
    /// Most recent first (default 100).
    pub limit: Option<u64>,
}

/// `cli/config`.
#[derive(IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ShowConfigArgs {
    /// `json` (default), `yaml` or `toml`.
    pub format: Option<String>,
    /// Secrets in clear (admin only); default `<redacted>`.
    pub include_secrets: Option<bool>,
}

/// The gateway's query (`/ipfs/*`, `/ipns/*`).
#[derive(IntoParams, Deserialize)]
#[serde(rename_all = "kebab-case")]
#[into_params(parameter_in = Query)]
pub struct GatewayArgs {
    /// `raw`, `car`, `tar`, `dag-json`, `dag-cbor`, `json`, `cbor`, `ipns-record` (over `Accept`).
    pub format: Option<String>,
    /// The name in `Content-Disposition`.
    pub filename: Option<String>,
    /// `true`: `Content-Disposition: attachment`.
    pub download: Option<bool>,
    /// CAR: `all` (default), `entity` or `block`.
    pub dag_scope: Option<String>,
    /// CAR with `dag-scope=entity`: `from:to` of the file's bytes.
    pub entity_bytes: Option<String>,
    /// CAR: `1`.
    pub car_version: Option<String>,
    /// CAR: `dfs` or `unk`.
    pub car_order: Option<String>,
    /// CAR: `y` or `n`.
    pub car_dups: Option<String>,
}
