//! `id`, `version`, `repo/stat`, `stats/repo`, `stats/bw` in Kubo's shapes. `id` is the
//! backend node's identity (a real peer id; the simulation's is its own Ed25519 key) and
//! `version` says it is ipfs-mcp, with the node behind it beside.

use super::{Call, one};
use crate::controllers::error::ApiError;
use crate::controllers::{AppState, Result};
use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse, web};
use serde_json::json;

/// `id [peer]`: this node, or (another peer's id) what routing knows of it.
pub async fn id(req: HttpRequest, state: web::Data<AppState>) -> Result<HttpResponse> {
    let call = Call::of(&req)?;
    let node = state.model.node();
    let me = node.id().await?;
    if let Some(other) = call.args.first().filter(|a| **a != me.id) {
        let peer = node.find_peer(other).await?;
        return Ok(one(json!({"ID": peer.id, "Addresses": peer.addrs})));
    }
    let mut addresses = me.addresses.clone();
    if addresses.is_empty() {
        // no swarm (the simulation): the one address it has is this API's
        let local = req.app_config().local_addr();
        let family = if local.is_ipv6() { "ip6" } else { "ip4" };
        addresses.push(format!(
            "/{family}/{}/tcp/{}/http/p2p/{}",
            local.ip(),
            local.port(),
            me.id
        ));
    }
    Ok(one(json!({
        "ID": me.id,
        "PublicKey": me.public_key,
        "Addresses": addresses,
        "AgentVersion": format!("ipfs-mcp/{} ({})", env!("CARGO_PKG_VERSION"), me.agent_version),
        "ProtocolVersion": me.protocol_version,
        "Protocols": [],
    })))
}

/// `version`: ipfs-mcp's own version in Kubo's shape, the backend's beside it (when the node
/// answers: a node that is down does not make this fail).
pub async fn version(state: web::Data<AppState>) -> Result<HttpResponse> {
    let node = state.model.node();
    let backend = node.version().await.ok();
    Ok(one(json!({
        "Version": env!("CARGO_PKG_VERSION"),
        "Commit": "",
        "Repo": backend.as_ref().map(|v| v.repo.clone()).unwrap_or_default(),
        "System": format!("{}/{}", std::env::consts::ARCH, std::env::consts::OS),
        "Golang": "",
        "Implementation": "ipfs-mcp",
        "Backend": node.kind().as_str(),
        "BackendVersion": backend.map(|v| v.version),
    })))
}

/// `repo/stat` (also `stats/repo`): the node's repository.
pub async fn repo_stat(state: web::Data<AppState>) -> Result<HttpResponse> {
    let stats = state.model.node().stats().await?;
    let repo = stats.repo;
    Ok(one(json!({
        "NumObjects": repo.num_objects,
        "RepoSize": repo.repo_size,
        "StorageMax": repo.storage_max.unwrap_or(u64::MAX),
        "RepoPath": state.model.data_dir().map(|d| d.display().to_string()).unwrap_or_default(),
        "Version": format!("ipfs-mcp-{}", state.model.node().kind().as_str()),
    })))
}

/// `stats/bw`: the node's traffic. The simulation has no network, and says so.
pub async fn stats_bw(state: web::Data<AppState>) -> Result<HttpResponse> {
    let stats = state.model.node().stats().await?;
    let Some(bw) = stats.bandwidth else {
        return Err(ApiError::new(
            StatusCode::NOT_IMPLEMENTED,
            "not_supported",
            "this node has no network (the simulation backend): no bandwidth to report",
        ));
    };
    Ok(one(json!({
        "TotalIn": bw.total_in, "TotalOut": bw.total_out,
        "RateIn": bw.rate_in, "RateOut": bw.rate_out,
    })))
}
