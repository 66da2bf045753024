//! `POST ipfs/block/put`, `GET ipfs/block/get/{cid}`, `GET ipfs/block/stat/{cid}`.

use super::add::read_limited;
use super::content::{content_headers, not_modified};
use super::error::ApiError;
use super::params::{Args, is_json};
use super::{AppState, Result, envelope};
use crate::backend::{BlockPutOptions, BlockStat, codec_from_name, parse_cid};
use crate::persistence::tiered::Tier;
use actix_multipart::Multipart;
use actix_web::http::header;
use actix_web::{HttpRequest, HttpResponse, web};
use bytes::{Bytes, BytesMut};
use futures_util::StreamExt;
use serde_json::json;
use std::collections::HashMap;

/// Largest block body we read (Kubo's block limit is 1 MiB; the backend enforces that).
const MAX_BLOCK_BODY: usize = 2 * 1024 * 1024;
/// Room for a multipart body's boundaries and part headers around the block.
const MULTIPART_OVERHEAD: usize = 64 * 1024;

fn fields(stat: &BlockStat) -> serde_json::Value {
    json!({"cid": stat.cid.to_string(), "Key": stat.cid.to_string(), "Size": stat.size})
}

fn render(req: &HttpRequest, state: &AppState, stat: &BlockStat) -> HttpResponse {
    envelope::ok(req, state.model.simulated(), fields(stat))
}

#[utoipa::path(post, path = "/api/v0/mcp/ipfs/block/put", tag = "blocks and DAGs", params(crate::controllers::openapi::args::BlockPutArgs), request_body(content((crate::controllers::openapi::args::AddForm = "multipart/form-data"), (crate::controllers::openapi::Binary = "application/octet-stream"), (crate::controllers::openapi::args::BlockPutArgs = "application/json"))), responses(crate::controllers::openapi::answers::Json))]
pub async fn put(
    req: HttpRequest,
    payload: web::Payload,
    query: web::Query<HashMap<String, String>>,
    state: web::Data<AppState>,
) -> Result<HttpResponse> {
    let ctype = super::request::content_type(&req);
    let json = is_json(&req) && !ctype.is_empty();
    let declared_limit = if json {
        state.settings.limits.max_json_bytes as u64
    } else {
        (MAX_BLOCK_BODY + MULTIPART_OVERHEAD) as u64
    };
    // before reading a byte (and before actix sends `100 Continue`)
    super::request::reject_declared_over(&req, declared_limit)?;
    let (data, args) = if ctype.starts_with("multipart/form-data") {
        (
            read_multipart(&req, payload).await?,
            Args::query_only(query.into_inner()),
        )
    } else if json {
        let body = read_limited(payload, state.settings.limits.max_json_bytes).await?;
        let args = Args::from_request(&req, &body, query.into_inner())?;
        use base64::Engine;
        let data = base64::engine::general_purpose::STANDARD
            .decode(args.required(&["data"])?.trim())
            .map_err(|e| ApiError::bad_request(format!("data must be base64: {e}")))?;
        (Bytes::from(data), args)
    } else if ctype.starts_with("application/octet-stream") {
        (
            read_limited(payload, MAX_BLOCK_BODY).await?,
            Args::query_only(query.into_inner()),
        )
    } else {
        return Err(ApiError::unsupported_media(
            "expected multipart/form-data, application/json or application/octet-stream",
        ));
    };
    let options = put_options(&args)?;
    let stat = state.model.node().block_put(data, options).await?;
    let mut res = render(&req, &state, &stat);
    super::authn::audit_cid(&mut res, stat.cid.to_string());
    Ok(res)
}

