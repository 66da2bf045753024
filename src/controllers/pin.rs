//! `POST ipfs/pin/add`, `POST ipfs/pin/rm`, `GET ipfs/pin/ls` (and the aliases `ipfs/pin`,
//! `ipfs/unpin`, `ipfs/pins`). The CID comes from JSON `{cid}` or `?arg=` / `?cid=`.

use super::params::Args;
use super::{AppState, Result, envelope};
use crate::backend::PinFilter;
use actix_web::{HttpRequest, HttpResponse, web};
use serde_json::{Map, json};
use std::collections::HashMap;

const CID: &[&str] = &["cid", "arg"];

pub async fn add(
    req: HttpRequest,
    body: web::Bytes,
    query: web::Query<HashMap<String, String>>,
    state: web::Data<AppState>,
) -> Result<HttpResponse> {
    change(req, body, query, state, Change::Add).await
}

pub async fn rm(
    req: HttpRequest,
    body: web::Bytes,
    query: web::Query<HashMap<String, String>>,
    state: web::Data<AppState>,
) -> Result<HttpResponse> {
    change(req, body, query, state, Change::Remove).await
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
    let cid = args.cid(CID)?;
    let recursive = args.bool(&["recursive"], true)?;
    let pins = state
        .model
        .pin_change(&cid, recursive, change == Change::Add)
        .await?;
    let pins: Vec<String> = pins.iter().map(ToString::to_string).collect();
    let outcome = if change == Change::Add {
        "pinned"
    } else {
        "unpinned"
    };
    Ok(envelope::ok(
        &req,
        state.model.simulated(),
        json!({"cid": cid.to_string(), outcome: true, "recursive": recursive, "Pins": pins}),
    ))
}

pub async fn ls(
    req: HttpRequest,
    query: web::Query<HashMap<String, String>>,
    state: web::Data<AppState>,
) -> Result<HttpResponse> {
    let args = Args::query_only(query.into_inner());
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
    Ok(envelope::ok(
        &req,
        state.model.simulated(),
        json!({"count": list.len(), "pins": list, "Keys": keys}),
    ))
}
