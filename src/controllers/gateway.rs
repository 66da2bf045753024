//! The IPFS path gateway: `GET|HEAD /ipfs/{cid}[/{path}]`, per the path-gateway spec, and the
//! trustless `?format=raw` / `Accept: application/vnd.ipld.raw` answer (the block's exact bytes).
//!
//! Headers: `Cache-Control: public, max-age=29030400, immutable`, a strong `ETag` (`"<cid>"`,
//! `"<cid>.raw"` for raw blocks), `X-Ipfs-Path`, `X-Ipfs-Roots`, `Accept-Ranges: bytes`, and a
//! `Content-Type` from the file name's extension, else sniffed from the bytes. Ranges: single,
//! suffix and open ranges are a 206; several are merged ([`range::plan`]) and, if still more than
//! one part, a 206 `multipart/byteranges` of at most 16 parts (else the whole file); none
//! satisfiable is a 416. `If-None-Match` gives 304. `Cache-Control: only-if-cached` on content that is not
//! local gives 412.
//!
//! A directory is redirected to its slash form (301), then answered with its `index.html` when
//! it has one, else with an HTML listing (names escaped).
//!
//! `?format=car` / `Accept: application/vnd.ipld.car` streams a CARv1 of the path
//! ([`crate::models::car`]) with `dag-scope` and `entity-bytes`.

use super::content::{IMMUTABLE, not_modified};
use super::error::ApiError;
use super::{AppState, Result};
use crate::backend::{BackendError, BackendKind, ByteStream, ContentPath};
use crate::models::car::{self, DagScope, EntityBytes, ExportOptions};
use crate::models::ipfs::{DirEntry, Entry, OpenFile, SNIFF_LEN, sniff_content_type};
use crate::models::range::{self, ByteRange, RangePlan};
use crate::persistence::tiered::Tier;
use actix_web::body::SizedStream;
use actix_web::http::{StatusCode, header};
use actix_web::{HttpRequest, HttpResponse, web};
use bytes::Bytes;
use cid::Cid;
use futures_util::{StreamExt, TryStreamExt};
use std::collections::HashMap;

const RAW: &str = "application/vnd.ipld.raw";
const CAR: &str = "application/vnd.ipld.car";

/// Where the bytes of a response come from.
enum Source {
    /// Whole in memory (a cached file, or a raw block).
    Memory(Bytes),
    /// Streamed from the backend: the file with this CID.
    Backend(Cid),
}

impl Source {
    async fn read(&self, state: &AppState, range: ByteRange) -> Result<ByteStream> {
        Ok(match self {
            Source::Memory(data) => {
                let part = data.slice(range.start as usize..=range.end as usize);
                futures_util::stream::once(async move { Ok(part) }).boxed()
            }
            Source::Backend(cid) => {
                state
                    .model
                    .node()
                    .cat(&ContentPath::new(*cid), range.start, Some(range.len()))
                    .await?
            }
        })
    }
}

/// `GET|HEAD /ipfs/...`, mounted under the static `/ipfs` prefix.
pub async fn ipfs_path(
    req: HttpRequest,
    query: web::Query<HashMap<String, String>>,
    state: web::Data<AppState>,
) -> Result<HttpResponse> {
    super::request::require_get_or_head(&req)?;
    let tail = req.match_info().unprocessed().trim_start_matches('/');
    let path = ContentPath::from_url(tail)?;
    match requested_format(&req, &query)? {
        Format::Raw => serve_raw(&req, &state, &path).await,
        Format::Car => serve_car(&req, &state, &path, &query).await,
        Format::File => serve_path(&req, &state, &path).await,
    }
}

enum Format {
    File,
    Raw,
    Car,
}

