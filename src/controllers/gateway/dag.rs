//! Codec blocks (dag-json, dag-cbor, json, cbor), answered as-is.
//!
//! The block's own bytes are the answer, with the type its codec implies (or the plain
//! `application/json` / `application/cbor` when asked for, the same bytes). Conversions
//! between codecs are not offered (IPIP-0524, as the conformance suite at 22c7644 tests it):
//! asking a dag-cbor block for dag-json, or a UnixFS node for any codec, is a 406. JSON is
//! `inline`, CBOR an `attachment`, named `<cid>.json` / `<cid>.cbor` unless `?filename=`.
//! ETags name the representation (`"<cid>.dag-json"`). A browser (`Accept: text/html`
//! without `?format=`) gets an HTML view of the node instead, cacheable for a week.

use super::dir::escape;
use super::file::{Source, respond};
use super::negotiate::{Codec, Format, disposition_for};
use super::{Ctx, GENERATED, Result};
use crate::backend::ipld;
use crate::backend::resolve::Walked;
use crate::controllers::error::ApiError;
use crate::unixfs::{CBOR, DAG_CBOR, DAG_JSON, JSON};
use actix_web::HttpResponse;
use actix_web::http::{StatusCode, header};
use cid::Cid;

/// The codec a block's CID names.
fn native(cid: &Cid) -> Option<Codec> {
    match cid.codec() {
        DAG_JSON => Some(Codec::DagJson),
        DAG_CBOR => Some(Codec::DagCbor),
        JSON => Some(Codec::Json),
        CBOR => Some(Codec::Cbor),
        _ => None,
    }
}

/// Whether `want` is the block's bytes as they are: the same codec, or its plain (or DAG)
/// sibling (dag-json bytes are JSON; json bytes are dag-json when they hold no links).
fn same_bytes(native: Codec, want: Codec) -> bool {
    use Codec::*;
    matches!(
        (native, want),
        (DagJson | Json, DagJson | Json) | (DagCbor | Cbor, DagCbor | Cbor)
    )
}

pub fn not_acceptable(cid: &Cid, want: Codec) -> ApiError {
    ApiError::new(
        StatusCode::NOT_ACCEPTABLE,
        "not_acceptable",
        format!(
            "{cid} (codec {}) cannot be returned as {}: this gateway does not convert between \
             codecs; ask for its own codec, ?format=raw or ?format=car",
            crate::backend::codec_name(cid.codec()),
            want.name()
        ),
    )
}

/// A codec block for `format`.
pub async fn serve(ctx: &Ctx<'_>, walked: &Walked, format: Format) -> Result<HttpResponse> {
    let native = native(&walked.cid).expect("serve is called for codec blocks");
    match format {
        Format::Html => html(ctx, walked, native),
        Format::Codec { codec, .. } if same_bytes(native, codec) => {
            serve_as(ctx, walked, codec).await
        }
        Format::Codec { codec, .. } => Err(not_acceptable(&walked.cid, codec)),
        _ => serve_as(ctx, walked, native).await,
    }
}

/// The block's bytes, labelled as `codec`.
pub async fn serve_as(ctx: &Ctx<'_>, walked: &Walked, codec: Codec) -> Result<HttpResponse> {
    let cid = walked.cid;
    let etag = format!("\"{cid}.{}\"", codec.name());
    let (kind, ext) = if codec.is_json() {
        ("inline", "json")
    } else {
        ("attachment", "cbor")
    };
    let mut res = HttpResponse::Ok();
    ctx.immutable(&mut res, &etag, &walked.nodes);
    res.insert_header((header::CONTENT_TYPE, codec.media_type()))
        .insert_header((header::ACCEPT_RANGES, "bytes"))
        .insert_header((header::VARY, "Accept"))
        .insert_header((
            header::CONTENT_DISPOSITION,
            disposition_for(ctx.query, kind, &format!("{cid}.{ext}")),
        ));
    if ctx.not_modified(&etag) {
        return Ok(res.status(StatusCode::NOT_MODIFIED).finish());
    }
    let size = walked.block.len() as u64;
    respond(
        ctx,
        res,
        Source::Memory(walked.block.clone()),
        size,
        codec.media_type(),
    )
    .await
}

/// An HTML view of a DAG node: its CID, codec, and the node as indented dag-json with links
/// to the CIDs it names.
fn html(ctx: &Ctx<'_>, walked: &Walked, native: Codec) -> Result<HttpResponse> {
    let cid = walked.cid;
    let etag = format!("\"DagIndex-{cid}\"");
    let mut res = HttpResponse::Ok();
    ctx.headers(&mut res, &etag, GENERATED, &walked.nodes);
    res.insert_header((header::CONTENT_TYPE, "text/html; charset=utf-8"))
        .insert_header((header::VARY, "Accept"));
    res.extensions_mut()
        .remove::<crate::controllers::compress::StoredBytes>();
    if ctx.not_modified(&etag) {
        return Ok(res.status(StatusCode::NOT_MODIFIED).finish());
    }
    let node = ipld::decode(&cid, &walked.block)?;
    let json = serde_json::to_string_pretty(&ipld::to_json(&node)?).unwrap_or_default();
    let mut body = escape(&json);
    for link in ipld::links(&cid, &walked.block)? {
        let s = link.to_string();
        body = body.replace(&s, &format!("<a href=\"/ipfs/{s}/\">{s}</a>"));
    }
    let html = format!(
        "<!DOCTYPE html>\n<html><head><meta charset=\"utf-8\"><title>{cid}</title></head>\n\
         <body><h1>{cid}</h1>\n<p>Codec: {codec} ({bytes} bytes). \
         <a href=\"/ipfs/{cid}?format={codec}\">Download as {codec}</a>, \
         <a href=\"/ipfs/{cid}?format=raw\">raw block</a>, \
         <a href=\"/ipfs/{cid}?format=car\">CAR</a>.</p>\n<pre>{body}</pre>\n</body></html>\n",
        codec = native.name(),
        bytes = walked.block.len(),
    );
    Ok(res.body(html))
}
