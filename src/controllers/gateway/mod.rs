//! The IPFS path gateway (`GET|HEAD|OPTIONS /ipfs/{cid}[/{path}]`, `/ipns/{name}[/{path}]`)
//! and the trustless gateway's block and CAR answers, per the HTTP gateway specs as the
//! gateway-conformance suite tests them (`tests/api/conformance/`).
//!
//! A request is handled in three steps:
//! 1. [`negotiate`]: the representation (`?format=` first, else `Accept`, else the content).
//! 2. One resolve of the path over blocks ([`crate::backend::resolve`]): the CID it names,
//!    that block, the CIDs along the way (`X-Ipfs-Roots`). A path that does not resolve is a
//!    404 before anything is sent; a path that ends inside a dag-cbor/dag-json value is a 501.
//! 3. The answer for what the path names: a file ([`file`]: ranges, `multipart/byteranges`,
//!    sniffed types, symlinks as their target), a directory ([`dir`]: slash redirect, its
//!    `index.html`, or a listing, HAMT-sharded too), a codec block ([`dag`]: as-is, 406 for a
//!    codec it does not have, an HTML view for browsers), a raw block, a CAR ([`car`]) or a
//!    TAR ([`tar`]).
//!
//! Every answer carries CORS headers ([`cors`]); content is never content-encoded
//! (`compress::StoredBytes`). Immutable answers: `Cache-Control: public, max-age=29030400,
//! immutable` and an ETag per representation (`"<cid>"`, `"<cid>.raw"`, `"<cid>.dag-json"`,
//! `W/"<cid>.x-tar"`, ...); generated HTML gets a week, not forever.

pub mod car;
pub mod cors;
pub mod dag;
pub mod dir;
pub mod file;
pub mod ipns;
pub mod negotiate;
pub mod tar;

use super::content::{IMMUTABLE, not_modified};
use super::error::ApiError;
use super::{AppState, Result};
use crate::backend::ContentPath;
use crate::backend::resolve::Walked;
use crate::unixfs::{CBOR, DAG_CBOR, DAG_JSON, DAG_PB, JSON, RAW};
use actix_web::http::{StatusCode, header};
use actix_web::{HttpRequest, HttpResponse, HttpResponseBuilder, web};
use cid::Cid;
use negotiate::{Codec, Format};
use std::collections::HashMap;

/// Generated HTML (listings, DAG views) may change with this build: a week, then revalidate.
pub const GENERATED: &str = "public, max-age=604800, stale-while-revalidate=2678400";

/// What every answer to one request shares.
pub struct Ctx<'a> {
    pub req: &'a HttpRequest,
    pub state: &'a AppState,
    pub query: &'a HashMap<String, String>,
    /// The content path (the IPNS name already resolved).
    pub path: ContentPath,
    /// `X-Ipfs-Path`: the request's own path (`/ipfs/...` or `/ipns/...`, as sent).
    pub x_ipfs_path: String,
}

impl Ctx<'_> {
    /// The headers of an immutable answer (`X-Ipfs-Roots` from the resolved walk).
    pub fn immutable(&self, res: &mut HttpResponseBuilder, etag: &str, nodes: &[Cid]) {
        self.headers(res, etag, IMMUTABLE, nodes);
    }

    pub fn headers(
        &self,
        res: &mut HttpResponseBuilder,
        etag: &str,
        cache: &'static str,
        nodes: &[Cid],
    ) {
        super::content::immutable_headers(res, etag, cache, &self.x_ipfs_path);
        res.insert_header(("X-Ipfs-Roots", roots(nodes)));
    }

    /// 304 when `If-None-Match` names `etag`.
    pub fn not_modified(&self, etag: &str) -> bool {
        not_modified(self.req, etag)
    }
}

/// `X-Ipfs-Roots`: the CID of each path element, root first.
pub fn roots(nodes: &[Cid]) -> String {
    nodes
        .iter()
        .map(Cid::to_string)
        .collect::<Vec<_>>()
        .join(",")
}

/// `GET|HEAD /ipfs/...`, mounted under the static `/ipfs` prefix (`OPTIONS` is [`cors`]'s).
#[utoipa::path(method(get, head), path = "/ipfs/{path}", tag = "gateway", params(("path" = String, Path, description = "A CID, then a path inside it", example = "bafkqaaa"), crate::controllers::openapi::args::GatewayArgs), responses(crate::controllers::openapi::answers::Content))]
pub async fn ipfs_path(
    req: HttpRequest,
    query: web::Query<HashMap<String, String>>,
    state: web::Data<AppState>,
) -> Result<HttpResponse> {
    super::request::require_get_or_head(&req)?;
    let tail = req.match_info().unprocessed().trim_start_matches('/');
    let path = ContentPath::from_url(tail)?;
    let format = negotiate::requested(&req, &query)?;
    if format == Format::IpnsRecord {
        return Err(ApiError::bad_request(
            "format=ipns-record is for /ipns/ names, not /ipfs/ paths",
        ));
    }
    let ctx = Ctx {
        req: &req,
        state: &state,
        query: &query,
        path,
        x_ipfs_path: req.path().to_string(),
    };
    serve(&ctx, format).await
}

/// `GET|HEAD /ipns/...`: see [`ipns`].
#[utoipa::path(method(get, head), path = "/ipns/{path}", tag = "gateway", params(("path" = String, Path, description = "An IPNS name or DNSLink domain, then a path"), crate::controllers::openapi::args::GatewayArgs), responses(crate::controllers::openapi::answers::Content))]
pub async fn ipns_path(
    req: HttpRequest,
    query: web::Query<HashMap<String, String>>,
    state: web::Data<AppState>,
) -> Result<HttpResponse> {
    super::request::require_get_or_head(&req)?;
    ipns::serve(&req, &query, &state).await
}

