//! Files, raw blocks and symlinks: the bytes of one resolved node, whole or in ranges.
//!
//! Ranges: single, suffix and open ranges are a 206; several are merged ([`range::plan`]) and,
//! if still more than one part, a 206 `multipart/byteranges` of at most 16 parts; none
//! satisfiable is a 416. A ranged read never fetches the whole file first, so a range is
//! served when the blocks outside it are missing; the type is then sniffed only if the
//! first bytes can be read (else `application/octet-stream`).

use super::negotiate::{RAW, disposition_for};
use super::{Ctx, Result};
use crate::backend::resolve::Walked;
use crate::backend::{ByteStream, ContentPath};
use crate::controllers::error::ApiError;
use crate::models::ipfs::{OpenFile, SNIFF_LEN};
use crate::models::range::{self, ByteRange, RangePlan};
use crate::persistence::tiered::Tier;
use actix_web::body::SizedStream;
use actix_web::http::{StatusCode, header};
use actix_web::{HttpResponse, HttpResponseBuilder};
use bytes::Bytes;
use cid::Cid;
use futures_util::{StreamExt, TryStreamExt};

/// Where a file's `Content-Type` comes from.
#[derive(Clone, Copy, PartialEq, Eq)]
pub enum TypeFrom {
    /// The extension of the last path segment, else the bytes.
    Name,
    /// The bytes only (media streaming: players need the real type).
    Bytes,
}

/// Where the bytes of a response come from.
pub enum Source {
    /// Whole in memory (a cached file, or a block).
    Memory(Bytes),
    /// Streamed from the backend: the file with this CID.
    Backend(Cid),
}

impl Source {
    async fn read(&self, ctx: &Ctx<'_>, range: ByteRange) -> Result<ByteStream> {
        Ok(match self {
            Source::Memory(data) => {
                let part = data.slice(range.start as usize..=range.end as usize);
                futures_util::stream::once(async move { Ok(part) }).boxed()
            }
            Source::Backend(cid) => {
                ctx.state
                    .model
                    .node()
                    .cat(&ContentPath::new(*cid), range.start, Some(range.len()))
                    .await?
            }
        })
    }
}

/// A UnixFS file (`size` bytes) at the end of `walked`.
pub async fn serve(
    ctx: &Ctx<'_>,
    walked: &Walked,
    size: u64,
    type_from: TypeFrom,
) -> Result<HttpResponse> {
    serve_named(ctx, walked, size, type_from, &ctx.path, &walked.nodes).await
}

/// A file, typed by the last segment of `name_path` (a directory's `index.html`), answered
/// with the ETag and roots of `nodes` (the directory's, for its index). A 304 reads nothing.
pub async fn serve_named(
    ctx: &Ctx<'_>,
    walked: &Walked,
    size: u64,
    type_from: TypeFrom,
    name_path: &ContentPath,
    nodes: &[Cid],
) -> Result<HttpResponse> {
    let model = &ctx.state.model;
    let etag_cid = *nodes.last().unwrap_or(&walked.cid);
    let etag = format!("\"{etag_cid}\"");
    let mut res = HttpResponse::Ok();
    ctx.immutable(&mut res, &etag, nodes);
    res.insert_header((header::ACCEPT_RANGES, "bytes"));
    if let Some(name) = ctx.query.get("filename") {
        res.insert_header((
            header::CONTENT_DISPOSITION,
            disposition_for(ctx.query, "inline", name),
        ));
    } else if ctx.query.get("download").map(String::as_str) == Some("true") {
        let name = name_path
            .segments
            .last()
            .cloned()
            .unwrap_or(walked.cid.to_string());
        res.insert_header((
            header::CONTENT_DISPOSITION,
            disposition_for(ctx.query, "attachment", &name),
        ));
    }
    if ctx.not_modified(&etag) {
        // answered without reading the file: only whether a tier holds it
        let tier = model
            .cache
            .get(&walked.cid)?
            .map_or(Tier::Backend, |(_, t)| t);
        let file = OpenFile {
            path: name_path.clone(),
            cid: walked.cid,
            size,
        };
        model.record_read(&file, tier, None);
        return Ok(res
            .insert_header(("X-Cache-Tier", tier.as_str()))
            .status(StatusCode::NOT_MODIFIED)
            .finish());
    }
    let ranged = ctx.req.headers().contains_key(header::RANGE);
    let (file, cached, tier) = model
        .open_resolved(
            name_path.clone(),
            walked.cid,
            Some(&walked.block),
            size,
            !ranged,
        )
        .await?;
    res.insert_header(("X-Cache-Tier", tier.as_str()));
    let source = match cached {
        Some(data) => Source::Memory(data),
        None => Source::Backend(file.cid),
    };
    let by_name = match type_from {
        TypeFrom::Name => name_path
            .segments
            .last()
            .and_then(|n| mime_guess::from_path(n).first()),
        TypeFrom::Bytes => None,
    };
    let content_type = match by_name {
        Some(mime) if mime.type_() == "text" => format!("{mime}; charset=utf-8"),
        Some(mime) => mime.to_string(),
        None => sniff(ctx, &source, &file.cid, file.size).await.to_string(),
    };
    model.record_read(&file, tier, Some(&content_type));
    res.insert_header((header::CONTENT_TYPE, content_type.clone()));
    respond(ctx, res, source, file.size, &content_type).await
}

