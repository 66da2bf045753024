//! `GET cache/stats` (per tier: items, bytes, limits, hits, misses, hit rate, evictions,
//! promotions, demotions) and `POST cache/clear` (all tiers, or `?tier=memory|disk`).

use super::error::ApiError;
use super::params::Args;
use super::{AppState, Result, envelope};
use crate::persistence::tiered::Tier;
use actix_web::{HttpRequest, HttpResponse, web};
use serde_json::json;
use std::collections::HashMap;

pub async fn stats(req: HttpRequest, state: web::Data<AppState>) -> Result<HttpResponse> {
    let cache = &state.model.cache;
    Ok(envelope::ok(
        &req,
        state.model.simulated(),
        json!({
            "tiers": cache.stats(),
            "backend_fetches": cache.backend_fetches(),
            "max_object_bytes": cache.max_object_bytes(),
        }),
    ))
}

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
