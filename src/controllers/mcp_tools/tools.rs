//! The tool table: each Model Context Protocol tool, the operation it runs ([`super::super::ops`],
//! or one of the few tools with an answer of their own shape: `ipfs_cat`'s content blocks,
//! `batch`), and its input and output JSON Schemas.

use crate::controllers::ops::{self, Op};
use serde_json::{Map, Value, json};

/// What a tool runs.
#[derive(Debug, Clone, Copy)]
pub enum Runs {
    /// The operation, its fields as the structured result.
    Op(&'static str),
    /// `ipfs/cat`, answered as text, a blob, or a link for content too large to inline.
    Cat,
    /// Several operations (`POST batch`).
    Batch,
}

pub struct Tool {
    pub name: &'static str,
    pub runs: Runs,
    pub description: &'static str,
    /// `(argument, JSON type, description)`, and which are required.
    pub args: &'static [(&'static str, &'static str, &'static str)],
    pub required: &'static [&'static str],
    /// The structured result's main fields `(name, JSON type)`.
    pub output: &'static [(&'static str, &'static str)],
    /// Whether it changes anything (a hint to clients).
    pub read_only: bool,
}

const CID: (&str, &str, &str) = ("cid", "string", "A CID, or an IPFS path /ipfs/<cid>/a/b");
const RECURSIVE: (&str, &str, &str) = ("recursive", "boolean", "Whole DAG (default true)");

