//! `POST ipfs/name/publish`, `GET ipfs/name/resolve`, `POST ipfs/routing/put` (a record
//! signed elsewhere, verified, stored), `GET ipfs/routing/get` (the signed record), and the
//! DHT routes `GET ipfs/dht/findprovs`, `GET ipfs/dht/findpeer`.

use super::error::ApiError;
use super::params::Args;
use super::{AppState, Result, envelope};
use crate::backend::NamePublishOptions;
use actix_web::{HttpRequest, HttpResponse, web};
use serde_json::{Value, json};
use std::collections::HashMap;
use std::time::Duration;

fn duration(args: &Args, names: &[&str], default: Duration) -> Result<Duration> {
    match args.str(names) {
        None => Ok(default),
        Some(s) => humantime::parse_duration(&s)
            .map_err(|e| ApiError::bad_request(format!("{}: {e} (e.g. 24h, 90m)", names[0]))),
    }
}

/// `name/publish`'s `key`, `lifetime` and `ttl` (the RPC API's `name/publish` shares them).
pub(crate) fn publish_options(args: &Args) -> Result<NamePublishOptions> {
    let defaults = NamePublishOptions::default();
    Ok(NamePublishOptions {
        key: args.str(&["key"]).unwrap_or(defaults.key),
        lifetime: duration(args, &["lifetime"], defaults.lifetime)?,
        ttl: duration(args, &["ttl"], defaults.ttl)?,
    })
}

#[utoipa::path(post, path = "/api/v0/mcp/ipfs/name/publish", tag = "names", params(crate::controllers::openapi::args::PublishArgs), request_body(content = Option<crate::controllers::openapi::args::PublishArgs>, content_type = "application/json"), responses(crate::controllers::openapi::answers::Json))]
pub async fn publish(
    req: HttpRequest,
    body: web::Bytes,
    query: web::Query<HashMap<String, String>>,
    state: web::Data<AppState>,
) -> Result<HttpResponse> {
    let args = Args::from_request(&req, &body, query.into_inner())?;
    let fields = publish_op(&state, &args).await?;
    let value = fields["value"].as_str().unwrap_or_default().to_string();
    let mut res = envelope::ok(&req, state.model.simulated(), fields);
    super::authn::audit_cid(&mut res, value);
    Ok(res)
}

/// Publishes `path` under the node's key (or `key`).
pub(crate) async fn publish_op(state: &AppState, args: &Args) -> Result<Value> {
    let value = args.required(&["path", "arg", "cid", "value"])?;
    let options = publish_options(args)?;
    let published = state.model.node().name_publish(&value, options).await?;
    Ok(json!({"name": published.name, "value": published.value,
              "Name": published.name, "Value": published.value}))
}

#[utoipa::path(
    get,
    path = "/api/v0/mcp/ipfs/name/resolve",
    tag = "names",
    params(crate::controllers::openapi::args::NameArgs),
    responses(crate::controllers::openapi::answers::Json)
)]
pub async fn resolve(
    req: HttpRequest,
    query: web::Query<HashMap<String, String>>,
    state: web::Data<AppState>,
) -> Result<HttpResponse> {
    let args = Args::query_only(query.into_inner());
    Ok(envelope::ok(
        &req,
        state.model.simulated(),
        resolve_op(&state, &args).await?,
    ))
}

/// The path an IPNS name points to.
pub(crate) async fn resolve_op(state: &AppState, args: &Args) -> Result<Value> {
    let name = args.required(&["name", "arg"])?;
    let name = name.strip_prefix("/ipns/").unwrap_or(&name).to_string();
    let path = state.model.node().name_resolve(&name).await?;
    Ok(json!({"name": name, "path": path, "Path": path}))
}

/// GET with the query string, or POST with the same fields as JSON (the seed's shape).
#[utoipa::path(
    method(get, post),
    path = "/api/v0/mcp/ipfs/dht/findprovs",
    tag = "names",
    params(crate::controllers::openapi::args::FindProvsArgs),
    responses(crate::controllers::openapi::answers::Json)
)]
pub async fn findprovs(
    req: HttpRequest,
    body: web::Bytes,
    query: web::Query<HashMap<String, String>>,
    state: web::Data<AppState>,
) -> Result<HttpResponse> {
    let args = Args::from_request(&req, &body, query.into_inner())?;
    Ok(envelope::ok(
        &req,
        state.model.simulated(),
        findprovs_op(&state, &args).await?,
    ))
}

