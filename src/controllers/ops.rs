//! The JSON operations: a name, JSON arguments in, JSON fields out. One table ([`OPS`]) serves
//! batch dispatch (`POST batch`) and the Model Context Protocol tools; each entry runs the
//! same function as the MCP route it is named after (`pin::pin_op` behind `ipfs/pin/add`, ...)
//! and needs that route's access (`startup::ACCESS`), so no surface has logic of its own.
//!
//! Arguments are the fields the route reads from its JSON body or query string
//! ([`super::params::Args`]), e.g. `{"cid": ..., "recursive": false}`.

use super::error::ApiError;
use super::params::Args;
use super::{AppState, Result, add, block, cache, content, dag, name, node, pin};
use crate::backend::{ByteStream, ContentPath};
use crate::models::listing;
use serde_json::{Map, Value, json};

/// Told how many bytes have gone through so far, and of how many when that is known (the
/// MCP tools turn it into progress notifications).
pub type Progress = std::sync::Arc<dyn Fn(u64, Option<u64>) + Send + Sync>;

/// `input`, reporting to `progress` as its bytes pass.
pub fn counted(input: ByteStream, progress: Option<Progress>, total: Option<u64>) -> ByteStream {
    use futures_util::StreamExt;
    let Some(progress) = progress else {
        return input;
    };
    let mut seen = 0u64;
    input
        .inspect(move |chunk| {
            if let Ok(chunk) = chunk {
                seen += chunk.len() as u64;
                progress(seen, total);
            }
        })
        .boxed()
}

/// One operation.
#[derive(Debug)]
pub struct Op {
    /// As the MCP route is named under `/api/v0/mcp/` (`ipfs/pin/add`); also accepted
    /// without its `ipfs/`.
    pub name: &'static str,
    /// The route whose access it needs.
    pub route: &'static str,
    pub summary: &'static str,
}

const fn op(name: &'static str, route: &'static str, summary: &'static str) -> Op {
    Op {
        name,
        route,
        summary,
    }
}

pub const OPS: &[Op] = &[
    op(
        "ipfs/add",
        "/api/v0/mcp/ipfs/add",
        "Add `content` (text) or `content_base64` as a file; Kubo's add options apply",
    ),
    op(
        "ipfs/cat",
        "/api/v0/mcp/ipfs/cat",
        "A file's bytes (`cid` or path, `offset`, `length`), base64, up to the inline limit",
    ),
    op(
        "ipfs/ls",
        "/api/v0/mcp/ipfs/cat",
        "The entries of a directory (`cid` or path): name, cid, type, size",
    ),
    op(
        "ipfs/stat",
        "/api/v0/mcp/ipfs/cat",
        "What a path names: cid, type, size, cumulative size, links",
    ),
    op(
        "ipfs/pin/add",
        "/api/v0/mcp/ipfs/pin/add",
        "Pin `cid` (`recursive`, default true)",
    ),
    op(
        "ipfs/pin/rm",
        "/api/v0/mcp/ipfs/pin/rm",
        "Unpin `cid` (`recursive`, default true)",
    ),
    op(
        "ipfs/pin/ls",
        "/api/v0/mcp/ipfs/pin/ls",
        "The pins (`cid`, `type` all|recursive|direct|indirect)",
    ),
    op(
        "ipfs/block/stat",
        "/api/v0/mcp/ipfs/block/stat",
        "A block's size (`cid`)",
    ),
    op(
        "ipfs/dag/put",
        "/api/v0/mcp/ipfs/dag/put",
        "Store the JSON `object` as a DAG node (`format` dag-cbor|dag-json, `pin`)",
    ),
    op(
        "ipfs/dag/get",
        "/api/v0/mcp/ipfs/dag/get",
        "The DAG node at `cid` (or path) as dag-json",
    ),
    op(
        "ipfs/name/publish",
        "/api/v0/mcp/ipfs/name/publish",
        "Publish `path` under the node's key (`key`, `lifetime`, `ttl`)",
    ),
    op(
        "ipfs/name/resolve",
        "/api/v0/mcp/ipfs/name/resolve",
        "The path an IPNS `name` points to",
    ),
    op(
        "ipfs/dht/findprovs",
        "/api/v0/mcp/ipfs/dht/findprovs",
        "Who provides `cid` (`num_providers`)",
    ),
    op(
        "ipfs/dht/findpeer",
        "/api/v0/mcp/ipfs/dht/findpeer",
        "A peer's addresses (`peer_id`)",
    ),
    op("ipfs/id", "/api/v0/mcp/ipfs/id", "The node's identity"),
    op(
        "ipfs/version",
        "/api/v0/mcp/ipfs/version",
        "The node's and this service's versions",
    ),
    op(
        "ipfs/stats",
        "/api/v0/mcp/ipfs/stats",
        "The gateway's counters and the node's",
    ),
    op(
        "cache/stats",
        "/api/v0/mcp/cache/stats",
        "The cache tiers: items, bytes, hits, misses, evictions",
    ),
    op(
        "cache/metadata",
        "/api/v0/mcp/cache/metadata",
        "CID metadata rows: `filter` (e.g. \"heat_score > 1\", one or a list), `sort`, `order`, `limit`",
    ),
];