/// `GET|HEAD stream/media/{cid}[/path]`: a file with HTTP ranges and a `Content-Type`
/// detected from its bytes (video, audio, image), for `<video>`/`<audio>` elements to play
/// and seek. Streams; never buffers the whole file.
#[utoipa::path(method(get, head), path = "/api/v0/mcp/stream/media/{path}", tag = "content", params(("path" = String, Path, description = "A CID, then a path inside it", example = "bafkqaaa")), responses(crate::controllers::openapi::answers::Content))]
pub async fn stream_media(
    req: HttpRequest,
    query: web::Query<HashMap<String, String>>,
    state: web::Data<AppState>,
) -> Result<HttpResponse> {
    super::request::require_get_or_head(&req)?;
    let path = ContentPath::from_url(req.match_info().unprocessed().trim_start_matches('/'))?;
    let ctx = Ctx {
        req: &req,
        state: &state,
        query: &query,
        x_ipfs_path: path.to_url(),
        path,
    };
    let walked = state.model.resolve(&ctx.path).await?;
    match crate::unixfs::reader::describe(&walked.cid, &walked.block) {
        crate::unixfs::reader::NodeKind::File { size } => {
            file::serve(&ctx, &walked, size, file::TypeFrom::Bytes).await
        }
        _ => Err(crate::backend::BackendError::InvalidInput(format!(
            "{} is not a media file",
            ctx.path
        ))
        .into()),
    }
}

/// Answers `format` for `ctx.path`.
pub async fn serve(ctx: &Ctx<'_>, format: Format) -> Result<HttpResponse> {
    check_local(ctx).await?;
    match format {
        Format::Car(params) => return car::serve(ctx, params).await,
        Format::Tar => return tar::serve(ctx).await,
        _ => {}
    }
    let walked = ctx.state.model.resolve(&ctx.path).await?;
    if !walked.remainder.is_empty() {
        return Err(ApiError::new(
            StatusCode::NOT_IMPLEMENTED,
            "not_implemented",
            format!(
                "{} ends inside block {} at {:?}: only links between blocks can be followed",
                ctx.path,
                walked.cid,
                walked.remainder.join("/")
            ),
        ));
    }
    if format == Format::Raw {
        return file::serve_raw(ctx, &walked).await;
    }
    let codec = walked.cid.codec();
    match codec {
        DAG_JSON | DAG_CBOR | JSON | CBOR => dag::serve(ctx, &walked, format).await,
        RAW | DAG_PB => {
            if let Format::Codec {
                codec: want,
                explicit,
            } = format
            {
                let as_is = codec == RAW && matches!(want, Codec::Json | Codec::Cbor);
                if as_is {
                    return dag::serve_as(ctx, &walked, want).await;
                }
                if explicit || matches!(want, Codec::DagJson | Codec::DagCbor) {
                    return Err(dag::not_acceptable(&walked.cid, want));
                }
            }
            serve_unixfs(ctx, &walked).await
        }
        other => Err(ApiError::new(
            StatusCode::NOT_IMPLEMENTED,
            "not_implemented",
            format!(
                "{} has codec 0x{other:x}, which this gateway cannot render; ask for \
                 ?format=raw or ?format=car",
                walked.cid
            ),
        )),
    }
}

/// A UnixFS node: file, directory or symlink.
async fn serve_unixfs(ctx: &Ctx<'_>, walked: &Walked) -> Result<HttpResponse> {
    use crate::unixfs::reader::{NodeKind, describe};
    match describe(&walked.cid, &walked.block) {
        NodeKind::File { size } => file::serve(ctx, walked, size, file::TypeFrom::Name).await,
        NodeKind::Directory => dir::serve(ctx, walked).await,
        NodeKind::Other => match symlink_target(&walked.block) {
            Some(target) => file::serve_symlink(ctx, walked, target).await,
            None => Err(ApiError::new(
                StatusCode::NOT_IMPLEMENTED,
                "not_implemented",
                format!(
                    "{} is a UnixFS node of a kind this gateway cannot serve",
                    walked.cid
                ),
            )),
        },
    }
}

/// The target of a UnixFS symlink node.
fn symlink_target(block: &[u8]) -> Option<bytes::Bytes> {
    let (kind, target) = crate::unixfs::unixfs_data(block)?;
    (kind == crate::unixfs::SYMLINK).then_some(target)
}

fn only_if_cached(req: &HttpRequest) -> bool {
    req.headers()
        .get_all(header::CACHE_CONTROL)
        .filter_map(|v| v.to_str().ok())
        .any(|v| v.split(',').any(|d| d.trim() == "only-if-cached"))
}

/// With `only-if-cached`: local means in a cache tier, or in the node's own store.
async fn check_local(ctx: &Ctx<'_>) -> Result<()> {
    if !only_if_cached(ctx.req) {
        return Ok(());
    }
    let (model, path) = (&ctx.state.model, &ctx.path);
    if path.segments.is_empty() && model.cache.get(&path.root)?.is_some() {
        return Ok(());
    }
    if model.node().has_local(&path.root).await {
        return Ok(());
    }
    Err(ApiError::new(
        StatusCode::PRECONDITION_FAILED,
        "not_cached",
        format!("{path} is not in the gateway's local storage (Cache-Control: only-if-cached)"),
    ))
}

impl From<crate::persistence::PersistenceError> for ApiError {
    fn from(e: crate::persistence::PersistenceError) -> Self {
        crate::backend::BackendError::from(e).into()
    }
}