fn requested_format(req: &HttpRequest, query: &HashMap<String, String>) -> Result<Format> {
    let accept = req
        .headers()
        .get(header::ACCEPT)
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default();
    let format = match query.get("format").map(String::as_str) {
        Some("raw") => Some(RAW),
        Some("car") => Some(CAR),
        Some(other) => {
            return Err(ApiError::bad_request(format!(
                "unsupported format {other:?}: expected raw or car"
            )));
        }
        None if accept.contains(RAW) => Some(RAW),
        None if accept.contains(CAR) => Some(CAR),
        None => None,
    };
    Ok(match format {
        Some(RAW) => Format::Raw,
        Some(_) => Format::Car,
        None => Format::File,
    })
}

fn only_if_cached(req: &HttpRequest) -> bool {
    req.headers()
        .get_all(header::CACHE_CONTROL)
        .filter_map(|v| v.to_str().ok())
        .any(|v| v.split(',').any(|d| d.trim() == "only-if-cached"))
}

fn not_cached(path: &ContentPath) -> ApiError {
    ApiError::new(
        StatusCode::PRECONDITION_FAILED,
        "not_cached",
        format!("{path} is not in the gateway's local storage (Cache-Control: only-if-cached)"),
    )
}

/// With `only-if-cached`: local means in a cache tier, or in the embedded node's own store.
async fn check_local(req: &HttpRequest, state: &AppState, path: &ContentPath) -> Result<()> {
    if !only_if_cached(req) {
        return Ok(());
    }
    if path.segments.is_empty() && state.model.cache.get(&path.root)?.is_some() {
        return Ok(());
    }
    let node = state.model.node();
    if node.kind() == BackendKind::Simulation && node.block_stat(&path.root).await.is_ok() {
        return Ok(());
    }
    Err(not_cached(path))
}

/// The CIDs of every node along the path, root first (`X-Ipfs-Roots`).
async fn roots(state: &AppState, path: &ContentPath) -> Result<String> {
    let nodes = state.model.path_nodes(path).await?;
    Ok(nodes
        .iter()
        .map(Cid::to_string)
        .collect::<Vec<_>>()
        .join(","))
}

async fn serve_path(
    req: &HttpRequest,
    state: &AppState,
    path: &ContentPath,
) -> Result<HttpResponse> {
    check_local(req, state, path).await?;
    match state.model.open_entry(path.clone()).await? {
        Entry::File(file, cached, tier) => {
            serve_file(req, state, path, (file, cached, tier), TypeFrom::Name).await
        }
        Entry::Directory { cid, .. } => serve_directory(req, state, path, cid).await,
    }
}

/// Where a file's `Content-Type` comes from.
#[derive(Clone, Copy, PartialEq, Eq)]
enum TypeFrom {
    /// The extension of the last path segment, else the bytes.
    Name,
    /// The bytes only (media streaming: players need the real type).
    Bytes,
}

/// `GET|HEAD stream/media/{cid}[/path]`: a file with HTTP ranges and a `Content-Type`
/// detected from its bytes (video, audio, image), for `<video>`/`<audio>` elements to play
/// and seek. Streams; never buffers the whole file.
pub async fn stream_media(req: HttpRequest, state: web::Data<AppState>) -> Result<HttpResponse> {
    super::request::require_get_or_head(&req)?;
    let path = ContentPath::from_url(req.match_info().unprocessed().trim_start_matches('/'))?;
    match state.model.open_entry(path.clone()).await? {
        Entry::File(file, cached, tier) => {
            serve_file(&req, &state, &path, (file, cached, tier), TypeFrom::Bytes).await
        }
        Entry::Directory { .. } => Err(BackendError::InvalidInput(format!(
            "{path} is a directory, not a media file"
        ))
        .into()),
    }
}

/// How long an IPNS answer may be cached when the record's TTL is unknown (Kubo's RPC API
/// does not report it).
const DEFAULT_IPNS_TTL_SECS: u64 = 60;

