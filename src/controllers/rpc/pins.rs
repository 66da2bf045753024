//! `pin/add`, `pin/rm`, `pin/ls`, `pin/update`, `pin/verify` in Kubo's shapes. Pin changes
//! go through the model, so the metadata's pinned flags follow them as for the MCP routes.

use super::{Call, all_lines, content_path, lines, one};
use crate::backend::{ContentPath, PinFilter, PinKind};
use crate::controllers::error::ApiError;
use crate::controllers::{AppState, Result};
use crate::models::dag_walk;
use actix_web::{HttpRequest, HttpResponse, web};
use cid::Cid;
use futures_util::StreamExt;
use serde_json::json;

/// Each `arg` resolved to the CID it names (paths and `/ipns/` names too).
async fn cids(state: &AppState, call: &Call) -> Result<Vec<Cid>> {
    call.arg("ipfs-path")?;
    let mut out = Vec::new();
    for arg in &call.args {
        let path: ContentPath = content_path(state, arg).await?.parse()?;
        out.push(if path.segments.is_empty() {
            path.root
        } else {
            state.model.resolve(&path).await?.cid
        });
    }
    Ok(out)
}

fn pins_object(pins: &[Cid]) -> serde_json::Value {
    let pins: Vec<String> = pins.iter().map(ToString::to_string).collect();
    json!({ "Pins": pins })
}

async fn change(req: HttpRequest, state: web::Data<AppState>, add: bool) -> Result<HttpResponse> {
    let call = Call::of(&req)?;
    let recursive = call.flag("recursive", true)?;
    let mut changed = Vec::new();
    for cid in cids(&state, &call).await? {
        state.model.pin_change(&cid, recursive, add).await?;
        changed.push(cid);
    }
    // one object, whatever the number of args (ipfshttpclient reads exactly one)
    Ok(one(pins_object(&changed)))
}

pub async fn add(req: HttpRequest, state: web::Data<AppState>) -> Result<HttpResponse> {
    change(req, state, true).await
}

pub async fn rm(req: HttpRequest, state: web::Data<AppState>) -> Result<HttpResponse> {
    change(req, state, false).await
}

/// `pin/update <from> <to> [unpin=true]`: pins `to` recursively, then unpins `from`.
pub async fn update(req: HttpRequest, state: web::Data<AppState>) -> Result<HttpResponse> {
    let call = Call::of(&req)?;
    let found = cids(&state, &call).await?;
    let [from, to] = found[..] else {
        return Err(ApiError::bad_request(
            "pin/update takes two arguments: the old and the new path",
        ));
    };
    let pinned = state
        .model
        .node()
        .pin_ls(Some(&from), PinFilter::All)
        .await?;
    if !pinned.iter().any(|p| p.kind == PinKind::Recursive) {
        return Err(ApiError::bad_request(format!(
            "{from} is not pinned recursively: pin/update moves a recursive pin"
        )));
    }
    state.model.pin_change(&to, true, true).await?;
    if call.flag("unpin", true)? && from != to {
        state.model.pin_change(&from, true, false).await?;
    }
    Ok(one(pins_object(&[from, to])))
}

/// `pin/ls [arg...] [type] [stream]`: `{Keys: {cid: {Type}}}`, or one `{Cid, Type}` line per
/// pin with `stream=true`.
pub async fn ls(req: HttpRequest, state: web::Data<AppState>) -> Result<HttpResponse> {
    let call = Call::of(&req)?;
    let filter: PinFilter = call.options.str(&["type"]).unwrap_or_default().parse()?;
    let mut pins = Vec::new();
    if call.args.is_empty() {
        pins = state.model.node().pin_ls(None, filter).await?;
    } else {
        for cid in cids(&state, &call).await? {
            pins.extend(state.model.node().pin_ls(Some(&cid), filter).await?);
        }
    }
    if call.flag("stream", false)? {
        return Ok(all_lines(pins.iter().map(
            |p| json!({"Cid": p.cid.to_string(), "Type": p.kind.as_str()}),
        )));
    }
    let keys: serde_json::Map<_, _> = pins
        .iter()
        .map(|p| (p.cid.to_string(), json!({"Type": p.kind.as_str()})))
        .collect();
    Ok(one(json!({ "Keys": keys })))
}

/// `pin/verify [verbose] [quiet]`: walks every recursive pin's DAG; one line per pin that is
/// broken (with `verbose`, per pin), naming the blocks that cannot be read.
pub async fn verify(req: HttpRequest, state: web::Data<AppState>) -> Result<HttpResponse> {
    let call = Call::of(&req)?;
    let verbose = call.flag("verbose", false)?;
    let quiet = call.flag("quiet", false)?;
    let pins = state
        .model
        .node()
        .pin_ls(None, PinFilter::Only(PinKind::Recursive))
        .await?;
    let backend = state.model.backend();
    let results = futures_util::stream::iter(pins).filter_map(move |pin| {
        let backend = backend.clone();
        async move {
            let bad = dag_walk::broken(backend, pin.cid).await;
            if bad.is_empty() && !verbose {
                return None;
            }
            let cid = pin.cid.to_string();
            Some(Ok(if quiet {
                json!({"Cid": cid})
            } else {
                let nodes: Vec<_> = bad
                    .iter()
                    .map(|(c, e)| json!({"Cid": c.to_string(), "Err": e.to_string()}))
                    .collect();
                json!({"Cid": cid, "Ok": bad.is_empty(), "BadNodes": nodes})
            }))
        }
    });
    lines(results.boxed_local()).await
}