pub const TOOLS: &[Tool] = &[
    Tool {
        name: "ipfs_add",
        runs: Runs::Op("ipfs/add"),
        description: "Add content to IPFS: `content` (text), `content_base64`, or `source` (an \
                      ipfs://<cid> or /ipfs/ path to import again with other options). Reports \
                      progress while the bytes go in.",
        args: &[
            ("content", "string", "The file's text"),
            ("content_base64", "string", "The file's bytes, base64"),
            (
                "source",
                "string",
                "ipfs://<cid>[/path] or /ipfs/<cid>[/path] to read the bytes from",
            ),
            (
                "filename",
                "string",
                "The file's name (kept with wrap_with_directory)",
            ),
            ("cid_version", "integer", "0 (default) or 1"),
            (
                "raw_leaves",
                "boolean",
                "Raw leaves (default: true with CIDv1)",
            ),
            ("chunker", "string", "size-N (default size-262144)"),
            (
                "wrap_with_directory",
                "boolean",
                "Wrap the file in a directory",
            ),
            ("pin", "boolean", "Pin the result (default true)"),
            (
                "only_hash",
                "boolean",
                "Compute the CID only; store nothing",
            ),
        ],
        required: &[],
        output: &[
            ("cid", "string"),
            ("Size", "string"),
            ("content_size_bytes", "integer"),
            ("pinned", "boolean"),
        ],
        read_only: false,
    },
    Tool {
        name: "ipfs_cat",
        runs: Runs::Cat,
        description: "Read a file: text when it is text, else its bytes as a blob; content \
                      larger than the inline limit is answered with a resource link \
                      (ipfs://<cid>) to read in ranges.",
        args: &[
            CID,
            ("offset", "integer", "First byte (default 0)"),
            ("length", "integer", "How many bytes (default: to the end)"),
        ],
        required: &["cid"],
        output: &[
            ("cid", "string"),
            ("size", "integer"),
            ("offset", "integer"),
            ("length", "integer"),
            ("content_type", "string"),
        ],
        read_only: true,
    },
    Tool {
        name: "ipfs_ls",
        runs: Runs::Op("ipfs/ls"),
        description: "List a directory: each entry's name, CID, type and size.",
        args: &[CID],
        required: &["cid"],
        output: &[("count", "integer"), ("entries", "array")],
        read_only: true,
    },
    Tool {
        name: "ipfs_stat",
        runs: Runs::Op("ipfs/stat"),
        description: "What a CID or path names: its CID, type, size, cumulative size, links.",
        args: &[CID],
        required: &["cid"],
        output: &[
            ("cid", "string"),
            ("type", "string"),
            ("size", "integer"),
            ("cumulative_size", "integer"),
        ],
        read_only: true,
    },
    Tool {
        name: "ipfs_pin_add",
        runs: Runs::Op("ipfs/pin/add"),
        description: "Pin a CID so it is kept.",
        args: &[CID, RECURSIVE],
        required: &["cid"],
        output: &[("cid", "string"), ("Pins", "array")],
        read_only: false,
    },
    Tool {
        name: "ipfs_pin_rm",
        runs: Runs::Op("ipfs/pin/rm"),
        description: "Unpin a CID.",
        args: &[CID, RECURSIVE],
        required: &["cid"],
        output: &[("cid", "string"), ("Pins", "array")],
        read_only: false,
    },
    Tool {
        name: "ipfs_pin_ls",
        runs: Runs::Op("ipfs/pin/ls"),
        description: "The pins (of one CID when given).",
        args: &[
            CID,
            (
                "type",
                "string",
                "all (default), recursive, direct or indirect",
            ),
        ],
        required: &[],
        output: &[("count", "integer"), ("pins", "array")],
        read_only: true,
    },
    Tool {
        name: "ipfs_block_stat",
        runs: Runs::Op("ipfs/block/stat"),
        description: "A block's size.",
        args: &[CID],
        required: &["cid"],
        output: &[("cid", "string"), ("Size", "integer")],
        read_only: true,
    },
    Tool {
        name: "ipfs_dag_get",
        runs: Runs::Op("ipfs/dag/get"),
        description: "A DAG node (or a value inside it, by path) as dag-json.",
        args: &[CID],
        required: &["cid"],
        output: &[("cid", "string"), ("path", "string")],
        read_only: true,
    },
    Tool {
        name: "ipfs_dag_put",
        runs: Runs::Op("ipfs/dag/put"),
        description: "Store a JSON document as a DAG node ({\"/\": cid} values are links).",
        args: &[
            ("object", "object", "The document"),
            ("format", "string", "dag-cbor (default) or dag-json"),
            ("pin", "boolean", "Pin it (default false)"),
        ],
        required: &["object"],
        output: &[("cid", "string")],
        read_only: false,
    },
    Tool {
        name: "ipfs_name_publish",
        runs: Runs::Op("ipfs/name/publish"),
        description: "Publish an IPFS path under the node's IPNS name.",
        args: &[
            ("path", "string", "/ipfs/<cid>[/...]"),
            ("key", "string", "Key name (default self)"),
            (
                "lifetime",
                "string",
                "How long the record is valid (e.g. 24h)",
            ),
            ("ttl", "string", "How long resolvers may cache it (e.g. 1m)"),
        ],
        required: &["path"],
        output: &[("name", "string"), ("value", "string")],
        read_only: false,
    },
    Tool {
        name: "ipfs_name_resolve",
        runs: Runs::Op("ipfs/name/resolve"),
        description: "The path an IPNS name points to.",
        args: &[("name", "string", "An IPNS name (k51..., or /ipns/...)")],
        required: &["name"],
        output: &[("name", "string"), ("path", "string")],
        read_only: true,
    },
    Tool {
        name: "ipfs_find_providers",
        runs: Runs::Op("ipfs/dht/findprovs"),
        description: "Peers that provide a CID.",
        args: &[
            CID,
            ("num_providers", "integer", "At most this many (default 20)"),
        ],
        required: &["cid"],
        output: &[
            ("cid", "string"),
            ("count", "integer"),
            ("providers", "array"),
        ],
        read_only: true,
    },
    Tool {
        name: "ipfs_id",
        runs: Runs::Op("ipfs/id"),
        description: "The node's peer id and addresses.",
        args: &[],
        required: &[],
        output: &[("ID", "string"), ("Addresses", "array")],
        read_only: true,
    },
    Tool {
        name: "cache_stats",
        runs: Runs::Op("cache/stats"),
        description: "The cache tiers (memory, disk): items, bytes, hits, misses, evictions.",
        args: &[],
        required: &[],
        output: &[("tiers", "array"), ("backend_fetches", "integer")],
        read_only: true,
    },
    Tool {
        name: "cache_metadata",
        runs: Runs::Op("cache/metadata"),
        description: "Query the CID metadata (size, type, heat, pins, tiers), e.g. the hottest \
                      CIDs: sort=heat_score, order=desc.",
        args: &[
            (
                "filter",
                "string",
                "e.g. \"heat_score > 1\" or \"mime_type == 'text/plain'\"",
            ),
            ("sort", "string", "A column (default heat_score)"),
            ("order", "string", "asc or desc"),
            ("limit", "integer", "At most this many rows"),
        ],
        required: &[],
        output: &[
            ("count", "integer"),
            ("matched", "integer"),
            ("rows", "array"),
        ],
        read_only: true,
    },
    Tool {
        name: "batch",
        runs: Runs::Batch,
        description: "Run several operations at once: calls=[{op, params}] (op as the tools' \
                      operations are named: ipfs/add, ipfs/pin/add, cache/stats, ...), results \
                      in order.",
        args: &[
            ("calls", "array", "[{op, params}]"),
            (
                "max_concurrent",
                "integer",
                "At most this many at once (default 8)",
            ),
            (
                "return_exceptions",
                "boolean",
                "Every result (default), or stop at the first failure",
            ),
        ],
        required: &["calls"],
        output: &[
            ("count", "integer"),
            ("failed", "integer"),
            ("results", "array"),
        ],
        read_only: false,
    },
];

impl Tool {
    /// The operation behind it, whose route's access it needs (batch checks each call).
    pub fn op(&self) -> Option<&'static Op> {
        match self.runs {
            Runs::Op(name) => ops::find(name),
            Runs::Cat => ops::find("ipfs/cat"),
            Runs::Batch => None,
        }
    }

    pub fn input_schema(&self) -> Map<String, Value> {
        let mut properties = Map::new();
        for (name, kind, description) in self.args {
            let mut schema = json!({"type": kind, "description": description});
            if *kind == "integer" {
                schema["minimum"] = 0.into();
            }
            properties.insert((*name).to_string(), schema);
        }
        let schema = json!({
            "type": "object",
            "properties": properties,
            "required": self.required,
        });
        schema.as_object().cloned().unwrap_or_default()
    }

    /// An object with the main fields typed; the operation may add more.
    pub fn output_schema(&self) -> Map<String, Value> {
        let properties: Map<String, Value> = self
            .output
            .iter()
            .map(|(name, kind)| ((*name).to_string(), json!({"type": kind})))
            .collect();
        let schema = json!({"type": "object", "properties": properties});
        schema.as_object().cloned().unwrap_or_default()
    }
}

pub fn find(name: &str) -> Option<&'static Tool> {
    TOOLS.iter().find(|t| t.name == name)
}
