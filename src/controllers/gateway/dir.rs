//! Directories (plain or HAMT-sharded): redirected to their slash form (301), then answered
//! with their `index.html` if they have one (with the directory's ETag, path and roots: the
//! directory is what was asked for), else with an HTML listing.
//!
//! The listing follows Kubo's layout where the conformance suite looks: breadcrumbs under
//! the namespace root, a `..` backlink below the root only, names linking to their content
//! path, CIDs linking to `/ipfs/<cid>?filename=<name>`. Names come from the content, so they
//! are escaped in HTML and percent-encoded in URLs. Its ETag names this build's template and
//! the directory (`"DirIndex-<template>_CID-<cid>"`); it is cacheable for a week, not forever.

use super::file::{TypeFrom, serve_named};
use super::{Ctx, GENERATED, Result};
use crate::backend::resolve::Walked;
use crate::backend::url_segment;
use crate::models::ipfs::DirEntry;
use actix_web::HttpResponse;
use actix_web::http::{StatusCode, header};

/// Identifies the listing template (part of the ETag): bump when the HTML changes.
const TEMPLATE: &str = "ipfs-mcp-1";

/// What stays raw in a query value (Go's `url.QueryEscape`, but `%20` for a space).
const QUERY: &percent_encoding::AsciiSet = &percent_encoding::NON_ALPHANUMERIC
    .remove(b'-')
    .remove(b'.')
    .remove(b'_')
    .remove(b'~');

pub async fn serve(ctx: &Ctx<'_>, walked: &Walked) -> Result<HttpResponse> {
    let req = ctx.req;
    if !req.path().ends_with('/') {
        let query = req.query_string();
        let location = if query.is_empty() {
            format!("{}/", req.path())
        } else {
            format!("{}/?{query}", req.path())
        };
        return Ok(HttpResponse::MovedPermanently()
            .insert_header((header::LOCATION, location))
            .finish());
    }
    let entries = ctx
        .state
        .model
        .list_directory(&walked.cid, &walked.block)
        .await?;
    if let Some(index) = entries.iter().find(|e| e.name == "index.html") {
        let mut index_path = ctx.path.clone();
        index_path.segments.push("index.html".into());
        let block = ctx.state.model.block(&index.cid).await?;
        if let crate::unixfs::reader::NodeKind::File { size } =
            crate::unixfs::reader::describe(&index.cid, &block)
        {
            let file = Walked {
                cid: index.cid,
                block,
                blocks: Vec::new(),
                nodes: walked.nodes.clone(),
                remainder: Vec::new(),
            };
            return serve_named(ctx, &file, size, TypeFrom::Name, &index_path, &walked.nodes).await;
        }
    }
    let etag = format!("\"DirIndex-{TEMPLATE}_CID-{}\"", walked.cid);
    let mut res = HttpResponse::Ok();
    ctx.headers(&mut res, &etag, GENERATED, &walked.nodes);
    res.insert_header((header::CONTENT_TYPE, "text/html; charset=utf-8"));
    if ctx.not_modified(&etag) {
        return Ok(res.status(StatusCode::NOT_MODIFIED).finish());
    }
    // generated, so compressible: not marked as stored bytes
    res.extensions_mut()
        .remove::<crate::controllers::compress::StoredBytes>();
    Ok(res.body(listing(ctx, &entries)))
}

/// The namespace root and the path's segments, as the request named them (`/ipns/name/...`
/// or `/ipfs/cid/...`), for breadcrumbs and links.
fn base(ctx: &Ctx<'_>) -> (String, String, Vec<String>) {
    let raw = ctx.x_ipfs_path.trim_end_matches('/');
    let mut parts = raw.trim_start_matches('/').splitn(3, '/');
    let ns = parts.next().unwrap_or("ipfs").to_string();
    let root = parts.next().unwrap_or_default().to_string();
    let rest = parts
        .next()
        .map(|r| {
            r.split('/')
                .filter(|s| !s.is_empty())
                .map(|s| {
                    percent_encoding::percent_decode_str(s)
                        .decode_utf8_lossy()
                        .into_owned()
                })
                .collect()
        })
        .unwrap_or_default();
    (ns, root, rest)
}

/// The HTML index of a directory.
fn listing(ctx: &Ctx<'_>, entries: &[DirEntry]) -> String {
    let (ns, root, segments) = base(ctx);
    let mut href = format!("/{ns}/{root}");
    let mut crumbs = format!("/{ns}/<a href=\"{href}\">{}</a>", escape(&root));
    for s in &segments {
        href.push('/');
        href.push_str(&url_segment(s));
        crumbs.push_str(&format!("/<a href=\"{href}\">{}</a>", escape(s)));
    }
    let mut rows = String::new();
    if !segments.is_empty() {
        rows.push_str(&format!(
            "<tr><td><a href=\"{href}/..\">..</a></td><td></td><td></td></tr>\n"
        ));
    }
    for e in entries {
        let encoded = url_segment(&e.name);
        let filename = percent_encoding::utf8_percent_encode(&encoded, QUERY);
        rows.push_str(&format!(
            "<tr><td><a href=\"{href}/{encoded}\">{name}</a></td>\
             <td><a class=\"ipfs-hash\" translate=\"no\" href=\"/ipfs/{cid}?filename={filename}\">{cid}</a></td>\
             <td>{size}</td></tr>\n",
            name = escape(&e.name),
            cid = e.cid,
            size = e.size
        ));
    }
    let title = escape(&ctx.x_ipfs_path);
    format!(
        "<!DOCTYPE html>\n<html><head><meta charset=\"utf-8\"><title>{title}</title></head>\n\
         <body><h1>Index of {crumbs}</h1>\n<table>\n<tr><th>Name</th><th>CID</th><th>Size</th></tr>\n\
         {rows}</table></body></html>\n"
    )
}

pub fn escape(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
        .replace('\'', "&#39;")
}