/// `GET|HEAD /ipns/{name}[/{path}]`: resolved with `name resolve`, then served like the
/// `/ipfs/` path it points to, cacheable for the record's TTL only.
pub async fn ipns_path(
    req: HttpRequest,
    query: web::Query<HashMap<String, String>>,
    state: web::Data<AppState>,
) -> Result<HttpResponse> {
    super::request::require_get_or_head(&req)?;
    let tail = req.match_info().unprocessed().trim_start_matches('/');
    let (name, rest) = tail.split_once('/').unwrap_or((tail, ""));
    if name.is_empty() {
        return Err(ApiError::bad_request("missing IPNS name"));
    }
    let (target, ttl) = state.model.node().name_resolve_ttl(name).await?;
    let mut path: ContentPath = target.parse()?;
    let rest = ContentPath::from_url(&format!("{}/{rest}", path.root))?;
    path.segments.extend(rest.segments);
    let mut res = match requested_format(&req, &query)? {
        Format::Raw => serve_raw(&req, &state, &path).await?,
        Format::Car => serve_car(&req, &state, &path, &query).await?,
        Format::File => serve_path(&req, &state, &path).await?,
    };
    let max_age = ttl.map_or(DEFAULT_IPNS_TTL_SECS, |t| t.as_secs());
    let headers = res.headers_mut();
    headers.insert(
        header::CACHE_CONTROL,
        header::HeaderValue::from_str(&format!("public, max-age={max_age}")).expect("ascii"),
    );
    if let Ok(v) = header::HeaderValue::from_str(&format!("/ipns/{tail}")) {
        headers.insert(header::HeaderName::from_static("x-ipfs-path"), v);
    }
    Ok(res)
}

/// A directory: redirect to the slash form, then its `index.html` if it has one, else an
/// HTML listing.
async fn serve_directory(
    req: &HttpRequest,
    state: &AppState,
    path: &ContentPath,
    cid: Cid,
) -> Result<HttpResponse> {
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
    let entries = state.model.list_directory(&cid).await?;
    if entries.iter().any(|e| e.name == "index.html") {
        let mut index = path.clone();
        index.segments.push("index.html".into());
        if let Entry::File(file, cached, tier) = state.model.open_entry(index.clone()).await? {
            return serve_file(req, state, &index, (file, cached, tier), TypeFrom::Name).await;
        }
    }
    let etag = format!("\"DirIndex-{cid}\"");
    let mut res = if not_modified(req, &etag) {
        HttpResponse::NotModified()
    } else {
        HttpResponse::Ok()
    };
    res.insert_header((header::ETAG, etag.clone()))
        .insert_header((header::CACHE_CONTROL, IMMUTABLE))
        .insert_header(("X-Ipfs-Path", path.to_url()))
        .insert_header(("X-Ipfs-Roots", roots(state, path).await?))
        .insert_header((header::CONTENT_TYPE, "text/html; charset=utf-8"));
    if not_modified(req, &etag) {
        return Ok(res.finish());
    }
    Ok(res.body(listing(path, &entries)))
}

/// The HTML index of a directory. Names are escaped: they come from the content.
fn listing(path: &ContentPath, entries: &[DirEntry]) -> String {
    let title = escape(&path.to_string());
    let mut rows = String::new();
    if !path.segments.is_empty() {
        rows.push_str("<tr><td><a href=\"../\">..</a></td><td></td><td></td></tr>\n");
    }
    for e in entries {
        let name = escape(&e.name);
        let href = escape(&percent_encode(&e.name));
        rows.push_str(&format!(
            "<tr><td><a href=\"{href}\">{name}</a></td><td><a href=\"/ipfs/{cid}\">{cid}</a></td>\
             <td>{size}</td></tr>\n",
            cid = e.cid,
            size = e.size
        ));
    }
    format!(
        "<!DOCTYPE html>\n<html><head><meta charset=\"utf-8\"><title>{title}</title></head>\n\
         <body><h1>Index of {title}</h1>\n<table>\n<tr><th>Name</th><th>CID</th><th>Size</th></tr>\n\
         {rows}</table></body></html>\n"
    )
}

fn escape(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
        .replace('\'', "&#39;")
}

