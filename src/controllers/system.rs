//! `GET health` (also `/api/v0/health`), `GET debug`, `GET operations`, and the JSON 404/405
//! for unknown routes and methods.

use super::error::ApiError;
use super::{AppState, Result, envelope};
use actix_web::{HttpRequest, HttpResponse, web};
use serde_json::json;
use std::collections::HashMap;

#[utoipa::path(
    get,
    path = "/api/v0/health",
    tag = "system",
    responses(crate::controllers::openapi::answers::Json)
)]
pub async fn health(req: HttpRequest, state: web::Data<AppState>) -> Result<HttpResponse> {
    let (mut status, backend) = state.model.health().await;
    let metadata = state.model.metadata.status();
    // lost metadata is worth an operator's attention, not an outage
    if !metadata.quarantined.is_empty() && status == crate::models::health::HealthStatus::Ok {
        status = crate::models::health::HealthStatus::Degraded;
    }
    Ok(envelope::ok(
        &req,
        state.model.simulated(),
        json!({
            "status": status,
            "version": env!("CARGO_PKG_VERSION"),
            "uptime_seconds": state.model.uptime().as_secs_f64(),
            "backend": {
                "kind": state.model.node().kind().as_str(),
                "state": backend.state,
                "detail": backend.detail,
                "breaker": backend.breaker,
            },
            "data_dir": state.model.data_dir().map(|d| d.display().to_string()),
            "isolation": state.settings.server.isolation,
            "memory": state.model.memory(),
            "storage": {
                "metadata_rows": metadata.rows,
                "metadata_last_flush_error": metadata.last_flush_error,
                "quarantined": metadata.quarantined,
            },
        }),
    ))
}

/// `GET /api/v0/mcp/health`: as `/api/v0/health`.
#[utoipa::path(
    get,
    path = "/api/v0/mcp/health",
    tag = "system",
    responses(crate::controllers::openapi::answers::Json)
)]
pub async fn health_mcp(req: HttpRequest, state: web::Data<AppState>) -> Result<HttpResponse> {
    health(req, state).await
}

fn require_debug(state: &AppState) -> Result<()> {
    if state.settings.server.debug {
        Ok(())
    } else {
        Err(ApiError::forbidden(
            "debug endpoints are disabled; start the server with --debug",
        ))
    }
}

#[utoipa::path(
    get,
    path = "/api/v0/mcp/debug",
    tag = "system",
    responses(crate::controllers::openapi::answers::Json)
)]
pub async fn debug(req: HttpRequest, state: web::Data<AppState>) -> Result<HttpResponse> {
    require_debug(&state)?;
    Ok(envelope::ok(
        &req,
        state.model.simulated(),
        json!({
            "settings": state.settings,
            "process": {
                "pid": std::process::id(),
                "rss_bytes": crate::models::memory::rss_bytes(),
                "uptime_seconds": state.model.uptime().as_secs_f64(),
            },
            "operations_capacity": state.model.operations.capacity(),
        }),
    ))
}

#[utoipa::path(
    get,
    path = "/api/v0/mcp/operations",
    tag = "system",
    params(crate::controllers::openapi::args::OperationsArgs),
    responses(crate::controllers::openapi::answers::Json)
)]
pub async fn operations(
    req: HttpRequest,
    query: web::Query<HashMap<String, String>>,
    state: web::Data<AppState>,
) -> Result<HttpResponse> {
    require_debug(&state)?;
    let limit = query
        .get("limit")
        .map(|l| l.parse::<usize>())
        .transpose()
        .map_err(|_| ApiError::bad_request("limit must be a non-negative integer"))?
        .unwrap_or(100);
    let ops = state.model.operations.recent(limit);
    Ok(envelope::ok(
        &req,
        state.model.simulated(),
        json!({"count": ops.len(), "operations": ops}),
    ))
}

/// Default service. Actix also routes here when a path matched but the method did not; that
/// case is a 405.
pub async fn not_found(req: HttpRequest) -> Result<HttpResponse> {
    if let Some(pattern) = req.match_pattern() {
        return Err(ApiError::new(
            actix_web::http::StatusCode::METHOD_NOT_ALLOWED,
            "method_not_allowed",
            format!("{} is not allowed on {pattern}", req.method()),
        ));
    }
    Err(ApiError::new(
        actix_web::http::StatusCode::NOT_FOUND,
        "not_found",
        format!("no route for {} {}", req.method(), req.path()),
    ))
}

/// `GET /metrics`: Prometheus' text exposition format (see `crate::metrics`).
#[utoipa::path(
    get,
    path = "/metrics",
    tag = "system",
    responses(crate::controllers::openapi::answers::Metrics)
)]
pub async fn metrics(state: web::Data<AppState>) -> Result<HttpResponse> {
    if !state.settings.telemetry.metrics {
        return Err(ApiError::new(
            actix_web::http::StatusCode::NOT_FOUND,
            "metrics_disabled",
            "metrics are off (telemetry.metrics = false)",
        ));
    }
    Ok(HttpResponse::Ok()
        .content_type("text/plain; version=0.0.4; charset=utf-8")
        .body(state.metrics.render()))
}