/// `block/put`'s options, as Kubo names them (the RPC API's `block/put` shares them).
pub(crate) fn put_options(args: &Args) -> Result<BlockPutOptions> {
    // Kubo's legacy `--format=cbor` meant dag-cbor; `--cid-codec=cbor` is plain CBOR (0x51)
    let format = match (args.str(&["cid-codec", "codec"]), args.str(&["format"])) {
        (Some(codec), _) => codec,
        (None, Some(legacy)) if legacy == "cbor" => "dag-cbor".into(),
        (None, legacy) => legacy.unwrap_or_default(),
    };
    let options = match format.as_str() {
        "" => BlockPutOptions::default(),
        // Kubo's legacy --format=v0: dag-pb with a CIDv0
        "v0" => BlockPutOptions {
            codec: crate::unixfs::DAG_PB,
            cid_v0: true,
            ..Default::default()
        },
        name => BlockPutOptions {
            codec: codec_from_name(name)?,
            ..Default::default()
        },
    };
    if let Some(mh) = args.str(&["mhtype"])
        && mh != "sha2-256"
    {
        return Err(ApiError::bad_request(format!(
            "unsupported mhtype {mh:?}: only sha2-256"
        )));
    }
    Ok(BlockPutOptions {
        pin: args.bool(&["pin"], false)?,
        ..options
    })
}

/// The block from a multipart body: its one file (or `data`) part, in a well-formed body.
pub(crate) async fn read_multipart(req: &HttpRequest, payload: web::Payload) -> Result<Bytes> {
    use super::multipart::{first_part, is_file, malformed, rest_is_empty};
    let mut parts = Multipart::new(req.headers(), payload.into_inner());
    let mut field = first_part(&mut parts, |f| is_file(f) || f.name() == Some("data")).await?;
    let mut buf = BytesMut::new();
    while let Some(chunk) = field.next().await {
        let chunk = chunk.map_err(malformed)?;
        if buf.len() + chunk.len() > MAX_BLOCK_BODY {
            return Err(ApiError::too_large(MAX_BLOCK_BODY as u64));
        }
        buf.extend_from_slice(&chunk);
    }
    drop(field);
    rest_is_empty(&mut parts)
        .await
        .map_err(ApiError::bad_request)?;
    Ok(buf.freeze())
}

#[utoipa::path(get, path = "/api/v0/mcp/ipfs/block/get/{cid}", tag = "blocks and DAGs", params(("cid" = String, Path, example = "bafkqaaa")), responses(crate::controllers::openapi::answers::Content))]
pub async fn get(
    req: HttpRequest,
    cid: web::Path<String>,
    state: web::Data<AppState>,
) -> Result<HttpResponse> {
    let cid = parse_cid(&cid)?;
    let etag = format!("\"{cid}.raw\"");
    let ipfs_path = format!("/ipfs/{cid}");
    if not_modified(&req, &etag) {
        let mut res = HttpResponse::NotModified();
        content_headers(&mut res, &etag, &ipfs_path, Tier::Backend);
        return Ok(res.finish());
    }
    let data = state.model.node().block_get(&cid).await?;
    let mut res = HttpResponse::Ok();
    content_headers(&mut res, &etag, &ipfs_path, Tier::Backend);
    res.insert_header((header::CONTENT_TYPE, "application/vnd.ipld.raw"));
    Ok(res.body(data))
}

#[utoipa::path(get, path = "/api/v0/mcp/ipfs/block/stat/{cid}", tag = "blocks and DAGs", params(("cid" = String, Path, example = "bafkqaaa")), responses(crate::controllers::openapi::answers::Json))]
pub async fn stat(
    req: HttpRequest,
    cid: web::Path<String>,
    state: web::Data<AppState>,
) -> Result<HttpResponse> {
    let cid = parse_cid(&cid)?;
    Ok(envelope::ok(
        &req,
        state.model.simulated(),
        stat_op(&state, &cid).await?,
    ))
}

/// A block's size.
pub(crate) async fn stat_op(state: &AppState, cid: &cid::Cid) -> Result<serde_json::Value> {
    let stat = state.model.node().block_stat(cid).await?;
    Ok(fields(&stat))
}