/// Who provides `cid` (at most `num_providers`, default 20).
pub(crate) async fn findprovs_op(state: &AppState, args: &Args) -> Result<Value> {
    let cid = args.cid(&["cid", "arg"])?;
    let limit = args
        .u64(&["num_providers", "num-providers", "limit"])?
        .unwrap_or(20) as usize;
    let providers = state.model.node().find_providers(&cid, limit).await?;
    Ok(
        json!({"cid": cid.to_string(), "count": providers.len(), "providers": providers,
              "Responses": providers}),
    )
}

/// GET with the query string, or POST with the same fields as JSON (the seed's shape).
#[utoipa::path(
    method(get, post),
    path = "/api/v0/mcp/ipfs/dht/findpeer",
    tag = "names",
    params(crate::controllers::openapi::args::FindPeerArgs),
    responses(crate::controllers::openapi::answers::Json)
)]
pub async fn findpeer(
    req: HttpRequest,
    body: web::Bytes,
    query: web::Query<HashMap<String, String>>,
    state: web::Data<AppState>,
) -> Result<HttpResponse> {
    let args = Args::from_request(&req, &body, query.into_inner())?;
    Ok(envelope::ok(
        &req,
        state.model.simulated(),
        findpeer_op(&state, &args).await?,
    ))
}

/// A peer's addresses.
pub(crate) async fn findpeer_op(state: &AppState, args: &Args) -> Result<Value> {
    let peer_id = args.required(&["peer_id", "arg"])?;
    let peer = state.model.node().find_peer(&peer_id).await?;
    Ok(json!({"peer": peer, "Responses": [peer]}))
}

/// The `/ipns/<name>` key of Kubo's `routing put|get` (`arg`), or a bare name.
pub(crate) fn ipns_key(args: &Args) -> Result<String> {
    let key = args.required(&["arg", "key", "name"])?;
    match key.strip_prefix("/ipns/") {
        Some(name) => Ok(name.to_string()),
        None if key.starts_with('/') => Err(ApiError::bad_request(format!(
            "{key}: only /ipns/ records can be put or got"
        ))),
        None => Ok(key),
    }
}

/// `POST ipfs/routing/put?arg=/ipns/<name>`: the record as the multipart file or the raw
/// body. Verified (signature, key, V1/V2 agreement, expiry) before the backend stores it.
#[utoipa::path(post, path = "/api/v0/mcp/ipfs/routing/put", tag = "names", params(crate::controllers::openapi::args::RoutingArgs), request_body(content((crate::controllers::openapi::Binary = "application/octet-stream"), (crate::controllers::openapi::args::AddForm = "multipart/form-data")), description = "A signed IPNS record"), responses(crate::controllers::openapi::answers::Json))]
pub async fn routing_put(
    req: HttpRequest,
    payload: web::Payload,
    query: web::Query<HashMap<String, String>>,
    state: web::Data<AppState>,
) -> Result<HttpResponse> {
    let args = Args::query_only(query.into_inner());
    let name = ipns_key(&args)?;
    let limit = crate::backend::ipns_record::MAX_RECORD_BYTES;
    let record = if super::request::content_type(&req).starts_with("multipart/form-data") {
        super::block::read_multipart(&req, payload).await?
    } else {
        super::add::read_limited(payload, limit).await?
    };
    state.model.node().name_put(&name, record).await?;
    let peer = crate::backend::ipns_record::parse_name(&name)?;
    Ok(envelope::ok(
        &req,
        state.model.simulated(),
        json!({"name": crate::backend::ipns_record::ipns_name(&peer), "stored": true}),
    ))
}

/// `GET ipfs/routing/get?arg=/ipns/<name>`: the signed record, base64 in the envelope.
#[utoipa::path(
    get,
    path = "/api/v0/mcp/ipfs/routing/get",
    tag = "names",
    params(crate::controllers::openapi::args::RoutingArgs),
    responses(crate::controllers::openapi::answers::Json)
)]
pub async fn routing_get(
    req: HttpRequest,
    query: web::Query<HashMap<String, String>>,
    state: web::Data<AppState>,
) -> Result<HttpResponse> {
    use base64::Engine;
    let args = Args::query_only(query.into_inner());
    let name = ipns_key(&args)?;
    let record = state.model.node().name_record(&name).await?;
    Ok(envelope::ok(
        &req,
        state.model.simulated(),
        json!({"name": name, "record": base64::engine::general_purpose::STANDARD.encode(&record)}),
    ))
}
