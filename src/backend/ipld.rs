//! IPLD codecs shared by the backends: decode blocks, encode dag-json input, walk DAG paths.
//!
//! Path semantics follow Kubo: segments index maps and lists, links are followed (also at the
//! end of a path), and on dag-pb nodes a segment other than `Data`/`Links` names a link.
//! Both backends answer `dag get` / `dag resolve` with [`walk_path`] over their blocks, so the
//! answers are the same on every node (js-ipfs's own `dag/get` fails on dag-pb nodes and does
//! not follow `Links/0/Hash`; see `fixtures/kubo-rpc/`).

use crate::backend::{BackendError, ContentPath, DagResolved, codec_name};
use crate::unixfs::{CBOR, DAG_CBOR, DAG_JSON, DAG_PB, JSON, RAW};
use bytes::Bytes;
use cid::Cid;
use ipld_core::ipld::Ipld;

/// Decodes a block by its CID's codec. A raw block is an IPLD bytes node.
pub fn decode(cid: &Cid, block: &[u8]) -> Result<Ipld, BackendError> {
    decode_as(cid.codec(), block)
        .map_err(|e| BackendError::InvalidInput(format!("block {cid} does not decode: {e}")))
}

/// Decodes bytes in `codec` (a document sent to `dag/put` with its `input-codec`).
pub fn decode_as(codec: u64, block: &[u8]) -> Result<Ipld, BackendError> {
    let bad =
        |e: String| BackendError::InvalidInput(format!("not valid {}: {e}", codec_name(codec)));
    match codec {
        RAW => Ok(Ipld::Bytes(block.to_vec())),
        DAG_PB => ipld_dagpb::to_ipld(block).map_err(|e| bad(e.to_string())),
        DAG_CBOR => serde_ipld_dagcbor::from_slice(block).map_err(|e| bad(e.to_string())),
        DAG_JSON => serde_ipld_dagjson::from_slice(block).map_err(|e| bad(e.to_string())),
        // plain JSON/CBOR: the same data model, where nothing is a link
        JSON => serde_json::from_slice::<serde_json::Value>(block)
            .map(json_to_ipld)
            .map_err(|e| bad(e.to_string())),
        CBOR => serde_ipld_dagcbor::from_slice(block).map_err(|e| bad(e.to_string())),
        other => Err(BackendError::InvalidInput(format!(
            "codec 0x{other:x} is not supported"
        ))),
    }
}

/// Plain JSON as IPLD (no `{"/": ...}` links: plain JSON has none).
fn json_to_ipld(v: serde_json::Value) -> Ipld {
    use serde_json::Value;
    match v {
        Value::Null => Ipld::Null,
        Value::Bool(b) => Ipld::Bool(b),
        Value::Number(n) => match n.as_i64() {
            Some(i) => Ipld::Integer(i.into()),
            None => Ipld::Float(n.as_f64().unwrap_or(0.0)),
        },
        Value::String(s) => Ipld::String(s),
        Value::Array(a) => Ipld::List(a.into_iter().map(json_to_ipld).collect()),
        Value::Object(o) => Ipld::Map(o.into_iter().map(|(k, v)| (k, json_to_ipld(v))).collect()),
    }
}

/// Parses a dag-json document (the input of `dag put`).
pub fn parse_dag_json(input: &[u8]) -> Result<Ipld, BackendError> {
    serde_ipld_dagjson::from_slice(input)
        .map_err(|e| BackendError::InvalidInput(format!("invalid dag-json: {e}")))
}

/// Encodes a node in `codec`.
pub fn encode(node: &Ipld, codec: u64) -> Result<Vec<u8>, BackendError> {
    let bad = |e: String| {
        BackendError::InvalidInput(format!("cannot encode as {}: {e}", codec_name(codec)))
    };
    match codec {
        DAG_CBOR => serde_ipld_dagcbor::to_vec(node).map_err(|e| bad(e.to_string())),
        DAG_JSON => serde_ipld_dagjson::to_vec(node).map_err(|e| bad(e.to_string())),
        DAG_PB => ipld_dagpb::from_ipld(node).map_err(|e| bad(e.to_string())),
        JSON => serde_json::to_vec(&to_json(node)?).map_err(|e| bad(e.to_string())),
        CBOR => serde_ipld_dagcbor::to_vec(node).map_err(|e| bad(e.to_string())),
        other => Err(BackendError::InvalidInput(format!(
            "unsupported store codec {}",
            codec_name(other)
        ))),
    }
}

