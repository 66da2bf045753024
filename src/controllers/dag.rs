//! `POST ipfs/dag/put`, `GET ipfs/dag/get/{path}`, `GET ipfs/dag/resolve/{path}`.

use super::params::Args;
use super::{AppState, Result, envelope};
use crate::backend::{ContentPath, DagPutOptions, codec_from_name};
use actix_web::{HttpRequest, HttpResponse, web};
use serde_json::json;
use std::collections::HashMap;

pub async fn put(
    req: HttpRequest,
    body: web::Bytes,
    query: web::Query<HashMap<String, String>>,
    state: web::Data<AppState>,
) -> Result<HttpResponse> {
    let args = Args::from_request(&req, &body, query.into_inner())?;
    let object = args
        .value("object")
        .ok_or_else(|| super::error::ApiError::missing_field("object"))?;
    let input = args
        .str(&["input_codec", "input-codec"])
        .unwrap_or_else(|| "dag-json".into());
    if input != "dag-json" && input != "json" {
        return Err(super::error::ApiError::bad_request(format!(
            "unsupported input codec {input:?}: expected dag-json"
        )));
    }
    let store = args
        .str(&["format", "store_codec", "store-codec"])
        .unwrap_or_else(|| "dag-cbor".into());
    let options = DagPutOptions {
        store_codec: codec_from_name(&store)?,
        pin: args.bool(&["pin"], false)?,
    };
    let document = serde_json::to_vec(object).expect("a JSON value serializes");
    let cid = state.model.node().dag_put(document.into(), options).await?;
    Ok(envelope::ok(
        &req,
        state.model.simulated(),
        json!({"cid": cid.to_string(), "Cid": {"/": cid.to_string()}}),
    ))
}

fn full_path(path: &str, query: &Args) -> Result<ContentPath> {
    let mut p: ContentPath = path.parse()?;
    if let Some(extra) = query.str(&["path"]) {
        p.segments.extend(
            extra
                .split('/')
                .filter(|s| !s.is_empty())
                .map(str::to_owned),
        );
    }
    Ok(p)
}

pub async fn get(
    req: HttpRequest,
    path: web::Path<String>,
    query: web::Query<HashMap<String, String>>,
    state: web::Data<AppState>,
) -> Result<HttpResponse> {
    let path = full_path(&path, &Args::query_only(query.into_inner()))?;
    let data = state.model.node().dag_get(&path).await?;
    Ok(envelope::ok(
        &req,
        state.model.simulated(),
        json!({"cid": path.root.to_string(), "path": path.to_string(), "data": data}),
    ))
}

pub async fn resolve(
    req: HttpRequest,
    path: web::Path<String>,
    query: web::Query<HashMap<String, String>>,
    state: web::Data<AppState>,
) -> Result<HttpResponse> {
    let path = full_path(&path, &Args::query_only(query.into_inner()))?;
    let resolved = state.model.node().dag_resolve(&path).await?;
    Ok(envelope::ok(
        &req,
        state.model.simulated(),
        json!({
            "cid": resolved.cid.to_string(),
            "Cid": {"/": resolved.cid.to_string()},
            "RemPath": resolved.rem_path,
        }),
    ))
}
