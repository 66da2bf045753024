//! `POST ipfs/name/publish`, `GET ipfs/name/resolve`, and the DHT routes
//! `GET ipfs/dht/findprovs`, `GET ipfs/dht/findpeer`.

use super::error::ApiError;
use super::params::Args;
use super::{AppState, Result, envelope};
use crate::backend::NamePublishOptions;
use actix_web::{HttpRequest, HttpResponse, web};
use serde_json::json;
use std::collections::HashMap;
use std::time::Duration;

fn duration(args: &Args, names: &[&str], default: Duration) -> Result<Duration> {
    match args.str(names) {
        None => Ok(default),
        Some(s) => humantime::parse_duration(&s)
            .map_err(|e| ApiError::bad_request(format!("{}: {e} (e.g. 24h, 90m)", names[0]))),
    }
}

pub async fn publish(
    req: HttpRequest,
    body: web::Bytes,
    query: web::Query<HashMap<String, String>>,
    state: web::Data<AppState>,
) -> Result<HttpResponse> {
    let args = Args::from_request(&req, &body, query.into_inner())?;
    let value = args.required(&["path", "arg", "cid", "value"])?;
    let defaults = NamePublishOptions::default();
    let options = NamePublishOptions {
        key: args.str(&["key"]).unwrap_or(defaults.key),
        lifetime: duration(&args, &["lifetime"], defaults.lifetime)?,
        ttl: duration(&args, &["ttl"], defaults.ttl)?,
    };
    let published = state.model.node().name_publish(&value, options).await?;
    Ok(envelope::ok(
        &req,
        state.model.simulated(),
        json!({"name": published.name, "value": published.value,
               "Name": published.name, "Value": published.value}),
    ))
}

pub async fn resolve(
    req: HttpRequest,
    query: web::Query<HashMap<String, String>>,
    state: web::Data<AppState>,
) -> Result<HttpResponse> {
    let args = Args::query_only(query.into_inner());
    let name = args.required(&["name", "arg"])?;
    let path = state.model.node().name_resolve(&name).await?;
    Ok(envelope::ok(
        &req,
        state.model.simulated(),
        json!({"name": name, "path": path, "Path": path}),
    ))
}

pub async fn findprovs(
    req: HttpRequest,
    query: web::Query<HashMap<String, String>>,
    state: web::Data<AppState>,
) -> Result<HttpResponse> {
    let args = Args::query_only(query.into_inner());
    let cid = args.cid(&["cid", "arg"])?;
    let limit = args.u64(&["num-providers", "limit"])?.unwrap_or(20) as usize;
    let providers = state.model.node().find_providers(&cid, limit).await?;
    Ok(envelope::ok(
        &req,
        state.model.simulated(),
        json!({"cid": cid.to_string(), "count": providers.len(), "providers": providers,
               "Responses": providers}),
    ))
}

pub async fn findpeer(
    req: HttpRequest,
    query: web::Query<HashMap<String, String>>,
    state: web::Data<AppState>,
) -> Result<HttpResponse> {
    let args = Args::query_only(query.into_inner());
    let peer_id = args.required(&["peer_id", "arg"])?;
    let peer = state.model.node().find_peer(&peer_id).await?;
    Ok(envelope::ok(
        &req,
        state.model.simulated(),
        json!({"peer": peer, "Responses": [peer]}),
    ))
}