/// Percent-encodes what may not appear raw in a relative URL path segment.
fn percent_encode(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || b"-._~!$'()*+,;=:@".contains(&b) {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

async fn serve_file(
    req: &HttpRequest,
    state: &AppState,
    path: &ContentPath,
    (file, cached, tier): (OpenFile, Option<Bytes>, Tier),
    type_from: TypeFrom,
) -> Result<HttpResponse> {
    let model = &state.model;
    let etag = format!("\"{}\"", file.cid);
    let mut headers = vec![
        (header::ETAG, etag.clone()),
        (header::CACHE_CONTROL, IMMUTABLE.to_string()),
        (
            header::HeaderName::from_static("x-ipfs-path"),
            path.to_url(),
        ),
        (
            header::HeaderName::from_static("x-ipfs-roots"),
            roots(state, path).await?,
        ),
        (header::ACCEPT_RANGES, "bytes".to_string()),
        (
            header::HeaderName::from_static("x-cache-tier"),
            tier.as_str().to_string(),
        ),
    ];
    if not_modified(req, &etag) {
        model.record_read(&file, tier, None);
        let mut res = HttpResponse::NotModified();
        for h in headers {
            res.insert_header(h);
        }
        return Ok(res.finish());
    }
    let source = match cached {
        Some(data) => Source::Memory(data),
        None => Source::Backend(file.cid),
    };
    let by_name = match type_from {
        TypeFrom::Name => path
            .segments
            .last()
            .and_then(|n| mime_guess::from_path(n).first()),
        TypeFrom::Bytes => None,
    };
    let content_type = match by_name {
        Some(mime) if mime.type_() == "text" => format!("{mime}; charset=utf-8"),
        Some(mime) => mime.to_string(),
        None => sniff(state, &source, file.size).await?,
    };
    model.record_read(&file, tier, Some(&content_type));
    headers.push((header::CONTENT_TYPE, content_type.clone()));
    respond(req, state, source, file.size, &content_type, headers).await
}

/// The type of a file's first bytes.
async fn sniff(state: &AppState, source: &Source, size: u64) -> Result<String> {
    if size == 0 {
        return Ok("text/plain; charset=utf-8".into());
    }
    let head = ByteRange {
        start: 0,
        end: size.min(SNIFF_LEN as u64) - 1,
    };
    let parts: Vec<Bytes> = source.read(state, head).await?.try_collect().await?;
    Ok(sniff_content_type(&parts.concat()))
}

async fn serve_raw(
    req: &HttpRequest,
    state: &AppState,
    path: &ContentPath,
) -> Result<HttpResponse> {
    check_local(req, state, path).await?;
    let cid = if path.segments.is_empty() {
        path.root
    } else {
        state.model.node().stat(path).await?.cid
    };
    let etag = format!("\"{cid}.raw\"");
    let headers = vec![
        (header::ETAG, etag.clone()),
        (header::CACHE_CONTROL, IMMUTABLE.to_string()),
        (
            header::HeaderName::from_static("x-ipfs-path"),
            path.to_url(),
        ),
        (
            header::HeaderName::from_static("x-ipfs-roots"),
            roots(state, path).await?,
        ),
        (header::ACCEPT_RANGES, "bytes".to_string()),
        (header::CONTENT_TYPE, RAW.to_string()),
        (
            header::HeaderName::from_static("x-content-type-options"),
            "nosniff".to_string(),
        ),
        (
            header::CONTENT_DISPOSITION,
            format!("attachment; filename=\"{cid}.bin\""),
        ),
        (header::VARY, "Accept".to_string()),
    ];
    if not_modified(req, &etag) {
        let mut res = HttpResponse::NotModified();
        for h in headers {
            res.insert_header(h);
        }
        return Ok(res.finish());
    }
    let block = state.model.node().block_get(&cid).await?;
    let size = block.len() as u64;
    respond(req, state, Source::Memory(block), size, RAW, headers).await
}

/// A CARv1 stream of the path (trustless gateway): `dag-scope`, `entity-bytes`.
async fn serve_car(
    req: &HttpRequest,
    state: &AppState,
    path: &ContentPath,
    query: &HashMap<String, String>,
) -> Result<HttpResponse> {
    check_local(req, state, path).await?;
    let scope: DagScope = query
        .get("dag-scope")
        .map_or(Ok(DagScope::All), |s| s.parse())?;
    let entity_bytes: Option<EntityBytes> =
        query.get("entity-bytes").map(|s| s.parse()).transpose()?;
    if entity_bytes.is_some() && scope != DagScope::Entity {
        return Err(ApiError::bad_request("entity-bytes needs dag-scope=entity"));
    }
    let mut etag = format!("{}.car.{}", path.root, scope.as_str());
    if let Some(eb) = entity_bytes {
        let to = eb.to.map_or("*".to_string(), |t| t.to_string());
        etag = format!("{etag}.{}-{to}", eb.from);
    }
    if !path.segments.is_empty() {
        etag = format!("{etag}.{}", path.segments.join("/"));
    }
    let etag = format!("\"{etag}\"");
    let mut res = if not_modified(req, &etag) {
        HttpResponse::NotModified()
    } else {
        HttpResponse::Ok()
    };
    super::compress::stored(&mut res)
        .insert_header((header::ETAG, etag.clone()))
        .insert_header((header::CACHE_CONTROL, IMMUTABLE))
        .insert_header(("X-Ipfs-Path", path.to_url()))
        .insert_header(("X-Ipfs-Roots", path.root.to_string()))
        .insert_header(("X-Content-Type-Options", "nosniff"))
        .insert_header((header::ACCEPT_RANGES, "none"))
        .insert_header((header::VARY, "Accept"))
        .insert_header((
            header::CONTENT_TYPE,
            "application/vnd.ipld.car; version=1; order=dfs; dups=n",
        ))
        .insert_header((
            header::CONTENT_DISPOSITION,
            format!("attachment; filename=\"{}.car\"", path.root),
        ));
    if not_modified(req, &etag) {
        return Ok(res.finish());
    }
    // the root must exist before a 200 goes out; later failures abort the stream
    state.model.node().block_stat(&path.root).await?;
    let options = ExportOptions {
        scope,
        entity_bytes,
    };
    Ok(res.streaming(car::export(state.model.backend(), path.clone(), options)))
}

/// A full, 206, multipart 206 or 416 answer for `source` of `size` bytes.
async fn respond(
    req: &HttpRequest,
    state: &AppState,
    source: Source,
    size: u64,
    content_type: &str,
    headers: Vec<(header::HeaderName, String)>,
) -> Result<HttpResponse> {
    let header_value = req
        .headers()
        .get(header::RANGE)
        .and_then(|v| v.to_str().ok());
    let mut res = HttpResponse::Ok();
    super::compress::stored(&mut res);
    for h in headers {
        res.insert_header(h);
    }
    match range::plan(header_value, size) {
        RangePlan::Full => {
            let all = ByteRange {
                start: 0,
                end: size.saturating_sub(1),
            };
            if size == 0 {
                return Ok(res.body(Bytes::new()));
            }
            let body = source.read(state, all).await?;
            Ok(res.body(SizedStream::new(size, body)))
        }
        RangePlan::Unsatisfiable => {
            let err = ApiError::new(
                StatusCode::RANGE_NOT_SATISFIABLE,
                "range_not_satisfiable",
                format!("no requested range lies inside the {size}-byte content"),
            );
            let mut res = err.to_response(&super::envelope::meta(req).operation_id);
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
            let body = source.read(state, one).await?;
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
                parts.push(source.read(state, *r).await?);
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

impl From<crate::persistence::PersistenceError> for ApiError {
    fn from(e: crate::persistence::PersistenceError) -> Self {
        BackendError::from(e).into()
    }
}
