//! `GET cache/stats` (per tier: items, bytes, limits, hits, misses, hit rate, evictions,
//! promotions, demotions), `POST cache/clear` (all tiers, or `?tier=memory|disk`),
//! `GET cache/metadata?filter=..&sort=..&order=..&limit=..` and `GET cache/metadata/{cid}`.

use super::error::ApiError;
use super::params::Args;
use super::{AppState, Result, envelope};
use crate::backend::parse_cid;
use crate::persistence::metadata::query::{Field, Filter, Query};
use crate::persistence::tiered::Tier;
use actix_web::{HttpRequest, HttpResponse, web};
use serde_json::json;
use std::collections::HashMap;

#[utoipa::path(
    get,
    path = "/api/v0/mcp/cache/stats",
    tag = "cache",
    responses(crate::controllers::openapi::answers::Json)
)]
pub async fn stats(req: HttpRequest, state: web::Data<AppState>) -> Result<HttpResponse> {
    Ok(envelope::ok(
        &req,
        state.model.simulated(),
        stats_op(&state),
    ))
}

/// The tiers' counters and the metadata's state.
pub(crate) fn stats_op(state: &AppState) -> serde_json::Value {
    let cache = &state.model.cache;
    json!({
        "tiers": cache.stats(),
        "backend_fetches": cache.backend_fetches(),
        "max_object_bytes": cache.max_object_bytes(),
        "metadata": state.model.metadata.status(),
        "prewarm": *state.model.prewarm.lock(),
    })
}

#[utoipa::path(
    post,
    path = "/api/v0/mcp/cache/clear",
    tag = "cache",
    params(crate::controllers::openapi::args::ClearArgs),
    responses(crate::controllers::openapi::answers::Json)
)]
pub async fn clear(
    req: HttpRequest,
    body: web::Bytes,
    query: web::Query<HashMap<String, String>>,
    state: web::Data<AppState>,
) -> Result<HttpResponse> {
    let args = Args::from_request(&req, &body, query.into_inner())?;
    let tier = match args.str(&["tier"]).as_deref() {
        None | Some("" | "all") => None,
        Some("memory") => Some(Tier::Memory),
        Some("disk") => Some(Tier::Disk),
        Some(other) => {
            return Err(ApiError::bad_request(format!(
                "invalid tier {other:?}: expected memory, disk or all"
            )));
        }
    };
    state
        .model
        .cache
        .clear(tier)
        .map_err(crate::backend::BackendError::from)?;
    Ok(envelope::ok(
        &req,
        state.model.simulated(),
        json!({"cleared": tier.map_or("all", Tier::as_str)}),
    ))
}

/// Most rows one query may return.
const MAX_LIMIT: usize = 10_000;

fn parse_query(pairs: Vec<(String, String)>) -> Result<Query> {
    let mut q = Query::default();
    for (key, value) in pairs {
        match key.as_str() {
            "filter" => q.filters.push(
                value
                    .parse::<Filter>()
                    .map_err(|e| ApiError::bad_request(e.to_string()))?,
            ),
            "sort" => {
                q.sort = Field::parse(value.trim())
                    .map_err(|e| ApiError::bad_request(format!("sort: {e}")))?
            }
            "order" => {
                q.descending = match value.as_str() {
                    "desc" => true,
                    "asc" => false,
                    other => {
                        return Err(ApiError::bad_request(format!(
                            "invalid order {other:?}: expected asc or desc"
                        )));
                    }
                }
            }
            "limit" => {
                q.limit = value
                    .parse::<usize>()
                    .ok()
                    .filter(|&n| n <= MAX_LIMIT)
                    .ok_or_else(|| {
                        ApiError::bad_request(format!(
                            "limit must be an integer from 0 to {MAX_LIMIT}"
                        ))
                    })?
            }
            other => {
                return Err(ApiError::bad_request(format!(
                    "unknown parameter {other:?}; expected filter, sort, order or limit"
                )));
            }
        }
    }
    Ok(q)
}

#[utoipa::path(
    get,
    path = "/api/v0/mcp/cache/metadata",
    tag = "cache",
    params(crate::controllers::openapi::args::MetadataArgs),
    responses(crate::controllers::openapi::answers::Json)
)]
pub async fn metadata(
    req: HttpRequest,
    query: web::Query<Vec<(String, String)>>,
    state: web::Data<AppState>,
) -> Result<HttpResponse> {
    let fields = metadata_op(&state, query.into_inner())?;
    Ok(envelope::ok(&req, state.model.simulated(), fields))
}

/// The metadata rows matching `filter`s (repeatable), sorted (`sort`, `order`), at most `limit`.
pub(crate) fn metadata_op(
    state: &AppState,
    pairs: Vec<(String, String)>,
) -> Result<serde_json::Value> {
    let q = parse_query(pairs)?;
    let started = std::time::Instant::now();
    let result = state
        .model
        .metadata
        .query(&q)
        .map_err(|e| ApiError::bad_request(e.to_string()))?;
    Ok(json!({
        "count": result.rows.len(),
        "matched": result.matched,
        "query_ms": started.elapsed().as_secs_f64() * 1000.0,
        "rows": result.rows,
    }))
}

/// `GET cache/metadata/{cid}` (mounted as a prefix: the rest of the path is the CID).
#[utoipa::path(get, path = "/api/v0/mcp/cache/metadata/{cid}", tag = "cache", params(("cid" = String, Path, example = "bafkqaaa")), responses(crate::controllers::openapi::answers::Json))]
pub async fn metadata_row(req: HttpRequest, state: web::Data<AppState>) -> Result<HttpResponse> {
    if req.method() != actix_web::http::Method::GET {
        return Err(ApiError::new(
            actix_web::http::StatusCode::METHOD_NOT_ALLOWED,
            "method_not_allowed",
            format!("{} is not allowed on {}", req.method(), req.path()),
        ));
    }
    let raw = req.match_info().unprocessed().trim_start_matches('/');
    let cid = parse_cid(raw)?;
    match state.model.metadata.get(&cid) {
        Some(row) => Ok(envelope::ok(
            &req,
            state.model.simulated(),
            json!({"row": row}),
        )),
        None => Err(ApiError::new(
            actix_web::http::StatusCode::NOT_FOUND,
            "not_found",
            format!("no metadata for {cid}: it was never added, read or pinned here"),
        )),
    }
}
