//! `block/put`, `block/get`, `block/stat`, `block/rm` in Kubo's shapes (options parsed as the
//! MCP routes parse them: `block::put_options`).

use super::{Call, all_lines, bytes, one};
use crate::backend::{BackendError, parse_cid};
use crate::controllers::{AppState, Result, block};
use actix_web::{HttpRequest, HttpResponse, web};
use serde_json::json;

fn the_cid(call: &Call) -> Result<cid::Cid> {
    Ok(parse_cid(
        call.arg("cid")?.trim().trim_start_matches("/ipfs/"),
    )?)
}

/// `block/put [cid-codec|format] [mhtype] [pin]`: the multipart file part is the block.
pub async fn put(
    req: HttpRequest,
    payload: web::Payload,
    state: web::Data<AppState>,
) -> Result<HttpResponse> {
    let call = Call::of(&req)?;
    super::require_multipart(&req, "the block (argument \"data\" is required)")?;
    let options = block::put_options(&call.options)?;
    let data = block::read_multipart(&req, payload).await?;
    let stat = state.model.node().block_put(data, options).await?;
    Ok(one(json!({"Key": stat.cid.to_string(), "Size": stat.size})))
}

pub async fn get(req: HttpRequest, state: web::Data<AppState>) -> Result<HttpResponse> {
    let cid = the_cid(&Call::of(&req)?)?;
    let data = state.model.block(&cid).await?;
    Ok(bytes("text/plain", Some(data.len() as u64)).body(data))
}

pub async fn stat(req: HttpRequest, state: web::Data<AppState>) -> Result<HttpResponse> {
    let cid = the_cid(&Call::of(&req)?)?;
    let stat = state.model.node().block_stat(&cid).await?;
    Ok(one(json!({"Key": stat.cid.to_string(), "Size": stat.size})))
}

/// `block/rm <cid>... [force] [quiet]`: one `{Hash, Error}` line per block, as Kubo answers
/// (its failures in `Error`; `force` makes a missing block no error).
pub async fn rm(req: HttpRequest, state: web::Data<AppState>) -> Result<HttpResponse> {
    let call = Call::of(&req)?;
    call.arg("cid")?;
    let force = call.flag("force", false)?;
    let quiet = call.flag("quiet", false)?;
    let mut out = Vec::new();
    for arg in &call.args {
        let cid = parse_cid(arg.trim().trim_start_matches("/ipfs/"))?;
        let error = match state.model.node().block_rm(&cid).await {
            Ok(()) => String::new(),
            Err(BackendError::NotFound(_)) if force => String::new(),
            Err(e) => e.to_string(),
        };
        // (a file cached whole stays cached: its bytes are still the ones its CID names)
        if error.is_empty() && quiet {
            continue;
        }
        out.push(json!({"Hash": cid.to_string(), "Error": error}));
    }
    Ok(all_lines(out))
}
