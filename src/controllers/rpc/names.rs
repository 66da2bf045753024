//! `name/publish`, `name/resolve`, and the routing commands (`routing/*`, and the old `dht/*`
//! names of the same commands) in Kubo's shapes: routing answers are go-libp2p query events
//! (`Type` 2 a found peer, 4 a provider, 5 a value).

use super::{Call, all_lines, one};
use crate::backend::{PeerInfo, parse_cid};
use crate::controllers::{AppState, Result, block, name};
use actix_web::{HttpRequest, HttpResponse, web};
use serde_json::{Value, json};

const FINAL_PEER: u8 = 2;
const PROVIDER: u8 = 4;
const VALUE: u8 = 5;

fn event(kind: u8, responses: Option<&[PeerInfo]>, extra: &str) -> Value {
    let responses = responses.map(|peers| {
        peers
            .iter()
            .map(|p| json!({"ID": p.id, "Addrs": p.addrs}))
            .collect::<Vec<_>>()
    });
    json!({"ID": "", "Type": kind, "Responses": responses, "Extra": extra})
}

/// `name/publish <path> [key] [lifetime] [ttl]`.
pub async fn publish(req: HttpRequest, state: web::Data<AppState>) -> Result<HttpResponse> {
    let call = Call::of(&req)?;
    let value = call.arg("ipfs-path")?.to_string();
    let options = name::publish_options(&call.options)?;
    let published = state.model.node().name_publish(&value, options).await?;
    Ok(one(
        json!({"Name": published.name, "Value": published.value}),
    ))
}

/// `name/resolve <name> [stream]`: `{Path}` (one line when streamed).
pub async fn resolve(req: HttpRequest, state: web::Data<AppState>) -> Result<HttpResponse> {
    let call = Call::of(&req)?;
    let name = call.arg("name")?;
    let name = name.strip_prefix("/ipns/").unwrap_or(name);
    let path = state.model.node().name_resolve(name).await?;
    Ok(one(json!({ "Path": path })))
}

/// `routing/findprovs <cid> [num-providers]`: one provider event per provider.
pub async fn findprovs(req: HttpRequest, state: web::Data<AppState>) -> Result<HttpResponse> {
    let call = Call::of(&req)?;
    let cid = parse_cid(call.arg("key")?.trim().trim_start_matches("/ipfs/"))?;
    let limit = call.options.u64(&["num-providers"])?.unwrap_or(20) as usize;
    let providers = state.model.node().find_providers(&cid, limit).await?;
    Ok(all_lines(providers.iter().map(|p| {
        event(PROVIDER, Some(std::slice::from_ref(p)), "")
    })))
}

/// `routing/findpeer <peer id>`: the final-peer event with its addresses.
pub async fn findpeer(req: HttpRequest, state: web::Data<AppState>) -> Result<HttpResponse> {
    let call = Call::of(&req)?;
    let peer = state.model.node().find_peer(call.arg("peerID")?).await?;
    Ok(all_lines([event(FINAL_PEER, Some(&[peer]), "")]))
}

/// `routing/get /ipns/<name>`: the signed record, base64 in a value event's `Extra`.
pub async fn get(req: HttpRequest, state: web::Data<AppState>) -> Result<HttpResponse> {
    use base64::Engine;
    let call = Call::of(&req)?;
    let name = ipns_name(call.arg("key")?)?;
    let record = state.model.node().name_record(&name).await?;
    let extra = base64::engine::general_purpose::STANDARD.encode(&record);
    Ok(all_lines([event(VALUE, None, &extra)]))
}

/// `routing/put /ipns/<name>`: the multipart file part is the signed record (verified before
/// it is stored).
pub async fn put(
    req: HttpRequest,
    payload: web::Payload,
    state: web::Data<AppState>,
) -> Result<HttpResponse> {
    let call = Call::of(&req)?;
    let name = ipns_name(call.arg("key")?)?;
    super::require_multipart(&req, "the signed record")?;
    let record = block::read_multipart(&req, payload).await?;
    state.model.node().name_put(&name, record).await?;
    Ok(all_lines([event(VALUE, None, "")]))
}

/// The name of an `/ipns/<name>` routing key (the only records this node keeps).
fn ipns_name(key: &str) -> Result<String> {
    let args =
        crate::controllers::params::Args::query_only([("arg".to_string(), key.to_string())].into());
    name::ipns_key(&args)
}
