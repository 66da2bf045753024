//! `POST ipfs/pin/add`, `POST ipfs/pin/rm`, `GET ipfs/pin/ls` (and the aliases `ipfs/pin`,
//! `ipfs/unpin`, `ipfs/pins`). The CID comes from JSON `{cid}` or `?arg=` / `?cid=`.

use super::params::Args;
use super::{AppState, Result, envelope};
use crate::backend::PinFilter;
use actix_web::{HttpRequest, HttpResponse, web};
use serde_json::{Map, Value, json};
use std::collections::HashMap;

const CID: &[&str] = &["cid", "arg"];

#[utoipa::path(post, path = "/api/v0/mcp/ipfs/pin/add", tag = "pins", params(crate::controllers::openapi::args::PinArgs), request_body(content = Option<crate::controllers::openapi::args::PinArgs>, content_type = "application/json"), responses(crate::controllers::openapi::answers::Json))]
pub async fn add(
    req: HttpRequest,
    body: web::Bytes,
    query: web::Query<HashMap<String, String>>,
    state: web::Data<AppState>,
) -> Result<HttpResponse> {
    change(req, body, query, state, Change::Add).await
}

#[utoipa::path(post, path = "/api/v0/mcp/ipfs/pin/rm", tag = "pins", params(crate::controllers::openapi::args::PinArgs), request_body(content = Option<crate::controllers::openapi::args::PinArgs>, content_type = "application/json"), responses(crate::controllers::openapi::answers::Json))]
pub async fn rm(
    req: HttpRequest,
    body: web::Bytes,
    query: web::Query<HashMap<String, String>>,
    state: web::Data<AppState>,
) -> Result<HttpResponse> {
    change(req, body, query, state, Change::Remove).await
}

/// `POST ipfs/pin`: as `ipfs/pin/add`.
#[utoipa::path(post, path = "/api/v0/mcp/ipfs/pin", tag = "pins", params(crate::controllers::openapi::args::PinArgs), request_body(content = Option<crate::controllers::openapi::args::PinArgs>, content_type = "application/json"), responses(crate::controllers::openapi::answers::Json))]
pub async fn add_alias(
    req: HttpRequest,
    body: web::Bytes,
    query: web::Query<HashMap<String, String>>,
    state: web::Data<AppState>,
) -> Result<HttpResponse> {
    add(req, body, query, state).await
}

/// `POST ipfs/unpin`: as `ipfs/pin/rm`.
#[utoipa::path(post, path = "/api/v0/mcp/ipfs/unpin", tag = "pins", params(crate::controllers::openapi::args::PinArgs), request_body(content = Option<crate::controllers::openapi::args::PinArgs>, content_type = "application/json"), responses(crate::controllers::openapi::answers::Json))]
pub async fn rm_alias(
    req: HttpRequest,
    body: web::Bytes,
    query: web::Query<HashMap<String, String>>,
    state: web::Data<AppState>,
) -> Result<HttpResponse> {
    rm(req, body, query, state).await
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Change {
    Add,
    Remove,
}

async fn change(
    req: HttpRequest,
    body: web::Bytes,
    query: web::Query<HashMap<String, String>>,
    state: web::Data<AppState>,
    change: Change,
) -> Result<HttpResponse> {
    let args = Args::from_request(&req, &body, query.into_inner())?;
    let fields = pin_op(&state, &args, change == Change::Add).await?;
    let cid = fields["cid"].as_str().unwrap_or_default().to_string();
    let mut res = envelope::ok(&req, state.model.simulated(), fields);
    // the CID may have come in the body, which the audit middleware does not read
    super::authn::audit_cid(&mut res, cid);
    Ok(res)
}

/// Pins (`add`) or unpins `cid` (`recursive`, default true): the operation behind
/// `ipfs/pin/add|rm`, batch's and the MCP tools'.
pub(crate) async fn pin_op(state: &AppState, args: &Args, add: bool) -> Result<Value> {
    let cid = args.cid(CID)?;
    let recursive = args.bool(&["recursive"], true)?;
    let pins = state.model.pin_change(&cid, recursive, add).await?;
    let pins: Vec<String> = pins.iter().map(ToString::to_string).collect();
    let outcome = if add { "pinned" } else { "unpinned" };
    Ok(json!({"cid": cid.to_string(), outcome: true, "recursive": recursive, "Pins": pins}))
}

#[utoipa::path(
    get,
    path = "/api/v0/mcp/ipfs/pin/ls",
    tag = "pins",
    params(crate::controllers::openapi::args::PinLsArgs),
    responses(crate::controllers::openapi::answers::Json)
)]
pub async fn ls(
    req: HttpRequest,
    query: web::Query<HashMap<String, String>>,
    state: web::Data<AppState>,
) -> Result<HttpResponse> {
    let args = Args::query_only(query.into_inner());
    let fields = ls_op(&state, &args).await?;
    Ok(envelope::ok(&req, state.model.simulated(), fields))
}

/// The pins (of `cid` if given; `type` all|recursive|direct|indirect).
pub(crate) async fn ls_op(state: &AppState, args: &Args) -> Result<Value> {
    let cid = match args.str(CID) {
        Some(s) if !s.is_empty() => Some(args.cid(CID)?),
        _ => None,
    };
    let filter: PinFilter = args.str(&["type"]).unwrap_or_default().parse()?;
    let pins = state.model.node().pin_ls(cid.as_ref(), filter).await?;
    let mut keys = Map::new();
    let list: Vec<_> = pins
        .iter()
        .map(|p| {
            keys.insert(p.cid.to_string(), json!({"Type": p.kind.as_str()}));
            json!({"cid": p.cid.to_string(), "type": p.kind.as_str()})
        })
        .collect();
    Ok(json!({"count": list.len(), "pins": list, "Keys": keys}))
}

/// `GET ipfs/pins`: as `ipfs/pin/ls`.
#[utoipa::path(
    get,
    path = "/api/v0/mcp/ipfs/pins",
    tag = "pins",
    params(crate::controllers::openapi::args::PinLsArgs),
    responses(crate::controllers::openapi::answers::Json)
)]
pub async fn ls_alias(
    req: HttpRequest,
    query: web::Query<HashMap<String, String>>,
    state: web::Data<AppState>,
) -> Result<HttpResponse> {
    ls(req, query, state).await
}