/// Every CID a block links to.
pub fn links(cid: &Cid, block: &[u8]) -> Result<Vec<Cid>, BackendError> {
    let mut out = Vec::new();
    match cid.codec() {
        RAW => {}
        DAG_PB => ipld_dagpb::links(block, &mut out).map_err(|e| {
            BackendError::InvalidInput(format!("block {cid} is not valid dag-pb: {e}"))
        })?,
        _ => decode(cid, block)?.references(&mut out),
    }
    Ok(out)
}

/// Renders a node as dag-json, embedded in our JSON responses.
pub fn to_json(node: &Ipld) -> Result<serde_json::Value, BackendError> {
    let bytes = serde_ipld_dagjson::to_vec(node)
        .map_err(|e| BackendError::Internal(format!("dag-json encoding failed: {e}")))?;
    serde_json::from_slice(&bytes)
        .map_err(|e| BackendError::Internal(format!("dag-json is not JSON: {e}")))
}

/// One step into `node`; `Ok(None)` when the segment does not exist.
pub fn step(node: &Ipld, is_dag_pb_root: bool, segment: &str) -> Option<Ipld> {
    if is_dag_pb_root && segment != "Data" && segment != "Links" {
        // dag-pb: a segment names a link
        let links = node.get("Links").ok()??;
        if let Ipld::List(links) = links {
            return links.iter().find_map(|l| {
                (l.get("Name").ok()?? == &Ipld::String(segment.to_string()))
                    .then(|| l.get("Hash").ok()?.cloned())?
            });
        }
        return None;
    }
    match node {
        Ipld::Map(m) => m.get(segment).cloned(),
        Ipld::List(l) => segment
            .parse::<usize>()
            .ok()
            .and_then(|i| l.get(i).cloned()),
        _ => None,
    }
}

/// Walks `path` from its root, loading each block it crosses with `load`; returns the last
/// CID reached, the node at the end and the path left inside that CID's block.
pub async fn walk_path<F, Fut>(
    path: &ContentPath,
    load: F,
) -> Result<(Cid, Ipld, Vec<String>), BackendError>
where
    F: Fn(Cid) -> Fut,
    Fut: std::future::Future<Output = Result<Bytes, BackendError>>,
{
    let mut cid = path.root;
    let mut node = decode(&cid, &load(cid).await?)?;
    let mut rem: Vec<String> = Vec::new();
    for segment in &path.segments {
        let at_pb_root = cid.codec() == DAG_PB && rem.is_empty();
        node = step(&node, at_pb_root, segment).ok_or_else(|| {
            BackendError::NotFound(format!("no link named {segment:?} under {cid}"))
        })?;
        rem.push(segment.clone());
        if let Ipld::Link(target) = node {
            cid = target;
            node = decode(&cid, &load(cid).await?)?;
            rem.clear();
        }
    }
    Ok((cid, node, rem))
}

/// `dag get`: the node at the end of `path`, as dag-json.
pub async fn dag_get<F, Fut>(path: &ContentPath, load: F) -> Result<serde_json::Value, BackendError>
where
    F: Fn(Cid) -> Fut,
    Fut: std::future::Future<Output = Result<Bytes, BackendError>>,
{
    to_json(&walk_path(path, load).await?.1)
}

/// `dag resolve`: the last CID on `path` and what is left of the path inside it.
pub async fn dag_resolve<F, Fut>(path: &ContentPath, load: F) -> Result<DagResolved, BackendError>
where
    F: Fn(Cid) -> Fut,
    Fut: std::future::Future<Output = Result<Bytes, BackendError>>,
{
    let (cid, _, rem) = walk_path(path, load).await?;
    Ok(DagResolved {
        cid,
        rem_path: rem.join("/"),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::backend::codec_from_name;

    #[test]
    fn dag_json_roundtrip_through_cbor_keeps_links() {
        let cid = "bafkreifzjut3te2nhyekklss27nh3k72ysco7y32koao5eei66wof36n5e";
        let doc = format!(r#"{{"a":{{"/":"{cid}"}},"n":[1,2]}}"#);
        let node = parse_dag_json(doc.as_bytes()).unwrap();
        let bytes = encode(&node, DAG_CBOR).unwrap();
        let block_cid = crate::unixfs::cid_of(cid::Version::V1, DAG_CBOR, &bytes);
        assert_eq!(decode(&block_cid, &bytes).unwrap(), node);
        assert_eq!(links(&block_cid, &bytes).unwrap()[0].to_string(), cid);
        assert_eq!(
            step(&node, false, "n").unwrap(),
            Ipld::List(vec![1.into(), 2.into()])
        );
        assert!(step(&node, false, "missing").is_none());
    }

    #[test]
    fn bad_codec_names_are_rejected() {
        assert!(codec_from_name("dag-foo").is_err());
        assert_eq!(codec_from_name("raw").unwrap(), RAW);
    }
}
