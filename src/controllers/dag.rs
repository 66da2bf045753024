//! `POST ipfs/dag/put`, `GET ipfs/dag/get/{path}`, `GET ipfs/dag/resolve/{path}`,
//! `POST ipfs/dag/import` and `GET ipfs/dag/export/{cid}` (CARv1).

use super::error::ApiError;
use super::params::Args;
use super::{AppState, Result, envelope};
use crate::backend::{ContentPath, DagPutOptions, codec_from_name};
use crate::models::car;
use actix_web::{HttpRequest, HttpResponse, web};
use serde_json::{Value, json};
use std::collections::HashMap;

#[utoipa::path(post, path = "/api/v0/mcp/ipfs/dag/put", tag = "blocks and DAGs", params(crate::controllers::openapi::args::DagPutArgs), request_body(content = crate::controllers::openapi::args::DagPutArgs, content_type = "application/json"), responses(crate::controllers::openapi::answers::Json))]
pub async fn put(
    req: HttpRequest,
    body: web::Bytes,
    query: web::Query<HashMap<String, String>>,
    state: web::Data<AppState>,
) -> Result<HttpResponse> {
    let args = Args::from_request(&req, &body, query.into_inner())?;
    let fields = put_op(&state, &args).await?;
    let cid = fields["cid"].as_str().unwrap_or_default().to_string();
    let mut res = envelope::ok(&req, state.model.simulated(), fields);
    super::authn::audit_cid(&mut res, cid);
    Ok(res)
}

/// Stores the JSON document `object` (or `obj`) as a DAG node.
pub(crate) async fn put_op(state: &AppState, args: &Args) -> Result<Value> {
    // `obj` is the seed cookbook's name for it
    let object = args
        .value("object")
        .or_else(|| args.value("obj"))
        .ok_or_else(|| super::error::ApiError::missing_field("object"))?;
    let input = args
        .str(&["input_codec", "input-codec"])
        .unwrap_or_else(|| "dag-json".into());
    if input != "dag-json" && input != "json" {
        return Err(super::error::ApiError::bad_request(format!(
            "unsupported input codec {input:?}: expected dag-json"
        )));
    }
    let options = put_options(args)?;
    let document = serde_json::to_vec(object).expect("a JSON value serializes");
    let cid = state.model.node().dag_put(document.into(), options).await?;
    Ok(json!({"cid": cid.to_string(), "Cid": {"/": cid.to_string()}}))
}

/// Where `dag/put` stores the node (`store-codec`, Kubo's old `format`) and whether it pins
/// (the RPC API's `dag/put` shares them).
pub(crate) fn put_options(args: &Args) -> Result<DagPutOptions> {
    let store = match (
        args.str(&["store_codec", "store-codec"]),
        args.str(&["format"]),
    ) {
        (Some(codec), _) => codec,
        // Kubo's old `format=cbor` (ipfshttpclient's default) meant dag-cbor
        (None, Some(legacy)) if legacy == "cbor" => "dag-cbor".into(),
        (None, legacy) => legacy.unwrap_or_else(|| "dag-cbor".into()),
    };
    Ok(DagPutOptions {
        store_codec: codec_from_name(&store)?,
        pin: args.bool(&["pin"], false)?,
    })
}

fn full_path(path: &str, query: &Args) -> Result<ContentPath> {
    let mut p: ContentPath = path.parse()?;
    if let Some(extra) = query.str(&["path"]) {
        p.segments.extend(
            extra
                .split('/')
                .filter(|s| !s.is_empty())
                .map(str::to_owned),
        );
    }
    Ok(p)
}

#[utoipa::path(get, path = "/api/v0/mcp/ipfs/dag/get/{path}", tag = "blocks and DAGs", params(("path" = String, Path, description = "A CID, then a path inside the node", example = "bafkqaaa"), crate::controllers::openapi::args::DagPathArgs), responses(crate::controllers::openapi::answers::Json))]
pub async fn get(
    req: HttpRequest,
    path: web::Path<String>,
    query: web::Query<HashMap<String, String>>,
    state: web::Data<AppState>,
) -> Result<HttpResponse> {
    let path = full_path(&path, &Args::query_only(query.into_inner()))?;
    Ok(envelope::ok(
        &req,
        state.model.simulated(),
        get_op(&state, &path).await?,
    ))
}

/// The node at `path`, as dag-json.
pub(crate) async fn get_op(state: &AppState, path: &ContentPath) -> Result<Value> {
    let data = state.model.node().dag_get(path).await?;
    Ok(json!({"cid": path.root.to_string(), "path": path.to_string(), "data": data}))
}

