//! `GET ipfs/id`, `GET ipfs/version`, `GET ipfs/stats`.

use super::{AppState, Result, envelope};
use actix_web::{HttpRequest, HttpResponse, web};
use serde_json::json;

#[utoipa::path(
    get,
    path = "/api/v0/mcp/ipfs/id",
    tag = "node",
    responses(crate::controllers::openapi::answers::Json)
)]
pub async fn id(req: HttpRequest, state: web::Data<AppState>) -> Result<HttpResponse> {
    Ok(envelope::ok(
        &req,
        state.model.simulated(),
        id_op(&state).await?,
    ))
}

/// The node's identity (batch's and the MCP tools' `id` too).
pub(crate) async fn id_op(state: &AppState) -> Result<serde_json::Value> {
    let id = state.model.node().id().await?;
    let mut fields = serde_json::to_value(&id).unwrap_or_default();
    fields["peer_id"] = id.id.clone().into();
    Ok(fields)
}

#[utoipa::path(
    get,
    path = "/api/v0/mcp/ipfs/version",
    tag = "node",
    responses(crate::controllers::openapi::answers::Json)
)]
pub async fn version(req: HttpRequest, state: web::Data<AppState>) -> Result<HttpResponse> {
    Ok(envelope::ok(
        &req,
        state.model.simulated(),
        version_op(&state).await?,
    ))
}

/// The node's version and this service's.
pub(crate) async fn version_op(state: &AppState) -> Result<serde_json::Value> {
    let v = state.model.node().version().await?;
    let mut fields = serde_json::to_value(&v).unwrap_or_default();
    fields["version"] = v.version.clone().into();
    fields["gateway_version"] = env!("CARGO_PKG_VERSION").into();
    fields["backend"] = state.model.node().kind().as_str().into();
    Ok(fields)
}

/// The gateway's own counters always; the node's (`repo/stat`, `stats/bw`) when it answers,
/// else the reason under `node_error` (the gateway's stats stay readable while the node is
/// down).
#[utoipa::path(
    get,
    path = "/api/v0/mcp/ipfs/stats",
    tag = "node",
    responses(crate::controllers::openapi::answers::Json)
)]
pub async fn stats(req: HttpRequest, state: web::Data<AppState>) -> Result<HttpResponse> {
    Ok(envelope::ok(
        &req,
        state.model.simulated(),
        stats_op(&state).await?,
    ))
}

/// The gateway's counters and the node's.
pub(crate) async fn stats_op(state: &AppState) -> Result<serde_json::Value> {
    let node = state.model.node();
    let (node_stats, node_error) = match node.stats().await {
        Ok(s) => (Some(s), None),
        Err(e) => (None, Some(e.to_string())),
    };
    Ok(json!({
        "uptime_seconds": state.model.uptime().as_secs_f64(),
        "backend": node.kind().as_str(),
        "operations": state.model.stats.snapshot(),
        "node": node_stats,
        "node_error": node_error,
        "breaker": node.breaker(),
    }))
}
