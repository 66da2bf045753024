//! `dag/put`, `dag/get`, `dag/resolve`, `dag/import`, `dag/export`, `dag/stat` in Kubo's
//! shapes (options and the CAR import shared with the MCP routes: `controllers::dag`).

use super::{Call, all_lines, bytes, content_path, one};
use crate::backend::{ContentPath, codec_from_name, ipld};
use crate::controllers::error::ApiError;
use crate::controllers::{AppState, Result, block, dag};
use crate::models::{car, dag_walk};
use actix_web::{HttpRequest, HttpResponse, web};
use serde_json::json;

async fn path_arg(state: &AppState, call: &Call) -> Result<ContentPath> {
    Ok(content_path(state, call.arg("ref")?).await?.parse()?)
}

/// `dag/put [input-codec] [store-codec] [pin]`: the multipart file part is the document, in
/// `input-codec` (dag-json by default; kubo-rpc-client sends dag-cbor it encoded itself).
pub async fn put(
    req: HttpRequest,
    payload: web::Payload,
    state: web::Data<AppState>,
) -> Result<HttpResponse> {
    let call = Call::of(&req)?;
    super::require_multipart(&req, "the document (argument \"object data\" is required)")?;
    if let Some(hash) = call.options.str(&["hash"])
        && hash != "sha2-256"
    {
        return Err(ApiError::bad_request(format!(
            "hash {hash:?} is not supported: only sha2-256"
        )));
    }
    let options = dag::put_options(&call.options)?;
    // `input-enc` is Kubo's old name (ipfshttpclient sends it)
    let input = call
        .options
        .str(&["input-codec", "input-enc"])
        .unwrap_or_else(|| "dag-json".into());
    let data = block::read_multipart(&req, payload).await?;
    // the model stores dag-json documents: anything else is decoded and said in dag-json
    let document = match input.as_str() {
        "dag-json" | "json" => data,
        other => {
            let node = ipld::decode_as(codec_from_name(other)?, &data)?;
            serde_ipld_dagjson::to_vec(&node)
                .map_err(|e| ApiError::bad_request(format!("{other} document: {e}")))?
                .into()
        }
    };
    let cid = state.model.node().dag_put(document, options).await?;
    Ok(one(json!({"Cid": {"/": cid.to_string()}})))
}

/// `dag/get <path> [output-codec]`: the node, encoded (dag-json by default, or json).
pub async fn get(req: HttpRequest, state: web::Data<AppState>) -> Result<HttpResponse> {
    let call = Call::of(&req)?;
    let path = path_arg(&state, &call).await?;
    let codec = call
        .options
        .str(&["output-codec"])
        .unwrap_or_else(|| "dag-json".into());
    if codec != "dag-json" && codec != "json" {
        return Err(ApiError::bad_request(format!(
            "output-codec {codec:?}: dag-json or json only (read the block for its own bytes)"
        )));
    }
    let node = state.model.node().dag_get(&path).await?;
    Ok(one(node))
}

pub async fn resolve(req: HttpRequest, state: web::Data<AppState>) -> Result<HttpResponse> {
    let call = Call::of(&req)?;
    let path = path_arg(&state, &call).await?;
    let resolved = state.model.node().dag_resolve(&path).await?;
    Ok(one(
        json!({"Cid": {"/": resolved.cid.to_string()}, "RemPath": resolved.rem_path}),
    ))
}

/// `dag/import [pin-roots] [stats]`: one `{Root}` line per root (pinned unless
/// `pin-roots=false`), then `{Stats}` when asked.
pub async fn import(
    req: HttpRequest,
    payload: web::Payload,
    state: web::Data<AppState>,
) -> Result<HttpResponse> {
    let call = Call::of(&req)?;
    let pin = call.flag("pin-roots", true)?;
    let imported = dag::import_car(&req, payload, &state, pin).await?;
    let mut out: Vec<_> = imported
        .roots
        .iter()
        .map(|root| json!({"Root": {"Cid": {"/": root}, "PinErrorMsg": ""}}))
        .collect();
    if call.flag("stats", false)? {
        out.push(json!({"Stats": {"BlockCount": imported.blocks,
                                   "BlockBytesCount": imported.bytes}}));
    }
    Ok(all_lines(out))
}

/// `dag/export <cid>`: the DAG as a CARv1 stream (a missing root is an error first).
pub async fn export(req: HttpRequest, state: web::Data<AppState>) -> Result<HttpResponse> {
    let call = Call::of(&req)?;
    let path = path_arg(&state, &call).await?;
    let cid = state.model.resolve(&path).await?.cid;
    let stream = car::export(
        state.model.backend(),
        ContentPath::new(cid),
        Default::default(),
    );
    Ok(bytes("application/vnd.ipld.car", None).streaming(stream))
}

/// `dag/stat <root>...`: the distinct blocks of each DAG and their total size.
pub async fn stat(req: HttpRequest, state: web::Data<AppState>) -> Result<HttpResponse> {
    let call = Call::of(&req)?;
    call.arg("root")?;
    let mut per_dag = Vec::new();
    let (mut blocks, mut size) = (0, 0);
    for arg in &call.args {
        let path: ContentPath = content_path(&state, arg).await?.parse()?;
        let cid = state.model.resolve(&path).await?.cid;
        let total = dag_walk::size(state.model.backend(), cid).await?;
        blocks += total.blocks;
        size += total.size;
        per_dag.push(json!({"Cid": {"/": cid.to_string()}, "Size": total.size,
                            "NumBlocks": total.blocks}));
    }
    Ok(one(json!({
        "Size": size, "NumBlocks": blocks, "TotalSize": size, "DagStats": per_dag,
    })))
}