/// The operation called `name` (with or without its `ipfs/`).
pub fn find(name: &str) -> Option<&'static Op> {
    let name = name.trim().trim_matches('/');
    OPS.iter()
        .find(|op| op.name == name || op.name.strip_prefix("ipfs/") == Some(name))
}

/// The path argument of the read operations: `cid`, `path` or `arg`.
fn path(args: &Args) -> Result<ContentPath> {
    args.path(&["cid", "path", "arg"])
}

/// Runs `op` with `params` (a JSON object, or null for none).
pub async fn run(state: &AppState, op: &Op, params: &Value) -> Result<Value> {
    run_with(state, op, params, None).await
}

/// [`run`], reporting the bytes of an add or a cat to `progress`.
pub async fn run_with(
    state: &AppState,
    op: &Op,
    params: &Value,
    progress: Option<Progress>,
) -> Result<Value> {
    let args = match params {
        Value::Object(map) => Args::from_object(map.clone()),
        Value::Null => Args::from_object(Map::new()),
        _ => return Err(ApiError::bad_request("params must be a JSON object")),
    };
    match op.name {
        "ipfs/add" => Ok(add::fields(&add::add_inline(state, &args, progress).await?)),
        "ipfs/cat" => content::cat_op(state, &args, progress).await,
        "ipfs/ls" => {
            let entries = listing::list(&state.model, &path(&args)?).await?;
            let entries: Vec<Value> = entries
                .iter()
                .map(|e| {
                    json!({"name": e.name, "cid": e.cid.to_string(), "type": e.kind.name(),
                           "size": e.size})
                })
                .collect();
            Ok(json!({"count": entries.len(), "entries": entries}))
        }
        "ipfs/stat" => {
            let s = listing::stat(&state.model, &path(&args)?).await?;
            Ok(
                json!({"cid": s.cid.to_string(), "type": s.kind.name(), "size": s.size,
                      "cumulative_size": s.cumulative_size, "links": s.blocks}),
            )
        }
        "ipfs/pin/add" => pin::pin_op(state, &args, true).await,
        "ipfs/pin/rm" => pin::pin_op(state, &args, false).await,
        "ipfs/pin/ls" => pin::ls_op(state, &args).await,
        "ipfs/block/stat" => block::stat_op(state, &args.cid(&["cid", "arg"])?).await,
        "ipfs/dag/put" => dag::put_op(state, &args).await,
        "ipfs/dag/get" => dag::get_op(state, &path(&args)?).await,
        "ipfs/name/publish" => name::publish_op(state, &args).await,
        "ipfs/name/resolve" => name::resolve_op(state, &args).await,
        "ipfs/dht/findprovs" => name::findprovs_op(state, &args).await,
        "ipfs/dht/findpeer" => name::findpeer_op(state, &args).await,
        "ipfs/id" => node::id_op(state).await,
        "ipfs/version" => node::version_op(state).await,
        "ipfs/stats" => node::stats_op(state).await,
        "cache/stats" => Ok(cache::stats_op(state)),
        "cache/metadata" => cache::metadata_op(state, metadata_pairs(params)?),
        other => Err(ApiError::internal(format!(
            "operation {other} has no runner"
        ))),
    }
}

/// `cache/metadata`'s arguments as the query pairs its route reads (`filter` may repeat).
fn metadata_pairs(params: &Value) -> Result<Vec<(String, String)>> {
    let mut pairs = Vec::new();
    let Value::Object(map) = params else {
        return Ok(pairs);
    };
    for (key, value) in map {
        let values = match value {
            Value::Array(items) => items.clone(),
            one => vec![one.clone()],
        };
        for v in values {
            let text = match v {
                Value::String(s) => s,
                other => other.to_string(),
            };
            pairs.push((key.clone(), text));
        }
    }
    Ok(pairs)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_operation_runs_and_needs_a_listed_route() {
        for op in OPS {
            assert_eq!(find(op.name).map(|o| o.name), Some(op.name));
            // listed (the default for a route not listed is admin: none of these is)
            use crate::models::auth::scope::{Access, Scope};
            assert_ne!(
                crate::startup::access_of(op.route),
                Access::Scoped(Scope::Admin),
                "{}: {} is not in ACCESS",
                op.name,
                op.route
            );
        }
        assert_eq!(find("pin/add").map(|o| o.name), Some("ipfs/pin/add"));
        assert!(find("no/such").is_none());
    }
}