#[utoipa::path(get, path = "/api/v0/mcp/ipfs/dag/resolve/{path}", tag = "blocks and DAGs", params(("path" = String, Path, example = "bafkqaaa"), crate::controllers::openapi::args::DagPathArgs), responses(crate::controllers::openapi::answers::Json))]
pub async fn resolve(
    req: HttpRequest,
    path: web::Path<String>,
    query: web::Query<HashMap<String, String>>,
    state: web::Data<AppState>,
) -> Result<HttpResponse> {
    let path = full_path(&path, &Args::query_only(query.into_inner()))?;
    let resolved = state.model.node().dag_resolve(&path).await?;
    Ok(envelope::ok(
        &req,
        state.model.simulated(),
        json!({
            "cid": resolved.cid.to_string(),
            "Cid": {"/": resolved.cid.to_string()},
            "RemPath": resolved.rem_path,
        }),
    ))
}

/// `POST ipfs/dag/import`: a CAR as the raw body (`application/vnd.ipld.car` or
/// `application/octet-stream`) or as the file of a multipart form; streamed, every block
/// verified before anything is stored; roots pinned unless `pin-roots=false`.
#[utoipa::path(post, path = "/api/v0/mcp/ipfs/dag/import", tag = "blocks and DAGs", params(crate::controllers::openapi::args::ImportArgs), request_body(content((crate::controllers::openapi::Binary = "application/vnd.ipld.car"), (crate::controllers::openapi::Binary = "application/octet-stream"), (crate::controllers::openapi::args::AddForm = "multipart/form-data"))), responses(crate::controllers::openapi::answers::Json))]
pub async fn import(
    req: HttpRequest,
    payload: web::Payload,
    query: web::Query<HashMap<String, String>>,
    state: web::Data<AppState>,
) -> Result<HttpResponse> {
    let args = Args::query_only(query.into_inner());
    let pin = args.bool(&["pin-roots", "pin_roots"], true)?;
    let imported = import_car(&req, payload, &state, pin).await?;
    let mut res = envelope::ok(
        &req,
        state.model.simulated(),
        json!({
            "roots": imported.roots,
            "Root": {"Cid": {"/": imported.roots.first()}},
            "blocks": imported.blocks,
            "bytes": imported.bytes,
            "pinned": imported.pinned,
        }),
    );
    // the audit line has one CID: the CAR's (first) root
    if let Some(root) = imported.roots.first() {
        super::authn::audit_cid(&mut res, root.to_string());
    }
    Ok(res)
}

/// The CAR of an import request (raw body or multipart file), streamed into the backend; the
/// pinned roots recorded in the metadata. The RPC API's `dag/import` shares it.
pub(crate) async fn import_car(
    req: &HttpRequest,
    payload: web::Payload,
    state: &AppState,
    pin: bool,
) -> Result<car::Imported> {
    let limit = state.settings.limits.max_upload_bytes;
    super::request::reject_declared_over(req, limit)?;
    let ctype = super::request::content_type(req);
    let backend = state.model.backend();
    let imported = if ctype.starts_with("multipart/form-data") {
        let mut parts = actix_multipart::Multipart::new(req.headers(), payload.into_inner());
        let field = super::multipart::first_file(&mut parts).await?;
        let body = super::multipart::file_then_end(parts, field);
        let (pump, input) = super::add::pumped(body, limit);
        super::add::drive(pump, car::import(&*backend, input, pin)).await?
    } else if ctype.starts_with("application/vnd.ipld.car")
        || ctype.starts_with("application/octet-stream")
    {
        let (pump, input) = super::add::pumped(payload, limit);
        super::add::drive(pump, car::import(&*backend, input, pin)).await?
    } else {
        return Err(ApiError::unsupported_media(
            "expected application/vnd.ipld.car, application/octet-stream or multipart/form-data",
        ));
    };
    for root in &imported.pinned {
        if let Ok(cid) = root.parse() {
            state.model.metadata.set_pinned(&cid, true);
        }
    }
    Ok(imported)
}

/// `GET ipfs/dag/export/{cid}`: the whole DAG as a CARv1 stream.
#[utoipa::path(get, path = "/api/v0/mcp/ipfs/dag/export/{cid}", tag = "blocks and DAGs", params(("cid" = String, Path, example = "bafkqaaa")), responses(crate::controllers::openapi::answers::Content))]
pub async fn export(path: web::Path<String>, state: web::Data<AppState>) -> Result<HttpResponse> {
    use actix_web::http::header;
    let path: ContentPath = path.into_inner().parse()?;
    let node = state.model.node();
    // a missing root is a clean error; a block missing later aborts the stream
    node.block_stat(&path.root).await?;
    let stream = car::export(state.model.backend(), path.clone(), Default::default());
    Ok(super::compress::stored(&mut HttpResponse::Ok())
        .insert_header((header::CONTENT_TYPE, "application/vnd.ipld.car; version=1"))
        .insert_header((
            header::CONTENT_DISPOSITION,
            format!("attachment; filename=\"{}.car\"", path.root),
        ))
        .insert_header(("X-Ipfs-Roots", path.root.to_string()))
        .streaming(stream))
}