/// The type of a file's first bytes (remembered per CID); `application/octet-stream` if they
/// cannot be read (a missing first block must not fail a range that does not need it).
async fn sniff(ctx: &Ctx<'_>, source: &Source, cid: &Cid, size: u64) -> &'static str {
    let types = &ctx.state.model.content_types;
    if let Some(known) = types.known(cid) {
        return known;
    }
    if size == 0 {
        return "text/plain; charset=utf-8";
    }
    let head = ByteRange {
        start: 0,
        end: size.min(SNIFF_LEN as u64) - 1,
    };
    let read = async {
        let parts: Vec<Bytes> = source.read(ctx, head).await?.try_collect().await?;
        Ok::<_, ApiError>(parts.concat())
    };
    match read.await {
        Ok(head) => types.of(cid, size, &head),
        Err(_) => "application/octet-stream",
    }
}

/// `?format=raw` / `Accept: application/vnd.ipld.raw`: the block's exact bytes.
pub async fn serve_raw(ctx: &Ctx<'_>, walked: &Walked) -> Result<HttpResponse> {
    let cid = walked.cid;
    let etag = format!("\"{cid}.raw\"");
    let mut res = HttpResponse::Ok();
    ctx.immutable(&mut res, &etag, &walked.nodes);
    res.insert_header((header::ACCEPT_RANGES, "bytes"))
        .insert_header((header::CONTENT_TYPE, RAW))
        .insert_header(("X-Content-Type-Options", "nosniff"))
        .insert_header((
            header::CONTENT_DISPOSITION,
            disposition_for(ctx.query, "attachment", &format!("{cid}.bin")),
        ))
        .insert_header((header::VARY, "Accept"));
    if ctx.not_modified(&etag) {
        return Ok(res.status(StatusCode::NOT_MODIFIED).finish());
    }
    let size = walked.block.len() as u64;
    respond(ctx, res, Source::Memory(walked.block.clone()), size, RAW).await
}

/// A UnixFS symlink: its target path, as text (never followed: it may point anywhere).
pub async fn serve_symlink(ctx: &Ctx<'_>, walked: &Walked, target: Bytes) -> Result<HttpResponse> {
    let etag = format!("\"{}\"", walked.cid);
    let mut res = HttpResponse::Ok();
    ctx.immutable(&mut res, &etag, &walked.nodes);
    res.insert_header((header::CONTENT_TYPE, "text/plain; charset=utf-8"));
    if ctx.not_modified(&etag) {
        return Ok(res.status(StatusCode::NOT_MODIFIED).finish());
    }
    let size = target.len() as u64;
    respond(
        ctx,
        res,
        Source::Memory(target),
        size,
        "text/plain; charset=utf-8",
    )
    .await
}

/// A full, 206, multipart 206 or 416 answer for `source` of `size` bytes.
pub async fn respond(
    ctx: &Ctx<'_>,
    mut res: HttpResponseBuilder,
    source: Source,
    size: u64,
    content_type: &str,
) -> Result<HttpResponse> {
    let header_value = ctx
        .req
        .headers()
        .get(header::RANGE)
        .and_then(|v| v.to_str().ok());
    match range::plan(header_value, size) {
        RangePlan::Full => {
            if size == 0 {
                return Ok(res.body(Bytes::new()));
            }
            let all = ByteRange {
                start: 0,
                end: size - 1,
            };
            let body = source.read(ctx, all).await?;
            Ok(res.body(SizedStream::new(size, body)))
        }
        RangePlan::Unsatisfiable => {
            let err = ApiError::new(
                StatusCode::RANGE_NOT_SATISFIABLE,
                "range_not_satisfiable",
                format!("no requested range lies inside the {size}-byte content"),
            );
            let mut res =
                err.to_response(&crate::controllers::envelope::meta(ctx.req).operation_id);
            res.headers_mut().insert(
                header::CONTENT_RANGE,
                header::HeaderValue::from_str(&format!("bytes */{size}")).expect("ascii"),
            );
            Ok(res)
        }
        RangePlan::Single(one) => {
            res.status(StatusCode::PARTIAL_CONTENT).insert_header((
                header::CONTENT_RANGE,
                format!("bytes {}-{}/{size}", one.start, one.end),
            ));
            let body = source.read(ctx, one).await?;
            Ok(res.body(SizedStream::new(one.len(), body)))
        }
        RangePlan::Multi(many) => {
            let boundary = format!("ipfs-mcp-{}", uuid::Uuid::new_v4().simple());
            let mut total = 0u64;
            let mut parts: Vec<ByteStream> = Vec::new();
            for r in &many {
                let head = Bytes::from(format!(
                    "--{boundary}\r\nContent-Type: {content_type}\r\n\
                     Content-Range: bytes {}-{}/{size}\r\n\r\n",
                    r.start, r.end
                ));
                total += head.len() as u64 + r.len() + 2;
                parts.push(futures_util::stream::once(async move { Ok(head) }).boxed());
                parts.push(source.read(ctx, *r).await?);
                parts.push(
                    futures_util::stream::once(async { Ok(Bytes::from_static(b"\r\n")) }).boxed(),
                );
            }
            let end = Bytes::from(format!("--{boundary}--\r\n"));
            total += end.len() as u64;
            parts.push(futures_util::stream::once(async move { Ok(end) }).boxed());
            res.status(StatusCode::PARTIAL_CONTENT).insert_header((
                header::CONTENT_TYPE,
                format!("multipart/byteranges; boundary={boundary}"),
            ));
            let body = futures_util::stream::iter(parts).flatten();
            Ok(res.body(SizedStream::new(total, body)))
        }
    }
}
