//! `POST batch {calls: [{op, params}], max_concurrent, return_exceptions}`: several operations
//! ([`super::ops`]) in one request, run at most `max_concurrent` at a time, answered in the
//! order given.
//!
//! * Every call is checked before any runs: an unknown operation is a 400, and (with auth on) a
//!   call the caller's scopes do not allow is a 403, each naming the call's index, so a batch
//!   never half-runs because of a typo or a missing scope.
//! * `return_exceptions: true` (the default): each result is a success (`success: true`, the
//!   operation's fields) or the error body of that call, and the batch answers 200.
//! * `return_exceptions: false`: the first failure cancels the calls still running (their
//!   futures are dropped) and is the answer, with its own status and the call's `index`.
//! * Each call is counted in the stats and metrics under its operation's name (`batch:<op>`).

use super::error::ApiError;
use super::{AppState, Result, envelope, ops};
use actix_web::http::Method;
use actix_web::{HttpRequest, HttpResponse, web};
use futures_util::StreamExt;
use serde::Deserialize;
use serde_json::{Value, json};
use std::time::Instant;

/// Most calls in one batch.
pub const MAX_CALLS: usize = 1000;
/// Most calls run at once, whatever `max_concurrent` asks.
pub const MAX_CONCURRENT: usize = 64;
const DEFAULT_CONCURRENT: usize = 8;

#[derive(Deserialize, utoipa::ToSchema)]
pub struct Call {
    /// An operation name (`ipfs/add`, `ipfs/pin/add`, `cache/stats`, ...; `ipfs/` optional).
    pub op: String,
    /// Its arguments, as its route takes them in a JSON body.
    #[serde(default)]
    #[schema(value_type = Object)]
    pub params: Value,
}

#[derive(Deserialize, utoipa::ToSchema)]
pub struct Batch {
    pub calls: Vec<Call>,
    /// How many calls run at once (default 8, at most 64).
    pub max_concurrent: Option<usize>,
    /// Results for every call (default), or the first failure as the answer.
    pub return_exceptions: Option<bool>,
}

#[utoipa::path(post, path = "/api/v0/mcp/batch", tag = "system", request_body(content = Batch, content_type = "application/json"), responses(crate::controllers::openapi::answers::Json))]
pub async fn batch(
    req: HttpRequest,
    body: web::Json<Batch>,
    state: web::Data<AppState>,
) -> Result<HttpResponse> {
    let batch = body.into_inner();
    let principal = state
        .auth
        .options
        .enabled
        .then(|| super::authn::principal(&req, &state.auth))
        .flatten();
    let operation_id = envelope::meta(&req).operation_id;
    let fields = run(&state, &batch, principal.as_ref(), false, &operation_id).await?;
    Ok(envelope::ok(&req, state.model.simulated(), fields))
}

/// Checks every call, then runs them (the MCP `batch` tool's too). `local`: a caller trusted
/// without credentials (MCP over stdio).
pub async fn run(
    state: &AppState,
    batch: &Batch,
    principal: Option<&crate::models::auth::Principal>,
    local: bool,
    operation_id: &str,
) -> Result<Value> {
    let planned = plan(state, batch, principal, local)?;
    let concurrent = batch
        .max_concurrent
        .unwrap_or(DEFAULT_CONCURRENT)
        .clamp(1, MAX_CONCURRENT);
    let keep_going = batch.return_exceptions.unwrap_or(true);
    // the calls' futures (lazy: none runs before the stream polls it), held by value so the
    // stream's type names no closure (a closure's borrowed arguments defeat the `Send` proof
    // of the MCP tool's future)
    let calls: Vec<_> = planned
        .into_iter()
        .enumerate()
        .map(|(index, (op, params))| call(state, index, op, params))
        .collect();
    let mut running = futures_util::stream::iter(calls).buffer_unordered(concurrent);
    let mut results: Vec<Option<Value>> = vec![None; batch.calls.len()];
    while let Some((index, op, outcome)) = running.next().await {
        results[index] = Some(match outcome {
            Ok(fields) => {
                let mut out = json!({"success": true, "op": op.name});
                if let (Value::Object(out), Value::Object(fields)) = (&mut out, fields) {
                    out.extend(fields);
                }
                out
            }
            Err(e) if keep_going => e.body(operation_id),
            Err(mut e) => {
                // dropping `running` cancels the calls still in flight
                e.message = format!("call {index} ({}): {}", op.name, e.message);
                return Err(e);
            }
        });
    }
    let results: Vec<Value> = results.into_iter().map(Option::unwrap_or_default).collect();
    let failed = results.iter().filter(|r| r["success"] == false).count();
    Ok(json!({"count": results.len(), "failed": failed, "results": results}))
}

/// Each call's operation, checked against the caller's scopes, before anything runs.
fn plan(
    state: &AppState,
    batch: &Batch,
    principal: Option<&crate::models::auth::Principal>,
    local: bool,
) -> Result<Vec<(&'static ops::Op, Value)>> {
    if batch.calls.is_empty() || batch.calls.len() > MAX_CALLS {
        return Err(ApiError::bad_request(format!(
            "calls must hold 1 to {MAX_CALLS} calls, not {}",
            batch.calls.len()
        )));
    }
    let check = state.auth.options.enabled && !local;
    let mut planned = Vec::with_capacity(batch.calls.len());
    for (index, call) in batch.calls.iter().enumerate() {
        let op = ops::find(&call.op).ok_or_else(|| {
            ApiError::new(
                actix_web::http::StatusCode::BAD_REQUEST,
                "unknown_operation",
                format!("call {index}: no operation {:?}", call.op),
            )
        })?;
        if check {
            let access = crate::startup::access_of(op.route);
            state.auth.authorize(access, principal).map_err(|e| {
                let mut e = ApiError::from(e);
                e.message = format!("call {index} ({}): {}", op.name, e.message);
                e
            })?;
        }
        planned.push((op, call.params.clone()));
    }
    Ok(planned)
}

/// One call, counted under its operation's name; with its index, to put it in its place.
async fn call(
    state: &AppState,
    index: usize,
    op: &'static ops::Op,
    params: Value,
) -> (usize, &'static ops::Op, Result<Value>) {
    let started = Instant::now();
    let outcome = ops::run(state, op, &params).await;
    let took = started.elapsed();
    let status = outcome.as_ref().map_or_else(|e| e.status.as_u16(), |_| 200);
    let name = format!("batch:{}", op.name);
    if state.settings.telemetry.metrics {
        state
            .metrics
            .observe_request(&name, &Method::POST, status, took, 0, 0);
    }
    state
        .model
        .stats
        .record(&name, outcome.is_err(), 0, 0, took);
    (index, op, outcome)
}
